"""Scale: (a) DuckDB on one machine at N events, (b) Spark local[2] against DuckDB on the same M events.

    python bench/scale.py [--events 100000000] [--spark-events 10000000] [--news 2000]
                          [--spark-detectors NAME,...] [--skip-duckdb] [--skip-spark]

(a) N synthetic events (the generator of bench/detect.py: 5% posts by Zipf-popular authors, likes on them)
    are ingested by `tiewatch ingest` and detected by `tiewatch detect`, each in its own process whose own
    peak resident memory is measured (target: under 4 GB; DuckDB spills to <db>.tmp beyond its memory limit)
    with the peak size of its temp files; the detect time is printed as a ratio to the floor, DuckDB sorting
    the same events by (actor, target, ts), timed just before and just after detect in the same run.
(b) M events of the same generator plus `--news` news items naming popular authors (so coincidence, which
    reads every event's ties, has work to do) are ingested and exported to a Parquet lake; the registered
    detectors (or `--spark-detectors`), whose SQL all runs on `ctx.engine`, are timed through
    detect.run.detect on DuckDB and on Spark local[2] over the lake, in this process, each detector on its
    own as well as the whole run, and the ratio printed with whether both stored the same signals and
    counted the same tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from detect import run_measured, write_events

from tiewatch.store.database import DEFAULT_MEMORY_LIMIT


def timed_floor(db: Path) -> float:
    """DuckDB sorting the stored events by (actor, target, ts) into a table, in a fresh connection with the
    memory limit tiewatch uses (TIEWATCH_MEMORY_LIMIT or its default), spilling beside the store as it does."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{os.environ.get('TIEWATCH_MEMORY_LIMIT') or DEFAULT_MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{db.with_name(db.name + '.floor.tmp')}'")
    start = time.perf_counter()
    con.execute("CREATE OR REPLACE TEMP TABLE floor_sorted AS SELECT * FROM events ORDER BY actor, target, ts")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def duckdb_at_scale(n: int, accounts: int, work: Path) -> Path:
    data = work / f"detect_{n}.parquet"
    if not data.exists():
        t = time.perf_counter()
        write_events(n, accounts, data)
        print(f"generated {n:,} events in {time.perf_counter() - t:.0f} s ({data.stat().st_size / 1e9:.1f} GB)",
              flush=True)
    db = work / f"scale_{n}.duckdb"
    db.unlink(missing_ok=True)
    tmp = db.with_name(db.name + ".tmp")
    tw = [sys.executable, "-m", "tiewatch", "--db", str(db)]
    ingest_s, ingest_rss, ingest_tmp = run_measured([*tw, "ingest", str(data), "--json"], tmp)
    print(f"(a) ingest {ingest_s:.1f} s, peak RSS {ingest_rss:,.0f} MB, peak temp files {ingest_tmp:,.0f} MB",
          flush=True)
    floor_before = timed_floor(db)
    detect_s, detect_rss, detect_tmp = run_measured([*tw, "detect", "--json"], tmp)
    floor_after = timed_floor(db)
    floor_s = (floor_before + floor_after) / 2
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    signals = dict(con.execute("SELECT kind, count(*) FROM signals GROUP BY kind ORDER BY kind").fetchall())
    con.close()
    print(f"(a) DuckDB, {events:,} events: ingest {ingest_s:.1f} s, peak RSS {ingest_rss:,.0f} MB | "
          f"detect {detect_s:.1f} s, peak RSS {detect_rss:,.0f} MB (target < 4096), peak temp files "
          f"{detect_tmp:,.0f} MB | floor: sort by (actor, target, ts) {floor_s:.1f} s (before {floor_before:.1f}, "
          f"after {floor_after:.1f}) | ratio detect/floor {detect_s / floor_s:.2f} | signals {signals}", flush=True)
    return db


