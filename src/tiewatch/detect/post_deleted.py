"""post_deleted: an account deleting posts, one signal per burst of deletions, and above all one per account
its deleted posts were about ("deleted every post with B").

Deletions of app.bsky.feed.post records (record_deletes) by one account are grouped into bursts: a deletion
more than BURST_GAP after the previous one starts a new burst. Each burst is a signal about the account
(score = number of posts deleted). For each other account B that deleted posts replied to or mentioned
(@handle in the text of the stored post), another signal names A and B, ranked by their tie strength, and
says whether A deleted every stored post with B. Quotes are not in the stored events and are not counted.
Observed facts: p-value null.
"""

from __future__ import annotations

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.naming import Names, day
from tiewatch.detect.unlike import pair_strength_sql

BURST_GAP_HOURS = 6


class PostDeletedDetector(Detector):
    kinds = ("post_deleted",)
    families = ()
    name = "post_deleted"

    def run(self, ctx: Context) -> DetectorOutput:
        if not ctx.store.scalar("SELECT count(*) FROM (SELECT 1 FROM record_deletes "
                                "WHERE collection = 'app.bsky.feed.post' LIMIT 1)"):
            return DetectorOutput([], {})
        con = ctx.store.con
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE tw_post_deletes AS
            WITH d AS (
                SELECT d.id, d.did AS actor, d.ts, d.ts_lo, p.platform, p.target AS reply_to, p.text, p.ts AS posted,
                       CASE WHEN d.ts - lag(d.ts) OVER w > INTERVAL {BURST_GAP_HOURS} HOUR
                                 OR lag(d.ts) OVER w IS NULL THEN 1 ELSE 0 END AS starts
                FROM record_deletes d LEFT JOIN events p ON p.id = d.id
                WHERE d.collection = 'app.bsky.feed.post' AND {ctx.window.where('d.ts')}
                WINDOW w AS (PARTITION BY d.did ORDER BY d.ts, d.id))
            SELECT *, sum(starts) OVER (PARTITION BY actor ORDER BY ts, id) AS burst FROM d""")
        bursts = con.execute("""
            SELECT actor, burst, min(ts) AS first, max(ts) AS last, min(ts_lo) AS lo, count(*) AS n,
                   count(posted) AS known, list(id ORDER BY ts, id) AS ids, any_value(platform) AS platform
            FROM tw_post_deletes GROUP BY actor, burst ORDER BY first, actor""").fetchall()
        # Accounts each deleted post was about: the account replied to, and accounts whose handle it mentions
        # (the deleted posts are few; the handles are the accounts table's names that look like handles).
        about = con.execute(f"""
            WITH refs AS (
                SELECT id, actor, burst, ts, 'bluesky' AS platform, reply_to AS other, 'reply' AS how
                FROM tw_post_deletes WHERE reply_to IS NOT NULL
                UNION ALL
                SELECT p.id, p.actor, p.burst, p.ts, 'bluesky', a.account, 'mention'
                FROM tw_post_deletes p JOIN accounts a ON a.platform = 'bluesky' AND contains(a.name, '.')
                     AND p.text IS NOT NULL AND contains(lower(p.text), '@' || lower(a.name))),
            g AS (
                SELECT actor || '|' || burst || '|' || other AS key, 'bluesky' AS platform, actor, other AS target,
                       burst, max(ts) AS at, count(DISTINCT id) AS n, list(DISTINCT how) AS hows,
                       list(DISTINCT id) AS ids
                FROM refs WHERE other <> actor GROUP BY actor, burst, other),
            remaining AS (
                SELECT g.key, count(e.id) AS left_n FROM g JOIN events e ON e.platform = 'bluesky'
                    AND e.actor = g.actor AND e.kind IN ('post', 'reply')
                    AND (e.target = g.target OR contains(lower(e.text), '@' || lower(
                        (SELECT any_value(name) FROM accounts a WHERE a.platform = 'bluesky'
                         AND a.account = g.target))))
                    AND NOT EXISTS (SELECT 1 FROM record_deletes d WHERE d.id = e.id)
                GROUP BY g.key),
            s AS ({pair_strength_sql('g', 'at', ctx)})
            SELECT g.*, coalesce(s.tie, 0) AS tie, coalesce(r.left_n, 0) AS left_n
            FROM g LEFT JOIN s ON s.key = g.key LEFT JOIN remaining r ON r.key = g.key
            ORDER BY g.at, g.key""").fetchall()
        about_cols = [c[0] for c in con.description or []]
        con.execute("DROP TABLE IF EXISTS tw_post_deletes")
        names = Names(ctx.store)
        out = []
        for actor, burst, first, last, lo, n, known, ids, platform in bursts:
            la = names.label("bluesky", actor)
            span = f"on {day(first)}" if day(first) == day(last) else f"between {day(first)} and {day(last)}"
            if lo is not None:
                span = f"between {day(lo)} and {day(last)}"
            posts = "a post" if n == 1 else f"{n} posts"
            out.append(Signal(kind="post_deleted", ts=last, start=lo or first, end=last, subjects=[actor],
                              score=float(n), p_value=None, evidence=[str(i) for i in ids][:50],
                              summary=f"{la} deleted {posts} {span} ({known} of them seen before).",
                              platform=platform or "bluesky", detail={"deleted": n, "known": known, "burst": burst}))
        for values in about:
            r = dict(zip(about_cols, values, strict=True))
            la, lb = names.label("bluesky", r["actor"]), names.label("bluesky", r["target"])
            posts = "a post" if r["n"] == 1 else f"{r['n']} posts"
            how = " and ".join(sorted({"reply": "replying to", "mention": "mentioning"}[h] for h in r["hows"]))
            every = "every stored post with" if r["left_n"] == 0 else f"{r['left_n']} other posts with {lb} remain;"
            tail = f"{every} {lb}" if r["left_n"] == 0 else every
            summary = (f"{la} deleted {posts} {how} {lb} on {day(r['at'])} ({tail}; "
                       f"tie strength {r['tie']:.1f}).")
            out.append(Signal(kind="post_deleted", ts=r["at"], start=r["at"], end=r["at"],
                              subjects=[r["actor"], r["target"]], score=float(r["tie"]), p_value=None,
                              evidence=sorted(str(i) for i in r["ids"]), summary=summary, platform="bluesky",
                              detail={"deleted": r["n"], "about": r["hows"], "remaining": r["left_n"],
                                      "tie_strength": round(float(r["tie"]), 3)}))
        return DetectorOutput(out, {})
