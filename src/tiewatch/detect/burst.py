"""Burst: A suddenly engages with B on most of A's days, far above the pair's own rate.

In the spirit of MIDAS-R (Bhatia et al., AAAI 2020: a streaming test of an edge's count in the current tick
against its own past), made exact. The clock is A's *active days* (days A did anything at all), as in the
renewal silence test, so an account that is simply busier this week — messaging everyone — is not read as
singling B out, and a conversation of fifty messages is one day of contact, not fifty pieces of evidence.

Model (stated, and checked against real-data nulls in bench/quality.py): under the null, the days on which
A contacts B are a random subset of A's active days (exchangeable: their order carries no information).
Each day d on which A contacts B, after A has had at least MIN_REFERENCE active days since the pair's
first contact, is one test. Its reference is A's last M active days before d (at most REFERENCE - 1,
never reaching back to the first contact day), of which n were contact days with B; its window is A's last
WINDOW - 1 active days before d, of which x were contact days. Given n, and given that d itself is a
contact day, the window's x is hypergeometric (M days, n contacts, WINDOW - 1 draws), so

    p = P(X >= x) = sum_{k >= x} C(n, k) C(M - n, W - 1 - k) / C(M, W - 1)

is exact under that null (each pair's active days permuted), whatever the pair's rate. The test is
discrete, with a smallest attainable p-value C(n, k*) / C(M, W - 1) (k* = min(n, W - 1)) that depends
only on n and M; Tarone's filter (fdr.py) drops the tests that could never pass from the false-discovery
count. The p-value needs only products of at most six integers, so it is computed in SQL (both engines).

Why not MIDAS's chi-square on event counts: message and like streams are bursty within a day (a
conversation, a binge of likes), so a Poisson count test flags ordinary conversations as surges on real
data; counting contact days among A's active days removes both that and A's own activity swings. What it
cannot see: a surge inside a single day (one night of 300 messages after months of one a week is one day
of contact). Toward-account surges (many accounts at once) are not tested here.

The FDR budget: `burst` is its own family, and fdr.family_weights gives every family with tests an equal
share of the run's level (as silence, audience and coincidence have), so thousands of burst tests never
dilute the other kinds' power, nor they the bursts'.

A burst signal is an episode: consecutive significant tests of a pair whose windows overlap are one signal.
start = the first event of the window in which the surge first became significant, ts = the moment it
became significant (A's first contact with B that day), end = the last event of the episode's windows.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np

from tiewatch.detect.base import ENGAGEMENT_KINDS, Context, Detector, DetectorOutput, Signal
from tiewatch.detect.fdr import tarone_floor
from tiewatch.detect.naming import Names, day

FAMILY = "burst"
WINDOW = 7  # the window: A's last 7 active days (the day tested and the 6 before it)
REFERENCE = 182  # at most this many of A's active days as the pair's baseline
MIN_REFERENCE = 28  # a pair is tested once A has had this many active days since the first contact
EVIDENCE_CAP = 500  # ids kept per signal (the count is in detail)
PAST_TENSE = {"like": "liked", "comment": "commented on", "reply": "replied to", "repost": "reposted",
              "mention": "mentioned", "message": "messaged"}


def _comb(a: str, j: int) -> str:
    """C(a, j) for an integer-valued SQL expression a >= 0, as DOUBLE (0 when a < j: a factor is zero)."""
    if j == 0:
        return "1.0"
    factors = " * ".join(f"CAST({a} - {i} AS DOUBLE)" for i in range(j))
    return f"({factors} / {math.factorial(j)}.0)"


def _hypergeom_terms(cond: str) -> str:
    """sum over k = 0..W-1 of [cond(k)] C(n, k) C(m - n, W - 1 - k) / C(m, W - 1), as SQL."""
    w = WINDOW - 1
    terms = [f"CASE WHEN {cond.format(k=k)} THEN {_comb('n', k)} * {_comb('m - n', w - k)} ELSE 0.0 END"
             for k in range(w + 1)]
    return f"(({' + '.join(terms)}) / {_comb('m', w)})"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class BurstDetector(Detector):
    kinds = ("burst",)
    families = ("burst",)
    name = "burst"
    description = "A suddenly engages with B on most of A's active days, far above the pair's own rate"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"tests": self._sql(ctx)}

    def _sql(self, ctx: Context) -> str:
        kinds = _in(ENGAGEMENT_KINDS)
        w1 = WINDOW - 1
        return f"""
        {_tests_ctes(ctx)},
        cand AS (SELECT * FROM s WHERE p <= {ctx.keep_p!r} AND pmin <= {ctx.keep_p!r}),
        cdays AS (SELECT c.platform, c.a, c.b, c.cday, pr.cday AS eday
                  FROM cand c JOIN pr ON pr.platform = c.platform AND pr.a = c.a AND pr.b = c.b
                       AND pr.r BETWEEN c.r - {w1} AND c.r),
        evid AS (SELECT cd.platform, cd.a, cd.b, cd.cday, list(e.id) AS ids, list(e.kind) AS kinds,
                        min(e.ts) AS start_ts, max(e.ts) AS end_ts
                 FROM cdays cd JOIN ev e ON e.platform = cd.platform AND e.actor = cd.a AND e.target = cd.b
                      AND date_trunc('day', e.ts) = cd.eday AND e.kind IN ({kinds})
                 GROUP BY cd.platform, cd.a, cd.b, cd.cday)
        SELECT 0 AS is_test, c.platform, c.a, c.b, c.cday, c.first_ts, c.m, c.n, c.x, c.p, c.pmin,
               c.burst_events, c.burst_day0, ev.ids, ev.kinds, ev.start_ts, ev.end_ts, CAST(1 AS BIGINT) AS tests
        FROM cand c JOIN evid ev ON ev.platform = c.platform AND ev.a = c.a AND ev.b = c.b AND ev.cday = c.cday
        UNION ALL
        SELECT 1 AS is_test, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, pmin,
               NULL, NULL, NULL, NULL, NULL, NULL, count(*) AS tests
        FROM s GROUP BY pmin"""

    def run(self, ctx: Context) -> DetectorOutput:
        tbl = ctx.engine.arrow(self._sql(ctx), ctx.window.params)
        is_test = tbl["is_test"].to_numpy(zero_copy_only=False).astype(bool)
        pmin_all = tbl["pmin"].to_numpy(zero_copy_only=False).astype(float)
        counts_all = tbl["tests"].to_numpy(zero_copy_only=False).astype(np.int64)
        pmin, counts = pmin_all[is_test], counts_all[is_test]
        n_all = int(counts.sum())
        if n_all == 0:
            return DetectorOutput([], {FAMILY: 0})
        floor = tarone_floor(pmin, counts, ctx.keep_p / _live_families(ctx))
        n_tests = int(counts[pmin <= floor].sum())
        rows = [r for r, t in zip(tbl.to_pylist(), is_test, strict=True) if not t and r["pmin"] <= floor]
        names = Names(ctx.store)
        signals = [self._signal(r, names) for r in rows]
        return DetectorOutput(signals, {FAMILY: n_tests}, {FAMILY: n_all - n_tests})

    def _signal(self, r: dict[str, Any], names: Names) -> Signal:
        platform, a, b = str(r["platform"]), str(r["a"]), str(r["b"])
        p = float(max(min(r["p"], 1.0), 0.0))
        contact, m, n = int(r["x"]) + 1, int(r["m"]), int(r["n"])
        before, before_days = n - (contact - 1), m - (WINDOW - 1)  # the reference outside the window
        baseline = before / before_days
        share = contact / WINDOW
        ids = sorted(str(i) for i in r["ids"])
        la, lb = names.label(platform, a), names.label(platform, b)
        kinds = sorted(str(k) for k in r["kinds"])
        kind = max(sorted(set(kinds)), key=kinds.count)
        verb = PAST_TENSE.get(kind, "engaged with")
        events = int(r["burst_events"])
        summary = (f"{la} {verb} {lb} on {contact} of {la}'s {WINDOW} active days up to {day(r['cday'])} "
                   f"({events} interactions), against {before} of the {before_days} active days before "
                   f"({100 * baseline:.0f}%); by chance {100 * p:.2g}% of the time.")
        detail = {"contact_days": contact, "window_active_days": WINDOW, "reference_active_days": m,
                  "reference_contact_days": n, "contact_days_before_window": before,
                  "active_days_before_window": before_days, "baseline_rate": round(baseline, 4),
                  "window_rate": round(share, 4),
                  "ratio": round(share / baseline, 2) if baseline > 0 else None, "events": events,
                  "window_start": day(r["burst_day0"]), "window_end": day(r["cday"]),
                  "delay_days": round(_days(r["first_ts"], r["start_ts"]), 2), "p_min": float(r["pmin"]),
                  "evidence_truncated": len(ids) > EVIDENCE_CAP}
        return Signal(kind="burst", ts=r["first_ts"], start=r["start_ts"], end=r["end_ts"], subjects=[a, b],
                      score=-math.log10(max(p, 1e-300)), p_value=p, evidence=ids[:EVIDENCE_CAP], summary=summary,
                      detail=detail, platform=platform, family=FAMILY)

    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """One signal per episode: a pair's significant tests whose windows overlap are merged."""
        by_pair: dict[tuple[str, ...], list[Signal]] = {}
        for s in kept:
            by_pair.setdefault((s.platform or "", *s.subjects), []).append(s)
        out: list[Signal] = []
        for tests in by_pair.values():
            tests.sort(key=lambda s: s.ts or datetime.min)
            episode = [tests[0]]
            for s in tests[1:]:
                last = episode[-1]
                if s.start is not None and last.end is not None and s.start <= last.end:
                    episode.append(s)
                else:
                    out.append(_merge(episode))
                    episode = [s]
            out.append(_merge(episode))
        return out


