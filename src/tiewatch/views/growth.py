"""Follower growth, Social Blade style: per-observation deltas as daily, weekly and monthly rates, averages, the
last 30 days and a projection with its uncertainty, for one or several accounts.

Counts come from the metrics table (follower counts) or, for accounts with none, from the sizes of stored
follower snapshots. Observations are irregular (captures days or months apart), so every delta is divided by
the days it spans: per day = change / days between the two observations, per week = 7 x that, per month =
30 x that (a 30-day month). Averages weigh each interval by its length (total change / total days), never the
mean of per-row rates. The last 30 days compare the latest count with the count 30 days earlier, linearly
interpolated between the observations around it (or from the first observation when the series is shorter).

Projection model: the count is a random walk with drift, so a change over d days has mean mu*d and variance
sigma^2*d. mu = total change / total days (the maximum-likelihood estimate under that model); sigma^2 =
sum((change_i - mu*d_i)^2 / d_i) / (n - 1) over the n intervals. The count h days after the latest observation
is forecast as latest + mu*h with variance sigma^2*h + h^2*sigma^2/T (T = total days: the drift's own
uncertainty); the 95% interval uses Student's t with n - 1 degrees of freedom. Follower counts are not
independent increments in reality (news, purges): read the interval as a floor on the uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tiewatch.accounts import Account, resolve
from tiewatch.errors import TiewatchError
from tiewatch.store import Store
from tiewatch.timefmt import iso

HORIZONS = (30, 90, 365)
MONTH_DAYS = 30


@dataclass
class Growth:
    account: Account
    source: str  # "metrics" or "snapshots"
    rows: list[dict[str, Any]]  # ts, followers, change, days, per_day, per_week, per_month
    summary: dict[str, Any] = field(default_factory=dict)
    projection: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account.account, "platform": self.account.platform, "name": self.account.name,
                "source": self.source, "rows": [{**r, "ts": iso(r["ts"])} for r in self.rows],
                "summary": {k: (iso(v) if isinstance(v, datetime) else v) for k, v in self.summary.items()},
                "projection": [{**p, "ts": iso(p["ts"])} for p in self.projection],
                "model": "random walk with drift; 95% interval from Student's t"}


def _series_sql(source: str) -> str:
    """Observations with the change since the previous one and the days between them (window functions)."""
    base = ("SELECT ts, followers FROM metrics WHERE platform = $p AND account = $a AND followers IS NOT NULL"
            if source == "metrics" else
            "SELECT taken AS ts, count(*) AS followers FROM snapshots WHERE platform = $p AND account = $a "
            "AND direction = 'followers' GROUP BY taken")
    return f"""
        WITH s AS (SELECT ts, any_value(followers) AS followers FROM ({base}) GROUP BY ts),
             d AS (SELECT ts, followers, followers - lag(followers) OVER w AS change,
                          (epoch(ts) - epoch(lag(ts) OVER w)) / 86400.0 AS days
                   FROM s WINDOW w AS (ORDER BY ts))
        SELECT ts, followers, change, days, change / days AS per_day, 7 * change / days AS per_week,
               {MONTH_DAYS} * change / days AS per_month
        FROM d WHERE CAST($since AS TIMESTAMP) IS NULL OR ts >= CAST($since AS TIMESTAMP) ORDER BY ts"""


def _t95(dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def growth_of(store: Store, name: str, since: datetime | None = None) -> Growth:
    acc = resolve(store, name)
    params = {"p": acc.platform, "a": acc.account, "since": since}
    source = "metrics"
    rows = store.con.execute(_series_sql(source), params).fetchall()
    if not rows:
        source = "snapshots"
        rows = store.con.execute(_series_sql(source), params).fetchall()
    if not rows:
        raise TiewatchError(f"{acc}: no follower counts stored (no metrics with followers, no follower snapshots)")
    keys = ("ts", "followers", "change", "days", "per_day", "per_week", "per_month")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    if since is not None:  # the first row's change reaches back before --since
        out[0].update(change=None, days=None, per_day=None, per_week=None, per_month=None)
    g = Growth(acc, source, out)
    first, last = out[0], out[-1]
    span = (last["ts"] - first["ts"]).total_seconds() / 86400.0
    total = int(last["followers"]) - int(first["followers"])
    g.summary = {"first": first["ts"], "last": last["ts"], "followers": int(last["followers"]),
                 "observations": len(out), "days": span, "change": total}
    if span <= 0:
        return g
    mu = total / span
    g.summary.update(avg_per_day=mu, avg_per_week=7 * mu, avg_per_month=MONTH_DAYS * mu)
    # the last 30 days: the count 30 days before the latest, interpolated between the observations around it
    start = last["ts"] - timedelta(days=30)
    if first["ts"] >= start:
        g.summary.update(last_30_days=total, last_30_days_from=first["ts"], last_30_days_interpolated=False)
    else:
        before = max((r for r in out if r["ts"] <= start), key=lambda r: r["ts"])
        after = min((r for r in out if r["ts"] > start), key=lambda r: r["ts"])
        frac = (start - before["ts"]).total_seconds() / (after["ts"] - before["ts"]).total_seconds()
        then = before["followers"] + frac * (after["followers"] - before["followers"])
        g.summary.update(last_30_days=round(last["followers"] - then), last_30_days_from=start,
                         last_30_days_interpolated=before["ts"] != start)
    steps = [(r["change"], r["days"]) for r in out[1:] if r["days"]]
    if len(steps) < 2:
        return g
    sigma2 = sum((c - mu * d) ** 2 / d for c, d in steps) / (len(steps) - 1)
    tq = _t95(len(steps) - 1)
    for h in HORIZONS:
        mean = last["followers"] + mu * h
        sd = math.sqrt(sigma2 * h + h * h * sigma2 / span)
        g.projection.append({"days": h, "ts": last["ts"] + timedelta(days=h), "followers": round(mean),
                             "low": round(mean - tq * sd), "high": round(mean + tq * sd)})
    return g


def growth_views(store: Store, names: list[str], since: datetime | None = None) -> list[Growth]:
    return [growth_of(store, n, since) for n in names]


def growth_chart(views: list[Growth]) -> Any:
    """Several accounts on one picture: counts as lines, projections dashed with their 95% band."""
    import altair as alt

    points = [{"account": g.account.label, "ts": iso(r["ts"]), "followers": r["followers"]}
              for g in views for r in g.rows]
    proj = []
    for g in views:
        if not g.projection:
            continue
        last = g.rows[-1]
        start = {"ts": last["ts"], "followers": last["followers"], "low": last["followers"],
                 "high": last["followers"]}
        proj += [{"account": g.account.label, "ts": iso(p["ts"]), "followers": p["followers"], "low": p["low"],
                  "high": p["high"]} for p in (start, *g.projection[:2])]
    color = alt.Color("account:N", title=None, legend=alt.Legend(orient="top"))
    x = alt.X("ts:T", title=None)
    layers = [alt.Chart(alt.InlineData(values=points)).mark_line(point=True).encode(
        x=x, y=alt.Y("followers:Q", title="followers", scale=alt.Scale(zero=False)), color=color)]
    if proj:
        data = alt.InlineData(values=proj)
        layers.append(alt.Chart(data).mark_area(opacity=0.15).encode(x=x, y="low:Q", y2="high:Q", color=color))
        layers.append(alt.Chart(data).mark_line(strokeDash=[5, 4]).encode(x=x, y="followers:Q", color=color))
    title = "followers over time" + (" (dashed: projection, band: 95% interval)" if proj else "")
    return alt.layer(*layers).properties(width=760, height=320, title=title)
