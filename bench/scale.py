"""Scale: (a) DuckDB on one machine at N events, (b) Spark local[2] against DuckDB on the same M events.

    python bench/scale.py [--events 100000000] [--spark-events 10000000] [--skip-duckdb] [--skip-spark]

(a) N synthetic events (the generator of bench/detect.py: 5% posts by Zipf-popular authors, likes on them)
    are ingested by `tiewatch ingest` and detected by `tiewatch detect`, each in its own process whose peak
    resident memory is measured (target: under 4 GB; DuckDB spills to <db>.tmp beyond its 3 GB limit); the
    detect time is printed as a ratio to the floor, DuckDB sorting the same events by (actor, target, ts), in
    the same run.
(b) M events are exported to a Parquet lake; the whole detector run (detect.run.detect, the same code and
    the same SQL) is timed on DuckDB and on Spark local[2] over the lake, in this process, and the ratio
    printed with whether both stored the same signals.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from detect import timed_floor, write_events

RSS_WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(p.returncode)")


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of that command alone, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *cmd], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return elapsed, rss_kb / 1024, proc.stdout


def duckdb_at_scale(n: int, accounts: int, work: Path) -> Path:
    data = work / f"detect_{n}.parquet"
    if not data.exists():
        t = time.perf_counter()
        write_events(n, accounts, data)
        print(f"generated {n:,} events in {time.perf_counter() - t:.0f} s ({data.stat().st_size / 1e9:.1f} GB)")
    db = work / f"scale_{n}.duckdb"
    db.unlink(missing_ok=True)
    tw = [sys.executable, "-m", "tiewatch", "--db", str(db)]
    ingest_s, ingest_rss, _ = run_measured([*tw, "ingest", str(data), "--json"])
    detect_s, detect_rss, out = run_measured([*tw, "detect", "--json"])
    floor_s = timed_floor(db)
    report = json.loads(out)
    print(f"(a) DuckDB, {n:,} events: ingest {ingest_s:.1f} s, peak RSS {ingest_rss:,.0f} MB | "
          f"detect {detect_s:.1f} s, peak RSS {detect_rss:,.0f} MB (target < 4096) | "
          f"floor: sort by (actor, target, ts) {floor_s:.1f} s | "
          f"ratio detect/floor {detect_s / floor_s:.2f} | signals {report['signals']}, tests {report['tests']}")
    return db


def spark_against_duckdb(m: int, accounts: int, work: Path) -> None:
    import duckdb

    from tiewatch.detect.run import detect
    from tiewatch.engines.spark import SparkEngine, spark_session
    from tiewatch.lake import export_lake
    from tiewatch.store import Store

    data = work / f"detect_{m}.parquet"
    if not data.exists():
        write_events(m, accounts, data)
    db = work / f"spark_{m}.duckdb"
    if not db.exists():
        subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(data), "--json"],
                       check=True, capture_output=True)
    lake = work / f"spark_{m}.lake"
    with Store(db) as store:
        t = time.perf_counter()
        export_lake(store.con, lake)
        export_s = time.perf_counter() - t
        t = time.perf_counter()
        detect(store)
        duck_s = time.perf_counter() - t
        duck = store.con.execute("SELECT id, kind, ts, evidence FROM signals ORDER BY id").fetchall()
    t = time.perf_counter()
    spark = spark_session("local[2]", conf={"spark.driver.memory": "6g"})
    start_s = time.perf_counter() - t
    spark_db = work / f"spark_{m}_signals.duckdb"
    spark_db.unlink(missing_ok=True)
    with Store(spark_db) as out:
        accounts_file = lake / "accounts" / "part-0.parquet"
        out.con.execute("INSERT INTO accounts (platform, account, name, person, kind) SELECT platform, account, "
                        f"name, person, kind FROM read_parquet('{accounts_file}')")
        engine = SparkEngine(spark, lake)
        t = time.perf_counter()
        detect(out, engine=engine)
        spark_s = time.perf_counter() - t
        got = out.con.execute("SELECT id, kind, ts, evidence FROM signals ORDER BY id").fetchall()
    spark.stop()
    n = duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM events").fetchall()[0][0]
    print(f"(b) {n:,} events: export to the lake {export_s:.1f} s | detect on DuckDB {duck_s:.1f} s | "
          f"on Spark local[2] {spark_s:.1f} s (+ {start_s:.1f} s to start the JVM) | ratio Spark/DuckDB "
          f"{spark_s / duck_s:.1f} | same signals: {duck == got} ({len(duck)} vs {len(got)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000_000, help="events for (a), DuckDB at scale")
    ap.add_argument("--spark-events", type=int, default=10_000_000, help="events for (b), Spark against DuckDB")
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tiewatch-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not args.skip_duckdb:
        duckdb_at_scale(args.events, args.accounts, args.workdir)
    if not args.skip_spark:
        spark_against_duckdb(args.spark_events, args.accounts, args.workdir)


if __name__ == "__main__":
    main()
