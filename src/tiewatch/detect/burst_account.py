"""Account burst: a crowd (many accounts) or a flood (one account far beyond its usual volume) reaches one
account within the same hour, unusual for that account's own active hours.

In the spirit of MIDAS-R (Bhatia et al., AAAI 2020: a streaming test of a node's count in the current tick
against its own past), with exact conditional tests instead of a chi-square score, and counts chosen so that
ordinary conversations are not read as bursts. It complements the pair burst (detect/burst.py), which sees A
singling out B over days.

What is counted: the messages and mentions that reach B (likes, comments, replies and reposts answer B's own
posts, so every post makes the next hour a surge: counted, the seed scenario gives ~12,600 "bursts"; a post
that draws unusual engagement needs a per-post model, not this one), from senders who come unasked: a sender
to whom B wrote in the 60 minutes before it came, both ends included, is answering B and is not counted
(B's message to eight friends, answered within minutes, is a conversation B started, not a crowd seeking B
out; counted, it is out of the model below; a message and its answer in the same second, or in the same hour
of data kept to the hour, cannot say which came first and count as an answer: counted, the same 8 answers
floored to the hour gave p = 2.6e-9). For receiver B and hour t: X_t, the number of distinct senders
(a conversation of fifty messages from one friend is one sender), tau_t, the place in the hour of the first
one's first message (0..1), and each sender's number of messages in the hour, its *mark*, binned by powers
of four (1-3, 4-15, 16-63, ..., >= 4^8).

The reference is B's *active hours* (hours in which B got anything) in the 28 days before t. The tested hour
is itself one with an arrival, so this compares like with like, and makes no assumption about when, within its
days, B is sought: friends who write together every evening, or a group that meets at a random hour each day,
are usual for B, since its own active hours hold such crowds (and, below, whether or not the platform is busy
that day). (The previous reference, B's whole days with the
platform's hourly rhythm as exposure, read such an account's every crowd as a burst: 10 friends every day at
21:00 gave 59 signals in 60 days.) A receiver with no active hour in the 28 days before (new, or back after
weeks of silence) has no reference and is not a test. Two tests, B's own rate dropping out of both by
conditioning on a total:

* **crowd** (many senders): B's senders arrive as a Poisson process (each sender's first message in the hour a
  point), at rate pi_B E_h in hour h, uniform within the hour, E_h = 1 + the distinct sender-receiver contacts in
  hour h to every receiver but B (the platform's daily rhythm and platform-wide surges are exposure, not bursts;
  B's own senders are left out so that a crowd does not raise its own exposure, and the 1 keeps an hour in which B
  is the only receiver from having none). An hour is active because of its first point, at tau_h; by the process's
  memorylessness, the number of further senders in the rest of the hour, Y_h = X_h - 1, is Poisson(pi_B E_h (1 -
  tau_h)) given tau_h, whatever came before, and is not truncated (each reference hour may hold none after its
  first). So given S' = Y_t + Y_ref (Y_ref: the sum over the reference hours), Y_t ~ Binomial(S', q'), q' = W_t /
  (W_t + W_ref), W_h = E_h (1 - tau_h) (the remaining exposure, summed over the reference for W_ref), and p_crowd
  = P(Bin(S', q') >= X_t - 1), exact under the model. The platform's volume as exposure is itself a model: that
  B's senders follow it. A group that meets every day whatever the platform does breaks it on the platform's quiet
  days (CollegeMsg runs from 8 to 2,678 messages a day: 8 friends at a random hour daily gave 246 false signals
  per run among 20 such groups; each receiver's days permuted among its own, 9-14 per run). The other model, B's
  active hours alike (E_h = 1), breaks on the platform's surges. So q' is the larger of the two shares, W_t / (W_t
  + W_ref) and the same with E_h = 1 (the remaining time alone): the binomial tail grows with q', so this is the
  larger of the two p-values, valid if either model holds (0 false signals for those groups, the price: planted
  crowds' recall 0.80 -> 0.67). The tested hour's remaining time is taken as at least a quarter hour (W_t = E_t
  max(1 - tau_t, 1/4)): under the model that only makes the test conservative (q' larger), and it keeps a pair of
  senders a second after a first at 59:58 from reading as a crowd in an hour with two seconds left (the test's
  time resolution is a quarter hour, not the timestamps'). Timestamps are read to the millisecond; coarser
  timestamps floor tau, which overstates the remaining time (conservative for the tested hour). B's own rhythm:
  where the reference holds at least SAME_TIME_MIN (7) of B's active hours at the tested hour's time of day,
  p_crowd is the larger of that test and the same test against those hours alone (Y_t against their further
  senders, with their remaining exposure). The larger of two p-values is valid if either is, and the rule reads
  only which hours were active (given in the model), not their counts: an account that hears from fifteen
  colleagues every morning at 8:00, more than the platform's volume at 8:00 announces, is compared with its own
  mornings (DARPA's hosts: 65 discoveries at FDR 5% without the rule, 40 of them not over attacks and 22 of those
  at a host's 8:00 hour; 29 with it, 22 over attacks; 20, 18 over attacks, with the
  unweighted share as well). The usual hour of a sparse receiver, one sender after hours
  of one sender each (S' = 0), cannot give a small p and drops out of the tests (Tarone, below): that is where the
  power is. (The previous crowd statistic counted the first sender too, X_t ~ Binomial(X_t + X_ref, E_t / (E_t +
  E_ref)) conditioned on X_t >= 1, and ignored that the reference hours were picked for holding one: exact only
  where hours hold many senders, far too conservative on sparse receivers: planted crowds of 8 new senders in
  CollegeMsg found with recall 0.13, against 0.67 now, docs/quality.md.) bench/burst_account_model.py draws hours
  from the model: P(p <= alpha) <= alpha at every alpha from 1e-4 to 0.05 for receivers of 0.5 to 100 senders a
  day, also when arrivals bunch at the start or end of the hour, with timestamps to the minute, and with senders 9
  h off the platform's hours (0 at 3 a day, where the platform's exposure alone gave 0.0011). Its limits: B's days
  are taken to be alike (in intensity, or in step with the platform's). Days that differ much in intensity are out
  of the model and anti-conservative for busy receivers (B's days ~ Gamma(1): P(p <= 1e-4) = 0 at 0.5 senders a
  day, 3e-5 at 3, 0.0032 at 24, 0.031 at 100; Gamma(4) at 100: 0.0052), and so, at 100 senders a day, are senders
  that keep the platform's hours but not its busy and quiet days (4.5e-4; 5e-5 at 24). Cascades (each sender
  bringing another within minutes, 30% of the time) give 5-12x the level at 1e-4 in a reviewer's model draws, 0-2
  false signals per 30 receivers. On CollegeMsg's nulls, which keep each receiver's senders and their hours, it
  stays within level (docs/quality.md). Answers to B's own messages, if they were counted, would be out of the
  model at every rate (clusters of senders: P(p <= 1e-4) ~ 0.001-0.002), which is why they are not.
* **flood** (one sender far beyond B's usual conversations): the S = X_t + X_ref sender-hours (X_ref: B's
  sender-hours in the reference) have marks that are exchangeable
  under the null (which of B's sender-hours fall in hour t carries no information on how many messages each
  holds), so the hour's heaviest mark ranks like the maximum of a random x-subset of S: with c = the number
  of the S sender-hours in the heaviest mark's bin or above (the hour's own included),
  p_flood = P(a random x-subset of S meets the c) = 1 - C(S - c, x) / C(S, x), exact (hypergeometric; ties
  in a bin count against the test). Conversations are in B's own marks, so a receiver that talks in long
  conversations needs a far longer one to flood. It needs history: p_flood >= x / S, and no test exact on
  B's own sender-hours can go lower, so a flood passes false-discovery control only in a quiet hour of a
  busy account (few senders, many sender-hours before); elsewhere its p-value ranks hours (DARPA) but is
  not a discovery. (A parametric tail for the marks would go lower, and be wrong on heavy-tailed
  conversations.)

p = min(1, 2 min(p_crowd, p_flood)) (Bonferroni: valid whatever the dependence of the two). Why two tests and
not one count of messages (MIDAS's count): on message data that count is overdispersed by conversations
(binomial on it: thousands of false alarms per null run of CollegeMsg), while the distinct senders alone miss
floods from one or a few sources (ROC AUC 0.48-0.55 on DARPA's intrusions, see bench/burst_darpa.py). Why the hour
and not MIDAS's minute: conversations and crowds on social platforms unfold over minutes to an hour; on
DARPA the minute tick scores about the same (ROC AUC 0.906 against 0.911 per hour).

Tarone: given S', q' and S = X_t + X_ref the smallest attainable p is 2 min(q'^S', 1 / S) (q'^S' replaced by
the larger of it and its time-of-day counterpart where that rule applies; 1 when S' = 0: the crowd part
cannot go below 1 without a further sender; p_flood >= x / S >= 1 / S). It is known before Y_t is split
from S': q' depends only on the other receivers' contacts and the first arrivals' times (the first
arrival's, not the further senders'), S' and S on the sums; the filter (fdr.py) keeps only the tests whose
p_min (rounded down to a tenth of a decade, and below 1e-100 all in one bin, so tests group into at most
1,000 bins) could pass. An hour with no reference is never a test that can pass.

Cost: one aggregate of events per (receiver, hour, sender) (with its first message's time) and the same per
(sender, receiver, hour) for B's own messages (their first and last), two equality joins of the two (same
hour, hour before) to drop the answers, then per (receiver, hour) and per (platform, hour), an equality join
of the two, and one range window over B's hours (its senders, exposure, remaining exposure and time, 8 cumulative
mark-bin counts over the 28 days before; the remaining exposure in integer contact-milliseconds, so that every
engine sums it alike), and one more over B's hours at the same time of day (their count, further senders and
remaining exposure). Candidates are screened in SQL by a lower bound of p (Ash's bound P(Bin(S', q') >= y)
>= exp(-S' D(y/S' || q')) / sqrt(8 y (1 - y/S')) for the crowd part, c / S for the flood part), so only hours
that might pass reach Python, where scipy gives the exact tails (vectorised). Evidence is read in `finalize`,
for the hours that passed only (registered as a small table, joined on receiver and hour). Nothing grows with
a product of two large sides.

The FDR budget: `burst_account` is its own family (equal share of the run's level, as every family).
Significant hours of one receiver that follow each other are one signal (an episode). ts = the moment the
first hour became significant: for a crowd, the arrival of the sender with which the crowd part passed at
half the level (given that hour's remaining exposure); for a flood, the moment its heaviest sender reached its
bin's threshold (4^k messages). start / end = the first / last counted event of the episode; evidence =
those events (at most 500 ids); detail.by says which part was the smaller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.special import gammaln
from scipy.stats import binom

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.episodes import episodes, merge_episode
from tiewatch.detect.fdr import live_families, tarone_floor

FAMILY = "burst_account"
KINDS = ("message", "mention")  # interactions that seek B out rather than answer B's posts
UNIT_SECONDS = 3600  # an hour
REFERENCE_DAYS = 28  # B's active hours (with an arrival) among the 28 days before the tested hour
MARK_BASE = 4  # a sender's messages in one unit (its mark), binned by powers of 4: 1-3, 4-15, 16-63, ...
HEAVY_BINS = 8  # ... up to >= 4^8 = 65,536
EVIDENCE_CAP = 500
SENDERS_KEPT = 20  # sender ids kept in detail, in order of arrival
BIN = 10  # Tarone bins per decade of p_min
PMIN_FLOOR = -100  # log10: smaller p_min share one bin (Tarone's floor, level / tests, is far above 1e-100)
SAME_TIME_MIN = 7  # B's active hours at the tested hour's time of day (of 28 days) that give it a rhythm of its own
MIN_REMAINING = 0.25  # the tested hour's remaining exposure after its first arrival: at least a quarter hour
KEPT = "tw_burst_account_kept"  # the kept hours, registered for their evidence query


def _counted_sql(ctx: Context, kinds: tuple[str, ...], unit_us: int) -> str:
    """The interactions that can reach B (messages and mentions from another account), each with its time in
    microseconds (tus) and its unit u: one definition for the tests and for the evidence."""
    kind_list = ", ".join(f"'{k}'" for k in kinds)
    return f"""SELECT id, ts, platform, actor, target, epoch_us(ts) AS tus,
                      CAST(floor(epoch_us(ts) / {unit_us}.0) AS BIGINT) AS u FROM events
               WHERE ts IS NOT NULL AND {ctx.window.bound()} AND kind IN ({kind_list})
                     AND target IS NOT NULL AND actor <> target"""


def _unasked(arrivals: str, first_us: str, unit_us: int) -> str:
    """The joins and condition that keep, of `arrivals` (platform, b, actor, u), the senders B did not write
    to in the unit before their first message `first_us`, both ends included (B's messages per pair and unit
    are `ob`: b, a, u, their first f0 and last f1 in microseconds); a tie is an answer, since timestamps to
    the second or the hour cannot say who wrote first."""
    on = f"o{{i}}.platform = {arrivals}.platform AND o{{i}}.b = {arrivals}.b AND o{{i}}.a = {arrivals}.actor"
    return (f"LEFT JOIN ob o1 ON {on.format(i=1)} AND o1.u = {arrivals}.u - 1 "
            f"LEFT JOIN ob o0 ON {on.format(i=0)} AND o0.u = {arrivals}.u "
            f"WHERE (o1.b IS NULL OR o1.f1 < {first_us} - {unit_us}) AND (o0.b IS NULL OR o0.f0 > {first_us})")


def all_tests_sql(ctx: Context, *, count: str = "senders", unit_seconds: int = UNIT_SECONDS,
                  reference_days: int = REFERENCE_DAYS, kinds: tuple[str, ...] = KINDS) -> str:
    """CTEs up to `t`: one row per (platform, receiver b, unit u) with an arrival: x, the reference's xr (B's
    senders over its active units, those with an arrival, in the `reference_days` days before u), the
    platform's n and nr over the same units, ref_units (how many), the heaviest sender's bin kmax and c
    (sender-units of the current unit and the reference in a bin >= kmax), S, q, log10 of the combined test's
    p_min and its Tarone bin, and the log of a lower bound of the combined p. `count`: 'senders' (distinct
    senders per unit, the detector's statistic) or 'events' (every interaction, as MIDAS counts; overdispersed
    by conversations, so not calibrated: for benchmarks only). `unit_seconds` divides a day."""
    if 86400 % unit_seconds:
        raise ValueError("the unit must divide a day")
    unit_us, unit_ms, per_day = unit_seconds * 1_000_000, unit_seconds * 1000, 86400 // unit_seconds
    x = "count(*)" if count == "senders" else "sum(m)"
    ln10 = math.log(10.0)
    bins = range(1, HEAVY_BINS + 1)
    g = ", ".join(f"sum(CASE WHEN k >= {j} THEN 1 ELSE 0 END) AS g{j}" for j in bins)
    ref = (f"PARTITION BY platform, b ORDER BY u "
           f"RANGE BETWEEN {int(reference_days) * per_day} PRECEDING AND 1 PRECEDING")
    same = (f"PARTITION BY platform, b, u % {per_day} ORDER BY u "
            f"RANGE BETWEEN {int(reference_days) * per_day} PRECEDING AND 1 PRECEDING")
    # the reference's sums are differences of cumulative sums (one cheap pass in order) at two rows of B: the
    # one before t, and the one before the reference's first (found by one range count, joined on row number)
    cum = "PARTITION BY platform, b ORDER BY u ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    gcum = ", ".join(f"sum(g{j}) OVER ({cum}) AS cg{j}" for j in bins)
    c = " ".join(f"WHEN {j} THEN h.cg{j} - coalesce(lo.cg{j}, 0)" for j in bins)
    return f"""WITH eu AS ({_counted_sql(ctx, kinds, unit_us)}),
        pa AS (SELECT platform, target AS b, u, actor, count(*) AS m, min(tus) AS f, max(tus) AS fl
               FROM eu GROUP BY platform, target, u, actor),
        ob AS (SELECT pa.platform, pa.actor AS b, pa.b AS a, pa.u, pa.f AS f0, pa.fl AS f1 FROM pa),
        sb AS (SELECT pa.platform, pa.b, pa.u, pa.actor, pa.m, pa.f FROM pa {_unasked("pa", "pa.f", unit_us)}),
        sk AS (SELECT platform, b, u, m, f,
                      CAST(least(floor(ln(CAST(m AS DOUBLE)) / {math.log(MARK_BASE)!r} + 1e-9), {HEAVY_BINS}.0)
                           AS BIGINT) AS k FROM sb),
        bu AS (SELECT platform, b, u, {x} AS x, sum(m) AS events, max(m) AS heaviest, max(k) AS kmax,
                      {unit_ms} - CAST(floor((min(f) - u * {unit_us}) / 1000.0) AS BIGINT) AS rem, {g}
               FROM sk GROUP BY platform, b, u),
        pu AS (SELECT platform, u, CAST(sum(x) AS BIGINT) AS n FROM bu GROUP BY platform, u),
        bn AS (SELECT bu.*, pu.n - bu.x + 1 AS n, (pu.n - bu.x + 1) * bu.rem AS w
               FROM bu JOIN pu ON pu.platform = bu.platform AND pu.u = bu.u),
        bc AS (SELECT *, count(*) OVER ({ref}) AS ref_units, count(*) OVER ({same}) AS tn,
                      coalesce(sum(x - 1) OVER ({same}), 0) AS ty, coalesce(sum(w) OVER ({same}), 0) AS tw,
                      row_number() OVER ({cum}) AS rn,
                      sum(x) OVER ({cum}) AS cx, sum(n) OVER ({cum}) AS cn, sum(w) OVER ({cum}) AS cw,
                      sum(rem) OVER ({cum}) AS crem, {gcum}
               FROM bn),
        j AS (SELECT h.platform, h.b, h.u, h.x, h.events, h.heaviest, h.kmax, h.n, h.ref_units, h.tn,
                     CAST(h.ty AS BIGINT) AS ty, CAST(h.tw AS BIGINT) AS tw,
                     1.0 - CAST(h.rem AS DOUBLE) / {unit_ms} AS tau,
                     CAST(h.cx - h.x - coalesce(lo.cx, 0) AS BIGINT) AS xr,
                     CAST(h.cn - h.n - coalesce(lo.cn, 0) AS BIGINT) AS nr,
                     h.n * greatest(h.rem, {round(MIN_REMAINING * unit_ms)}) AS wt,
                     CAST(h.cw - h.w - coalesce(lo.cw, 0) AS BIGINT) AS wr,
                     greatest(h.rem, {round(MIN_REMAINING * unit_ms)}) AS wtf,
                     CAST(h.crem - h.rem - coalesce(lo.crem, 0) AS BIGINT) AS wrf,
                     CAST(CASE h.kmax WHEN 0 THEN h.cx - coalesce(lo.cx, 0) {c} END AS BIGINT) AS c
              FROM bc h LEFT JOIN bc lo ON lo.platform = h.platform AND lo.b = h.b
                                       AND lo.rn = h.rn - h.ref_units - 1),
        k AS (SELECT *, x + xr AS s, x - 1 AS y, xr - ref_units AS yr, x - 1 + xr - ref_units AS s2,
                     CAST(x - 1 AS DOUBLE) / greatest(x - 1 + xr - ref_units, 1) AS fy,
                     CASE WHEN nr > 0 THEN greatest(CAST(wt AS DOUBLE) / (wt + wr), CAST(wtf AS DOUBLE) / (wtf + wrf))
                          ELSE 1.0 END AS q2,
                     x - 1 + ty AS s3, CASE WHEN tn > 0 THEN CAST(wt AS DOUBLE) / (wt + tw) ELSE 1.0 END AS q3 FROM j),
        l AS (SELECT *,
                     CASE WHEN nr <= 0 THEN 0.0
                          ELSE least(0.0, ln(2.0) + least(
                               greatest(CASE WHEN s2 > 0 THEN s2 * ln(q2) ELSE 0.0 END,
                                        CASE WHEN tn < {SAME_TIME_MIN} THEN {-1e300!r}
                                             WHEN s3 > 0 THEN s3 * ln(q3) ELSE 0.0 END),
                               -ln(s))) / {ln10!r} END AS log10_pmin,
                     CASE WHEN nr <= 0 THEN 0.0
                          ELSE least(0.0, ln(2.0) + least(
                               CASE WHEN y = 0 THEN 0.0
                                    WHEN y = s2 THEN s2 * ln(q2)
                                    WHEN y > s2 * q2 THEN -s2 * (fy * ln(fy / q2)
                                                                 + (1.0 - fy) * ln((1.0 - fy) / (1.0 - q2)))
                                                          - 0.5 * ln(8.0 * y * (1.0 - fy))
                                    ELSE ln(0.5) END,
                               ln(CAST(c AS DOUBLE) / s))) END AS ln_p_lower
              FROM k),
        t AS (SELECT *, CAST(greatest(least(floor(log10_pmin * {BIN}.0), 0.0), {PMIN_FLOOR * BIN}.0) AS DOUBLE)
                     / {BIN}.0 AS pmin_bin FROM l)"""


class AccountBurstDetector(Detector):
    kinds = ("burst_account",)
    families = ("burst_account",)
    name = "burst_account"
    description = "a crowd (many accounts) or a flood (one account) reaches B in one hour, unusual for B's hours"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"tests": self._sql(ctx), "evidence": self._evidence_sql(ctx)}

    def snapshot_tables(self) -> dict[str, pa.Table]:
        """The empty shape of the table `finalize` registers (for the SQL snapshots)."""
        return {KEPT: pa.table({"platform": pa.array([], pa.string()), "b": pa.array([], pa.string()),
                                "u": pa.array([], pa.int64()), "kmax": pa.array([], pa.int64())})}

    def _sql(self, ctx: Context) -> str:
        keep = math.log(ctx.keep_p)
        keep10 = math.log10(ctx.keep_p)
        return f"""{all_tests_sql(ctx)}
        SELECT 0 AS is_test, platform, b, u, x, xr, yr, n, nr, tau, wt, wr, wtf, wrf, tn, ty, tw, c, events, heaviest,
               kmax, ref_units, pmin_bin, CAST(1 AS BIGINT) AS tests
        FROM t WHERE ln_p_lower <= {keep!r} AND pmin_bin <= {keep10!r}
        UNION ALL
        SELECT 1 AS is_test, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, pmin_bin, count(*) AS tests
        FROM t GROUP BY pmin_bin"""

    def _evidence_sql(self, ctx: Context) -> str:
        """The counted events of the kept hours (registered as KEPT): ids, each sender's first arrival, and the
        moment the hour's heaviest sender reached MARK_BASE^kmax messages (its bin's threshold)."""
        unit_us = UNIT_SECONDS * 1_000_000
        return f"""WITH ev AS ({_counted_sql(ctx, KINDS, unit_us)}),
        kb AS (SELECT DISTINCT platform, b FROM {KEPT}),
        eu AS (SELECT ev.id, ev.ts, ev.platform, ev.actor, ev.target AS b, ev.u
               FROM ev JOIN kb ON kb.platform = ev.platform AND kb.b = ev.target),
        ob AS (SELECT ev.platform, ev.actor AS b, ev.target AS a, ev.u, min(ev.tus) AS f0, max(ev.tus) AS f1
               FROM ev JOIN kb ON kb.platform = ev.platform AND kb.b = ev.actor
               GROUP BY ev.platform, ev.actor, ev.target, ev.u),
        ea AS (SELECT eu.*, k.kmax FROM eu JOIN {KEPT} k ON k.platform = eu.platform AND k.b = eu.b AND k.u = eu.u),
        fa AS (SELECT platform, b, u, actor, min(ts) AS first_ts FROM ea GROUP BY platform, b, u, actor),
        firsts AS (SELECT fa.* FROM fa {_unasked("fa", "epoch_us(fa.first_ts)", unit_us)}),
        ek AS (SELECT ea.* FROM ea JOIN firsts f ON f.platform = ea.platform AND f.b = ea.b AND f.u = ea.u
                                                AND f.actor = ea.actor),
        arrivals AS (SELECT platform, b, u, list(first_ts) AS arrival_ts, list(actor) AS arrival_actor
                     FROM firsts GROUP BY platform, b, u),
        nth AS (SELECT platform, b, u, ts, kmax,
                       row_number() OVER (PARTITION BY platform, b, u, actor ORDER BY ts, id) AS r FROM ek),
        heavy AS (SELECT platform, b, u, min(ts) AS heavy_ts FROM nth WHERE r = CAST(pow({MARK_BASE}, kmax) AS BIGINT)
                  GROUP BY platform, b, u),
        evid AS (SELECT platform, b, u, list(id) AS ids, min(ts) AS start_ts, max(ts) AS end_ts
                 FROM ek GROUP BY platform, b, u)
        SELECT v.platform, v.b, v.u, v.ids, v.start_ts, v.end_ts, a.arrival_ts, a.arrival_actor, h.heavy_ts
        FROM evid v JOIN arrivals a ON a.platform = v.platform AND a.b = v.b AND a.u = v.u
        JOIN heavy h ON h.platform = v.platform AND h.b = v.b AND h.u = v.u"""

    def run(self, ctx: Context) -> DetectorOutput:
        tbl = ctx.engine.arrow(self._sql(ctx), ctx.window.params)
        is_test = tbl["is_test"].to_numpy(zero_copy_only=False).astype(bool)
        bins = tbl["pmin_bin"].to_numpy(zero_copy_only=False).astype(float)
        counts = tbl["tests"].to_numpy(zero_copy_only=False).astype(np.int64)
        pmin, n = np.power(10.0, bins[is_test]), counts[is_test]
        n_all = int(n.sum())
        if n_all == 0:
            return DetectorOutput([], {FAMILY: 0})
        floor = tarone_floor(pmin, n, ctx.keep_p / live_families(ctx, FAMILY))
        n_tests = int(n[pmin <= floor].sum())
        cand = tbl.filter(pa.array(~is_test & (np.power(10.0, bins) <= floor)))
        names = ("x", "xr", "yr", "n", "nr", "tn", "ty", "tw", "c", "events", "heaviest", "kmax", "ref_units", "u")
        cols = {c: cand[c].to_numpy(zero_copy_only=False) for c in names}
        real = {c: cand[c].to_numpy(zero_copy_only=False).astype(float) for c in ("wt", "wr", "wtf", "wrf", "tau")}
        p, p_crowd, p_flood = p_values_of({**cols, **real})
        keep = np.nonzero(p <= ctx.keep_p)[0]
        platforms, receivers = cand["platform"].to_pylist(), cand["b"].to_pylist()
        out = [self._signal(str(platforms[i]), str(receivers[i]), {c: int(v[i]) for c, v in cols.items()},
                            {c: float(v[i]) for c, v in real.items()},
                            (float(p[i]), float(p_crowd[i]), float(p_flood[i]))) for i in keep]
        return DetectorOutput(out, {FAMILY: n_tests}, {FAMILY: n_all - n_tests})

    def _signal(self, platform: str, b: str, r: dict[str, int], f: dict[str, float],
                ps: tuple[float, float, float]) -> Signal:
        x, xr, yr, n, nr = r["x"], r["xr"], r["yr"], r["n"], r["nr"]
        wt, wr = f["wt"], f["wr"]
        p, p_crowd, p_flood = ps
        # the senders the test expects: the first, and the reference's further senders at the tested hour's share
        expected = 1.0 + yr * max(wt / wr, f["wtf"] / f["wrf"]) if wr > 0 and f["wrf"] > 0 else 1.0
        hour = datetime(1970, 1, 1) + timedelta(seconds=r["u"] * UNIT_SECONDS)
        detail = {"senders": x, "events": r["events"], "hour_start": hour.isoformat(),
                  "senders_before": xr, "reference_hours": r["ref_units"], "further_senders_before": yr,
                  "first_arrival_minute": round(f["tau"] * UNIT_SECONDS / 60, 2),
                  "expected": round(expected, 3), "ratio": round(x / expected, 2),
                  "exposure": int(wt), "exposure_before": int(wr), "remaining_ms": int(f["wtf"]),
                  "remaining_ms_before": int(f["wrf"]), "same_time_hours": r["tn"],
                  "same_time_senders_after_first": r["ty"], "same_time_exposure": r["tw"],
                  "platform_contacts": n, "platform_contacts_before": nr, "unit": r["u"], "episode_hours": 1,
                  "p_crowd": p_crowd, "p_flood": p_flood, "by": "flood" if p_flood < p_crowd else "crowd",
                  "heaviest_sender_events": r["heaviest"], "heavy_bin": r["kmax"],
                  "heavy_threshold": MARK_BASE ** r["kmax"],
                  "heavy_sender_hours": r["c"]}
        # Times are the hour's until `finalize` reads the kept hours' events (then: their first and last).
        return Signal(kind="burst_account", ts=hour, start=hour, end=hour + timedelta(seconds=UNIT_SECONDS),
                      subjects=[b],
                      score=-math.log10(max(p, 1e-300)), p_value=p, evidence=[], detail=detail,
                      platform=platform, family=FAMILY)

    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """The kept hours' messages as evidence, each dated by the arrival that made it significant; a
        receiver's consecutive hours merged into one signal."""
        if not kept:
            return []
        ctx.engine.register(KEPT, pa.table({
            "platform": [s.platform or "" for s in kept], "b": [s.subjects[0] for s in kept],
            "u": pa.array([int(s.detail["unit"]) for s in kept], pa.int64()),
            "kmax": pa.array([int(s.detail["heavy_bin"]) for s in kept], pa.int64())}))
        try:
            rows = ctx.engine.arrow(self._evidence_sql(ctx), ctx.window.params).to_pylist()
        finally:
            ctx.engine.drop(KEPT)
        found = {(str(r["platform"]), str(r["b"]), int(r["u"])): r for r in rows}
        for s in kept:
            _attach(s, found[(s.platform or "", s.subjects[0], int(s.detail["unit"]))], p_star)
        return [_merge(e) for e in episodes(kept, lambda s: (s.platform or "", s.subjects[0]),
                                             lambda s: int(s.detail["unit"]),
                                             lambda last, s: int(s.detail["unit"]) - int(last.detail["unit"]) <= 1)]


