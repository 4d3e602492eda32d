"""Jetstream JSONL ingest rate against DuckDB reading the same file into a table, in one run.

    python bench/jetstream.py [--events 2000000]

Target: tiewatch ingests at least half as many events per second as DuckDB reads (ratio of times <= 2).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from tiewatch.ingest.run import ingest_paths
from tiewatch.store import Store


def write_capture(n: int, path: Path) -> None:
    con = duckdb.connect()
    con.execute(f"""
        COPY (
          SELECT 'did:plc:' || lpad(CAST(hash(i) % 200000 AS VARCHAR), 8, '0') AS did,
                 1716000000000000 + i * 1000 AS time_us, 'commit' AS kind,
                 CASE WHEN i % 20 = 0 THEN
                   {{'rev': 'r', 'operation': 'create', 'collection': 'app.bsky.feed.post', 'rkey': 'p' || i,
                     'record': {{'text': 'post ' || i, 'subject': NULL::STRUCT(uri VARCHAR, cid VARCHAR)}},
                     'cid': 'bafy'}}
                 ELSE
                   {{'rev': 'r', 'operation': 'create', 'collection': 'app.bsky.feed.like', 'rkey': 'l' || i,
                     'record': {{'text': NULL::VARCHAR, 'subject': {{
                        'uri': 'at://did:plc:' || lpad(CAST(hash(i * 7) % 200000 AS VARCHAR), 8, '0')
                               || '/app.bsky.feed.post/p' || (i // 20) * 20, 'cid': 'bafy'}}}},
                     'cid': 'bafy'}}
                 END AS "commit"
          FROM range({n}) t(i)) TO '{path}' (FORMAT json)""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs of each (the machine is shared)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tiewatch-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    capture = args.workdir / f"jetstream_{args.events}.jsonl"
    if not capture.exists():
        write_capture(args.events, capture)
    ref = ours = float("inf")
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        ref_db = args.workdir / "jet_ref.duckdb"
        ref_db.unlink(missing_ok=True)
        start = time.perf_counter()
        con = duckdb.connect(str(ref_db))
        con.execute(f"CREATE TABLE bare AS SELECT * FROM read_json('{capture}')")
        con.close()
        ref = min(ref, time.perf_counter() - start)
        db = args.workdir / "jet.duckdb"
        db.unlink(missing_ok=True)
        start = time.perf_counter()
        with Store(db) as store:
            report = ingest_paths(store, [capture])
        ours = min(ours, time.perf_counter() - start)
        assert not report.errors and report.result.inserted["events"] == args.events, report
    size = capture.stat().st_size / 1e6
    print(f"{args.events:,} Jetstream events ({size:.0f} MB), best of {args.repeat}")
    print(f"tiewatch {ours:.2f} s ({args.events / ours:,.0f} events/s) | DuckDB read into a table {ref:.2f} s "
          f"({args.events / ref:,.0f} events/s) | ratio of times {ours / ref:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
