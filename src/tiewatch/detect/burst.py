"""Burst: A suddenly engages with B on many days in a row, given the pair's own rhythm.

In the spirit of MIDAS-R (Bhatia et al., AAAI 2020: a streaming test of an edge's recent count against its
own past), made exact. As in the renewal silence test, A's interactions with B are reduced to days of
contact (a conversation of fifty messages is one day), and time is counted in A's *active days* (days A did
anything at all), so an account that is simply busier this week is not read as singling B out.

Model (stated, and checked against real-data nulls in bench/quality.py): the pair's *spacings* — the number
of A's active days between consecutive contact days — are exchangeable under the null: their order carries
no information. This holds exactly when a pair's contact days are a random subset of A's active days (each
pair's active days permuted) and approximately when a pair's gaps are shuffled (each pair's gaps permuted).
A burst is a run of short spacings: each contact day d with i >= WINDOW spacings before it is one test, and
its statistic is V, the longest of the last WINDOW - 1 spacings (WINDOW contact days within few active
days). Under exchangeability the last WINDOW - 1 of the first i spacings are a uniformly random subset, so

    p = P(V <= v) = C(c_v, W - 1) / C(i, W - 1),   c_v = #{spacings so far <= v}

is exact, whatever the pair's rate and however bursty its ordinary rhythm is (ties count against the test).
The smallest attainable p-value, C(c_min, W - 1) / C(i, W - 1) with c_min = #{spacings <= the (W-1)-th
smallest}, depends only on the spacings' multiset; Tarone's filter (fdr.py) drops the tests that could never
pass from the false-discovery count. A window whose contact days lie more than MAX_SPACING active days apart
is not a burst (p = 1, conservative). Everything is computed in SQL (both engines): cumulative counts per
spacing value and products of at most six integers.

Why not MIDAS's chi-square on counts, or a test that compares the window's share of contact days with the
pair's earlier share (hypergeometric, exact when contact days are a random subset of A's active days): on
real CollegeMsg with each pair's gaps permuted, the share test raised ~33 false bursts per run, since a pair
whose ordinary gaps are often one day makes runs of daily contact by chance. The spacing test asks whether
the run is unusual *for this pair's own gaps*, and so needs history: a pair needs many spacings before a
run can be significant (min p = 1 / C(i, W - 1)). What it cannot see: a surge inside a single day (one night
of 300 messages is one day of contact); surges toward an account from many accounts are not tested here.

The FDR budget: `burst` is its own family; fdr.family_weights gives every family with tests an equal share
of the run's level (as silence, audience and coincidence have), so burst tests never dilute the other kinds'
power, nor they the bursts'. Tarone's level is the run's level divided by the families sharing it.

A burst signal is an episode: consecutive significant tests of a pair whose windows overlap are one signal.
start = the first event of the window in which the run first became significant, ts = the moment it did
(A's first contact with B that day), end = the last event of the episode's windows.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np

from tiewatch.detect.base import ENGAGEMENT_KINDS, Context, Detector, DetectorOutput, Signal
from tiewatch.detect.episodes import episodes, merge_episode
from tiewatch.detect.fdr import live_families, tarone_floor
from tiewatch.detect.naming import day
from tiewatch.engines.shared import shared_ctes

FAMILY = "burst"
WINDOW = 7  # contact days in a burst: the day tested and the 6 before it (6 spacings)
MAX_SPACING = 14  # a window whose contact days lie further apart (in A's active days) is not a burst: p = 1
EVIDENCE_CAP = 500  # ids kept per signal (the count is in detail)


def _comb(a: str, j: int) -> str:
    """C(a, j) for an integer-valued SQL expression a >= 0, as DOUBLE (0 when a < j: a factor is zero)."""
    if j == 0:
        return "1.0"
    factors = " * ".join(f"CAST({a} - {i} AS DOUBLE)" for i in range(j))
    return f"({factors} / {math.factorial(j)}.0)"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class BurstDetector(Detector):
    kinds = ("burst",)
    families = ("burst",)
    name = "burst"
    description = "A suddenly engages with B on many days in a row, unusual for the pair's own rhythm"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"tests": self._sql(ctx)}

    def _sql(self, ctx: Context) -> str:
        kinds = _in(ENGAGEMENT_KINDS)
        return f"""
        {_tests_ctes(ctx)},
        cand AS (SELECT s.*, pk.platform, pk.a, pk.b FROM s JOIN pk ON pk.pid = s.pid
                 WHERE s.p <= {ctx.keep_p!r} AND s.pmin <= {ctx.keep_p!r}),
        cdays AS (SELECT c.platform, c.a, c.b, c.cday, pr.cday AS eday
                  FROM cand c JOIN pr ON pr.pid = c.pid AND pr.r BETWEEN c.r_w0 AND c.r),
        evid AS (SELECT cd.platform, cd.a, cd.b, cd.cday, list(e.id) AS ids, list(e.kind) AS kinds,
                        min(e.ts) AS start_ts, max(e.ts) AS end_ts
                 FROM cdays cd JOIN {_events(ctx)} e ON e.platform = cd.platform AND e.actor = cd.a
                      AND e.target = cd.b AND date_trunc('day', e.ts) = cd.eday AND e.kind IN ({kinds})
                 GROUP BY cd.platform, cd.a, cd.b, cd.cday)
        SELECT 0 AS is_test, c.platform, c.a, c.b, c.cday, c.first_ts, c.r, c.r0, c.r_w0, c.i, c.p, c.pmin,
               c.burst_events, c.burst_day0, ev.ids, ev.kinds, ev.start_ts, ev.end_ts, CAST(1 AS BIGINT) AS tests
        FROM cand c JOIN evid ev ON ev.platform = c.platform AND ev.a = c.a AND ev.b = c.b AND ev.cday = c.cday
        UNION ALL
        SELECT 1 AS is_test, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, pmin,
               NULL, NULL, NULL, NULL, NULL, NULL, count(*) AS tests
        FROM s GROUP BY pmin"""

    def run(self, ctx: Context) -> DetectorOutput:
        # Spark would compute the numbered pairs once per reference (each from a scan of the events); cached once
        with shared_ctes(ctx.engine, self._sql(ctx), ctx.window.params, ("pk",)) as sql:
            tbl = ctx.engine.arrow(sql, ctx.window.params)
        is_test = tbl["is_test"].to_numpy(zero_copy_only=False).astype(bool)
        pmin_all = tbl["pmin"].to_numpy(zero_copy_only=False).astype(float)
        counts_all = tbl["tests"].to_numpy(zero_copy_only=False).astype(np.int64)
        pmin, counts = pmin_all[is_test], counts_all[is_test]
        n_all = int(counts.sum())
        if n_all == 0:
            return DetectorOutput([], {FAMILY: 0})
        floor = tarone_floor(pmin, counts, ctx.keep_p / live_families(ctx, FAMILY))
        n_tests = int(counts[pmin <= floor].sum())
        rows = [r for r, t in zip(tbl.to_pylist(), is_test, strict=True) if not t and r["pmin"] <= floor]
        signals = [self._signal(r) for r in rows]
        return DetectorOutput(signals, {FAMILY: n_tests}, {FAMILY: n_all - n_tests})

    def _signal(self, r: dict[str, Any]) -> Signal:
        platform, a, b = str(r["platform"]), str(r["a"]), str(r["b"])
        p = float(max(min(r["p"], 1.0), 0.0))
        span = int(r["r"]) - int(r["r_w0"]) + 1  # A's active days from the window's first contact to its last
        before, before_days = int(r["i"]) + 1 - WINDOW, int(r["r_w0"]) - int(r["r0"])
        baseline = before / before_days if before_days > 0 else 0.0
        share = WINDOW / span
        ids = sorted(str(i) for i in r["ids"])
        kinds = sorted(str(k) for k in r["kinds"])
        events = int(r["burst_events"])
        detail = {"contact_days": WINDOW, "window_active_days": span, "contact_days_before": before,
                  "active_days_before": before_days, "baseline_rate": round(baseline, 4),
                  "window_rate": round(share, 4), "ratio": round(share / baseline, 2) if baseline > 0 else None,
                  "events": events, "window_start": day(r["burst_day0"]), "window_end": day(r["cday"]),
                  "delay_days": round(_days(r["first_ts"], r["start_ts"]), 2), "p_min": float(r["pmin"]),
                  "evidence_truncated": len(ids) > EVIDENCE_CAP,
                  "kind": max(sorted(set(kinds)), key=kinds.count)}
        return Signal(kind="burst", ts=r["first_ts"], start=r["start_ts"], end=r["end_ts"], subjects=[a, b],
                      score=-math.log10(max(p, 1e-300)), p_value=p, evidence=ids[:EVIDENCE_CAP],
                      detail=detail, platform=platform, family=FAMILY)

    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """One signal per episode: a pair's significant tests whose windows overlap are merged."""
        def continues(last: Signal, s: Signal) -> bool:
            return s.start is not None and last.end is not None and s.start <= last.end

        return [_merge(e) for e in episodes(kept, lambda s: (s.platform or "", *s.subjects),
                                             lambda s: s.ts or datetime.min, continues)]


