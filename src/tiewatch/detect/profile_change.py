"""profile_change: what the periodic profile snapshots (profiles table) show changing between two of them.

Display name, bio, avatar and handle changes, and the account's status (active, logged-in only, or
unavailable: deactivated, suspended or deleted, which getProfiles does not tell apart) are compared between
consecutive snapshots of one account; one signal per snapshot that changed anything. A bio that adds or
drops a mention (@handle) gets its own signal naming the mentioned account, ranked by the two accounts' tie.
The change is known only to lie between the two snapshots (start, end). Observed facts: p-value null.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.naming import Names, day

FIELDS = {"display_name": "display name", "description": "bio", "avatar": "avatar", "handle": "handle",
          "status": "status"}
MENTION = re.compile(r"@([a-z0-9][a-z0-9.-]*\.[a-z][a-z0-9-]*)", re.IGNORECASE)


def _span(lo: datetime, hi: datetime) -> str:
    if day(lo) == day(hi):
        return f"on {day(hi)} (between {lo:%H:%M} and {hi:%H:%M} UTC)"
    return f"between {day(lo)} and {day(hi)}"


def mentions(text: str | None) -> set[str]:
    return {m.lower().rstrip(".") for m in MENTION.findall(text or "")}


class ProfileChangeDetector(Detector):
    kinds = ("profile_change",)
    families = ()
    name = "profile_change"

    def run(self, ctx: Context) -> DetectorOutput:
        con = ctx.store.con
        changed = " OR ".join(f"{f} IS DISTINCT FROM prev_{f}" for f in FIELDS)
        lags = ", ".join(f"lag({f}) OVER w AS prev_{f}" for f in FIELDS)
        # An unavailable snapshot knows nothing but the status: it is compared on status alone, and the
        # snapshot after it is compared with the last one that was available.
        rows = con.execute(f"""
            WITH p AS (SELECT * FROM profiles WHERE {ctx.window.where('ts')}),
            avail AS (
                SELECT *, {lags}, lag(ts) OVER w AS prev_ts FROM p WHERE status <> 'unavailable'
                WINDOW w AS (PARTITION BY did ORDER BY ts)),
            st AS (
                SELECT did, ts, status, lag(status) OVER (PARTITION BY did ORDER BY ts) AS prev_status_any,
                       lag(ts) OVER (PARTITION BY did ORDER BY ts) AS prev_ts_any
                FROM p)
            SELECT a.did, a.ts, a.prev_ts, {", ".join(f"a.{f}, a.prev_{f}" for f in FIELDS)},
                   NULL AS went
            FROM avail a WHERE a.prev_ts IS NOT NULL AND ({changed})
            UNION ALL
            SELECT did, ts, prev_ts_any, {", ".join("NULL, NULL" for _ in FIELDS)}, status
            FROM st WHERE prev_status_any IS NOT NULL AND status IS DISTINCT FROM prev_status_any
              AND 'unavailable' IN (status, prev_status_any)
            ORDER BY 2, 1""").fetchall()
        if not rows:
            return DetectorOutput([], {})
        cols = [c[0] for c in con.description or []]
        handles = {str(h).lower(): a for a, h in con.execute(
            "SELECT account, name FROM accounts WHERE platform = 'bluesky' AND contains(name, '.')").fetchall()}
        handles |= {str(h).lower(): d for d, h in con.execute(
            "SELECT did, handle FROM watchlist WHERE handle IS NOT NULL AND did IS NOT NULL").fetchall()}
        names = Names(ctx.store)
        out: list[Signal] = []
        for values in rows:
            r = dict(zip(cols, values, strict=True))
            who = names.label("bluesky", r["did"])
            when = _span(r["prev_ts"], r["ts"])
            evidence = [f"profile:{r['did']}:{r['ts'].isoformat()}"]
            if r["went"] is not None:
                what = "became unavailable (deactivated, suspended or deleted)" if r["went"] == "unavailable" \
                    else "is available again"
                out.append(self._signal(r, [r["did"]], 1.0, f"{who} {what} {when}.", evidence,
                                        {"status": r["went"]}))
                continue
            changes: dict[str, Any] = {}
            phrases = []
            for f, label in FIELDS.items():
                if r[f] != r[f"prev_{f}"]:
                    changes[f] = {"from": r[f"prev_{f}"], "to": r[f]}
                    if f in ("display_name", "handle", "status"):
                        phrases.append(f"{label} from {r[f'prev_{f}'] or '(none)'!s} to {r[f] or '(none)'!s}")
                    else:
                        phrases.append(f"changed {label}")
            out.append(self._signal(r, [r["did"]], float(len(changes)),
                                    f"{who} changed their profile {when}: {'; '.join(phrases)}.", evidence, changes))
            if "description" in changes:
                before, after = mentions(r["prev_description"]), mentions(r["description"])
                for handle, verb in [(h, "dropped") for h in sorted(before - after)] + \
                                    [(h, "added") for h in sorted(after - before)]:
                    other = handles.get(handle, handle)
                    label = names.label("bluesky", other) if other != handle else f"@{handle}"
                    tie = self._tie(ctx, r["did"], other, r["ts"])
                    out.append(self._signal(r, [r["did"], other], tie,
                                            f"{who} {verb} a mention of {label} in their bio {when} "
                                            f"(tie strength {tie:.1f}).", evidence,
                                            {"mention": handle, "change": verb, "tie_strength": round(tie, 3)},
                                            kind_detail="bio_mention"))
        return DetectorOutput(out, {})

    @staticmethod
    def _signal(r: dict[str, Any], subjects: list[str], score: float, summary: str, evidence: list[str],
                detail: dict[str, Any], kind_detail: str = "profile") -> Signal:
        return Signal(kind="profile_change", ts=r["ts"], start=r["prev_ts"], end=r["ts"], subjects=subjects,
                      score=score, p_value=None, evidence=evidence, summary=summary, platform="bluesky",
                      detail={"what": kind_detail, **detail})

    @staticmethod
    def _tie(ctx: Context, a: str, b: str, at: Any) -> float:
        from tiewatch.detect.ties import KIND_WEIGHTS, contribution_sql

        kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
        when = f"TIMESTAMP '{at.isoformat(sep=' ')}'"
        value = ctx.store.scalar(f"""
            SELECT sum({contribution_sql(when, 'ts', 'kind', ctx.dialect)}) FROM events
            WHERE platform = 'bluesky' AND kind IN ({kinds}) AND ts <= {when}
              AND ((actor = ? AND target = ?) OR (actor = ? AND target = ?))""", [a, b, b, a])
        return float(value or 0.0)
