"""Unlike: a like deleted later. An observed fact (p-value null), ranked by the tie between the two accounts.

Deletions come from record_deletes (Jetstream deletes of app.bsky.feed.like records, and likes found missing
from a newer copy of the repository); each is matched to the like it removes through its AT URI
(at://actor/app.bsky.feed.like/rkey), which may have been created long before tracking began and found in the
backfilled repository. A deletion whose like the store never saw says nothing about whose post it was and is
not reported. Score = tie strength between actor and author at the deletion (both directions, decayed).
"""

from __future__ import annotations

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.naming import Names, day
from tiewatch.detect.ties import KIND_WEIGHTS, contribution_sql


def pair_strength_sql(pairs: str, at: str, ctx: Context) -> str:
    """(key, tie): the tie between actor and target at `at` for each row of `pairs` (key, platform, actor,
    target, <at>), from the engagements before it in both directions."""
    kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
    return f"""
        SELECT p.key, sum({contribution_sql(f'p.{at}', 'e.ts', 'e.kind', ctx.dialect)}) AS tie
        FROM {pairs} p JOIN {ctx.events_sql()} e ON e.platform = p.platform AND e.ts <= p.{at}
             AND e.kind IN ({kinds})
             AND ((e.actor = p.actor AND e.target = p.target) OR (e.actor = p.target AND e.target = p.actor))
        GROUP BY p.key"""


class UnlikeDetector(Detector):
    kinds = ("unlike",)
    families = ()
    name = "unlike"

    def run(self, ctx: Context) -> DetectorOutput:
        if not ctx.store.scalar("SELECT count(*) FROM (SELECT 1 FROM record_deletes "
                                "WHERE collection = 'app.bsky.feed.like' LIMIT 1)"):
            return DetectorOutput([], {})
        rows = ctx.store.con.execute(f"""
            WITH u AS (
                SELECT d.id AS key, l.platform, l.actor, l.target, l.post, l.ts AS liked, d.ts AS deleted,
                       d.ts_lo AS deleted_lo, p.ts AS posted
                FROM record_deletes d
                JOIN events l ON l.id = d.id AND l.kind = 'like' AND l.target IS NOT NULL
                LEFT JOIN events p ON p.id = l.post
                WHERE d.collection = 'app.bsky.feed.like' AND {ctx.window.where('d.ts')}),
            s AS ({pair_strength_sql('u', 'deleted', ctx)})
            SELECT u.*, coalesce(s.tie, 0) AS tie FROM u LEFT JOIN s ON s.key = u.key
            ORDER BY u.deleted, u.key""").fetchall()
        cols = [c[0] for c in ctx.store.con.description or []]
        names = Names(ctx.store)
        out = []
        for values in rows:
            r = dict(zip(cols, values, strict=True))
            la, lb = names.label(r["platform"], r["actor"]), names.label(r["platform"], r["target"])
            post = f"{lb}'s post of {day(r['posted'])}" if r["posted"] else f"a post by {lb}"
            when = (f"on {day(r['deleted'])}" if r["deleted_lo"] is None
                    else f"between {day(r['deleted_lo'])} and {day(r['deleted'])}")
            liked = f" (liked {day(r['liked'])})" if r["liked"] else ""
            summary = f"{la} unliked {post} {when}{liked}; tie strength {r['tie']:.1f}."
            out.append(Signal(kind="unlike", ts=r["deleted"], start=r["liked"] or r["deleted_lo"] or r["deleted"],
                              end=r["deleted"], subjects=[r["actor"], r["target"]], score=float(r["tie"]),
                              p_value=None, evidence=[r["key"], r["key"] + "#delete"], summary=summary,
                              platform=r["platform"],
                              detail={"tie_strength": round(float(r["tie"]), 3), "post": r["post"],
                                      "liked": r["liked"], "deleted_after": r["deleted_lo"]}))
        return DetectorOutput(out, {})
