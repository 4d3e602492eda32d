"""Silence and resumption: A stopped engaging with B far longer than A's own rhythm allows, then came back.

Two models, chosen per pair:

* **Posts model** (B's posts are in the data). Each of B's posts is a trial that A engages with (likes,
  comments, replies, reposts) with an unknown probability p. The prior for p is fitted to all pairs
  (empirical Bayes, a nonparametric distribution on a grid: see engagement_prior), so a pair seen twice is
  pulled toward what pairs like it usually do and rare engagers stay rare. After A's i-th engaged post, with
  e engaged of n posts seen since A first engaged (the first engagement only starts the clock and is not
  counted), the probability of k or more misses in a row is the posterior predictive
  P(K ≥ k) = E[(1 − p)^k | e, n]. Each gap between consecutive engagements (and the open gap at the end of
  the data) is one test. Misses are counted with window functions over post ranks: the number of
  B's posts published between two engagements is the difference of B's post counts at those two times.
* **Renewal model** (B's posts are not in the data: messages, mentions). A's interactions with B are
  reduced to days of contact (a conversation of fifty messages is one day, so bursts do not make ordinary
  pauses look long), and gaps are counted in A's *active* days (days A did anything at all), so an account
  that left the platform is dormant, not silent on B. Under the null the pair's gaps are exchangeable and
  a gap's p-value is its rank among them (detect/renewal.py): exact, and without power for pairs with few
  gaps, which Tarone's filter then drops from the false-discovery count.

start = A's last engagement before the silence; ts = when the run of misses became significant at the run's
false-discovery threshold; end = the resumption, or null while the silence lasts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.engagement_prior import GridPrior, fit_grid_prior
from tiewatch.detect.fdr import tarone_floor
from tiewatch.detect.renewal import (
    CANDIDATES_SQL,
    HISTOGRAM_SQL,
    crossing_length,
    renewal_candidates,
    renewal_histogram,
    spacings_sql,
)
from tiewatch.engines.shared import shared_ctes

POST_ENGAGEMENTS = ("like", "comment", "reply", "repost")
REACTION_DAYS = 3.0  # posts younger than this at the end of the data are not counted as missed yet
# A gap is a test only after A's 5th engagement with B. With fewer, the posterior rests on the prior, and a
# liker who happened to like two posts in a row of an account with thousands of random likers looks like a
# friend: once Tarone's filter leaves few tests, such p-values (~0.002) would pass. The rule uses only the
# history before the gap, so filtering on it keeps the test valid; those gaps count as untestable.
MIN_ENGAGED = 5
FAMILY = "silence"
CHUNK = 1 << 11  # rows of (history × grid) matrices computed at once (blocks that stay in cache)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class SilenceDetector(Detector):
    kinds = ("silence", "resumption")
    families = ("silence",)
    name = "silence"

    def queries(self, ctx: Context) -> dict[str, str]:
        """In the order `run` and `finalize` send them; tw_* are materialised for the queries after them."""
        return {"end": self._end_sql(ctx), "tw_gaps": self._posts_gaps_sql(ctx), "prior": PRIOR_SQL,
                "histories": HISTORIES_SQL, "tw_spacings": spacings_sql(ctx), "renewal_tests": HISTOGRAM_SQL,
                "renewal_candidates": CANDIDATES_SQL, "posts_candidates": POSTS_CANDIDATES_SQL,
                "active_misses": self._active_misses_sql(ctx), "gap_ends": self._gap_ends_sql(ctx),
                "post_times": POST_TIMES_SQL}

    def snapshot_tables(self) -> dict[str, pa.Table]:
        """Empty tables of the shapes `run` and `finalize` register from the driver (for the SQL snapshots)."""
        return {"tw_hist": pa.table({c: pa.array([], pa.float64()) for c in ("e1", "n1", "kmax", "p_min", "pmean",
                                                                              "w")}),
                "tw_cand": pa.table({"platform": pa.array([], pa.string()), "a": pa.array([], pa.string()),
                                     "b": pa.array([], pa.string()), "lo": pa.array([], pa.int64()),
                                     "k": pa.array([], pa.int64()), "cid": pa.array([], pa.int64())}),
                "tw_rank_q": pa.table({"i": pa.array([], pa.int64()), "platform": pa.array([], pa.string()),
                                       "b": pa.array([], pa.string()), "r": pa.array([], pa.int64())}),
                "tw_ends": pa.table({"i": pa.array([], pa.int64()), "platform": pa.array([], pa.string()),
                                     "a": pa.array([], pa.string()), "b": pa.array([], pa.string()),
                                     "r0": pa.array([], pa.int64()), "r1": pa.array([], pa.int64())})}

    def snapshot_params(self) -> dict[str, Any]:
        """Example values of the parameters its queries use besides the window's (for the SQL snapshots)."""
        return {"end": datetime(2025, 1, 1), "keep_p": 0.05, "min_pos": 20, "frac": 0.9, "cap": 0.05}

    def _end_sql(self, ctx: Context) -> str:
        return f"SELECT max(ts) FROM {ctx.events_bound()}"

    def run(self, ctx: Context) -> DetectorOutput:
        end = ctx.engine.scalar(self._end_sql(ctx), ctx.window.params)
        if end is None:
            return DetectorOutput([], {FAMILY: 0})
        self.end: datetime = end
        ctx.engine.materialize("tw_gaps", self._posts_gaps_sql(ctx), {**ctx.window.params, "end": end})
        prior = self._prior(ctx)
        self.prior = prior
        # Every test's smallest attainable p-value, then Tarone's filter: tests that can never pass leave m.
        posts_pmin, posts_counts, posts_rho = self._posts_pmin(ctx, prior)
        renewal_pmin, renewal_counts = renewal_histogram(ctx)
        n_all = int(posts_counts.sum() + renewal_counts.sum())
        live = 1 + sum(1 for n in ctx.other_tests.values() if n > 0)
        floor = tarone_floor(np.concatenate([posts_pmin, renewal_pmin]),
                             np.concatenate([posts_counts, renewal_counts]), ctx.keep_p / live)
        n_tests = int(posts_counts[posts_pmin <= floor].sum() + renewal_counts[renewal_pmin <= floor].sum())
        self.untestable = n_all - n_tests
        # A priori weights (weighted BH): a posts-model test weighs -ln(1 - r), r = the pair's engagement rate
        # before the gap (posterior mean), i.e. the evidence each missed post adds; renewal tests weigh the
        # average; weights average 1 over the family's kept tests. Fixed before any gap is seen.
        kept_posts = posts_pmin <= floor
        n_kept_posts = int(posts_counts[kept_posts].sum())
        rho_bar = float(posts_counts[kept_posts] @ posts_rho[kept_posts] / n_kept_posts) if n_kept_posts else 1.0
        tbl, p, post, hid, w = self._posts_pvalues(ctx, prior, floor, rho_bar)
        renewal_p = renewal_candidates(ctx, ctx.keep_p, floor)
        rp = (renewal_p["at_least"].to_numpy() / renewal_p["pos"].to_numpy()).astype(float)
        cap = screen_threshold(np.concatenate([p / w, rp]), n_tests, ctx)
        keep = np.nonzero(p / w <= cap)[0]
        signals = self._posts_candidates(ctx, tbl, keep, p, post, hid, w, cap)
        renewal = self._renewal_signals(ctx, renewal_p.filter(pa.array(rp <= cap)), end)
        ctx.engine.drop("tw_spacings")
        ctx.engine.drop("tw_gaps")
        return DetectorOutput(signals + renewal, {FAMILY: n_tests}, {FAMILY: self.untestable})

    def _posts_pmin(self, ctx: Context, prior: GridPrior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each posts-model test's smallest attainable p-value: the probability of missing every post B
        published after the engaged one up to the end of the data (known before the gap is seen); with
        how many tests share it and their raw weight -ln(1 - posterior mean rate).

        One row per distinct (engaged, seen, posts to the end) history; tests before A's MIN_ENGAGED-th
        engagement or with no post left to miss can never be significant (p_min = 1) and are one row. The
        histories that can pass (p_min at most the level) are kept, with their posterior means, for the
        screen of `_posts_pvalues`, so no posterior is computed twice.
        """
        h = _in_history_order(ctx.engine.arrow(HISTORIES_SQL))
        counts = h["tests"].to_numpy().astype(np.int64)
        testable = h["e1"].is_valid().to_numpy(zero_copy_only=False)
        p_min, rho = np.ones(h.num_rows), np.zeros(h.num_rows)
        rows = np.nonzero(testable)[0]
        e1 = h["e1"].to_numpy(zero_copy_only=False)[rows].astype(float)
        n1 = h["n1"].to_numpy(zero_copy_only=False)[rows].astype(float)
        kmax = h["kmax"].to_numpy(zero_copy_only=False)[rows].astype(float)
        mean = np.zeros(len(rows))
        blocks = [slice(i, i + CHUNK) for i in range(0, len(rows), CHUNK)]  # a (rows x grid) block at a time
        for part, (m, run) in zip(blocks, _map_blocks(lambda b: prior.mean_and_run(e1[b], n1[b], kmax[b]), blocks),
                                  strict=True):
            mean[part], p_min[rows[part]] = m, run
        rho[rows] = -np.log1p(-np.minimum(mean, 0.999))
        within = p_min[rows] <= ctx.keep_p  # no Tarone floor is above the level
        self._histories = pa.table({"e1": e1[within], "n1": n1[within], "kmax": kmax[within],
                                    "p_min": p_min[rows][within], "pmean": mean[within]})
        return p_min, counts, rho

    def _posts_candidates(self, ctx: Context, tbl: pa.Table, keep: np.ndarray, p: np.ndarray, post: np.ndarray,
                          hid: np.ndarray, w: np.ndarray, cap: float) -> list[Signal]:
        """The gaps under the screen's cap, recounted over the days A was active (one set-based query for all of
        them); only those still under the cap become signals.

        Recounting can only raise a p-value, so a gap whose recounted p-value exceeds the cap could never be
        rejected, and weighted BH over the recounted candidates is the same as refining the first pass's
        rejections and running BH again (BH is monotone). On skewed data hundreds of thousands of gaps pass
        the screen and almost all fall to the recount: they never become Python objects.
        """
        if not len(keep):
            return []
        sub = tbl.take(pa.array(keep, pa.int64()))
        k_active = np.asarray(self._count_active_misses(ctx, pa.table({
            "platform": sub["platform"], "a": sub["a"], "b": sub["b"], "lo": sub["rank_at"], "k": sub["k"]})),
            dtype=float)
        still = k_active < sub["k"].to_numpy()
        p_active = p[keep].copy()
        if still.any():
            idx = np.nonzero(still)[0]
            p_active[idx] = _chunked(lambda rows: self.prior.run_probability(post[hid[keep[rows]]], k_active[rows]),
                                     idx)
        final = np.nonzero(p_active / w[keep] <= cap)[0]
        rows = sub.take(pa.array(final, pa.int64())).to_pylist() if len(final) else []
        rows = [{**row, **ends} for row, ends in zip(rows, self._gap_ends(ctx, rows), strict=True)]
        return [self._posts_signal(row, float(p_active[j]), self.prior, post[hid[keep[j]]], float(w[keep[j]]),
                                   int(k_active[j])) for row, j in zip(rows, final, strict=True)]

    # -- posts model --------------------------------------------------------------------------------
    def _posts_gaps_sql(self, ctx: Context) -> str:
        """One row per post of B that A engaged with: the run of B's posts A then passed over.

        B's posts are ranked by publication (a window over posts only, which are few, which also counts the
        posts old enough to have been missed by the end); each engagement looks up its post's rank with a
        join against that small table, and repeated engagements on one post are one row (DISTINCT); one
        window per pair, ordered by rank, gives the next engaged post. Misses = the difference of ranks − 1.
        Only ranks go through the window sort: which engagements start and end a gap (ids, times, kinds) is
        looked up afterwards for the few gaps that become signals (`_gap_ends`). The events are read where
        they are needed (a shared intermediate would be a copy of every event), and nothing is joined after
        the window. Parameters: the window's and $end (the last event's time).
        """
        d = DUCKDB  # written once in DuckDB's dialect; the engine compiles it
        end_sql = "$end"
        events = ctx.events_bound()
        return f"""
        WITH posts AS ({_posts_sql(events)}),
        posts_r AS (
            SELECT platform, author, post_id, {POST_RANK},
                   CAST(sum(CASE WHEN ts <= {d.minus_days(end_sql, REACTION_DAYS)} THEN 1 ELSE 0 END)
                        OVER (PARTITION BY platform, author) AS BIGINT) AS open_rank
            FROM posts),
        eng AS (
            SELECT DISTINCT e.platform, e.actor AS a, e.target AS b, p.prank, p.open_rank
            FROM {events} e JOIN posts_r p ON p.platform = e.platform AND p.author = e.target AND p.post_id = e.post
            WHERE e.kind IN ({_in(POST_ENGAGEMENTS)}) AND e.actor <> e.target),
        seq AS (
            SELECT *, row_number() OVER w AS e, first_value(prank) OVER w AS first_prank,
                   lead(prank) OVER w AS next_prank
            FROM eng WINDOW w AS (PARTITION BY platform, a, b ORDER BY prank))
        SELECT s.platform, s.a, s.b, s.e, s.prank - s.first_prank + 1 AS n, s.prank AS rank_at,
               CASE WHEN s.next_prank IS NULL THEN greatest(s.open_rank - s.prank, 0)
                    ELSE s.next_prank - s.prank - 1 END AS k,
               greatest(s.open_rank - s.prank, s.next_prank - s.prank - 1, 0) AS kmax, s.next_prank AS next_rank
        FROM seq s"""

    def _gap_ends(self, ctx: Context, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """For each gap (platform, a, b, rank_at, next_rank): A's last engagement on the post at rank_at and A's
        first on the post at next_rank (none for an open gap), as start_ts/start_id/start_kind and
        next_ts/next_id/next_kind. One query for all of them."""
        if not rows:
            return []
        q = pa.table({"i": pa.array(range(len(rows)), pa.int64()),
                      "platform": pa.array([r["platform"] for r in rows], pa.string()),
                      "a": pa.array([r["a"] for r in rows], pa.string()),
                      "b": pa.array([r["b"] for r in rows], pa.string()),
                      "r0": pa.array([r["rank_at"] for r in rows], pa.int64()),
                      "r1": pa.array([r["next_rank"] for r in rows], pa.int64())})
        ctx.engine.register("tw_ends", q)
        try:  # Spark would rank B's posts once per reference; cached once instead
            with shared_ctes(ctx.engine, self._gap_ends_sql(ctx), ctx.window.params, ("posts_r",)) as sql:
                found = ctx.engine.arrow(sql, ctx.window.params).to_pylist()
        finally:
            ctx.engine.drop("tw_ends")
        ends: list[dict[str, Any]] = [{"start_ts": None, "start_id": None, "start_kind": None, "next_ts": None,
                                       "next_id": None, "next_kind": None} for _ in rows]
        for f in found:
            side = "start" if f["side"] == 0 else "next"
            ends[f["i"]].update({f"{side}_ts": f["ts"], f"{side}_id": f["id"], f"{side}_kind": f["kind"]})
        return ends

    def _gap_ends_sql(self, ctx: Context) -> str:
        """The query of `_gap_ends` over the registered gaps tw_ends (window parameters): the posts at the two
        ranks (ranked as in the gaps table), then per post the last (start) or first (next) engagement by
        (ts, id), as the gaps' window order had them."""
        events = ctx.events_bound()
        return f"""
                WITH q AS (SELECT i, platform, a, b, r0, r1 FROM tw_ends),
                posts_r AS (
                    SELECT platform, author, post_id, {POST_RANK}
                    FROM ({_posts_sql(events, "AND actor IN (SELECT b FROM q)")})),
                want AS (
                    SELECT q.i, 0 AS side, q.platform, q.a, q.b, p.post_id
                    FROM q JOIN posts_r p ON p.platform = q.platform AND p.author = q.b AND p.prank = q.r0
                    UNION ALL
                    SELECT q.i, 1 AS side, q.platform, q.a, q.b, p.post_id
                    FROM q JOIN posts_r p ON p.platform = q.platform AND p.author = q.b AND p.prank = q.r1),
                hits AS (
                    SELECT w.i, w.side, e.ts, e.id, e.kind,
                           row_number() OVER (PARTITION BY w.i, w.side ORDER BY e.ts, e.id) AS first_,
                           row_number() OVER (PARTITION BY w.i, w.side
                                              ORDER BY e.ts DESC NULLS FIRST, e.id DESC NULLS FIRST) AS last_
                    FROM {events} e JOIN want w ON e.platform = w.platform AND e.actor = w.a AND e.target = w.b
                         AND e.post = w.post_id
                    WHERE e.kind IN ({_in(POST_ENGAGEMENTS)}) AND e.actor <> e.target)
                SELECT i, side, ts, id, kind FROM hits
                WHERE (side = 0 AND last_ = 1) OR (side = 1 AND first_ = 1)"""

    def _prior(self, ctx: Context) -> GridPrior:
        """The engagement-rate prior, fitted to every pair's counts after its first engagement."""
        pairs = ctx.engine.arrow(PRIOR_SQL)
        return fit_grid_prior(pairs["e1"].to_numpy().astype(float), pairs["n1"].to_numpy().astype(float),
                              pairs["pairs"].to_numpy().astype(float))

    def _posts_pvalues(self, ctx: Context, prior: GridPrior, floor: float,
                       rho_bar: float) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The gaps that could be significant, their exact p-values, the posteriors, each gap's posterior
        row and its weight."""
        # Only tests kept by Tarone's filter (exact smallest attainable p-value at most the floor). The
        # posterior mean of a history bounds each gap's p-value from below (Jensen: E[(1-p)^k] >= (1-E[p])^k),
        # so gaps that cannot be significant are screened out in SQL. Posteriors are computed in chunks and
        # only for the histories of the gaps that pass the screen.
        hist = self._histories
        hist = hist.filter(pa.array(hist["p_min"].to_numpy() <= floor))
        pmean = hist["pmean"].to_numpy()
        ctx.engine.register("tw_hist", hist.append_column(
            "w", pa.array(-np.log1p(-np.minimum(pmean, 0.999)) / rho_bar)))
        try:
            tbl: pa.Table = ctx.engine.arrow(POSTS_CANDIDATES_SQL, {"keep_p": ctx.keep_p})
        finally:
            ctx.engine.drop("tw_hist")
        e1, n1 = tbl["e1"].to_numpy().astype(np.int64), tbl["n1"].to_numpy().astype(np.int64)
        used, hid = np.unique(e1 * (int(n1.max()) + 1 if len(n1) else 1) + n1, return_index=True,
                              return_inverse=True)[1:]
        used_e1, used_n1 = e1[used].astype(float), n1[used].astype(float)
        post = np.concatenate(_map_blocks(lambda b: prior.posterior(used_e1[b], used_n1[b]),
                                               [slice(i, i + CHUNK) for i in range(0, len(used), CHUNK)])) \
            if len(used) else np.zeros((0, len(prior.rates)))
        hid = hid.ravel()
        k = tbl["k"].to_numpy().astype(float)
        # Many gaps share a history and a length: compute each distinct pair once.
        key = hid * (int(k.max()) + 1 if len(k) else 1) + k.astype(np.int64)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        p = _chunked(lambda rows: prior.run_probability(post[hid[first[rows]]], k[first[rows]]),
                     np.arange(len(first)))[inverse.ravel()] if tbl.num_rows else np.zeros(0)
        w = tbl["w"].to_numpy().astype(float) if tbl.num_rows else np.ones(0)
        return tbl, p, post, hid, w

    def _count_active_misses(self, ctx: Context, tbl: pa.Table) -> list[int]:
        """For each gap, B's posts in it published while A was active (A did anything that day or the next
        two): an account that went quiet everywhere is dormant, not silent on B.

        Counted without visiting the posts inside the gaps: A's covered days form runs (active days closer
        than four days apart merge), each gap meets a few of A's runs, and the posts of B on a run's days are a
        difference of B's cumulative post counts by day, clipped to the gap's post ranks. The cumulative
        counts at the runs' ends come from one window over B's posting days and those ends, so the cost
        grows with B's posting days and the gaps' runs, never with the posts inside a gap.
        """
        ctx.engine.register("tw_cand", tbl.append_column("cid", pa.array(range(tbl.num_rows), pa.int64())))
        try:
            # Spark would compute the runs' CTEs once per reference (13 event scans); cached once each instead.
            with shared_ctes(ctx.engine, self._active_misses_sql(ctx), ctx.window.params,
                             ("posts_r", "pieces")) as sql:
                counts = ctx.engine.arrow(sql, ctx.window.params)
        finally:
            ctx.engine.drop("tw_cand")
        return [int(x) for x in counts["k_active"].to_pylist()]

    def _active_misses_sql(self, ctx: Context) -> str:
        """The query of `_count_active_misses` over the registered candidates tw_cand (window parameters)."""
        day_no = f"CAST(floor(({DUCKDB.epoch('ts')}) / 86400.0) AS BIGINT)"
        events = ctx.events_bound()  # read twice, inline: a shared CTE would be a copy of every event
        return f"""
                WITH c AS (SELECT cid, platform, a, b, lo, k FROM tw_cand),
                posts_r AS (  -- B's posts in publication order, as the gaps were ranked
                    SELECT platform, actor AS b, {day_no} AS pday,
                           row_number() OVER (PARTITION BY platform, actor ORDER BY ts, post) AS prank
                    FROM (SELECT platform, actor, post, min(ts) AS ts FROM {events}
                          WHERE kind = 'post' AND post IS NOT NULL AND actor IN (SELECT b FROM c)
                          GROUP BY platform, actor, post)),
                span AS (  -- the days of each gap's first and last missed post
                    SELECT c.cid, c.platform, c.a, c.b, c.lo, c.k, f.pday AS d0, l.pday AS d1
                    FROM c JOIN posts_r f ON f.platform = c.platform AND f.b = c.b AND f.prank = c.lo + 1
                    JOIN posts_r l ON l.platform = c.platform AND l.b = c.b AND l.prank = c.lo + c.k
                    WHERE c.k >= 1),
                a_days AS (
                    SELECT DISTINCT platform, actor, {day_no} AS aday FROM {events} WHERE actor IN (SELECT a FROM c)),
                a_breaks AS (  -- a post on day D is seen if A was active on D, D+1 or D+2: [aday-2, aday] covered
                    SELECT platform, actor, aday,
                           CASE WHEN aday - lag(aday) OVER w <= 3 THEN 0 ELSE 1 END AS starts_run
                    FROM a_days WINDOW w AS (PARTITION BY platform, actor ORDER BY aday)),
                a_runs0 AS (
                    SELECT platform, actor, aday, sum(starts_run) OVER (PARTITION BY platform, actor ORDER BY aday
                                                                       ROWS UNBOUNDED PRECEDING) AS run
                    FROM a_breaks),
                a_runs AS (
                    SELECT platform, actor, min(aday) - 2 AS r0, max(aday) AS r1 FROM a_runs0
                    GROUP BY platform, actor, run),
                pieces AS (  -- the covered days of A inside each gap's span (a gap meets few of A's runs)
                    SELECT row_number() OVER (ORDER BY s.cid, r.r0) AS pid, s.cid, s.platform, s.b, s.lo, s.k,
                           greatest(r.r0, s.d0) AS p0, least(r.r1, s.d1) AS p1
                    FROM span s JOIN a_runs r ON r.platform = s.platform AND r.actor = s.a
                         AND r.r1 >= s.d0 AND r.r0 <= s.d1),
                b_days AS (SELECT platform, b, pday, count(*) AS n FROM posts_r GROUP BY platform, b, pday),
                stream AS (  -- B's posting days and the pieces' ends, in day order: posts first within a day
                    SELECT platform, b, pday AS day_, 0 AS ord, n, CAST(NULL AS BIGINT) AS pid, 0 AS side
                    FROM b_days WHERE b IN (SELECT b FROM pieces)
                    UNION ALL SELECT platform, b, p0 - 1, 1, 0, pid, 0 FROM pieces
                    UNION ALL SELECT platform, b, p1, 1, 0, pid, 1 FROM pieces),
                cum AS (  -- B's posts published on or before each end's day
                    SELECT pid, side, sum(n) OVER (PARTITION BY platform, b ORDER BY day_, ord
                                                   ROWS UNBOUNDED PRECEDING) AS upto
                    FROM stream),
                ends AS (
                    SELECT pid, max(CASE WHEN side = 0 THEN upto END) AS before_p0,
                           max(CASE WHEN side = 1 THEN upto END) AS upto_p1
                    FROM cum WHERE pid IS NOT NULL GROUP BY pid),
                seen AS (  -- ranks (before_p0, upto_p1] are B's posts on the piece's days; clip to the gap's
                    SELECT p.cid, greatest(least(p.lo + p.k, e.upto_p1) - greatest(p.lo, e.before_p0), 0) AS n
                    FROM pieces p JOIN ends e ON e.pid = p.pid)
                SELECT c.cid, coalesce(sum(seen.n), 0) AS k_active FROM c LEFT JOIN seen ON seen.cid = c.cid
                GROUP BY c.cid ORDER BY c.cid"""

    def _posts_signal(self, row: dict[str, Any], p: float, prior: GridPrior, post: np.ndarray,
                      weight: float, misses: int) -> Signal:
        a, b = row["a"], row["b"]
        open_ = row["next_ts"] is None
        start: datetime = row["start_ts"]
        days = ((row["next_ts"] or self.end) - start).total_seconds() / 86400
        rate = float(post @ prior.rates)
        detail = {"model": "posts", "misses": misses, "posts_in_gap": int(row["k"]),
                  "engaged_before": int(row["e"]),
                  "posts_before": int(row["n"]), "prior_rate": round(rate, 4), "days": round(days, 1),
                  "posterior": post,  # the exact grid row; listed, rounded, for the kept ones in finalize
                  "open": open_, "rank_at_start": int(row["rank_at"]),
                  "resumed_by": row["next_id"], "resumed_kind": row["next_kind"],
                  "resumed_ts": row["next_ts"].isoformat() + "Z" if row["next_ts"] else None,
                  "start_kind": row["start_kind"], "weight": round(weight, 4)}
        return Signal(kind="silence", ts=None, start=start, end=row["next_ts"], subjects=[a, b],
                      score=float(-np.log10(max(p, 1e-300))), p_value=p, evidence=[row["start_id"]],
                      detail=detail, platform=row["platform"], family=FAMILY, weight=weight)

    # -- renewal model (detect/renewal.py) ----------------------------------------------------------
    def _renewal_signals(self, ctx: Context, tbl: pa.Table, end: datetime) -> list[Signal]:
        out = []
        for row in tbl.to_pylist():
            pv = row["at_least"] / row["pos"]
            start = row["start_ts"]
            days = ((row["next_ts"] or end) - start).total_seconds() / 86400
            earlier = [int(x) for x in row["earlier"]]
            typical = float(row["typical"])
            detail = {"model": "renewal", "gap_days": round(days, 2), "gap_active_days": int(row["g"]),
                      "typical_gap_active_days": round(typical, 3), "earlier_gaps": int(row["pos"]) - 1,
                      "at_least_as_long": int(row["at_least"]) - 1, "longest_earlier": earlier,
                      "open": row["next_ts"] is None,
                      "resumed_by": row["next_id"], "resumed_kind": row["next_kind"],
                      "resumed_ts": row["next_ts"].isoformat() + "Z" if row["next_ts"] else None}
            out.append(Signal(kind="silence", ts=None, start=start, end=row["next_ts"],
                              subjects=[row["a"], row["b"]], score=float(-np.log10(max(pv, 1e-300))),
                              p_value=float(pv), evidence=[row["start_id"]], detail=detail,
                              platform=row["platform"], family=FAMILY))
        return out

    # -- after false-discovery control --------------------------------------------------------------
    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """Date each kept silence (when it became significant) and add the resumption that ended it."""
        extra: list[Signal] = []
        for s in kept:  # the posterior listed for reading (only kept silences pay for it)
            if s.kind == "silence" and isinstance(s.detail.get("posterior"), np.ndarray):
                s.detail["posterior"] = [[round(float(r), 5), round(float(w), 5)]
                                         for r, w in zip(self.prior.rates, s.detail["posterior"], strict=True)
                                         if w > 1e-5]
        dated: list[Signal] = []  # posts-model silences: dated together, one query for all their posts
        for s in kept:
            if s.kind != "silence":
                continue
            if s.detail["model"] == "posts" and s.start is not None:
                dated.append(s)
            else:
                s.ts = self._became_significant(ctx, s, p_star * s.weight)
                if s.ts is not None and s.start is not None:  # how long after the last engagement it was clear
                    s.detail["delay_days"] = round((s.ts - s.start).total_seconds() / 86400, 2)
            if s.end is not None and s.detail.get("resumed_by"):
                extra.append(self._resumption(s))
        masses = self._posteriors(dated)
        times = self._post_times(ctx, [(s.platform or "", s.subjects[1],
                                        self._significant_rank(s, p_star * s.weight, mass))
                                       for s, mass in zip(dated, masses, strict=True)])
        for s, ts in zip(dated, times, strict=True):
            s.ts = ts or s.start
            if s.ts is not None and s.start is not None:  # how long after the last engagement it was clear
                s.detail["delay_days"] = round((s.ts - s.start).total_seconds() / 86400, 2)
        return kept + extra

    def _posteriors(self, signals: list[Signal]) -> np.ndarray:
        """Each posts-model silence's exact posterior over the rate grid, in one vectorised pass."""
        if not signals:
            return np.zeros((0, 0))
        engaged = np.array([s.detail["engaged_before"] - 1.0 for s in signals])
        seen = np.array([s.detail["posts_before"] - 1.0 for s in signals])
        return _chunked(lambda rows: self.prior.posterior(engaged[rows], seen[rows]).ravel(),
                        np.arange(len(signals))).reshape(len(signals), len(self.prior.rates))

    def _became_significant(self, ctx: Context, s: Signal, p_star: float) -> datetime | None:
        if s.start is None:
            return None
        if s.detail["model"] == "renewal":
            # The rank p-value reaches p* once the running gap outlasts enough of the pair's other gaps;
            # active days are mapped back to calendar time in proportion over the gap.
            active_star = crossing_length(s.detail["longest_earlier"], s.detail["earlier_gaps"] + 1,
                                          s.detail["gap_active_days"], max(p_star, s.p_value or 0.0))
            share = min(active_star / max(s.detail["gap_active_days"], 1), 1.0)
            return s.start + timedelta(days=s.detail["gap_days"] * share)
        mass = self._posteriors([s])[0]
        return self._post_times(ctx, [(s.platform or "", s.subjects[1], self._significant_rank(s, p_star, mass))])[0] \
            or s.start

    def _significant_rank(self, s: Signal, p_star: float, mass: np.ndarray) -> int:
        """B's post rank at which a posts-model silence became significant, under its exact posterior `mass`
        (the detail lists it rounded, which drops the low rates that long runs hinge on)."""
        k = s.detail["misses"]
        rates = self.prior.rates
        log_miss = np.log1p(-rates)
        threshold = max(p_star, s.p_value or 0.0)

        def p_run(n: int) -> float:
            return float(np.exp(n * log_miss) @ mass)

        # the first k with P(k misses in a row) <= threshold: the probability falls with k, so bisect
        lo, k_star = 1, k
        if p_run(k) <= threshold:
            while lo < k_star:
                mid = (lo + k_star) // 2
                lo, k_star = (lo, mid) if p_run(mid) <= threshold else (mid + 1, k_star)
        # The k*-th post B published after the one A last engaged with, counting only posts A could see.
        share = k_star / max(s.detail["misses"], 1)
        return int(s.detail["rank_at_start"] + max(1, round(share * s.detail["posts_in_gap"])))

    def _post_times(self, ctx: Context, wanted: list[tuple[str, str, int]]) -> list[datetime | None]:
        """The publication time of B's post of each (platform, B, rank): one window over those authors' posts
        (a query per silence read every event once per silence)."""
        if not wanted:
            return []
        q = pa.table({"i": list(range(len(wanted))), "platform": [w[0] for w in wanted],
                      "b": [w[1] for w in wanted], "r": pa.array([w[2] for w in wanted], pa.int64())})
        ctx.engine.register("tw_rank_q", q)
        try:
            rows = ctx.engine.arrow(POST_TIMES_SQL)
        finally:
            ctx.engine.drop("tw_rank_q")
        found: dict[int, datetime] = {int(i): ts for i, ts in zip(rows["i"].to_pylist(), rows["ts"].to_pylist(),
                                                                  strict=True)}
        return [found.get(i) for i in range(len(wanted))]

    def _resumption(self, s: Signal) -> Signal:
        a, b = s.subjects
        when: datetime = s.end  # type: ignore[assignment]
        days = (when - s.start).total_seconds() / 86400 if s.start else 0.0
        detail = {**s.detail, "silence_start": s.start.isoformat() + "Z" if s.start else None,
                  "silence_days": round(days, 1)}
        return Signal(kind="resumption", ts=when, start=s.start, end=when, subjects=[a, b], score=s.score,
                      p_value=s.p_value, evidence=[s.detail["resumed_by"], *s.evidence],
                      detail=detail, platform=s.platform, family=None, q_value=s.q_value, parent=s)


