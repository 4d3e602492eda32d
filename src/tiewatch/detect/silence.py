"""Silence and resumption: A stopped engaging with B far longer than A's own rhythm allows, then came back.

Two models, chosen per pair:

* **Posts model** (B's posts are in the data). Each of B's posts is a trial that A engages with (likes,
  comments, replies, reposts) with an unknown probability p. Prior: Beta(α0, β0), fitted to all pairs by
  the method of moments (empirical Bayes), so a pair seen twice is pulled toward the population and rare
  engagers stay rare. After A's i-th engaged post, with e engaged of n posts seen since A first engaged, the
  posterior is Beta(α0+e, β0+n−e) and the probability of k or more misses in a row is the beta-binomial
  predictive P(K ≥ k) = B(a, b+k) / B(a, b). Each gap between consecutive engagements (and the open gap at
  the end of the data) is one test. Misses are counted with window functions over post ranks: the number of
  B's posts published between two engagements is the difference of B's post counts at those two times.
* **Renewal model** (B's posts are not in the data: messages, mentions). Gaps between A's consecutive
  interactions with B are log-normal with unknown mean and variance; the predictive distribution of the
  next log-gap given the n earlier ones is Student-t with n−1 degrees of freedom. Needs 5 earlier gaps.

start = A's last engagement before the silence; ts = when the run of misses became significant at the run's
false-discovery threshold; end = the resumption, or null while the silence lasts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import special, stats

from tiewatch.detect.base import Context, DetectorOutput, Signal
from tiewatch.detect.naming import Names, day

POST_ENGAGEMENTS = ("like", "comment", "reply", "repost")
RENEWAL_KINDS = ("like", "comment", "reply", "repost", "mention", "message")
REACTION_DAYS = 3.0  # posts younger than this at the end of the data are not counted as missed yet
MIN_RENEWAL_GAPS = 5
FAMILY = "silence"
PAST_TENSE = {"like": "liked", "comment": "commented on", "reply": "replied to", "repost": "reposted",
              "mention": "mentioned", "message": "messaged"}


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class SilenceDetector:
    name = "silence"

    def run(self, ctx: Context) -> DetectorOutput:
        con = ctx.store.con
        end = ctx.store.scalar(f"SELECT max(ts) FROM {ctx.events_sql()}")
        if end is None:
            return DetectorOutput([], {FAMILY: 0})
        self.end: datetime = end
        con.execute(f"CREATE OR REPLACE TEMP TABLE tw_gaps AS {self._posts_gaps_sql(ctx, end)}")
        a0, b0 = self._prior(ctx)
        self.prior = (a0, b0)
        n_posts_tests = int(ctx.store.scalar("SELECT count(*) FROM tw_gaps"))
        signals = self._posts_candidates(ctx, a0, b0)
        renewal_tests, renewal = self._renewal(ctx, end)
        return DetectorOutput(signals + renewal, {FAMILY: n_posts_tests + renewal_tests})

    # -- posts model --------------------------------------------------------------------------------
    def _posts_gaps_sql(self, ctx: Context, end: datetime) -> str:
        d = ctx.dialect
        end_sql = f"TIMESTAMP '{end.isoformat(sep=' ')}'"
        return f"""
        WITH ev AS {ctx.events_sql()},
        posts AS (
            SELECT platform, actor AS author, post AS post_id, min(ts) AS ts FROM ev
            WHERE kind = 'post' AND post IS NOT NULL GROUP BY platform, actor, post),
        eng AS (
            SELECT platform, actor AS a, target AS b, post, min(ts) AS ts, {d.arg_min('id', 'ts')} AS id,
                   {d.arg_min('kind', 'ts')} AS kind
            FROM ev WHERE kind IN ({_in(POST_ENGAGEMENTS)}) AND target IS NOT NULL AND post IS NOT NULL
                 AND actor <> target
            GROUP BY platform, actor, target, post),
        authors AS (SELECT DISTINCT platform, author FROM posts),
        marks AS (
            SELECT e.platform, e.b AS author, e.ts, 0 AS is_post, e.a, e.post, e.id, e.kind
            FROM eng e JOIN authors au ON au.platform = e.platform AND au.author = e.b
            UNION ALL
            SELECT platform, author, ts, 1 AS is_post, NULL AS a, post_id, NULL AS id, NULL AS kind FROM posts),
        ranked AS (
            SELECT *, CAST(sum(is_post) OVER (PARTITION BY platform, author ORDER BY ts, is_post DESC, post
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS rank_at
            FROM marks),
        prank AS (SELECT platform, author, post, rank_at AS prank FROM ranked WHERE is_post = 1),
        er AS (
            SELECT r.platform, r.a, r.author AS b, r.ts, r.id, r.kind, r.post, r.rank_at, p.prank
            FROM ranked r LEFT JOIN prank p ON p.platform = r.platform AND p.author = r.author AND p.post = r.post
            WHERE r.is_post = 0),
        seq AS (
            SELECT *, row_number() OVER w AS e,
                   first_value(coalesce(prank, rank_at)) OVER w AS first_exposed,
                   lead(ts) OVER w AS next_ts, lead(id) OVER w AS next_id, lead(kind) OVER w AS next_kind,
                   lead(rank_at) OVER w AS next_rank, lead(prank) OVER w AS next_prank
            FROM er WINDOW w AS (PARTITION BY platform, a, b ORDER BY ts, id)),
        seen_by_end AS (
            SELECT platform, author, count(*) AS open_rank FROM posts
            WHERE ts <= {d.minus_days(end_sql, REACTION_DAYS)} GROUP BY platform, author)
        SELECT s.platform, s.a, s.b, s.ts AS start_ts, s.id AS start_id, s.kind AS start_kind, s.e,
               greatest(s.rank_at - s.first_exposed + 1, s.e) AS n, s.rank_at,
               CASE WHEN s.next_ts IS NULL THEN greatest(coalesce(se.open_rank, 0) - s.rank_at, 0)
                    ELSE greatest(s.next_rank - s.rank_at
                                  - CASE WHEN s.next_prank > s.rank_at THEN 1 ELSE 0 END, 0) END AS k,
               s.next_ts, s.next_id, s.next_kind
        FROM seq s LEFT JOIN seen_by_end se ON se.platform = s.platform AND se.author = s.b"""

    def _prior(self, ctx: Context) -> tuple[float, float]:
        """Beta(α0, β0) by the method of moments over pairs with at least 5 posts seen."""
        row = ctx.store.con.execute("""
            WITH pairs AS (SELECT platform, a, b, max(e) AS e, max(n) AS n FROM tw_gaps GROUP BY platform, a, b)
            SELECT avg(e * 1.0 / n), var_samp(e * 1.0 / n), avg(1.0 / n), count(*)
            FROM pairs WHERE n >= 5""").fetchall()[0]
        if not row or row[3] is None or row[3] < 10 or row[1] is None:
            return 0.5, 0.5  # Jeffreys prior when there are too few pairs to learn from
        mean, var, inv_n, _ = (float(x) for x in row)
        mean = min(max(mean, 1e-3), 1 - 1e-3)
        # Observed variance = between-pair variance + binomial noise (≈ mean(1-mean)·E[1/n]).
        between = max(var - mean * (1 - mean) * inv_n, 1e-6)
        strength = min(max(mean * (1 - mean) / between - 1, 0.5), 1000.0)
        return mean * strength, (1 - mean) * strength

    def _posts_candidates(self, ctx: Context, a0: float, b0: float) -> list[Signal]:
        tbl: pa.Table = ctx.store.arrow(f"""
            SELECT * FROM tw_gaps WHERE k >= 1
              AND power(1.0 - ({a0} + e) / ({a0 + b0} + n), k) <= {ctx.keep_p}""")
        if tbl.num_rows == 0:
            return []
        e = tbl["e"].to_numpy().astype(float)
        n = tbl["n"].to_numpy().astype(float)
        k = tbl["k"].to_numpy().astype(float)
        a, b = a0 + e, b0 + (n - e)
        logp = special.betaln(a, b + k) - special.betaln(a, b)
        p = np.exp(logp)
        names = Names(ctx.store)
        out = []
        for row, pv in zip(tbl.to_pylist(), p, strict=True):
            if pv > ctx.keep_p:
                continue
            out.append(self._posts_signal(row, float(pv), names, a0, b0))
        return out

    def _posts_signal(self, row: dict[str, Any], p: float, names: Names, a0: float, b0: float) -> Signal:
        a, b = row["a"], row["b"]
        open_ = row["next_ts"] is None
        start: datetime = row["start_ts"]
        days = ((row["next_ts"] or self.end) - start).total_seconds() / 86400
        rate = (a0 + row["e"]) / (a0 + b0 + row["n"])
        detail = {"model": "posts", "misses": int(row["k"]), "engaged_before": int(row["e"]),
                  "posts_before": int(row["n"]), "prior_rate": round(rate, 4), "days": round(days, 1),
                  "prior": [round(a0, 4), round(b0, 4)], "open": open_, "rank_at_start": int(row["rank_at"]),
                  "resumed_by": row["next_id"], "resumed_kind": row["next_kind"],
                  "resumed_ts": row["next_ts"].isoformat() + "Z" if row["next_ts"] else None}
        la, lb = names.label(row["platform"], a), names.label(row["platform"], b)
        verb = PAST_TENSE.get(row["start_kind"] or "like", "engaged with")
        if open_:
            summary = (f"{la} has not engaged with any of {lb}'s last {row['k']} posts since {day(start)} "
                       f"({days:.0f} days); before that {la} had {verb} {row['e']} of {lb}'s {row['n']} posts.")
        else:
            summary = (f"{la} passed over {row['k']} of {lb}'s posts in a row between {day(start)} and "
                       f"{day(row['next_ts'])} ({days:.0f} days); before that {la} had engaged with {row['e']} of "
                       f"{lb}'s {row['n']} posts.")
        return Signal(kind="silence", ts=None, start=start, end=row["next_ts"], subjects=[a, b],
                      score=float(-np.log10(max(p, 1e-300))), p_value=p, evidence=[row["start_id"]],
                      summary=summary, detail=detail, platform=row["platform"], family=FAMILY)

    # -- renewal model ------------------------------------------------------------------------------
    def _renewal(self, ctx: Context, end: datetime) -> tuple[int, list[Signal]]:
        d = ctx.dialect
        end_sql = f"TIMESTAMP '{end.isoformat(sep=' ')}'"
        gap = f"ln(greatest({d.days_between('ts', 'prev_ts')} * 86400.0, 0) + 60.0)"
        base = f"""
            WITH ev AS {ctx.events_sql()},
            with_posts AS (SELECT DISTINCT platform, actor FROM ev WHERE kind = 'post'),
            pe AS (
                SELECT e.platform, e.actor AS a, e.target AS b, e.ts, e.id, e.kind,
                       lag(e.ts) OVER (PARTITION BY e.platform, e.actor, e.target ORDER BY e.ts, e.id) AS prev_ts,
                       lag(e.id) OVER (PARTITION BY e.platform, e.actor, e.target ORDER BY e.ts, e.id) AS prev_id
                FROM ev e LEFT JOIN with_posts wp ON wp.platform = e.platform AND wp.actor = e.target
                WHERE e.kind IN ({_in(RENEWAL_KINDS)}) AND e.target IS NOT NULL AND e.actor <> e.target
                  AND wp.actor IS NULL),
            g AS (SELECT *, {gap} AS lg FROM pe WHERE prev_ts IS NOT NULL),
            st AS (
                SELECT *, count(lg) OVER w AS n, avg(lg) OVER w AS mu, stddev_samp(lg) OVER w AS sd
                FROM g WINDOW w AS (PARTITION BY platform, a, b ORDER BY ts, id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)),
            closed AS (
                SELECT platform, a, b, prev_ts AS start_ts, prev_id AS start_id, ts AS next_ts, id AS next_id,
                       kind AS next_kind, lg, n, mu, sd FROM st WHERE n >= {MIN_RENEWAL_GAPS} AND sd > 0),
            last_ AS (
                SELECT platform, a, b, max(ts) AS start_ts, {d.arg_min('id', '-' + d.epoch('ts'))} AS start_id,
                       count(lg) AS n, avg(lg) AS mu, stddev_samp(lg) AS sd
                FROM (SELECT *, CASE WHEN prev_ts IS NOT NULL THEN {gap} END AS lg FROM pe) x
                GROUP BY platform, a, b),
            open_ AS (
                SELECT platform, a, b, start_ts, start_id, NULL::TIMESTAMP AS next_ts, NULL AS next_id,
                       NULL AS next_kind,
                       ln(greatest({d.days_between(end_sql, 'start_ts')} * 86400.0, 0) + 60.0) AS lg, n, mu, sd
                FROM last_ WHERE n >= {MIN_RENEWAL_GAPS} AND sd > 0),
            tests AS (SELECT * FROM closed UNION ALL SELECT * FROM open_)
            SELECT *, (lg - mu) / (sd * sqrt(1.0 + 1.0 / n)) AS t FROM tests"""
        n_tests = int(ctx.store.scalar(f"SELECT count(*) FROM ({base})"))
        z = float(stats.norm.isf(ctx.keep_p))
        tbl = ctx.store.arrow(f"SELECT * FROM ({base}) WHERE t >= {z}")
        if tbl.num_rows == 0:
            return n_tests, []
        t = tbl["t"].to_numpy()
        df = tbl["n"].to_numpy().astype(float) - 1
        p = stats.t.sf(t, df)
        names = Names(ctx.store)
        out = []
        for row, pv in zip(tbl.to_pylist(), p, strict=True):
            if pv > ctx.keep_p:
                continue
            la, lb = names.label(row["platform"], row["a"]), names.label(row["platform"], row["b"])
            start = row["start_ts"]
            days = ((row["next_ts"] or end) - start).total_seconds() / 86400
            typical = float(np.exp(row["mu"]) / 86400)
            detail = {"model": "renewal", "gap_days": round(days, 2), "typical_gap_days": round(typical, 3),
                      "log_mu": float(row["mu"]), "log_scale": float(row["sd"] * np.sqrt(1 + 1 / row["n"])),
                      "earlier_gaps": int(row["n"]), "t": round(float(row["t"]), 3), "open": row["next_ts"] is None,
                      "resumed_by": row["next_id"], "resumed_kind": row["next_kind"],
                      "resumed_ts": row["next_ts"].isoformat() + "Z" if row["next_ts"] else None}
            when = f"until {day(row['next_ts'])}" if row["next_ts"] else "since"
            summary = (f"{la} did not interact with {lb} for {days:.0f} days ({when} {day(start)}"
                       if row["next_ts"] is None else
                       f"{la} did not interact with {lb} for {days:.0f} days (from {day(start)} {when}")
            summary += f"); the typical gap over {int(row['n'])} earlier ones was {_human_days(typical)}."
            out.append(Signal(kind="silence", ts=None, start=start, end=row["next_ts"],
                              subjects=[row["a"], row["b"]], score=float(-np.log10(max(pv, 1e-300))),
                              p_value=float(pv), evidence=[row["start_id"]], summary=summary, detail=detail,
                              platform=row["platform"], family=FAMILY))
        return n_tests, out

    # -- after false-discovery control --------------------------------------------------------------
    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """Date each kept silence (when it became significant) and add the resumption that ended it."""
        names = Names(ctx.store)
        extra: list[Signal] = []
        for s in kept:
            if s.kind != "silence":
                continue
            s.ts = self._became_significant(ctx, s, p_star)
            if s.end is not None and s.detail.get("resumed_by"):
                extra.append(self._resumption(s, names))
        return kept + extra

    def _became_significant(self, ctx: Context, s: Signal, p_star: float) -> datetime | None:
        if s.start is None:
            return None
        if s.detail["model"] == "renewal":
            # The gap crosses the threshold once ln(seconds + 60) exceeds mu + t*·scale.
            df = max(s.detail["earlier_gaps"] - 1, 1)
            t_star = float(stats.t.isf(max(p_star, s.p_value or 0.0), df))
            seconds = max(float(np.exp(s.detail["log_mu"] + t_star * s.detail["log_scale"])) - 60.0, 0.0)
            return s.start + timedelta(seconds=min(seconds, 1e10))
        a0, b0 = s.detail["prior"]
        e, n, k = s.detail["engaged_before"], s.detail["posts_before"], s.detail["misses"]
        a, b = a0 + e, b0 + (n - e)
        ks = np.arange(1, k + 1, dtype=float)
        pk = np.exp(special.betaln(a, b + ks) - special.betaln(a, b))
        hit = np.nonzero(pk <= max(p_star, s.p_value or 0.0))[0]
        k_star = int(ks[hit[0]]) if len(hit) else k
        row = ctx.store.con.execute("""
            SELECT ts FROM (SELECT ts, row_number() OVER (ORDER BY ts, post) AS r FROM
                (SELECT post, min(ts) AS ts FROM events WHERE kind = 'post' AND platform = ? AND actor = ?
                 GROUP BY post)) WHERE r = ?""",
            [s.platform, s.subjects[1], s.detail["rank_at_start"] + k_star]).fetchall()
        return row[0][0] if row else s.start

    def _resumption(self, s: Signal, names: Names) -> Signal:
        a, b = s.subjects
        la, lb = names.label(s.platform or "", a), names.label(s.platform or "", b)
        when: datetime = s.end  # type: ignore[assignment]
        days = (when - s.start).total_seconds() / 86400 if s.start else 0.0
        verb = PAST_TENSE.get(s.detail.get("resumed_kind") or "like", "engaged with")
        if s.detail["model"] == "posts":
            what = f"{lb}'s post" if verb != "mentioned" else lb
            summary = (f"{la} {verb} {what} on {day(when)}, the first in {days:.0f} days; before that {la} had "
                       f"engaged with {s.detail['engaged_before']} of {lb}'s {s.detail['posts_before']} posts.")
        else:
            summary = (f"{la} {verb} {lb} on {day(when)}, the first time in {days:.0f} days; the typical gap was "
                       f"{_human_days(s.detail['typical_gap_days'])}.")
        detail = {**s.detail, "silence_start": s.start.isoformat() + "Z" if s.start else None,
                  "silence_days": round(days, 1)}
        return Signal(kind="resumption", ts=when, start=s.start, end=when, subjects=[a, b], score=s.score,
                      p_value=s.p_value, evidence=[s.detail["resumed_by"], *s.evidence], summary=summary,
                      detail=detail, platform=s.platform, family=None, q_value=s.q_value, parent=s)


def _human_days(days: float) -> str:
    if days < 1 / 24:
        return f"{days * 1440:.0f} minutes"
    if days < 1:
        return f"{days * 24:.0f} hours"
    return f"{days:.0f} days" if days >= 2 else f"{days:.1f} days"