def write_news(n_news: int, authors: int, path: Path) -> None:
    """News items over the generator's year, each naming one or two of its most popular authors (so some
    subjects recur, which makes shared-news candidates too); deterministic."""
    with path.open("w") as f:
        for i in range(n_news):
            ts = 1672531200 + (i * 30_000_000 // max(n_news, 1)) + 3600 * (i % 7)  # 2023-01-01 + ~347 days
            subjects = [f"u{(i * 7919) % authors}"] + ([f"u{(i * 104729 + 1) % authors}"] if i % 3 == 0 else [])
            f.write(json.dumps({"id": f"n{i}", "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)),
                                "title": f"synthetic news {i}", "subjects": subjects}) + "\n")


class Steps:
    """A detect progress callback timing each detector from its start to the next one's: its `run`; the last
    one's time also holds what follows every run (refinement, finalizing, storing the signals)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last: tuple[str, float] | None = None

    def __call__(self, ev: Any) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.seconds[self._last[0]] = now - self._last[1]
        self._last = (ev.item, now) if ev.item != "done" else None


def spark_against_duckdb(m: int, accounts: int, n_news: int, names: list[str], work: Path) -> None:
    from tiewatch.detect.registry import REGISTRY
    from tiewatch.detect.run import detect
    from tiewatch.engines.spark import SparkEngine, spark_session
    from tiewatch.engines.store_tables import share_store_tables
    from tiewatch.lake import export_lake
    from tiewatch.store import Store

    names = names or [e.name for e in REGISTRY]
    only = [e.load()() for e in REGISTRY if e.name in names]
    if len(only) != len(names):
        sys.exit(f"--spark-detectors: unknown name among {names}; registered: {[e.name for e in REGISTRY]}")
    data = work / f"detect_{m}.parquet"
    if not data.exists():
        write_events(m, accounts, data)
    news = work / f"news_{n_news}.jsonl"
    write_news(n_news, 200, news)
    db = work / f"spark_{m}_{n_news}.duckdb"
    if not db.exists():
        for f, extra in ((data, []), (news, ["--table", "news"])):
            subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(f), *extra, "--json"],
                           check=True, capture_output=True)
    lake = work / f"spark_{m}_{n_news}.lake"
    with Store(db) as store:
        n = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        t = time.perf_counter()
        export_lake(store.con, lake)
        export_s = time.perf_counter() - t
        duck_steps = Steps()
        t = time.perf_counter()
        duck_report = detect(store, only=only, progress=duck_steps)
        duck_s = time.perf_counter() - t
        duck = store.con.execute("SELECT id, kind, ts, evidence, p_value FROM signals ORDER BY id").fetchall()
    t = time.perf_counter()
    spark = spark_session("local[2]", conf={"spark.driver.memory": "6g"})
    start_s = time.perf_counter() - t
    spark_db = work / f"spark_{m}_signals.duckdb"
    spark_db.unlink(missing_ok=True)
    with Store(spark_db) as out:  # the signals' store: accounts (for names in sentences), no events
        accounts_file = lake / "accounts" / "part-0.parquet"
        out.con.execute("INSERT INTO accounts (platform, account, name, person, kind) SELECT platform, account, "
                        f"name, person, kind FROM read_parquet('{accounts_file}')")
        engine = SparkEngine(spark, lake)
        with Store(db, read_only=True) as source:
            share_store_tables(engine, source.con)  # the tracker's tables, as api.Tiewatch.detect does
        spark_steps = Steps()
        t = time.perf_counter()
        spark_report = detect(out, engine=engine, only=only, progress=spark_steps)
        spark_s = time.perf_counter() - t
        got = out.con.execute("SELECT id, kind, ts, evidence, p_value FROM signals ORDER BY id").fetchall()
        engine.close()
    spark.stop()
    same = [a[:4] for a in duck] == [b[:4] for b in got] and all(
        abs(a[4] - b[4]) <= 1e-9 * abs(a[4]) for a, b in zip(duck, got, strict=True) if a[4] is not None)
    print(f"(b) {n:,} events, {n_news:,} news, detectors on Spark: {', '.join(names)} | export to the lake "
          f"{export_s:.1f} s | detect on DuckDB {duck_s:.2f} s | on Spark local[2] {spark_s:.2f} s "
          f"(+ {start_s:.1f} s to start the JVM) | ratio Spark/DuckDB {spark_s / duck_s:.1f} | tests "
          f"{duck_report.tests} vs {spark_report.tests} | same signals: {same} ({len(duck)} vs {len(got)})",
          flush=True)
    for name in names:
        d, sp = duck_steps.seconds.get(name, 0.0), spark_steps.seconds.get(name, 0.0)
        ratio = f"{sp / d:.1f}" if d else "-"
        print(f"(b)   {name}: DuckDB {d:.2f} s, Spark {sp:.2f} s, ratio {ratio}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000_000, help="events for (a), DuckDB at scale")
    ap.add_argument("--spark-events", type=int, default=10_000_000, help="events for (b), Spark against DuckDB")
    ap.add_argument("--news", type=int, default=2000, help="news items for (b)")
    ap.add_argument("--spark-detectors", default="",
                    help="comma-separated detectors timed in (b) (default: every registered one)")
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tiewatch-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not args.skip_duckdb:
        duckdb_at_scale(args.events, args.accounts, args.workdir)
    if not args.skip_spark:
        spark_against_duckdb(args.spark_events, args.accounts, args.news,
                             [s.strip() for s in args.spark_detectors.split(",") if s.strip()], args.workdir)


if __name__ == "__main__":
    main()