# The posts model's queries over the materialised gaps (tw_gaps) and the driver's tables (tw_hist, tw_rank_q).
PRIOR_SQL = """
            SELECT e - 1 AS e1, n - 1 AS n1, count(*) AS pairs FROM tw_gaps
            WHERE next_rank IS NULL GROUP BY e - 1, n - 1 ORDER BY e1, n1"""  # a pair's last row holds its totals;
# ordered, so the prior's sums add up in the same order on every run and engine (bit for bit)
HISTORIES_SQL = f"""
            SELECT CASE WHEN e >= {MIN_ENGAGED} AND kmax >= 1 THEN e - 1 END AS e1,
                   CASE WHEN e >= {MIN_ENGAGED} AND kmax >= 1 THEN n - 1 END AS n1,
                   CASE WHEN e >= {MIN_ENGAGED} AND kmax >= 1 THEN kmax END AS kmax, count(*) AS tests
            FROM tw_gaps GROUP BY 1, 2, 3"""  # ordered by _in_history_order
POSTS_CANDIDATES_SQL = """
                SELECT g.*, h.e1, h.n1, h.w FROM tw_gaps g
                JOIN tw_hist h ON h.e1 = g.e - 1 AND h.n1 = g.n - 1 AND h.kmax = g.kmax
                WHERE g.k >= 1 AND power(1.0 - h.pmean, g.k) <= $keep_p * h.w"""
