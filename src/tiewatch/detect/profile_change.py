"""profile_change: what the periodic profile snapshots (profiles table) show changing between two of them.

Display name, bio, avatar and handle changes, and the account's status (active, logged-in only, or
unavailable: deactivated, suspended or deleted, which getProfiles does not tell apart) are compared between
consecutive snapshots of one account; one signal per snapshot that changed anything. A bio that adds or
drops a mention (@handle) gets its own signal naming the mentioned account, ranked by the two accounts' tie.
The change is known only to lie between the two snapshots (start, end). Observed facts: p-value null.
"""

from __future__ import annotations

import re
from typing import Any

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.ties import KIND_WEIGHTS, contribution_sql

FIELDS = {"display_name": "display name", "description": "bio", "avatar": "avatar", "handle": "handle",
          "status": "status"}
# Known handles (lower case) and their accounts: the accounts' names that look like handles, then the watch
# list's resolved handles (which win: later rows replace earlier ones).
HANDLES_SQL = """
    SELECT handle, account FROM (
        SELECT lower(name) AS handle, account, 0 AS src FROM accounts WHERE platform = 'bluesky' AND contains(name, '.')
        UNION ALL
        SELECT lower(handle), did, 1 FROM watchlist WHERE handle IS NOT NULL AND did IS NOT NULL)
    ORDER BY src, handle, account"""
MENTION = re.compile(r"@([a-z0-9][a-z0-9.-]*\.[a-z][a-z0-9-]*)", re.IGNORECASE)


def mentions(text: str | None) -> set[str]:
    return {m.lower().rstrip(".") for m in MENTION.findall(text or "")}


class ProfileChangeDetector(Detector):
    kinds = ("profile_change",)
    families = ()
    name = "profile_change"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"changes": self._changes_sql(ctx), "handles": HANDLES_SQL, "ties": self._ties_sql(ctx)}

    @staticmethod
    def _available(ctx: Context) -> str:
        """The available snapshots in the window, each with the one before it (an unavailable snapshot knows
        nothing but the status: the snapshot after it is compared with the last one that was available)."""
        lags = ", ".join(f"lag({f}) OVER (PARTITION BY did ORDER BY ts) AS prev_{f}" for f in FIELDS)
        return f"""
            SELECT *, {lags}, lag(ts) OVER (PARTITION BY did ORDER BY ts) AS prev_ts
            FROM profiles WHERE status <> 'unavailable' AND {ctx.window.bound('ts')}"""

    def _changes_sql(self, ctx: Context) -> str:
        changed = " OR ".join(f"{f} IS DISTINCT FROM prev_{f}" for f in FIELDS)
        return f"""
            WITH avail AS ({self._available(ctx)}),
            st AS (
                SELECT did, ts, status, lag(status) OVER (PARTITION BY did ORDER BY ts) AS prev_status_any,
                       lag(ts) OVER (PARTITION BY did ORDER BY ts) AS prev_ts_any
                FROM profiles WHERE {ctx.window.bound('ts')})
            SELECT a.did, a.ts, a.prev_ts, {", ".join(f"a.{f}, a.prev_{f}" for f in FIELDS)},
                   CAST(NULL AS VARCHAR) AS went
            FROM avail a WHERE a.prev_ts IS NOT NULL AND ({changed})
            UNION ALL
            SELECT did, ts, prev_ts_any, {", ".join("NULL, NULL" for _ in FIELDS)}, status
            FROM st WHERE prev_status_any IS NOT NULL AND status IS DISTINCT FROM prev_status_any
              AND 'unavailable' IN (status, prev_status_any)
            ORDER BY 2, 1"""

    def _ties_sql(self, ctx: Context) -> str:
        """(did, ts, account, tie): for each bio change, the tie at that snapshot between the account and every
        known handle either bio contains (a superset of the mentions added or dropped; the sentence reads
        only those), from all engagements before it in both directions."""
        kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
        tie = contribution_sql("at_", "ts", "kind", ctx.dialect)
        return f"""
            WITH ch AS (
                SELECT did, ts, lower(coalesce(description, '') || ' ' || coalesce(prev_description, '')) AS bios
                FROM ({self._available(ctx)})
                WHERE prev_ts IS NOT NULL AND description IS DISTINCT FROM prev_description),
            h AS ({HANDLES_SQL}),
            pairs AS (SELECT DISTINCT ch.did, ch.ts, h.account FROM ch JOIN h ON contains(ch.bios, '@' || h.handle)),
            contrib AS (
                SELECT p.did, p.ts AS at_, p.account, e.ts, e.kind FROM pairs p JOIN events e
                    ON e.platform = 'bluesky' AND e.actor = p.did AND e.target = p.account
                WHERE e.kind IN ({kinds}) AND e.ts <= p.ts
                UNION ALL
                SELECT p.did, p.ts, p.account, e.ts, e.kind FROM pairs p JOIN events e
                    ON e.platform = 'bluesky' AND e.actor = p.account AND e.target = p.did
                WHERE e.kind IN ({kinds}) AND e.ts <= p.ts AND p.account <> p.did)
            SELECT did, at_ AS ts, account, sum({tie}) AS tie FROM contrib GROUP BY did, at_, account"""

    def run(self, ctx: Context) -> DetectorOutput:
        rows = ctx.engine.arrow(self._changes_sql(ctx), ctx.window.params).to_pylist()
        if not rows:
            return DetectorOutput([], {})
        handles = {str(h): a for h, a in
                   (tuple(r.values()) for r in ctx.engine.arrow(HANDLES_SQL).to_pylist())}
        ties: dict[tuple[str, Any, str], float] = {}
        if any(r["went"] is None and r["description"] != r["prev_description"] for r in rows):
            ties = {(t["did"], t["ts"], t["account"]): float(t["tie"] or 0.0)
                    for t in ctx.engine.arrow(self._ties_sql(ctx), ctx.window.params).to_pylist()}
        out: list[Signal] = []
        for r in rows:
            evidence = [f"profile:{r['did']}:{r['ts'].isoformat()}"]
            if r["went"] is not None:
                out.append(self._signal(r, [r["did"]], 1.0, evidence, {"status": r["went"]}))
                continue
            changes: dict[str, Any] = {f: {"from": r[f"prev_{f}"], "to": r[f]} for f in FIELDS
                                       if r[f] != r[f"prev_{f}"]}
            out.append(self._signal(r, [r["did"]], float(len(changes)), evidence, changes))
            if "description" in changes:
                before, after = mentions(r["prev_description"]), mentions(r["description"])
                for handle, verb in [(h, "dropped") for h in sorted(before - after)] + \
                                    [(h, "added") for h in sorted(after - before)]:
                    other = handles.get(handle, handle)
                    tie = ties.get((r["did"], r["ts"], other), 0.0)
                    out.append(self._signal(r, [r["did"], other], tie, evidence,
                                            {"mention": handle, "change": verb, "tie_strength": round(tie, 3)},
                                            kind_detail="bio_mention"))
        return DetectorOutput(out, {})

    @staticmethod
    def _signal(r: dict[str, Any], subjects: list[str], score: float, evidence: list[str],
                detail: dict[str, Any], kind_detail: str = "profile") -> Signal:
        return Signal(kind="profile_change", ts=r["ts"], start=r["prev_ts"], end=r["ts"], subjects=subjects,
                      score=score, p_value=None, evidence=evidence, platform="bluesky",
                      detail={"what": kind_detail, **detail})