def all_tests_sql(ctx: Context) -> str:
    """Every burst test of the window, kept or not: (platform, a, b, cday, m, n, x, p, pmin), for calibration."""
    return f"{_tests_ctes(ctx)} SELECT platform, a, b, cday, m, n, x, p, pmin FROM s"


def _tests_ctes(ctx: Context) -> str:
    """The CTEs up to `s`: one row per test with its hypergeometric p-value and smallest attainable p-value."""
    kinds = _in(ENGAGEMENT_KINDS)
    w1, r1 = WINDOW - 1, REFERENCE - 1
    part = "PARTITION BY platform, a, b ORDER BY r"
    return f"""WITH ev AS (SELECT id, ts, platform, actor, kind, target FROM events
                    WHERE ts IS NOT NULL AND {ctx.window.bound()}),
        act AS (SELECT platform, actor AS a, date_trunc('day', ts) AS cday FROM ev
                GROUP BY platform, actor, date_trunc('day', ts)),
        ar AS (SELECT platform, a, cday, row_number() OVER (PARTITION BY platform, a ORDER BY cday) AS r FROM act),
        pd AS (SELECT platform, actor AS a, target AS b, date_trunc('day', ts) AS cday, count(*) AS n_ev,
                      min(ts) AS first_ts
               FROM ev WHERE kind IN ({kinds}) AND target IS NOT NULL AND actor <> target
               GROUP BY platform, actor, target, date_trunc('day', ts)),
        pr AS (SELECT pd.platform, pd.a, pd.b, pd.cday, pd.n_ev, pd.first_ts, ar.r
               FROM pd JOIN ar ON ar.platform = pd.platform AND ar.a = pd.a AND ar.cday = pd.cday),
        w AS (SELECT platform, a, b, cday, n_ev, first_ts, r,
                     min(r) OVER (PARTITION BY platform, a, b) AS r0,
                     count(*) OVER ({part} RANGE BETWEEN {w1} PRECEDING AND 1 PRECEDING) AS x,
                     count(*) OVER ({part} RANGE BETWEEN {r1} PRECEDING AND 1 PRECEDING) AS c,
                     sum(n_ev) OVER ({part} RANGE BETWEEN {w1} PRECEDING AND CURRENT ROW) AS burst_events,
                     min(cday) OVER ({part} RANGE BETWEEN {w1} PRECEDING AND CURRENT ROW) AS burst_day0
              FROM pr),
        t AS (SELECT platform, a, b, cday, first_ts, r, x, burst_events, burst_day0,
                     least(r - r0 - 1, {r1}) AS m,
                     c - CASE WHEN r - r0 <= {r1} THEN 1 ELSE 0 END AS n
              FROM w WHERE r - r0 - 1 >= {MIN_REFERENCE}),
        s AS (SELECT *, {_hypergeom_terms('{k} >= x')} AS p,
                     {_hypergeom_terms('{k} = least(n, ' + str(w1) + ')')} AS pmin
              FROM t)"""


