"""The renewal silence test (message data): is this gap one of the longest a pair has ever had?

Model (stated, and checked against real-data nulls in bench/quality.py): A's interactions with B are reduced
to days of contact, and each pair's history is cut into *spacings* counted in A's active days (days A did
anything at all): the gaps between consecutive contact days, and the open spacing from the last contact to
one day past A's last active day. Under the null hypothesis that nothing changed in the pair, these spacings
are **exchangeable**: their order carries no information. This holds exactly when the pair's contact days
are a random subset of A's active days (each pair's active days permuted), and when a pair's gaps are
shuffled (each pair's gaps permuted) — the two null models the test is judged by.

Under exchangeability, the rank of the i-th spacing among the first i is uniform on 1..i, independently
for every i (the sequential ranks of an exchangeable sequence), so

    p_i = #{j <= i : spacing_j >= spacing_i} / i

is a valid p-value for every spacing, using only what came before it (ties are counted against the test, so
it is conservative). It needs no distributional assumption and tests regular pairs (all gaps equal) like
any other: the open gap after 200 one-day gaps has p = 1/201. Its price is power: the smallest attainable
p-value of the i-th spacing is 1/i, so a pair needs many gaps before any of them can be significant among
thousands of tests. Tarone's filter (fdr.py) drops the tests that could never pass from the false-discovery
count, and the detector reports them as untestable rather than pretending. On CollegeMsg (at most 42 days
of contact per pair) no test can pass; the longest gaps are listed, ranked and labelled as not tested, by
`long_gaps`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from tiewatch.detect.base import Context
from tiewatch.detect.dialect import DUCKDB
from tiewatch.engines.shared import shared_ctes

RENEWAL_KINDS = ("like", "comment", "reply", "repost", "mention", "message")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def spacings_sql(ctx: Context, events: str | None = None) -> str:
    """One row per spacing of every renewal pair: closed gaps and the open spacing, in A's active days, with
    its position `pos` in the pair's history (1 = the gap after the first contact) and the pair's count.
    The window's bounds are parameters (`ctx.window.params`) unless `events` says where the events are."""
    d = DUCKDB  # written once in DuckDB's dialect; the engine compiles it
    return f"""
        WITH ev AS {events or ctx.events_bound()},
        with_posts AS (SELECT DISTINCT platform, actor FROM ev WHERE kind = 'post'),
        active AS (
            SELECT e.platform, e.actor AS a, e.target AS b, {d.day('e.ts')} AS day_,
                   min(e.ts) AS ts, {d.arg_min('e.id', 'e.ts')} AS id, {d.arg_min('e.kind', 'e.ts')} AS kind
            FROM ev e LEFT JOIN with_posts wp ON wp.platform = e.platform AND wp.actor = e.target
            WHERE e.kind IN ({_in(RENEWAL_KINDS)}) AND e.target IS NOT NULL AND e.actor <> e.target
              AND wp.actor IS NULL
            GROUP BY e.platform, e.actor, e.target, {d.day('e.ts')}),
        a_days AS (  -- the active days of the renewal pairs' actors only (on post data there are none)
            SELECT platform, actor, {d.day('ts')} AS day_ FROM ev WHERE actor IN (SELECT a FROM active)
            GROUP BY platform, actor, {d.day('ts')}),
        a_rank AS (SELECT platform, actor, day_,
                          row_number() OVER (PARTITION BY platform, actor ORDER BY day_) AS ar FROM a_days),
        a_last AS (SELECT platform, actor, max(ar) AS ar_end FROM a_rank GROUP BY platform, actor),
        pe AS (
            SELECT x.platform, x.a, x.b, x.ts, x.id, x.kind, r.ar,
                   lead(x.ts) OVER w AS next_ts, lead(x.id) OVER w AS next_id, lead(x.kind) OVER w AS next_kind,
                   lead(r.ar) OVER w AS next_ar, row_number() OVER w AS pos
            FROM active x JOIN a_rank r ON r.platform = x.platform AND r.actor = x.a AND r.day_ = x.day_
            WINDOW w AS (PARTITION BY x.platform, x.a, x.b ORDER BY x.ts, x.id))
        SELECT p.platform, p.a, p.b, p.ts AS start_ts, p.id AS start_id, p.next_ts, p.next_id, p.next_kind,
               coalesce(p.next_ar, al.ar_end + 1) - p.ar AS g, p.pos,
               count(*) OVER (PARTITION BY p.platform, p.a, p.b) AS n_all
        FROM pe p JOIN a_last al ON al.platform = p.platform AND al.actor = p.a"""


HISTOGRAM_SQL = "SELECT pos, count(*) AS tests FROM tw_spacings GROUP BY pos ORDER BY pos"


