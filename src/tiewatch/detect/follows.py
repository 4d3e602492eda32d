"""Follow and unfollow: observed facts, not tests (p-value null), ranked by the tie between the accounts.

Every unfollow is reported; a follow is reported when the two accounts were already tied (engagement in
either direction before it) or when it re-establishes an edge after an unfollow. Score = tie strength at
the moment of the change (both directions, decayed), so an unfollow between close accounts ranks far above a
fan's.
"""

from __future__ import annotations

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.ties import KIND_WEIGHTS, contribution_sql
from tiewatch.engines.shared import shared_ctes


class FollowDetector(Detector):
    kinds = ("follow", "unfollow")
    families = ()
    name = "follow"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"any": self._any_sql(ctx), "changes": self._sql(ctx)}

    @staticmethod
    def _any_sql(ctx: Context) -> str:
        return (f"SELECT count(*) FROM (SELECT 1 FROM {ctx.events_bound()} "
                "WHERE kind IN ('follow', 'unfollow') LIMIT 1)")

    @staticmethod
    def _sql(ctx: Context) -> str:
        kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
        return f"""
            WITH ev AS {ctx.events_bound()},
            f AS (SELECT id, platform, actor, target, kind, ts, ts_lo, ts_hi,
                         lag(kind) OVER (PARTITION BY platform, actor, target ORDER BY ts, id) AS prev_kind
                  FROM ev WHERE kind IN ('follow', 'unfollow') AND target IS NOT NULL),
            pair_ev AS (  -- the pair's engagements, each direction an equality join (an OR would pair every
                          -- follow with every event of the platform)
                SELECT f.id, f.ts AS f_ts, e.ts, e.kind, 1 AS out_,
                       CASE WHEN f.actor = f.target THEN 1 ELSE 0 END AS in_  -- as the OR counted a self-tie
                FROM f JOIN ev e ON e.platform = f.platform AND e.actor = f.actor AND e.target = f.target
                WHERE e.ts <= f.ts AND e.kind IN ({kinds})
                UNION ALL
                SELECT f.id, f.ts, e.ts, e.kind, 0, 1
                FROM f JOIN ev e ON e.platform = f.platform AND e.actor = f.target AND e.target = f.actor
                WHERE e.ts <= f.ts AND e.kind IN ({kinds}) AND f.actor <> f.target),
            strength AS (
                SELECT id, sum({contribution_sql('f_ts', 'ts', 'kind', ctx.dialect)}) AS tie, sum(out_) AS out_n,
                       sum(in_) AS in_n
                FROM pair_ev GROUP BY id)
            SELECT f.*, coalesce(s.tie, 0) AS tie, coalesce(s.out_n, 0) AS out_n, coalesce(s.in_n, 0) AS in_n
            FROM f LEFT JOIN strength s ON s.id = f.id
            WHERE f.kind = 'unfollow' OR coalesce(s.tie, 0) > 0 OR f.prev_kind = 'unfollow'
            ORDER BY f.ts, f.id"""

    def run(self, ctx: Context) -> DetectorOutput:
        if not ctx.engine.scalar(self._any_sql(ctx), ctx.window.params):
            return DetectorOutput([], {})
        out = []
        # `f` (the follow events, with the pair's previous one) is read three times: computed once on every engine
        with shared_ctes(ctx.engine, self._sql(ctx), ctx.window.params, ("f",)) as sql:
            rows = ctx.engine.arrow(sql, ctx.window.params).to_pylist()
        for r in rows:
            out.append(Signal(kind=r["kind"], ts=r["ts"], start=r["ts_lo"] or r["ts"], end=r["ts_hi"] or r["ts"],
                              subjects=[r["actor"], r["target"]], score=float(r["tie"]), p_value=None,
                              evidence=[r["id"]], platform=r["platform"],
                              detail={"tie_strength": round(float(r["tie"]), 3), "engagements_out": int(r["out_n"]),
                                      "engagements_in": int(r["in_n"]), "refollow": r["prev_kind"] == "unfollow"}))
        return DetectorOutput(out, {})