def _merge(episode: list[Signal]) -> Signal:
    """The first significant test of an episode, extended to the episode's last event and evidence."""
    first = episode[0]
    if len(episode) == 1:
        return first
    best = min(episode, key=lambda s: s.p_value if s.p_value is not None else 1.0)
    ids = sorted({i for s in episode for i in s.evidence})
    detail = dict(best.detail)
    detail.update({"episode_tests": len(episode), "episode_end": episode[-1].detail["window_end"],
                   "delay_days": first.detail["delay_days"], "evidence_truncated":
                   len(ids) > EVIDENCE_CAP or any(s.detail.get("evidence_truncated") for s in episode)})
    return Signal(kind=first.kind, ts=first.ts, start=first.start, end=max(s.end for s in episode if s.end),
                  subjects=first.subjects, score=best.score, p_value=best.p_value, evidence=ids[:EVIDENCE_CAP],
                  summary=best.summary, detail=detail, platform=first.platform, family=first.family,
                  q_value=min(s.q_value for s in episode if s.q_value is not None))


def _live_families(ctx: Context) -> int:
    """Families sharing the run's level: this one, those already run with tests, and those still to run."""
    from tiewatch.detect.registry import REGISTRY

    names = [e.name for e in REGISTRY]
    later = {f for e in REGISTRY[names.index("burst") + 1:] for f in e.families} if "burst" in names else set()
    return 1 + sum(1 for f, n in ctx.other_tests.items() if n > 0 and f != FAMILY) + len(later)


def _days(later: datetime | None, earlier: datetime | None) -> float:
    if later is None or earlier is None:
        return 0.0
    return (later - earlier).total_seconds() / 86400.0
