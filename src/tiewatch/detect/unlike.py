"""Unlike: a like deleted later. An observed fact (p-value null), ranked by the tie between the two accounts.

Deletions come from record_deletes (Jetstream deletes of app.bsky.feed.like records, and likes found missing
from a newer copy of the repository); each is matched to the like it removes through its AT URI
(at://actor/app.bsky.feed.like/rkey), which may have been created long before tracking began and found in the
backfilled repository. A deletion whose like the store never saw says nothing about whose post it was and is
not reported. Score = tie strength between actor and author at the deletion (both directions, decayed).
"""

from __future__ import annotations

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.ties import KIND_WEIGHTS, contribution_sql
from tiewatch.engines.shared import shared_ctes


def pair_strength_sql(pairs: str, at: str, ctx: Context) -> str:
    """(key, tie): the tie between actor and target at `at` for each row of `pairs` (key, platform, actor,
    target, <at>), from the engagements (inside the window) before it in both directions. Each direction is an
    equality join: an OR would pair every row with every event of the platform."""
    kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
    return f"""
        SELECT key, sum({contribution_sql('at_', 'ts', 'kind', ctx.dialect)}) AS tie FROM (
            SELECT p.key, p.{at} AS at_, e.ts, e.kind
            FROM {pairs} p JOIN {ctx.events_bound()} e ON e.platform = p.platform AND e.actor = p.actor
                 AND e.target = p.target
            WHERE e.ts <= p.{at} AND e.kind IN ({kinds})
            UNION ALL
            SELECT p.key, p.{at}, e.ts, e.kind
            FROM {pairs} p JOIN {ctx.events_bound()} e ON e.platform = p.platform AND e.actor = p.target
                 AND e.target = p.actor
            WHERE e.ts <= p.{at} AND e.kind IN ({kinds}) AND p.actor <> p.target)
        GROUP BY key"""


class UnlikeDetector(Detector):
    kinds = ("unlike",)
    families = ()
    name = "unlike"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"any": self._any_sql(), "unlikes": self._sql(ctx)}

    @staticmethod
    def _any_sql() -> str:
        return "SELECT count(*) FROM (SELECT 1 FROM record_deletes WHERE collection = 'app.bsky.feed.like' LIMIT 1)"

    @staticmethod
    def _sql(ctx: Context) -> str:
        return f"""
            WITH u AS (
                SELECT d.id AS key, l.platform, l.actor, l.target, l.post, l.ts AS liked, d.ts AS deleted,
                       d.ts_lo AS deleted_lo, p.ts AS posted
                FROM record_deletes d
                JOIN events l ON l.id = d.id AND l.kind = 'like' AND l.target IS NOT NULL
                LEFT JOIN events p ON p.id = l.post
                WHERE d.collection = 'app.bsky.feed.like' AND {ctx.window.bound('d.ts')}),
            s AS ({pair_strength_sql('u', 'deleted', ctx)})
            SELECT u.*, coalesce(s.tie, 0) AS tie FROM u LEFT JOIN s ON s.key = u.key
            ORDER BY u.deleted, u.key"""

    def run(self, ctx: Context) -> DetectorOutput:
        if not ctx.engine.scalar(self._any_sql()):
            return DetectorOutput([], {})
        out = []
        # `u` (the deleted likes) is read three times: computed once on every engine
        with shared_ctes(ctx.engine, self._sql(ctx), ctx.window.params, ("u",)) as sql:
            rows = ctx.engine.arrow(sql, ctx.window.params).to_pylist()
        for r in rows:
            out.append(Signal(kind="unlike", ts=r["deleted"], start=r["liked"] or r["deleted_lo"] or r["deleted"],
                              end=r["deleted"], subjects=[r["actor"], r["target"]], score=float(r["tie"]),
                              p_value=None, evidence=[r["key"], r["key"] + "#delete"], platform=r["platform"],
                              detail={"tie_strength": round(float(r["tie"]), 3), "post": r["post"],
                                      "posted": r["posted"], "liked": r["liked"], "deleted_after": r["deleted_lo"]}))
        return DetectorOutput(out, {})
