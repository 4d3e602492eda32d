"""Null versions of real message data, for checking that silence p-values are honest.

Both keep every pair's amount of contact and every sender's activity, and destroy any real change inside a
pair, so every silence found in them is false:

* **gaps permuted**: each pair's gaps between consecutive messages, together with the trailing gap from its
  last message to the sender's last message of all, are shuffled; the pair's first message stays put.
* **active days permuted**: each pair's days of contact are moved to a random subset of the sender's active
  days (same number of days; each message keeps its time of day).
* **arrival days permuted** (`arrivals`, for surges toward an account; not in NULLS): each pair's days of
  contact are moved to a random subset of the days on which the receiver got anything from anyone, so
  crowds that reached one account on one day are scattered over its ordinary days.

Set-based DuckDB SQL over a table of (src, dst, time in epoch seconds), seeded for reproducibility.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

NULLS = ("gaps", "days")


def load_messages(con: duckdb.DuckDBPyConnection, path: Path, name: str = "msgs") -> None:
    """CollegeMsg-style text (header `src dst time`, space separated) into table `name`(a, b, t)."""
    con.execute(f"""CREATE OR REPLACE TABLE {name} AS SELECT CAST(src AS VARCHAR) AS a, CAST(dst AS VARCHAR) AS b,
                    CAST(time AS BIGINT) AS t FROM read_csv(?, delim=' ', header=true)""", [str(path)])


def null_sql(kind: str, source: str = "msgs") -> str:
    """SQL for one null draw of `source`(a, b, t); call setseed first for reproducibility."""
    if kind == "gaps":
        return f"""
        WITH x AS (SELECT a, b, t, row_number() OVER (PARTITION BY a, b ORDER BY t) AS i FROM {source}),
        ta AS (SELECT a, max(t) AS ta FROM {source} GROUP BY a),
        g AS (SELECT x.a, x.b, min(x.t) OVER (PARTITION BY x.a, x.b) AS t1,
                     coalesce(lead(x.t) OVER (PARTITION BY x.a, x.b ORDER BY x.i), ta.ta) - x.t AS d
              FROM x JOIN ta ON ta.a = x.a),
        gr AS (SELECT *, random() AS u FROM g),
        perm AS (SELECT a, b, t1, d, row_number() OVER (PARTITION BY a, b ORDER BY u) AS j FROM gr)
        SELECT a, b, t1 + coalesce(sum(d) OVER (PARTITION BY a, b ORDER BY j
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS t FROM perm"""
    if kind == "days":  # each pair's contact days moved to days the sender was active
        return _moved_days(source, "a")
    if kind == "arrivals":  # ... to days the receiver got anything
        return _moved_days(source, "b")
    raise ValueError(f"unknown null {kind!r}: one of {', '.join(NULLS)}, arrivals")


def write_null(path: Path, source: Path, kind: str, seed: int) -> Path:
    """Write one null draw of a CollegeMsg-style file to `path` (same format)."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")  # random() in a window is reproducible only single-threaded
        load_messages(con, source)
        con.execute("SELECT setseed(?)", [((seed * 7919) % 10_000) / 10_000.0])
        con.execute(f"COPY (SELECT a AS src, b AS dst, t AS time FROM ({null_sql(kind)}) ORDER BY t, a, b) "
                    f"TO '{path}' (DELIMITER ' ', HEADER true)")
    finally:
        con.close()
    return path


def _moved_days(source: str, side: str) -> str:
    """Each pair's k contact days replaced by k days drawn without replacement from `side`'s days (a: the
    sender's active days, b: the receiver's arrival days), kept in order, each message keeping its time of day."""
    return f"""
        WITH dm AS (SELECT a, b, t, t // 86400 AS day FROM {source}),
        sdays AS (SELECT DISTINCT {side}, day FROM dm),
        pdays AS (SELECT a, b, day, row_number() OVER (PARTITION BY a, b ORDER BY day) AS r
                  FROM (SELECT DISTINCT a, b, day FROM dm)),
        pk AS (SELECT a, b, count(*) AS k FROM pdays GROUP BY a, b),
        cu AS (SELECT pk.a, pk.b, pk.k, sd.day, random() AS u FROM pk JOIN sdays sd ON sd.{side} = pk.{side}),
        cand AS (SELECT *, row_number() OVER (PARTITION BY a, b ORDER BY u) AS rr FROM cu),
        chosen AS (SELECT a, b, day, row_number() OVER (PARTITION BY a, b ORDER BY day) AS r FROM cand
                   WHERE rr <= k)
        SELECT dm.a, dm.b, dm.t - dm.day * 86400 + c.day * 86400 AS t
        FROM dm JOIN pdays p ON p.a = dm.a AND p.b = dm.b AND p.day = dm.day
        JOIN chosen c ON c.a = p.a AND c.b = p.b AND c.r = p.r"""
