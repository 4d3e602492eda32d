"""Ingest speed against DuckDB's own bulk load of the same file, in one run; optional memory check.

    python bench/ingest.py [--events 5000000] [--repeat 1] [--memory-events 20000000]

Prints, per format, tiewatch's time, DuckDB's time loading the same file into a bare table, and the
ratio (target: at most 2). With --memory-events it ingests a file that large in a child process and reports
peak resident memory (target: under 4 GB). Figures go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import duckdb
from common import peak_rss_mb, timed, write_events

from tiewatch.ingest.run import ingest_paths
from tiewatch.store import Store


def duckdb_bare_load(path: Path, fmt: str, db: Path) -> None:
    con = duckdb.connect(str(db))
    reader = f"read_json('{path}')" if fmt == "jsonl" else f"read_parquet('{path}')"
    con.execute(f"CREATE TABLE bare AS SELECT * FROM {reader}")
    con.close()


def tiewatch_ingest(path: Path, db: Path) -> None:
    with Store(db) as store:
        report = ingest_paths(store, [path])
    if report.errors or report.result.rejected:
        sys.exit(f"ingest failed: {report.errors} rejected={report.result.rejected}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--memory-events", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tiewatch-bench")
    args = ap.parse_args()
    files = write_events(args.events, args.workdir)
    print(f"{args.events:,} synthetic events; {os.cpu_count()} cores; duckdb {duckdb.__version__}")
    print(f"{'format':8} {'file MB':>8} {'tiewatch s':>11} {'duckdb s':>9} {'ratio':>6}")
    for fmt, path in files.items():
        def run_ours(path: Path = path) -> None:
            db = args.workdir / "ours.duckdb"
            db.unlink(missing_ok=True)
            tiewatch_ingest(path, db)

        def run_ref(path: Path = path, fmt: str = fmt) -> None:
            db = args.workdir / "ref.duckdb"
            db.unlink(missing_ok=True)
            duckdb_bare_load(path, fmt, db)

        ref = timed(run_ref, args.repeat)
        ours = timed(run_ours, args.repeat)
        size = path.stat().st_size / 1e6
        print(f"{fmt:8} {size:8.0f} {ours:11.2f} {ref:9.2f} {ours / ref:6.2f}")
    if args.memory_events:
        big = write_events(args.memory_events, args.workdir)["jsonl"]
        db = args.workdir / "memory.duckdb"
        db.unlink(missing_ok=True)
        secs, rss = peak_rss_mb([sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(big), "--json"])
        print(f"memory: {args.memory_events:,} events JSONL ({big.stat().st_size / 1e9:.1f} GB) in {secs:.1f} s, "
              f"peak RSS {rss:,.0f} MB (target < 4096)")


if __name__ == "__main__":
    main()
