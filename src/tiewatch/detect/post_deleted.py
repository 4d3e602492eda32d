"""post_deleted: an account deleting posts, one signal per burst of deletions, and above all one per account
its deleted posts were about ("deleted every post with B").

Deletions of app.bsky.feed.post records (record_deletes) by one account are grouped into bursts: a deletion
more than BURST_GAP_HOURS after the previous one starts a new burst. Each burst is a signal about the account
(score = number of posts deleted). For each other account B that deleted posts replied to, quoted (a quote
post's target is the quoted post's author) or mentioned (@handle in the text of the stored post), another
signal names A and B, ranked by their tie strength, and says whether A deleted every stored post with B.
Observed facts: p-value null.
"""

from __future__ import annotations

from typing import Any

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.unlike import pair_strength_sql
from tiewatch.engines.shared import shared_ctes

BURST_GAP_HOURS = 6
EVIDENCE_CAP = 50  # a burst's evidence lists its first deletions; `detail.deleted` counts them all
SCRATCH = "tw_post_deletes"


class PostDeletedDetector(Detector):
    kinds = ("post_deleted",)
    families = ()
    name = "post_deleted"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"any": self._any_sql(), "deletes": self._deletes_sql(ctx),
                "bursts": self._bursts_sql().replace(SCRATCH, f"({self._deletes_sql(ctx)})"),
                "about": self._about_sql(ctx).replace(SCRATCH, f"({self._deletes_sql(ctx)})")}

    @staticmethod
    def _any_sql() -> str:
        return "SELECT count(*) FROM (SELECT 1 FROM record_deletes WHERE collection = 'app.bsky.feed.post' LIMIT 1)"

    @staticmethod
    def _deletes_sql(ctx: Context) -> str:
        """Each deleted post with what the store knew of it, and the burst of its author's deletions it is in."""
        return f"""
            WITH d0 AS (
                SELECT d.id, d.did AS actor, d.ts, d.ts_lo, p.platform, p.kind AS post_kind, p.target AS other,
                       p.text, p.ts AS posted, lag(d.ts) OVER (PARTITION BY d.did ORDER BY d.ts, d.id) AS prev_ts
                FROM record_deletes d LEFT JOIN events p ON p.id = d.id
                WHERE d.collection = 'app.bsky.feed.post' AND {ctx.window.bound('d.ts')}),
            d AS (
                SELECT *, CASE WHEN prev_ts IS NULL
                                 OR epoch_us(ts) - epoch_us(prev_ts) > {BURST_GAP_HOURS * 3_600_000_000}
                               THEN 1 ELSE 0 END AS starts
                FROM d0)
            SELECT id, actor, ts, ts_lo, platform, post_kind, other, text, posted,
                   CAST(sum(starts) OVER (PARTITION BY actor ORDER BY ts, id) AS BIGINT) AS burst
            FROM d"""

    @staticmethod
    def _bursts_sql() -> str:
        return f"""
            SELECT actor, burst, min(ts) AS first, max(ts) AS last, min(ts_lo) AS lo, count(*) AS n,
                   count(posted) AS known, list({{'ts': ts, 'id': id}}) AS deletions,
                   min(platform) AS platform
            FROM {SCRATCH} GROUP BY actor, burst ORDER BY first, actor"""

    @staticmethod
    def _about_sql(ctx: Context) -> str:
        """Accounts each deleted post was about: the account replied to or quoted, and accounts whose handle it
        mentions (the deleted posts are few; the handles are the accounts table's names that look like
        handles), with how many stored posts with that account remain."""
        return f"""
            WITH refs AS (
                SELECT id, actor, burst, ts, other, CASE WHEN post_kind = 'reply' THEN 'reply' ELSE 'quote' END AS how
                FROM {SCRATCH} WHERE other IS NOT NULL AND post_kind IN ('reply', 'post')
                UNION ALL
                SELECT p.id, p.actor, p.burst, p.ts, a.account, 'mention'
                FROM {SCRATCH} p JOIN accounts a ON a.platform = 'bluesky' AND contains(a.name, '.')
                     AND p.text IS NOT NULL AND contains(lower(p.text), '@' || lower(a.name))),
            g AS (
                SELECT actor || '|' || CAST(burst AS VARCHAR) || '|' || other AS key, 'bluesky' AS platform, actor,
                       other AS target, burst, max(ts) AS at, count(DISTINCT id) AS n,
                       list_sort(list(DISTINCT how)) AS hows, list_sort(list(DISTINCT id)) AS ids
                FROM refs WHERE other <> actor GROUP BY actor, burst, other),
            names_ AS (SELECT account, min(lower(name)) AS name FROM accounts WHERE platform = 'bluesky'
                       GROUP BY account),
            gt AS (SELECT g.key, g.actor, g.target, n.name AS target_name
                   FROM g LEFT JOIN names_ n ON n.account = g.target),
            deleted AS (SELECT DISTINCT id FROM record_deletes),
            remaining AS (
                SELECT gt.key, count(e.id) AS left_n
                FROM gt JOIN events e ON e.platform = 'bluesky' AND e.actor = gt.actor AND e.kind IN ('post', 'reply')
                LEFT JOIN deleted x ON x.id = e.id
                WHERE x.id IS NULL
                  AND (e.target = gt.target OR contains(lower(e.text), '@' || gt.target_name))
                GROUP BY gt.key),
            s AS ({pair_strength_sql('g', 'at', ctx)})
            SELECT g.*, coalesce(s.tie, 0) AS tie, coalesce(r.left_n, 0) AS left_n
            FROM g LEFT JOIN s ON s.key = g.key LEFT JOIN remaining r ON r.key = g.key
            ORDER BY g.at, g.key"""

    def run(self, ctx: Context) -> DetectorOutput:
        if not ctx.engine.scalar(self._any_sql()):
            return DetectorOutput([], {})
        ctx.engine.materialize(SCRATCH, self._deletes_sql(ctx), ctx.window.params)
        try:
            bursts = ctx.engine.arrow(self._bursts_sql()).to_pylist()
            # `g` (a burst's posts about one account) is read four times: computed once on every engine
            with shared_ctes(ctx.engine, self._about_sql(ctx), ctx.window.params, ("g",)) as sql:
                about = ctx.engine.arrow(sql, ctx.window.params).to_pylist()
        finally:
            ctx.engine.drop(SCRATCH)
        out = [self._burst(r) for r in bursts]
        for r in about:
            out.append(Signal(kind="post_deleted", ts=r["at"], start=r["at"], end=r["at"],
                              subjects=[r["actor"], r["target"]], score=float(r["tie"]), p_value=None,
                              evidence=sorted(str(i) for i in r["ids"]), platform="bluesky",
                              detail={"deleted": int(r["n"]), "about": list(r["hows"]), "remaining": int(r["left_n"]),
                                      "tie_strength": round(float(r["tie"]), 3)}))
        return DetectorOutput(out, {})

    @staticmethod
    def _burst(r: dict[str, Any]) -> Signal:
        ids = [str(d["id"]) for d in sorted(r["deletions"], key=lambda d: (d["ts"], d["id"]))]
        first, last, lo = r["first"], r["last"], r["lo"]
        return Signal(kind="post_deleted", ts=last, start=lo or first, end=last, subjects=[r["actor"]],
                      score=float(r["n"]), p_value=None, evidence=ids[:EVIDENCE_CAP],
                      platform=r["platform"] or "bluesky",
                      detail={"deleted": int(r["n"]), "known": int(r["known"]), "burst": int(r["burst"])})
