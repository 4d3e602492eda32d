"""Both directions of a relationship over time: engagements, share of the other's posts, tie strength."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tiewatch.accounts import Account, resolve
from tiewatch.detect.ties import HALF_LIFE_DAYS, KIND_WEIGHTS, contribution_sql
from tiewatch.errors import TiewatchError
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.timefmt import iso

ENGAGE = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)


@dataclass
class PairView:
    a: Account
    b: Account
    periods: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    news: list[dict[str, Any]]
    bucket: str
    totals: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"a": self.a.account, "b": self.b.account, "a_name": self.a.label, "b_name": self.b.label,
                "bucket": self.bucket, "periods": self.periods, "signals": self.signals, "news": self.news,
                "totals": self.totals}


def pair_view(store: Store, a_name: str, b_name: str, bucket: str = "month") -> PairView:
    a, b = resolve(store, a_name), resolve(store, b_name)
    if a.platform != b.platform:
        raise TiewatchError(f"{a} and {b} are on different platforms")
    if bucket not in ("week", "month"):
        raise TiewatchError("bucket must be week or month")
    rows = store.con.execute(f"""
        WITH ev AS (SELECT * FROM events WHERE platform = ? AND ts IS NOT NULL
                    AND actor IN (?, ?)),
        span AS (SELECT date_trunc('{bucket}', min(CASE WHEN kind IN ({ENGAGE}) AND target IN (?, ?) THEN ts END))
                        AS lo, date_trunc('{bucket}', max(ts)) AS hi FROM ev),
        periods AS (SELECT unnest(generate_series(lo, hi, INTERVAL 1 {bucket})) AS period FROM span),
        dir AS (SELECT 'ab' AS d, ? AS src, ? AS dst UNION ALL SELECT 'ba', ?, ?),
        posts AS (SELECT actor, date_trunc('{bucket}', ts) AS period, count(*) AS n FROM ev WHERE kind = 'post'
                  GROUP BY ALL),
        eng AS (SELECT dir.d, date_trunc('{bucket}', e.ts) AS period, count(*) AS n,
                       count(DISTINCT CASE WHEN e.kind IN ('like', 'comment', 'reply', 'repost') THEN e.post END)
                         AS posts_engaged
                FROM ev e JOIN dir ON e.actor = dir.src AND e.target = dir.dst
                WHERE e.kind IN ({ENGAGE}) GROUP BY ALL),
        -- Tie strength at each period's end, decayed: each period's engagements are summed at its own end,
        -- then carried to later ends by the decay between the two ends (periods x periods, never periods x
        -- engagements: a fan's hundred thousand likes of a star do not multiply with the weeks).
        per AS (
            SELECT dir.d, date_trunc('{bucket}', e.ts) AS period,
                   sum({contribution_sql(f"(date_trunc('{bucket}', e.ts) + INTERVAL 1 {bucket})", "e.ts", "e.kind")})
                     AS s
            FROM ev e JOIN dir ON e.actor = dir.src AND e.target = dir.dst WHERE e.kind IN ({ENGAGE}) GROUP BY ALL),
        strength AS (
            SELECT p.period, per.d,
                   sum(per.s * power(2.0, -(epoch(p.period + INTERVAL 1 {bucket})
                                           - epoch(per.period + INTERVAL 1 {bucket})) / 86400.0 / {HALF_LIFE_DAYS}))
                     AS s
            FROM periods p JOIN per ON per.period <= p.period GROUP BY ALL)
        SELECT p.period,
               coalesce(ab.n, 0), coalesce(ba.n, 0), coalesce(pb.n, 0), coalesce(pa.n, 0),
               coalesce(ab.posts_engaged, 0), coalesce(ba.posts_engaged, 0),
               coalesce(sab.s, 0), coalesce(sba.s, 0)
        FROM periods p
        LEFT JOIN eng ab ON ab.period = p.period AND ab.d = 'ab'
        LEFT JOIN eng ba ON ba.period = p.period AND ba.d = 'ba'
        LEFT JOIN posts pb ON pb.period = p.period AND pb.actor = ?
        LEFT JOIN posts pa ON pa.period = p.period AND pa.actor = ?
        LEFT JOIN strength sab ON sab.period = p.period AND sab.d = 'ab'
        LEFT JOIN strength sba ON sba.period = p.period AND sba.d = 'ba'
        ORDER BY p.period""", [a.platform, a.account, b.account, a.account, b.account, a.account, b.account,
                               b.account, a.account,
                               b.account, a.account]).fetchall()
    periods = []
    for period, ab, ba, b_posts, a_posts, ab_posts, ba_posts, sab, sba in rows:
        periods.append({"period": iso(period), "a_to_b": ab, "b_to_a": ba, "b_posts": b_posts, "a_posts": a_posts,
                        "a_share_of_b_posts": round(ab_posts / b_posts, 3) if b_posts else None,
                        "b_share_of_a_posts": round(ba_posts / a_posts, 3) if a_posts else None,
                        "tie_a_to_b": round(sab, 3), "tie_b_to_a": round(sba, 3)})
    both = [s for s in list_signals(store, account=a)
            if b.account in s["subjects"] and (s["subjects"][:2] in ([a.account, b.account], [b.account, a.account])
                                               or s["kind"] == "coincidence")]
    news = [{"id": i, "ts": iso(ts), "title": t, "url": u, "subjects": list(subj or [])} for i, ts, t, u, subj in
            store.con.execute("SELECT id, ts, title, url, subjects FROM news WHERE list_contains(subjects, ?) "
                              "OR list_contains(subjects, ?) ORDER BY ts", [a.account, b.account]).fetchall()]
    totals = {"a_to_b": sum(p["a_to_b"] for p in periods), "b_to_a": sum(p["b_to_a"] for p in periods)}
    return PairView(a, b, periods, both, news, bucket, totals)