TEST_COLUMNS = ("x", "xr", "c", "yr", "wt", "wr", "tn", "ty", "tw", "wtf", "wrf")  # of `t`, what a p-value needs


def p_values_of(t: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`p_values` of rows of `all_tests_sql`'s `t`, given as columns by name (the TEST_COLUMNS: a dict of
    arrays, fetchnumpy's or to_pydict's), as the detector computes them."""
    a = {k: np.asarray(t[k], dtype=float) for k in TEST_COLUMNS}
    return p_values(a["x"], a["xr"], a["c"], a["yr"], a["wt"], a["wr"], a["tn"], a["ty"], a["tw"],
                    flat=(a["wtf"], a["wrf"]))


def p_values(x: np.ndarray, xr: np.ndarray, c: np.ndarray, yr: np.ndarray, wt: np.ndarray, wr: np.ndarray,
             tn: np.ndarray | None = None, ty: np.ndarray | None = None, tw: np.ndarray | None = None, *,
             flat: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The combined p-value min(1, 2 min(p_crowd, p_flood)) and its two parts, vectorised and in logs (no
    tail underflows to zero before it is compared). p_crowd: P(Y >= x - 1 | S'), Y ~ Bin(S', q'),
    S' = x - 1 + yr (the senders after each hour's first), q' the tested hour's share of the remaining exposure
    weighted by the platform's volume (wt / (wt + wr)), or with `flat` = (wtf, wrf), the larger of that and
    the unweighted share wtf / (wtf + wrf) (the detector always passes it); where the reference holds at least
    SAME_TIME_MIN hours at the tested hour's time of day (`tn`, with `ty` senders after their first and
    remaining exposure `tw`), the larger of that and the same test against those hours alone. p_flood: P(at
    least one of the unit's x sender-units is among the c in the heaviest bin | S = x + xr), hypergeometric.
    No reference (xr = 0): 1."""
    ok = (xr > 0) & (x >= 1)
    p_crowd = _crowd(x, yr, crowd_share(wt, wr, flat), ok)
    if tn is not None and ty is not None and tw is not None:
        same = ok & (tn >= SAME_TIME_MIN) & (tw > 0)
        p_crowd = np.where(same, np.maximum(p_crowd, _crowd(x, ty, _share(wt, tw), same)), p_crowd)
    s = x + xr
    # 1 - C(S - c, x) / C(S, x), the ratio in log-gamma (scipy's hypergeom loops per element)
    rest = s - np.clip(c, 1.0, np.maximum(s, 1.0))
    some = ok & (rest >= x)
    rest, s1, x1 = np.where(some, rest, 1.0), np.where(some, s, 1.0), np.where(some, x, 0.0)
    log_none = gammaln(rest + 1) - gammaln(rest - x1 + 1) - gammaln(s1 + 1) + gammaln(s1 - x1 + 1)
    p_flood = np.where(some, -np.expm1(np.minimum(log_none, 0.0)), 1.0)
    p = np.minimum(1.0, 2.0 * np.minimum(p_crowd, p_flood))
    return p, p_crowd, p_flood