def renewal_histogram(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Build the spacing table once (tw_spacings, materialised by the engine); return each test's smallest
    attainable p-value (1/pos), compactly: the distinct values and how many tests have each."""
    with shared_ctes(ctx.engine, spacings_sql(ctx), ctx.window.params, ("active", "a_rank")) as sql:
        ctx.engine.materialize("tw_spacings", sql, ctx.window.params)  # Spark: each shared CTE computed once
    hist = ctx.engine.arrow(HISTOGRAM_SQL)
    pos = hist["pos"].to_numpy().astype(float)
    return 1.0 / np.maximum(pos, 1.0), hist["tests"].to_numpy().astype(np.int64)


def renewal_candidates(ctx: Context, cap: float, p_min_floor: float) -> pa.Table:
    """Spacings whose sequential rank p-value is <= cap, among tests that can reach p_min_floor (Tarone's
    filter), with at_least (the count behind the p-value) and the longest earlier spacings (for dating).

    Screening: a rank p-value <= cap puts the spacing in the top `cap` share of the first pos spacings, so it
    is at least their running (1 - 2 cap)-quantile (a windowed quantile, no pairwise join); only the few
    spacings that pass are counted exactly against their predecessors.
    """
    if p_min_floor <= 0 or cap <= 0:
        return ctx.engine.arrow(f"SELECT {SPACING_COLUMNS}, 0 AS at_least, [1] AS earlier, 1.0 AS typical "
                                "FROM tw_spacings LIMIT 0")
    min_pos = int(np.ceil(1.0 / min(p_min_floor, cap) - 1e-9))
    frac = max(0.0, 1.0 - min(0.5, 2.0 * cap))
    return ctx.engine.arrow(CANDIDATES_SQL, {"min_pos": min_pos, "frac": frac, "cap": cap})


SPACING_COLUMNS = "platform, a, b, start_ts, start_id, next_ts, next_id, next_kind, g, pos, n_all"
_K = ", ".join(f"k.{c.strip()}" for c in SPACING_COLUMNS.split(","))
_C = ", ".join(f"c.{c.strip()}" for c in SPACING_COLUMNS.split(","))
# The screen is the running interpolated (1 - 2 cap)-quantile: at most the ceil((pos - 1)(1 - 2 cap))-th
# smallest earlier spacing, which a spacing with p <= cap always reaches (pos >= 2), so it drops no candidate;
# exact (linear interpolation) on both engines. The candidates that pass are counted exactly against their
# predecessors (k), then listed with the longest earlier spacings, sorted in SQL and cut at 20.
# Derived tables, not common table expressions: Spark does not read a cached view (tw_spacings) through a
# CTE, it would compute the spacings from the events again for every reference.
CANDIDATES_SQL = f"""
        SELECT {_K}, k.at_least, array_slice(list_sort(list(s.g), 'DESC'), 1, 20) AS earlier,
               median(s.g) AS typical
        FROM (
            SELECT {_C}, count(*) AS at_least
            FROM (SELECT {SPACING_COLUMNS} FROM (
                      SELECT {SPACING_COLUMNS}, quantile_cont(g, $frac) OVER (PARTITION BY platform, a, b ORDER BY pos
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS qg
                      FROM tw_spacings WHERE n_all >= $min_pos) w
                  WHERE pos >= $min_pos AND g >= qg) c
            JOIN tw_spacings s
              ON s.platform = c.platform AND s.a = c.a AND s.b = c.b AND s.pos <= c.pos AND s.g >= c.g
            GROUP BY {_C} HAVING count(*) <= $cap * c.pos) k
        JOIN tw_spacings s ON s.platform = k.platform AND s.a = k.a AND s.b = k.b AND s.pos < k.pos
        GROUP BY {_K}, k.at_least
        ORDER BY k.platform, k.a, k.b, k.pos"""


def crossing_length(earlier: list[int], position: int, own: int, p_star: float) -> int:
    """The gap length (active days) at which the spacing's rank p-value first reaches p_star.

    p(r) = (1 + #{earlier spacings >= r}) / position; it is <= p_star once r exceeds the (c+1)-th longest
    earlier spacing, c = floor(p_star * position) - 1. `earlier` is sorted longest first (may be cut short:
    the rest are shorter).
    """
    c = int(np.floor(p_star * position + 1e-9)) - 1
    if c < 0:
        return own
    if c >= len(earlier):
        return 1
    return min(earlier[c] + 1, own)


def all_pvalues_sql(ctx: Context) -> str:
    """Every spacing's sequential rank p-value and its randomised version's bounds, for evaluation only:
    a join of each spacing with its predecessors (quadratic in a pair's length; the detector never runs it).
    `longer` counts strictly longer predecessors; (longer + U * (at_least - longer)) / pos is uniform under
    exchangeability (U uniform on 0..1)."""
    return f"""
        WITH s AS ({spacings_sql(ctx, ctx.events_sql())})
        SELECT x.platform, x.a, x.b, x.start_ts, x.g, x.pos, x.n_all,
               count(*) FILTER (WHERE y.g >= x.g) AS at_least, count(*) FILTER (WHERE y.g > x.g) AS longer,
               median(y.g) AS med
        FROM s x JOIN s y ON y.platform = x.platform AND y.a = x.a AND y.b = x.b AND y.pos <= x.pos
        GROUP BY x.platform, x.a, x.b, x.start_ts, x.g, x.pos, x.n_all"""


def long_gaps(ctx: Context, limit: int = 50) -> list[dict[str, Any]]:
    """The longest unusual gaps, NOT tested: each pair's longest spacing, ranked by its length over the
    median of the pair's spacings. For data where the renewal test has no power (few contact days
    per pair) this is a reading list, not a set of discoveries; it carries no p-value."""
    rows = ctx.engine.arrow(f"""
        SELECT platform, a, b, start_ts, next_ts, g, n_all, med, g / greatest(med, 1) AS ratio
        FROM (SELECT *, rank() OVER (PARTITION BY platform, a, b ORDER BY g DESC) AS r
              FROM (SELECT *, median(g) OVER (PARTITION BY platform, a, b) AS med FROM tw_spacings) s) top
        WHERE r = 1 AND n_all >= 3
        ORDER BY ratio DESC, n_all DESC, platform, a, b LIMIT {int(limit)}""")
    out = []
    for r in rows.to_pylist():
        end: datetime | None = r["next_ts"]
        out.append({"platform": r["platform"], "subjects": [r["a"], r["b"]], "start": r["start_ts"], "end": end,
                    "gap_active_days": int(r["g"]), "spacings": int(r["n_all"]),
                    "median_active_days": float(r["med"]), "ratio": round(float(r["ratio"]), 2),
                    "open": end is None, "tested": False})
    return out