def all_tests_sql(ctx: Context) -> str:
    """Every burst test of the window, kept or not, for calibration: (platform, a, b, cday, i, v, c_v,
    c_max, p, p_below, pmin); p_below = P(V < v), so p_below + U (p - p_below) is the randomised p-value."""
    return (f"{_tests_ctes(ctx)} SELECT pk.platform, pk.a, pk.b, s.cday, s.i, s.v, s.cv AS c_v, s.c_max, s.p, "
            "s.p_below, s.pmin FROM s JOIN pk ON pk.pid = s.pid")


def _tests_ctes(ctx: Context) -> str:
    """The CTEs up to `s`: one row per test with its permutation p-value and smallest attainable p-value."""
    kinds = _in(ENGAGEMENT_KINDS)
    k = WINDOW - 1
    part = "PARTITION BY pid ORDER BY r"
    counts = ",\n                     ".join(
        f"sum(CASE WHEN s <= {v} THEN 1 ELSE 0 END) OVER ({part} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        f" AS c{v}" for v in range(1, MAX_SPACING + 1))
    cv = " ".join(f"WHEN {v} THEN c{v}" for v in range(1, MAX_SPACING + 1))
    cprev = " ".join(f"WHEN {v + 1} THEN c{v}" for v in range(1, MAX_SPACING))
    cmin = " ".join(f"WHEN c{v} >= {k} THEN c{v}" for v in range(1, MAX_SPACING + 1))
    ev = _events(ctx)  # read where needed: a CTE read three times would be a copy of every event
    engaged = f"kind IN ({kinds}) AND target IS NOT NULL AND actor <> target"
    # Only pairs with more than WINDOW engagements can have WINDOW + 1 contact days, the fewest a test needs
    # (i > WINDOW - 1): one hash aggregate drops the others before any window sorts them. Windows work per
    # pair (and the active-day ranks per actor), so whole pairs dropped change no other pair's rows. The pairs
    # left (few) are numbered, pid, and their actors, aid: the aggregates, joins and window sorts after that
    # carry and compare integers instead of (platform, actor, target) strings (the numbering is arbitrary
    # between ties and changes no row: every window partitions by one pair or one actor).
    return f"""WITH pk0 AS (SELECT platform, actor AS a, target AS b FROM {ev} WHERE {engaged}
                GROUP BY platform, actor, target HAVING count(*) > {WINDOW}),
        pk AS (SELECT platform, a, b, row_number() OVER (ORDER BY platform, a, b) AS pid,
                      dense_rank() OVER (ORDER BY platform, a) AS aid FROM pk0),
        ak AS (SELECT DISTINCT platform, a, aid FROM pk),
        act AS (SELECT ak.aid, date_trunc('day', e.ts) AS cday
                FROM {ev} e JOIN ak ON ak.platform = e.platform AND ak.a = e.actor
                GROUP BY ak.aid, date_trunc('day', e.ts)),
        ar AS (SELECT aid, cday, row_number() OVER (PARTITION BY aid ORDER BY cday) AS r FROM act),
        pd AS (SELECT pk.pid, pk.aid, date_trunc('day', e.ts) AS cday, count(*) AS n_ev, min(e.ts) AS first_ts
               FROM {ev} e JOIN pk ON pk.platform = e.platform AND pk.a = e.actor AND pk.b = e.target
               WHERE e.kind IN ({kinds}) AND e.target IS NOT NULL AND e.actor <> e.target
               GROUP BY pk.pid, pk.aid, date_trunc('day', e.ts)),
        pr AS (SELECT pd.pid, pd.cday, pd.n_ev, pd.first_ts, ar.r
               FROM pd JOIN ar ON ar.aid = pd.aid AND ar.cday = pd.cday),
        sp AS (SELECT pid, cday, n_ev, first_ts, r,
                      r - lag(r) OVER ({part}) AS s,
                      row_number() OVER ({part}) - 1 AS i,
                      min(r) OVER (PARTITION BY pid) AS r0
               FROM pr),
        w AS (SELECT pid, cday, first_ts, r, r0, i,
                     max(s) OVER ({part} ROWS BETWEEN {k - 1} PRECEDING AND CURRENT ROW) AS v,
                     lag(r, {k}) OVER ({part}) AS r_w0,
                     sum(n_ev) OVER ({part} ROWS BETWEEN {k} PRECEDING AND CURRENT ROW) AS burst_events,
                     min(cday) OVER ({part} ROWS BETWEEN {k} PRECEDING AND CURRENT ROW) AS burst_day0,
                     {counts}
              FROM sp),
        t AS (SELECT pid, cday, first_ts, r, r0, i, v, r_w0, burst_events, burst_day0,
                     CASE v {cv} ELSE NULL END AS cv,
                     CASE v WHEN 1 THEN 0 {cprev} ELSE NULL END AS cprev,
                     CASE {cmin} ELSE NULL END AS cmin, c{MAX_SPACING} AS c_max
              FROM w WHERE i > {k}),
        s AS (SELECT *, coalesce({_comb('cv', k)} / {_comb('i', k)}, 1.0) AS p,
                     coalesce({_comb('cprev', k)} / {_comb('i', k)}, 1.0) AS p_below,
                     coalesce({_comb('cmin', k)} / {_comb('i', k)}, 1.0) AS pmin
              FROM t)"""


def _events(ctx: Context) -> str:
    """The events of the window, the columns the burst queries read (bounds as parameters)."""
    return f"(SELECT id, ts, platform, actor, kind, target FROM events WHERE ts IS NOT NULL AND {ctx.window.bound()})"


def _merge(episode: list[Signal]) -> Signal:
    """The first significant test of an episode, extended to the episode's last event and evidence."""
    def detail(best: Signal, ids: list[str]) -> dict[str, Any]:
        return {**best.detail, "episode_tests": len(episode), "episode_end": episode[-1].detail["window_end"],
                "delay_days": episode[0].detail["delay_days"], "evidence_truncated":
                len(ids) > EVIDENCE_CAP or any(s.detail.get("evidence_truncated") for s in episode)}

    return merge_episode(episode, EVIDENCE_CAP, detail)



def _days(later: datetime | None, earlier: datetime | None) -> float:
    if later is None or earlier is None:
        return 0.0
    return (later - earlier).total_seconds() / 86400.0
