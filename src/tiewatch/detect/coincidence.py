"""Coincidence: an account posted soon after news about someone it is (or was) tied to.

Candidates for a news item are the accounts, not among its subjects, that (a) were among a subject's ten
strongest mutual ties in the two years before the news, or (b) appeared with a subject in earlier news
(exes, co-stars). For each candidate and each kind of content it publishes (posts, stories) with at least
three items in the year before, the test is: X's first item of that kind within 72 hours after the news
came Δ after it; under a Poisson model of X's own rate λ of such items, P(an item that soon) = 1 − e^(−λΔ).
A candidate that published nothing of that kind in the window is a test with p = 1.

The family's false-discovery weights carry prior information fixed before any p-value is seen: the tie
(1 + ln(1 + tie)) and, ten times over, an earlier news item shared with a subject (exes, former co-stars:
the people a cryptic post is usually read against). The score used for ranking also favours ephemeral
(story) and cryptic (short or no caption) content.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.sqltime import days_between, minus_days, plus_hours
from tiewatch.detect.ties import KIND_WEIGHTS, weight_case
from tiewatch.engines.shared import shared_ctes

FAMILY = "coincidence"
WINDOW_HOURS = 72.0
LOOKBACK_DAYS = 365.0
TIE_LOOKBACK_DAYS = 730.0
TOP_TIES = 10
MIN_ITEMS = 3
CRYPTIC_CHARS = 20
SHARED_NEWS_WEIGHT = 10.0  # prior: people who made news together (exes, co-stars) are the prime suspects
# Intermediates read more than once, computed once on every engine (engines.shared: Spark would otherwise
# rebuild `tie` four times and `cand` three, each from scans of the events); small: bounded by the news
# items times their subjects' ties, not by the events.
SHARED = ("tie", "cand", "history")


class CoincidenceDetector(Detector):
    kinds = ("coincidence",)
    families = ("coincidence",)
    name = "coincidence"

    def queries(self, ctx: Context) -> dict[str, str]:
        return {"candidates": self._sql(ctx)}

    def _sql(self, ctx: Context) -> str:
        kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
        return f"""
        WITH ev AS {ctx.events_bound()},
        nw AS (SELECT id, ts, title, url, subjects FROM news WHERE {ctx.window.bound()}),
        ns AS (SELECT n.id AS news_id, n.ts AS news_ts, unnest(n.subjects) AS subject FROM nw n),
        edges AS (
            SELECT platform, actor AS x, target AS s, ts, kind, 0 AS inbound FROM ev
            WHERE kind IN ({kinds}) AND target IS NOT NULL AND actor <> target
            UNION ALL
            SELECT platform, target AS x, actor AS s, ts, kind, 1 AS inbound FROM ev
            WHERE kind IN ({kinds}) AND target IS NOT NULL AND actor <> target),
        earlier AS (
            SELECT ns.news_id, ns.subject, unnest(n2.subjects) AS x
            FROM ns JOIN nw n2 ON n2.ts < ns.news_ts AND list_contains(n2.subjects, ns.subject)),
        wanted AS (  -- the only pairs whose tie is ever read: mutual ones (top ties) and shared-news ones
            SELECT platform, x, s FROM edges GROUP BY platform, x, s HAVING min(inbound) = 0 AND max(inbound) = 1
            UNION
            SELECT a.platform, er.x, er.subject FROM earlier er JOIN accounts a ON a.account = er.x),
        tie_edges AS (  -- so a star's millions of one-way fans never meet its news items
            SELECT e.* FROM edges e JOIN wanted w ON w.platform = e.platform AND w.x = e.x AND w.s = e.s),
        tie AS (
            SELECT ns.news_id, e.platform, e.x, ns.subject, sum({weight_case('e.kind')}) AS tie_was,
                   sum(CASE WHEN e.inbound = 0 THEN 1 ELSE 0 END) AS out_n,
                   sum(CASE WHEN e.inbound = 1 THEN 1 ELSE 0 END) AS in_n
            FROM ns JOIN tie_edges e ON e.s = ns.subject AND e.ts < ns.news_ts
                 AND e.ts >= {minus_days('ns.news_ts', TIE_LOOKBACK_DAYS)}
            GROUP BY ns.news_id, e.platform, e.x, ns.subject),
        top_ties AS (
            SELECT news_id, platform, x, subject, tie_was, 0 AS shared FROM (
                SELECT *, row_number() OVER (PARTITION BY news_id, subject ORDER BY tie_was DESC, x) AS r
                FROM tie WHERE out_n > 0 AND in_n > 0) WHERE r <= {TOP_TIES}),
        shared AS (
            SELECT DISTINCT er.news_id, a.platform, er.x, er.subject, coalesce(t.tie_was, 0) AS tie_was, 1 AS shared
            FROM earlier er JOIN accounts a ON a.account = er.x
            LEFT JOIN tie t ON t.news_id = er.news_id AND t.x = er.x AND t.subject = er.subject
                 AND t.platform = a.platform
            WHERE er.x <> er.subject),
        cand0 AS (SELECT * FROM top_ties UNION ALL SELECT * FROM shared),
        cand AS (
            SELECT c.news_id, c.platform, c.x, max(c.tie_was) AS tie_was, max(c.shared) AS shared,
                   min_by(c.subject, -(c.tie_was + 1000000 * c.shared)) AS via
            FROM cand0 c JOIN nw n ON n.id = c.news_id
            WHERE NOT list_contains(n.subjects, c.x)
            GROUP BY c.news_id, c.platform, c.x),
        first_seen AS (SELECT platform, actor, min(ts) AS first_ts FROM ev GROUP BY platform, actor),
        content AS (SELECT platform, actor, kind, ts, id, text FROM ev WHERE kind IN ('post', 'story')),
        history AS (
            SELECT c.news_id, c.platform, c.x, ct.kind, count(*) AS items
            FROM cand c JOIN nw n ON n.id = c.news_id
            JOIN content ct ON ct.platform = c.platform AND ct.actor = c.x AND ct.ts < n.ts
                 AND ct.ts >= {minus_days('n.ts', LOOKBACK_DAYS)}
            GROUP BY c.news_id, c.platform, c.x, ct.kind HAVING count(*) >= {MIN_ITEMS}),
        after_ AS (
            SELECT h.news_id, h.platform, h.x, h.kind, min(ct.ts) AS post_ts,
                   min_by(ct.id, ct.ts) AS post_id, min_by(ct.text, ct.ts) AS post_text
            FROM history h JOIN nw n ON n.id = h.news_id
            JOIN content ct ON ct.platform = h.platform AND ct.actor = h.x AND ct.kind = h.kind AND ct.ts > n.ts
                 AND ct.ts <= {plus_hours('n.ts', WINDOW_HOURS)}
            GROUP BY h.news_id, h.platform, h.x, h.kind)
        SELECT h.news_id, n.ts AS news_ts, n.title, n.url, h.platform, h.x, h.kind, h.items,
               {days_between('n.ts', f"greatest(fs.first_ts, {minus_days('n.ts', LOOKBACK_DAYS)})")} AS span_days,
               c.tie_was, c.shared, c.via, a.post_ts, a.post_id, a.post_text,
               {days_between('a.post_ts', 'n.ts')} AS delta_days
        FROM history h JOIN cand c ON c.news_id = h.news_id AND c.platform = h.platform AND c.x = h.x
        JOIN nw n ON n.id = h.news_id
        JOIN first_seen fs ON fs.platform = h.platform AND fs.actor = h.x
        LEFT JOIN after_ a ON a.news_id = h.news_id AND a.platform = h.platform AND a.x = h.x AND a.kind = h.kind
        ORDER BY h.news_id, h.x, h.kind"""

    def run(self, ctx: Context) -> DetectorOutput:
        if not ctx.engine.scalar(f"SELECT count(*) FROM news WHERE {ctx.window.bound()}", ctx.window.params):
            return DetectorOutput([], {FAMILY: 0})
        with shared_ctes(ctx.engine, self._sql(ctx), ctx.window.params, SHARED) as sql:
            tbl = ctx.engine.arrow(sql, ctx.window.params)
        rows = tbl.to_pylist()
        if not rows:
            return DetectorOutput([], {FAMILY: 0})
        raw_w = np.array([(1.0 + math.log1p(r["tie_was"] or 0.0)) * (SHARED_NEWS_WEIGHT if r["shared"] else 1.0)
                          for r in rows])
        weights = raw_w / raw_w.mean()  # mean 1 over every test in the family
        out = []
        for r, w, rw in zip(rows, weights, raw_w, strict=True):
            if r["post_ts"] is None:
                continue  # a test with p = 1: counted, never a signal
            rate = r["items"] / max(r["span_days"], 1.0)  # items per day
            p = float(-math.expm1(-rate * max(r["delta_days"], 0.0)))
            if p > ctx.keep_p:
                continue
            story = r["kind"] == "story"
            cryptic = r["post_text"] is None or len(r["post_text"].strip()) <= CRYPTIC_CHARS
            score = -math.log10(max(p, 1e-300)) * rw * (1.5 if story else 1.0) * (1.25 if cryptic else 1.0)
            out.append(self._signal(r, p, float(w), score, rate, story, cryptic))
        return DetectorOutput(out, {FAMILY: len(rows)})

    def _signal(self, r: dict[str, Any], p: float, weight: float, score: float, rate: float, story: bool,
                cryptic: bool) -> Signal:
        platform = str(r["platform"])
        x, via = str(r["x"]), str(r["via"])
        delta_h = float(r["delta_days"]) * 24
        detail = {"news_id": r["news_id"], "news_title": r["title"], "news_url": r["url"],
                  "hours_after": round(delta_h, 2), "content_kind": r["kind"], "caption": r["post_text"],
                  "cryptic": cryptic, "items_last_year": r["items"], "span_days": float(r["span_days"]),
                  "rate_per_day": round(rate, 4), "tie_was": round(float(r["tie_was"] or 0.0), 2),
                  "shared_news": bool(r["shared"]), "via": via, "fdr_weight": round(weight, 3)}
        return Signal(kind="coincidence", ts=r["post_ts"], start=r["news_ts"], end=r["post_ts"],
                      subjects=[x, via], score=score, p_value=p, evidence=[str(r["post_id"]), str(r["news_id"])],
                      detail=detail, platform=platform, family=FAMILY, weight=weight)
