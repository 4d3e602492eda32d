"""Audience drop / surge: an account's follower count moves far outside its own trend and spread.

Model: the daily change in followers (change between snapshots divided by the days between them) is the
account's trend plus noise. Trend = median of the previous 28 daily changes; noise = a Student-t scaled to
the interquartile range of those 28 changes (to their standard deviation when the interquartile range is
zero, and to at least one follower a day). The t's degrees of freedom ν (how heavy the tails are: follower
counts jump, and some accounts jump far more often than others) are the account's own, chosen by maximum
likelihood on the grid TAIL_DF (1 = Cauchy ... 4) from all its tested days in the window (censored: beyond
the t4's 1% point only the number of such days counts, not their size); 4 is the lightest tail allowed, so
an account never gets a test sharper than a t4. Each day with at least 14 earlier changes is one two-sided
test. After false-discovery control, consecutive significant days in the same direction merge into one
episode with its start, end, total change, change in per cent and in units of the usual daily spread.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.special import gammaln, stdtr, stdtrit  # what scipy.stats.t computes with (importing it: +0.5 s)

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.segments import change_points, fit_segments
from tiewatch.detect.sqltime import days_between

TRAILING = 28
MIN_HISTORY = 14
DF = 4  # the lightest tail: the screen in SQL (|z| under a t4) keeps a superset of what any ν in TAIL_DF passes
# ν = 1 is the Cauchy: on an account that jumps that often, a day's p-value falls only as 1/z, and a drop
# has to be very large to be told apart from the account's own jumps (it is then said by segmentation, untested).
TAIL_DF = (1, 2, 3, 4)
FAMILY = "audience"
IQR_PER_SCALE = 2 * float(stdtrit(DF, 0.75))  # IQR of a unit-scale t4
SD_PER_SCALE = float(np.sqrt(DF / (DF - 2)))  # standard deviation of a unit-scale t4
# z is standardised for a t4 (scale = IQR / IQR_PER_SCALE); under a t with ν degrees of freedom the same IQR
# gives a smaller scale, so the standardised change is z * TAIL_FACTOR[ν].
TAIL_FACTOR = {v: 2 * float(stdtrit(v, 0.75)) / IQR_PER_SCALE for v in TAIL_DF}
# The tail is fitted by a likelihood censored at the t4's two-sided 1% point: a change beyond it counts only as
# "beyond", so how far the largest changes go (a real drop among them) does not decide the fit.
TAIL_CENSOR = -float(stdtrit(DF, 0.005))  # t.isf(q) = -t.ppf(q)
# When the trailing changes have no interquartile spread (a flat account, or one growing by exactly the same
# amount every day), the scale comes from their standard deviation, and never falls below one follower a
# day: counts are integers, so a smaller spread cannot be told from rounding. Without this floor such an
# account could lose half its followers without raising anything.
SPREAD_FLOOR = 1.0


class AudienceDetector(Detector):
    """Audience drops and surges (tested), the platform-wide shifts they add up to (tested, same family:
    detect/platform.py), and where a follower series changed course (segmentation, untested)."""

    kinds = ("audience_drop", "audience_surge", "audience_shift", "platform_shift")
    families = ("audience",)
    name = "audience"

    def queries(self, ctx: Context) -> dict[str, str]:
        from tiewatch.detect.platform import PlatformShift

        return {"tests": self._sql(ctx), "tails": self._tails(ctx), "days": self._screen(ctx),
                "series": self._series(ctx),
                **PlatformShift().queries(ctx)}

    def _sql(self, ctx: Context) -> str:
        """One row per tested day (DuckDB's dialect, window bounds as parameters: compiled per engine)."""
        return f"""
        WITH m AS (SELECT platform, account, ts, followers FROM metrics
                   WHERE followers IS NOT NULL AND {ctx.window.bound()}),
        lagged AS (
            SELECT *, lag(ts) OVER w AS prev_ts, lag(followers) OVER w AS prev_followers,
                   row_number() OVER w AS idx
            FROM m WINDOW w AS (PARTITION BY platform, account ORDER BY ts)),
        rates AS (
            SELECT *, (followers - prev_followers) / greatest({days_between('ts', 'prev_ts')}, 1.0 / 24) AS rate
            FROM lagged WHERE prev_ts IS NOT NULL),
        trail AS (
            SELECT *, median(rate) OVER w AS trend, quantile_cont(rate, 0.25) OVER w AS q1,
                   quantile_cont(rate, 0.75) OVER w AS q3, count(rate) OVER w AS n,
                   coalesce(stddev_samp(rate) OVER w, 0) AS sd
            FROM rates WINDOW w AS (PARTITION BY platform, account ORDER BY ts
                                    ROWS BETWEEN {TRAILING} PRECEDING AND 1 PRECEDING)),
        scaled AS (  -- zero spread (a flat or perfectly steady account) still gets a scale: see SPREAD_FLOOR
            SELECT *, greatest(CASE WHEN q3 > q1 THEN (q3 - q1) / {IQR_PER_SCALE} ELSE sd / {SD_PER_SCALE} END,
                               {SPREAD_FLOOR}) AS scale
            FROM trail WHERE n >= {MIN_HISTORY})
        SELECT platform, account, ts, followers, prev_ts, prev_followers, idx, trend, scale,
               (rate - trend) / scale AS z
        FROM scaled"""

    def _screen(self, ctx: Context) -> str:
        """The tested days far enough out to be kept ($z_min: the |z| whose p-value is the keep threshold)."""
        return f"SELECT * FROM ({self._sql(ctx)}) WHERE abs(z) >= $z_min ORDER BY platform, account, ts"

    def _tails(self, ctx: Context) -> str:
        """Per account: its tested days within ±TAIL_CENSOR (n_in) and beyond (n_out), and per ν in TAIL_DF the
        sum of ln(1 + (z c_ν)² / ν) over the days within, the data-dependent part of the censored t_ν
        log-likelihood (tail_df does the rest)."""
        sums = ", ".join(f"sum(CASE WHEN abs(z) <= {TAIL_CENSOR} THEN ln(1 + (z * {TAIL_FACTOR[v]}) * "
                         f"(z * {TAIL_FACTOR[v]}) / {v}.0) ELSE 0 END) AS s{v}" for v in TAIL_DF)
        return f"""
            SELECT platform, account, count(CASE WHEN abs(z) <= {TAIL_CENSOR} THEN 1 END) AS n_in,
                   count(CASE WHEN abs(z) > {TAIL_CENSOR} THEN 1 END) AS n_out, {sums}
            FROM ({self._sql(ctx)}) GROUP BY platform, account ORDER BY platform, account"""

    def tail_df(self, ctx: Context) -> dict[tuple[str, str], int]:
        """Each account's ν (maximum censored likelihood on TAIL_DF; ties go to the lighter tail)."""
        out = {}
        for r in ctx.engine.arrow(self._tails(ctx), ctx.window.params).to_pylist():
            out[(r["platform"], r["account"])] = max(
                TAIL_DF, key=lambda v: (_t_loglik(v, r["n_in"], r["n_out"], r[f"s{v}"]), v))
        return out

    def run(self, ctx: Context) -> DetectorOutput:
        n_tests = int(ctx.engine.scalar(f"SELECT count(*) FROM ({self._sql(ctx)})", ctx.window.params))
        z_min = -float(stdtrit(DF, ctx.keep_p / 2))
        tbl = ctx.engine.arrow(self._screen(ctx), {**ctx.window.params, "z_min": z_min})
        tails = self.tail_df(ctx) if tbl.num_rows else {}
        out = []
        for row in tbl.to_pylist():
            nu = tails[(row["platform"], row["account"])]
            p = day_p(row["z"], nu)
            row["tail_df"] = nu
            if p > ctx.keep_p:
                continue
            kind = "audience_drop" if row["z"] < 0 else "audience_surge"
            out.append(Signal(kind=kind, ts=row["ts"], start=row["prev_ts"], end=row["ts"], subjects=[row["account"]],
                              score=float(-np.log10(max(p, 1e-300))), p_value=p,
                              evidence=[_metric_key(row["platform"], row["account"], row["ts"])],
                              detail=_day_detail(row), platform=row["platform"], family=FAMILY))
        self.shifts = self._shifts(ctx)  # untested: added in finalize, beside the tested episodes
        from tiewatch.detect.platform import PlatformShift

        shared = PlatformShift().run(ctx, tails or None)
        return DetectorOutput(out + shared.signals, {FAMILY: n_tests + shared.tests.get(FAMILY, 0)})

    def _series(self, ctx: Context) -> str:
        return f"""
            SELECT platform, account, ts, followers FROM metrics
            WHERE followers IS NOT NULL AND {ctx.window.bound()} ORDER BY platform, account, ts"""

    def _shifts(self, ctx: Context) -> list[Signal]:
        """Where each account's follower series changed level or trend (piecewise-linear segmentation, 2 ln n
        penalty: detect/segments.py). Not a test: these signals carry no p-value and are ranked by how far
        the count 30 days on departs from the old trend."""
        tbl = ctx.engine.arrow(self._series(ctx), ctx.window.params)  # bounded by metric rows, not events
        if tbl.num_rows == 0:
            return []
        key = np.array([f"{p}\x00{a}" for p, a in zip(tbl["platform"].to_pylist(), tbl["account"].to_pylist(),
                                                      strict=True)])
        ts = tbl["ts"].to_pylist()
        days = (tbl["ts"].cast(pa.int64()).to_numpy() / 86_400e6).astype(float)
        y = tbl["followers"].to_numpy().astype(float)
        starts = np.concatenate([[0], np.nonzero(key[1:] != key[:-1])[0] + 1, [len(key)]])
        out: list[Signal] = []
        for a, b in itertools.pairwise(starts):  # one account at a time, vectorised within
            t, v = days[a:b], y[a:b]
            cps = change_points(t, v)
            if not cps:
                continue
            segs = fit_segments(t, v, cps)
            platform, account = key[a].split("\x00", 1)
            for left, right in itertools.pairwise(segs):
                k = right.start
                before = left.level + left.slope * (t[k] - t[left.start])
                jump = right.level - before
                month = jump + 30 * (right.slope - left.slope)
                detail = {"model": "piecewise-linear segmentation, penalty 2 ln n (not a test)",
                          "followers_before": int(v[k - 1]), "followers_after": int(v[k]),
                          "step": round(float(jump), 1), "trend_before_per_day": round(left.slope, 2),
                          "trend_after_per_day": round(right.slope, 2), "change_in_30_days": round(float(month), 1),
                          "segment_before": [ts[a + left.start].isoformat() + "Z", ts[a + k - 1].isoformat() + "Z"],
                          "segment_after": [ts[a + k].isoformat() + "Z", ts[a + right.stop - 1].isoformat() + "Z"]}
                out.append(Signal(kind="audience_shift", ts=ts[a + k], start=ts[a + k - 1], end=ts[a + k],
                                  subjects=[account], score=abs(float(month)), p_value=None,
                                  evidence=[_metric_key(platform, account, ts[a + k])],
                                  detail=detail, platform=platform))
        return out

    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """Merge consecutive significant days of one account and direction into episodes."""
        mine = [s for s in kept if s.family == FAMILY and s.kind in ("audience_drop", "audience_surge")]
        days = sorted(mine, key=lambda s: (s.platform or "", s.subjects[0], s.detail["idx"]))
        others = [s for s in kept if not (s.family == FAMILY and s.kind in ("audience_drop", "audience_surge"))]
        episodes: list[list[Signal]] = []
        for s in days:
            last = episodes[-1][-1] if episodes else None
            if (last is not None and last.platform == s.platform and last.subjects == s.subjects
                    and last.kind == s.kind and s.detail["idx"] == last.detail["idx"] + 1):
                episodes[-1].append(s)
            else:
                episodes.append([s])
        found = [self._episode(group) for group in episodes]
        # A shift found by segmentation at a tested drop or surge episode says nothing new.
        spans = [(e.platform, e.subjects[0], e.start, e.end) for e in found]
        shifts = [o for o in getattr(self, "shifts", []) if not any(
            p == o.platform and a == o.subjects[0] and st is not None and en is not None and o.end is not None
            and st <= o.end <= en for p, a, st, en in spans)]
        from tiewatch.detect.platform import PlatformShift

        return PlatformShift().finalize(ctx, others + found + shifts)

    def _episode(self, group: list[Signal]) -> Signal:
        first, last = group[0], group[-1]
        before = first.detail["prev_followers"]
        after = last.detail["followers"]
        change = after - before
        start: datetime = first.start  # type: ignore[assignment]
        end: datetime = last.end  # type: ignore[assignment]
        span = max((end - start).total_seconds() / 86400, 1e-9)
        expected = first.detail["trend"] * span
        spreads = (change - expected) / first.detail["scale"]
        pct = 100.0 * change / before if before else 0.0
        best = min(group, key=lambda s: s.p_value or 1.0)
        detail = {"model": f"trailing median/IQR, Student-t({first.detail['tail_df']}) noise "
                           "(degrees of freedom: the account's own, maximum likelihood)", "days": len(group),
                  "noise_df": first.detail["tail_df"],
                  # the first significant day is known at its snapshot: the delay after the last one before it
                  "delay_days": round(((first.ts or end) - start).total_seconds() / 86400, 2),
                  "followers_before": before, "followers_after": after, "change": change,
                  "change_pct": round(pct, 2), "change_in_spreads": round(spreads, 1),
                  "usual_daily_change": round(first.detail["trend"], 1),
                  "usual_daily_spread": round(first.detail["scale"], 1),
                  "daily": [{"ts": s.end.isoformat() + "Z" if s.end else None, "change": s.detail["change"],
                             "z": s.detail["z"], "p_value": s.p_value} for s in group]}
        return Signal(kind=first.kind, ts=first.ts, start=start, end=end, subjects=list(first.subjects),
                      score=best.score, p_value=best.p_value, q_value=min(s.q_value or 1.0 for s in group),
                      evidence=[e for s in group for e in s.evidence], detail=detail,
                      platform=first.platform, family=FAMILY)


def _t_loglik(nu: int, n_in: int, n_out: int, s: float) -> float:
    """The censored log-likelihood of an account's standardised changes under a t_ν scaled like the t4: n_in
    changes within ±TAIL_CENSOR (s: see _tails), n_out beyond it (only that they are beyond counts, so the
    size of a real drop cannot make the account's tail look heavier and hide it)."""
    c = TAIL_FACTOR[nu]
    const = float(gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)) + float(np.log(c))
    beyond = float(np.log(day_p(TAIL_CENSOR, nu)))
    return n_in * const - (nu + 1) / 2 * s + n_out * beyond


def day_p(z: float, nu: int) -> float:
    """The two-sided p-value of a day's standardised change z under the account's t_ν."""
    return float(2 * stdtr(nu, -abs(z) * TAIL_FACTOR[nu]))  # t.sf(x) = t.cdf(-x)


def _metric_key(platform: str, account: str, ts: datetime) -> str:
    return f"metrics:{platform}:{account}:{ts.isoformat()}Z"


def _day_detail(row: dict[str, Any]) -> dict[str, Any]:
    return {"idx": int(row["idx"]), "followers": int(row["followers"]), "prev_followers": int(row["prev_followers"]),
            "change": int(row["followers"] - row["prev_followers"]), "trend": float(row["trend"]),
            "scale": float(row["scale"]), "z": round(float(row["z"]), 2), "tail_df": int(row["tail_df"])}