def crowd_share(wt: np.ndarray, wr: np.ndarray, flat: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """q', the tested hour's share of the remaining exposure: wt / (wt + wr), or with `flat` = (wtf, wrf) the
    larger of that and wtf / (wtf + wrf) (the crowd part's binomial parameter, as `p_values` uses it)."""
    return _share(wt, wr) if flat is None else np.maximum(_share(wt, wr), _share(*flat))


def _share(part: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """part / (part + rest), 1 where both are 0 (no reference: never a test)."""
    total = part + rest
    return np.where(total > 0, part / np.where(total > 0, total, 1.0), 1.0)


def _crowd(x: np.ndarray, yr: np.ndarray, q: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """P(Y >= x - 1 | S' = x - 1 + yr), Y ~ Bin(S', q); 1 where not `ok` or x - 1 = 0."""
    y = x - 1
    s2 = np.maximum(y + yr, 0.0)
    q = np.where(ok, q, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_crowd = binom.logsf(y - 1, s2, q)
    return np.where(ok & (y >= 1), np.exp(np.minimum(np.nan_to_num(log_crowd, nan=0.0), 0.0)), 1.0)


def crowd_p_value(y: int, yr: int, wt: float, wr: float, same: tuple[int, int, float] | None = None,
                  flat: tuple[float, float] | None = None) -> float:
    """The crowd part of one unit (as `p_values` computes it): P(Y >= y | S' = y + yr), Y ~ Binomial(S', q');
    y: the senders after the unit's first, yr: the same over the reference, wt / wr: their remaining exposures
    (q' = wt / (wt + wr), or the larger of that and wtf / (wtf + wrf) for `flat` = (wtf, wrf)). `same`: (tn, ty,
    tw) of the reference's hours at the unit's time of day; with at least SAME_TIME_MIN of them, the larger of
    the two tests."""
    one = np.ones(1)
    tn, ty, tw = (one * v for v in same) if same is not None else (None, None, None)
    return float(p_values(one * (y + 1), one * (yr + 1), one, one * yr, one * wt, one * wr, tn, ty, tw,
                          flat=None if flat is None else (one * flat[0], one * flat[1]))[1][0])


def _attach(s: Signal, r: dict[str, Any], p_star: float) -> None:
    """Evidence and times of one kept hour. A crowd: ts = the arrival of the k-th sender, k the smallest
    count at which the hour's crowd test passes at p_star / 2 (given that hour's platform volume); a flood:
    ts = the moment the heaviest sender reached the threshold of its bin (MARK_BASE^kmax messages in the hour)."""
    arrivals = sorted(zip(r["arrival_ts"], (str(a) for a in r["arrival_actor"]), strict=True))
    ids = sorted(str(i) for i in r["ids"])
    d = s.detail
    yr, wt, wr = int(d["further_senders_before"]), float(d["exposure"]), float(d["exposure_before"])
    if d["by"] == "flood":
        k, ts = len(arrivals), r["heavy_ts"]
    else:
        same = (int(d["same_time_hours"]), int(d["same_time_senders_after_first"]), float(d["same_time_exposure"]))
        flat = (float(d["remaining_ms"]), float(d["remaining_ms_before"]))
        k = next((k for k in range(1, len(arrivals) + 1)
                  if 2 * crowd_p_value(k - 1, yr, wt, wr, same, flat) <= p_star), len(arrivals))
        ts = arrivals[k - 1][0]
    s.start, s.end, s.ts = r["start_ts"], r["end_ts"], ts
    s.evidence = ids[:EVIDENCE_CAP]
    d.update({"first_senders": [a for _, a in arrivals[:SENDERS_KEPT]], "significant_at_sender": k,
              "delay_minutes": round((s.ts - s.start).total_seconds() / 60, 2),
              "evidence_truncated": len(ids) > EVIDENCE_CAP})


def _merge(episode: list[Signal]) -> Signal:
    """Consecutive significant hours of one account as one signal (the first hour's detail, the episode's
    totals)."""
    def detail(best: Signal, ids: list[str]) -> dict[str, Any]:
        return {**episode[0].detail, "episode_hours": len(episode),
                "episode_senders": sum(int(s.detail["senders"]) for s in episode),
                "episode_events": sum(int(s.detail["events"]) for s in episode),
                "episode_end": episode[-1].detail["hour_start"], "p_best_hour": best.p_value,
                "evidence_truncated": len(ids) > EVIDENCE_CAP or any(s.detail["evidence_truncated"]
                                                                     for s in episode)}

    return merge_episode(episode, EVIDENCE_CAP, detail)
