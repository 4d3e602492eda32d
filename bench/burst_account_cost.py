"""What the account-burst detector costs, beside the sort floor, in one process:
`python bench/burst_account_cost.py [--events 2000000] [--shape skewed|uniform]`.

Uses bench/detect.py's generated events (cached in its work folder). The generator writes posts, likes and
comments, which the account burst does not count (they answer the receiver's posts), so the detector is
timed twice: on the data as generated (its cost there is a filtered scan), and with every like and comment
relabelled as a message (every interaction counted: the worst case, a messaging platform of that size and
shape). Each time is printed beside DuckDB sorting the same events by (actor, target, ts), bench/detect.py's
floor, measured in the same process right before.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from detect import events_file

from tiewatch.detect.burst_account import AccountBurstDetector
from tiewatch.detect.run import detect
from tiewatch.ingest.run import ingest_paths
from tiewatch.store import Store


def floor(store: Store) -> float:
    start = time.perf_counter()
    store.con.execute("CREATE OR REPLACE TEMP TABLE floor_sorted AS SELECT * FROM events ORDER BY actor, target, ts")
    elapsed = time.perf_counter() - start
    store.con.execute("DROP TABLE floor_sorted")
    return elapsed


def timed(store: Store) -> tuple[float, dict[str, int], dict[str, int]]:
    start = time.perf_counter()
    report = detect(store, only=[AccountBurstDetector()])
    return time.perf_counter() - start, report.counts, report.tests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--shape", choices=("uniform", "skewed"), default="skewed")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tiewatch-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = events_file(args.workdir, args.shape, args.events, args.accounts)
    db = args.workdir / f"burst_account_{args.shape}.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        ingest_paths(store, [data])
        n = store.scalar("SELECT count(*) FROM events")
        for label in ("as generated (likes and comments: not counted)", "likes and comments relabelled as messages"):
            if label.startswith("likes"):
                store.con.execute("UPDATE events SET kind = 'message' WHERE kind IN ('like', 'comment')")
            f = floor(store)
            secs, counts, tests = timed(store)
            print(f"{args.shape}, {n:,} events, {label}: burst_account {secs:.2f} s, floor (sort by actor, target, "
                  f"ts) {f:.2f} s, ratio {secs / f:.2f}; tests {tests}, signals {counts}")
    db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