POST_TIMES_SQL = """
                WITH p AS (SELECT platform, actor, post, min(ts) AS ts FROM events
                           WHERE kind = 'post' AND actor IN (SELECT b FROM tw_rank_q) GROUP BY platform, actor, post),
                r AS (SELECT platform, actor, ts,
                             row_number() OVER (PARTITION BY platform, actor ORDER BY ts, post) AS r FROM p)
                SELECT q.i, r.ts FROM tw_rank_q q JOIN r ON r.platform = q.platform AND r.actor = q.b AND r.r = q.r
                """


# B's posts, each at its first sighting, and their rank by publication: one definition for the gaps table and
# for `_gap_ends`, whose ranks must be the gaps' ranks.
POST_RANK = "row_number() OVER (PARTITION BY platform, author ORDER BY ts, post_id) AS prank"


def _posts_sql(events: str, authors: str = "") -> str:
    """Each post (platform, author, post_id) at its first time, ts; `authors`: an extra condition on the actor."""
    return (f"SELECT platform, actor AS author, post AS post_id, min(ts) AS ts FROM {events} "
            f"WHERE kind = 'post' AND post IS NOT NULL {authors} GROUP BY platform, actor, post")


def _in_history_order(h: pa.Table) -> pa.Table:
    """The histories (distinct e1, n1, kmax) in the order ORDER BY e1, n1, kmax NULLS FIRST gives, so the
    weights' average adds up in the same order on every run and engine (bit for bit). Sorted here: one argsort
    of a combined integer key (an ORDER BY of 5.3M rows took DuckDB 1.7 s on one core); keys are distinct."""
    valid = h["e1"].is_valid().to_numpy(zero_copy_only=False)
    rows = np.nonzero(valid)[0]
    e1, n1, kmax = (np.asarray(h[c].to_numpy(zero_copy_only=False)[rows], dtype=np.int64) for c in ("e1", "n1", "kmax"))
    span = int(max(e1.max(), n1.max(), kmax.max())) + 1 if len(rows) else 1
    order = np.argsort((e1 * span + n1) * span + kmax) if span < 2 ** 21 else np.lexsort((kmax, n1, e1))
    return h.take(pa.array(np.concatenate([np.nonzero(~valid)[0], rows[order]]), pa.int64()))


