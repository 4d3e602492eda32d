"""Detection speed against the floor of sorting the same events, in one run.

    python bench/detect.py [--events 10000000] [--accounts 300000]

Generates N events (Zipf-popular targets, bursty times, 5% posts; likes name real posts and their
authors), ingests them, then times `tiewatch detect` and DuckDB sorting the same events by
(actor, target, ts) into a table, and prints both and the ratio (target: at most 4 at 10M) with the peak
resident memory of the detect run (target: under 4 GB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from common import peak_rss_mb


def write_events(n: int, accounts: int, path: Path) -> None:
    n_posts = max(n // 20, 1)
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE posts AS
        SELECT 'p' || i AS id, 'u' || CAST(floor(pow(((hash(i) % 1000003) + 1) / 1000003.0, 2.5) * {accounts})
                                           AS BIGINT) AS author,
               TIMESTAMP '2023-01-01' + to_microseconds(CAST(i * (3e13 / {n_posts}) AS BIGINT)) AS ts
        FROM range({n_posts}) t(i)""")
    con.execute(f"""
        COPY (
          SELECT id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, 'bsky' AS platform, author AS actor, 'post' AS kind,
                 NULL::VARCHAR AS target, id AS post FROM posts
          UNION ALL
          SELECT 'l' || i AS id,
                 strftime(p.ts + to_microseconds(CAST(pow((hash(i * 3) % 1000) / 1000.0, 4) * 8.64e10 AS BIGINT)),
                          '%Y-%m-%dT%H:%M:%SZ') AS ts,
                 'bsky', 'u' || (hash(i * 7) % {accounts}) AS actor, 'like', p.author, p.id
          FROM range({n - n_posts}) t(i)
          JOIN posts p ON p.id = 'p' || CAST(floor(pow(((hash(i * 13) % 1000003) + 1) / 1000003.0, 1.7) * {n_posts})
                                            AS BIGINT)
        ) TO '{path}' (FORMAT parquet)""")


def timed_floor(db: Path) -> float:
    """DuckDB sorting the stored events by (actor, target, ts) into a table, in a fresh connection."""
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = '3GB'")
    start = time.perf_counter()
    con.execute("CREATE OR REPLACE TEMP TABLE floor_sorted AS SELECT * FROM events ORDER BY actor, target, ts")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tiewatch-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.workdir / f"detect_{args.events}.parquet"
    if not data.exists():
        write_events(args.events, args.accounts, data)
    db = args.workdir / "detect.duckdb"
    db.unlink(missing_ok=True)
    ingest_s, _ = peak_rss_mb([sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(data), "--json"])
    detect_s, rss = peak_rss_mb([sys.executable, "-m", "tiewatch", "--db", str(db), "detect", "--json"])
    floor_s = timed_floor(db)
    con = duckdb.connect(str(db), read_only=True)
    n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    signals = con.execute("SELECT kind, count(*) FROM signals GROUP BY kind ORDER BY kind").fetchall()
    con.close()
    print(f"{n:,} events ingested in {ingest_s:.1f} s")
    print(f"detect {detect_s:.2f} s (whole process) | floor: sort by (actor, target, ts) {floor_s:.2f} s | "
          f"ratio {detect_s / floor_s:.2f} (target <= 4)")
    print(f"detect peak RSS {rss:,.0f} MB (target < 4096); signals: {dict(signals)}")


if __name__ == "__main__":
    main()
