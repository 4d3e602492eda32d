"""Tie strength: decayed, weighted engagement per direction, the one definition every view shares.

strength(A→B, t) = Σ over A's engagements with B before t of weight(kind) · 2^(−age/half-life), with
half-life 90 days: roughly "how many likes' worth of attention A has paid B lately". A tie combines both
directions: tie = out + in, and reciprocity = min/max of the two (1 = balanced, 0 = one-sided).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tiewatch.detect.dialect import DUCKDB, Dialect
from tiewatch.store import Store

HALF_LIFE_DAYS = 90.0
KIND_WEIGHTS = {"like": 1.0, "repost": 2.0, "mention": 2.0, "comment": 3.0, "reply": 3.0, "message": 1.0}


def weight_case(kind_col: str = "kind") -> str:
    return "CASE " + " ".join(f"WHEN {kind_col} = '{k}' THEN {w}" for k, w in KIND_WEIGHTS.items()) + " ELSE 0 END"


def contribution_sql(at: str, ts: str = "ts", kind: str = "kind", dialect: Dialect = DUCKDB,
                     half_life: float = HALF_LIFE_DAYS) -> str:
    """The one definition of tie strength: what one engagement at `ts` contributes at time `at`.
    Summed over a pair's engagements before `at`, it is the pair's strength; timelines, `ties` and the
    follow ranking all build on this expression (coincidence candidates use the undecayed weights over two
    years instead: a tie that *was* strong counts there)."""
    return f"(({weight_case(kind)}) * power(2.0, -({dialect.days_between(at, ts)}) / {half_life}))"


def directed_strength_sql(at: str, dialect: Dialect = DUCKDB, events: str = "events",
                          half_life: float = HALF_LIFE_DAYS) -> str:
    """SELECT platform, actor, target, strength, engagements, last_ts: every directed pair's strength at `at`."""
    kinds = ", ".join(f"'{k}'" for k in KIND_WEIGHTS)
    return f"""
        SELECT platform, actor, target, sum({contribution_sql(at, dialect=dialect, half_life=half_life)}) AS strength,
               count(*) AS engagements, max(ts) AS last_ts
        FROM {events}
        WHERE kind IN ({kinds}) AND target IS NOT NULL AND actor <> target AND ts IS NOT NULL AND ts <= {at}
        GROUP BY platform, actor, target"""


def ties_of(store: Store, platform: str, account: str, at: datetime | None = None,
            limit: int = 20) -> list[dict[str, Any]]:
    """An account's strongest ties at `at` (default: the latest event), both directions."""
    at_sql = "TIMESTAMP '" + at.isoformat(sep=" ") + "'" if at else "(SELECT max(ts) FROM events)"
    rows = store.con.execute(f"""
        WITH d AS ({directed_strength_sql(at_sql)}),
        out_ AS (SELECT target AS other, strength, engagements, last_ts FROM d WHERE platform = ? AND actor = ?),
        in_ AS (SELECT actor AS other, strength, engagements, last_ts FROM d WHERE platform = ? AND target = ?)
        SELECT coalesce(o.other, i.other) AS other, a.name, coalesce(o.strength, 0) AS out_strength,
               coalesce(i.strength, 0) AS in_strength, coalesce(o.engagements, 0) AS out_n,
               coalesce(i.engagements, 0) AS in_n, greatest(o.last_ts, i.last_ts) AS last_ts
        FROM out_ o FULL OUTER JOIN in_ i ON o.other = i.other
        LEFT JOIN accounts a ON a.platform = ? AND a.account = coalesce(o.other, i.other)
        ORDER BY out_strength + in_strength DESC, other LIMIT ?""",
        [platform, account, platform, account, platform, limit]).fetchall()
    out = []
    for other, name, o, i, on, inn, last in rows:
        tie = o + i
        out.append({"account": other, "name": name, "tie": round(tie, 3), "out": round(o, 3), "in": round(i, 3),
                    "reciprocity": round(min(o, i) / max(o, i), 3) if max(o, i) > 0 else 0.0,
                    "out_engagements": on, "in_engagements": inn, "last": last})
    return out