def _chunked(fn: Callable[[np.ndarray], np.ndarray], rows: np.ndarray) -> np.ndarray:
    """fn over rows in chunks, concatenated: bounded memory for the (rows × grid) matrices."""
    if not len(rows):
        return np.zeros(0)
    return np.concatenate(_map_blocks(fn, [rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK)]))


def _map_blocks(fn: Callable[[Any], Any], blocks: list[Any]) -> list[Any]:
    """fn over the blocks, in order, on as many threads as there are processors (at most four): numpy
    releases the GIL inside its loops, so the (rows × grid) arithmetic runs on every core. Each block is
    computed exactly as it would be alone, so the results are bit for bit those of one thread."""
    workers = min(4, os.cpu_count() or 1)
    if workers == 1 or len(blocks) < 2:
        return [fn(b) for b in blocks]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, blocks))


def screen_threshold(p: np.ndarray, n_tests: int, ctx: Context) -> float:
    """The largest p-value in this family that weighted BH could still reject, whatever the other families do.

    A test is rejected only if p ≤ w·q·R/m (w: the family's weight, R: rejections). R is bounded by this
    family's tests under the bound plus every test of the other families; iterating shrinks the bound while
    it stays valid, so millions of null tests need not become candidate objects.
    """
    others = {f: n for f, n in ctx.other_tests.items() if n > 0}
    m_other = sum(others.values())
    m = n_tests + m_other
    if n_tests == 0 or m == 0:
        return 0.0
    weight = m / ((len(others) + 1) * n_tests)
    bound = m
    cap = ctx.keep_p * weight
    for _ in range(100):
        cap = min(ctx.keep_p * weight * bound / m, ctx.keep_p)
        new_bound = int(np.count_nonzero(p <= cap)) + m_other
        if new_bound >= bound:
            break
        bound = new_bound
    return float(cap)


def _human_days(days: float) -> str:
    if days < 1 / 24:
        return f"{days * 1440:.0f} minutes"
    if days < 1:
        return f"{days * 24:.0f} hours"
    return f"{days:.0f} days" if days >= 2 else f"{days:.1f} days"

