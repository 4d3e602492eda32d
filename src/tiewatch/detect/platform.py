"""platform_shift: many accounts' audiences moved on the same day (a purge, a bug, a camp reacting to news).

Model: each account's daily follower change is tested by the audience model (detect/audience.py, with the
account's own tail); under the null that accounts move independently, each account observed on a day is
"moving down" (its two-sided day test has p ≤ α0 and the change is negative) with probability at most α0,
so the number X of accounts moving down that day among the N observed is at most Binomial(N, α0), and
p = P(X' ≥ X). The same for moving up. Each day and direction with at least MIN_ACCOUNTS observed accounts
is one test in the audience family, under the run's false-discovery control: a shared cause is reported
because a test says the coincidence is unlikely, not because a count passed a threshold.

A significant day becomes one platform_shift signal naming the accounts (`detail.cohort`); the personal
drops or surges of those accounts on that day get `detail.cohort` (the other accounts) and
`detail.platform_shift` (the day), and their summaries say they moved with the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.special import bdtrc, stdtrit

from tiewatch.detect.audience import DF, FAMILY, AudienceDetector, day_p
from tiewatch.detect.base import Context, DetectorOutput, Signal
from tiewatch.detect.naming import day
from tiewatch.detect.sqltime import day as day_sql

ALPHA0 = 0.01  # an account "moves" on a day when its own day test has p <= ALPHA0
MIN_ACCOUNTS = 3


class PlatformShift:
    """The platform-wide test, run by the audience detector inside its own family (not a detector of its own:
    its finalize names the cohort on the audience detector's signals)."""

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"platform_days": self._days(ctx), "platform_movers": self._movers(ctx)}

    def _days(self, ctx: Context) -> str:
        """Per platform and day with at least MIN_ACCOUNTS tested accounts: how many were tested."""
        return f"""
            SELECT platform, {day_sql('ts')} AS day_, count(*) AS n
            FROM ({AudienceDetector()._sql(ctx)}) GROUP BY platform, {day_sql('ts')}
            HAVING count(*) >= {MIN_ACCOUNTS} ORDER BY platform, day_"""

    def _movers(self, ctx: Context) -> str:
        """The accounts that may have moved on those days: |z| beyond the t4 threshold ($z0), a superset of
        those beyond their own t_ν's (bounded by metric rows), ordered as the cohort is named."""
        return f"""
            SELECT platform, day_, account, z FROM (
                SELECT platform, {day_sql('ts')} AS day_, account, z,
                       count(*) OVER (PARTITION BY platform, {day_sql('ts')}) AS n_day
                FROM ({AudienceDetector()._sql(ctx)}))
            WHERE n_day >= {MIN_ACCOUNTS} AND abs(z) >= $z0 ORDER BY platform, day_, z, account"""

    def run(self, ctx: Context, tails: dict[tuple[str, str], int] | None = None) -> DetectorOutput:
        """`tails`: each account's degrees of freedom (AudienceDetector.tail_df), when already known."""
        z0 = -float(stdtrit(DF, ALPHA0 / 2))
        params = {**ctx.window.params, "z0": z0}
        tbl = ctx.engine.arrow(self._days(ctx), params)
        n_tests = 2 * tbl.num_rows
        if tbl.num_rows == 0:
            return DetectorOutput([], {FAMILY: 0})
        movers: dict[tuple[str, Any, str], list[str]] = {}
        rows = ctx.engine.arrow(self._movers(ctx), params).to_pylist()
        if rows and tails is None:
            tails = AudienceDetector().tail_df(ctx)
        for r in rows:  # ascending z: the largest drop first; an account moves when its own day test says so
            if day_p(r["z"], (tails or {})[(r["platform"], r["account"])]) <= ALPHA0:
                movers.setdefault((r["platform"], r["day_"], "down" if r["z"] < 0 else "up"), []).append(r["account"])
        for key, accounts in movers.items():
            if key[2] == "up":
                accounts.reverse()  # the largest surge first
        for direction in ("down", "up"):
            named = [movers.get((p, d_, direction)) for p, d_ in zip(tbl["platform"].to_pylist(),
                                                                    tbl["day_"].to_pylist(), strict=True)]
            tbl = tbl.append_column(f"{direction}_accounts", pa.array(named, pa.list_(pa.string())))
            tbl = tbl.append_column(direction, pa.array([len(a or []) for a in named], pa.int64()))
        n = tbl["n"].to_numpy()
        out: list[Signal] = []
        for direction in ("down", "up"):
            x = tbl[direction].to_numpy()
            p = bdtrc(x - 1, n, ALPHA0)  # P(X >= x) for X ~ Binomial(n, ALPHA0)
            for i in np.nonzero((p <= ctx.keep_p) & (x >= 2))[0]:
                accounts = tbl[f"{direction}_accounts"][int(i)].as_py() or []
                when: datetime = _as_datetime(tbl["day_"][int(i)].as_py())
                pv = float(p[i])
                detail = {"direction": direction, "accounts_moved": int(x[i]), "accounts_observed": int(n[i]),
                          "expected_by_chance": round(float(n[i]) * ALPHA0, 2), "account_level": ALPHA0,
                          "cohort": accounts}
                out.append(Signal(kind="platform_shift", ts=when, start=when, end=when + timedelta(days=1),
                                  subjects=list(accounts), score=float(-np.log10(max(pv, 1e-300))), p_value=pv,
                                  evidence=[f"metrics:{tbl['platform'][int(i)].as_py()}:{a}:{when.date()}"
                                            for a in accounts],
                                  detail=detail, platform=tbl["platform"][int(i)].as_py(), family=FAMILY))
        return DetectorOutput(out, {FAMILY: n_tests})

    def finalize(self, ctx: Context, kept: list[Signal]) -> list[Signal]:
        """Name the shared cause: the cohort (and the day) on each personal signal of that day."""
        shifts = [s for s in kept if s.kind == "platform_shift"]
        for s in shifts:
            dt = s.detail
            kind = "audience_drop" if dt["direction"] == "down" else "audience_surge"
            for o in kept:
                if (o.kind == kind and o.platform == s.platform and o.subjects[0] in dt["cohort"]
                        and o.start is not None and o.end is not None and s.start is not None
                        and o.start <= s.start + timedelta(days=1) and s.start <= o.end):
                    o.detail["cohort"] = [a for a in dt["cohort"] if a != o.subjects[0]]
                    o.detail["platform_shift"] = day(s.start)
        return kept


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    from datetime import date

    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise TypeError(f"not a day: {value!r}")
