"""Planted bursts in real message data, for measuring the burst detector's power (bench/quality.py, tests).

A planted burst: sender A messages B on each of A's next `days` active days, starting `after` active days
after A's first message to B. Only days on which A was active anyway are used, so A's own activity is left
as it was and the planted change is in the pair alone. Set-based DuckDB SQL over (src, dst, time) text,
seeded for reproducibility.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tiewatch.nulls import load_messages


def plant_bursts(path: Path, source: Path, *, pairs: int, seed: int, days: int = 7,
                 after: int = 40) -> list[tuple[str, str, int]]:
    """Write `source` plus planted bursts to `path`; return (a, b, epoch seconds of the first planted message)
    for each planted pair (pairs whose sender has at least after + days + 1 active days from the first
    contact on, drawn at random)."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        load_messages(con, source)
        con.execute("SELECT setseed(?)", [((seed * 7919) % 10_000) / 10_000.0])
        con.execute(f"""
            CREATE TABLE planted AS
            WITH ad AS (SELECT a, day, row_number() OVER (PARTITION BY a ORDER BY day) AS r
                        FROM (SELECT DISTINCT a, t // 86400 AS day FROM msgs)),
            first AS (SELECT m.a, m.b, min(m.t // 86400) AS day0 FROM msgs m WHERE m.a <> m.b GROUP BY m.a, m.b),
            fr AS (SELECT f.a, f.b, ad.r AS r0, (SELECT max(r) FROM ad a2 WHERE a2.a = f.a) AS rmax
                   FROM first f JOIN ad ON ad.a = f.a AND ad.day = f.day0),
            chosen AS (SELECT a, b, r0 FROM fr WHERE rmax >= r0 + {after} + {days}
                       ORDER BY random() LIMIT {int(pairs)})
            SELECT c.a, c.b, ad.day * 86400 + 43200 + (ad.r - c.r0) AS t
            FROM chosen c JOIN ad ON ad.a = c.a AND ad.r BETWEEN c.r0 + {after} AND c.r0 + {after} + {days} - 1""")
        con.execute(f"COPY (SELECT a AS src, b AS dst, t AS time FROM (SELECT * FROM msgs UNION ALL "
                    f"SELECT * FROM planted) ORDER BY t, a, b) TO '{path}' (DELIMITER ' ', HEADER true)")
        rows = con.execute("SELECT a, b, min(t) FROM planted GROUP BY a, b ORDER BY a, b").fetchall()
    finally:
        con.close()
    return [(str(a), str(b), int(t)) for a, b, t in rows]
