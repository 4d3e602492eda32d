"""Planted bursts in real message data, for measuring the burst detectors' power (bench/quality.py, tests).

The burst test asks whether a run of contact days is unusual for the pair's own rhythm, so a planted burst
needs a rhythm to stand out from: for each of `pairs` senders with enough active days, a new contact
`planted-<sender>` is messaged on every `every`-th of the sender's active days for `history` contacts, then
on each of the sender's next 7 active days. Only days on which the sender was active anyway are used, so
its activity is left as it was and the change is in the planted pair alone. Set-based DuckDB SQL over
(src, dst, time) text, seeded for reproducibility.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tiewatch.nulls import load_messages


@contextmanager
def _planting(path: Path, source: Path, seed: int, planted: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection holding `source` as `msgs`, seeded from `seed`; the body creates table `planted` (a, b, t),
    and on leaving, `source` plus those rows are written to `path` in time order, in the source's layout."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        load_messages(con, source)
        con.execute("SELECT setseed(?)", [((seed * 7919) % 10_000) / 10_000.0])
        yield con
        con.execute(f"COPY (SELECT a AS src, b AS dst, t AS time FROM (SELECT a, b, t FROM msgs UNION ALL "
                    f"SELECT a, b, t FROM {planted}) ORDER BY t, a, b) TO '{path}' (DELIMITER ' ', HEADER true)")
    finally:
        con.close()


def plant_bursts(path: Path, source: Path, *, pairs: int, seed: int, history: int = 12, every: int = 3,
                 days: int = 7) -> list[tuple[str, str, int]]:
    """Write `source` plus planted pairs to `path`; return (a, b, epoch seconds of the burst's first
    message) for each planted pair."""
    need = history * every + days
    with _planting(path, source, seed, "planted") as con:
        con.execute(f"""
            CREATE TABLE planted AS
            WITH ad AS (SELECT a, day, row_number() OVER (PARTITION BY a ORDER BY day) AS r,
                               count(*) OVER (PARTITION BY a) AS n
                        FROM (SELECT DISTINCT a, t // 86400 AS day FROM msgs)),
            chosen AS (SELECT a, max(n) AS n, random() AS u FROM ad GROUP BY a HAVING max(n) >= {need}
                       ORDER BY u LIMIT {int(pairs)}),
            start AS (SELECT a, 1 + CAST(floor(u * (n - {need} + 1)) AS BIGINT) AS r1 FROM chosen)
            SELECT ad.a, 'planted-' || ad.a AS b, ad.day * 86400 + 43200 + ad.r AS t,
                   ad.r >= s.r1 + {history * every} AS in_burst
            FROM start s JOIN ad ON ad.a = s.a
            WHERE (ad.r >= s.r1 AND ad.r < s.r1 + {history * every} AND (ad.r - s.r1) % {every} = 0)
               OR (ad.r >= s.r1 + {history * every} AND ad.r < s.r1 + {need})""")
        rows = con.execute("SELECT a, b, min(t) FROM planted WHERE in_burst GROUP BY a, b ORDER BY a, b").fetchall()
    return [(str(a), str(b), int(t)) for a, b, t in rows]


def plant_crowds(path: Path, source: Path, *, accounts: int, seed: int, size: int = 8,
                 spacing: int = 120) -> list[tuple[str, int]]:
    """Write `source` plus planted crowds to `path`; return (receiver, epoch seconds of the crowd's first
    message) for each. A crowd: `size` new accounts (`crowd-<receiver>-<i>`) each message one receiver once,
    `spacing` seconds apart, one day after one of the receiver's own arrivals (so at a time of day it gets
    messages), chosen at random among its arrivals at least 7 days after its first; receivers with at least
    20 arrivals are chosen at random."""
    with _planting(path, source, seed, "crowd") as con:
        con.execute(f"""
            CREATE TABLE crowd AS
            WITH rx AS (SELECT b, t, min(t) OVER (PARTITION BY b) AS t0, count(*) OVER (PARTITION BY b) AS n,
                               max(t) OVER () AS t_end FROM msgs WHERE a <> b),
            ok AS (SELECT b, t, random() AS u FROM rx WHERE n >= 20 AND t >= t0 + 7 * 86400
                   AND t + 86400 + {size * spacing} < t_end),
            pick AS (SELECT b, min_by(t, u) AS t FROM ok GROUP BY b),
            chosen AS (SELECT b, t + 86400 AS t1 FROM pick ORDER BY random() LIMIT {int(accounts)})
            SELECT 'crowd-' || c.b || '-' || CAST(i AS VARCHAR) AS a, c.b, c.t1 + i * {spacing} AS t, c.t1
            FROM chosen c, range({int(size)}) r(i)""")
        rows = con.execute("SELECT b, min(t) FROM crowd GROUP BY b ORDER BY b").fetchall()
    return [(str(b), int(t)) for b, t in rows]
