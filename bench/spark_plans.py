"""What each detector costs on Spark in shuffles: the Exchange nodes of the physical plan of every query it
sends through `ctx.engine`, recorded during a real run (so queries over tables an earlier step materialised
are planned as they run).

    python bench/spark_plans.py [--db STORE] [--lake DIR] [--detectors coincidence,...] [--plans DIR]

Without --db, the seed scenario (/work/shared/scenarios/seed, or $TIEWATCH_SHARED/scenarios/seed) is ingested
into a temporary store. The store is exported to a lake; every registered detector runs on Spark local[2]
over it, and for each query the initial physical plan (adaptive execution re-plans at run time, and may
turn a shuffle join into a broadcast one, never the reverse) is counted: shuffle exchanges (hash, range,
single partition: rows move between tasks), broadcast exchanges (a small side copied to every task), and
the shuffles whose input is a scan of the events (the expensive kind: the number of events moves). Prints
a Markdown table; --plans DIR also writes each plan as text.

A detector whose SQL still reads the store directly (not yet on the engine) sends nothing through it and is
listed as such.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from tiewatch.detect.base import Context, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.registry import REGISTRY
from tiewatch.detect.run import detect
from tiewatch.engines.spark import SparkEngine, spark_session
from tiewatch.lake import export_lake, table_files
from tiewatch.progress import ProgressEvent
from tiewatch.store import Store

SHUFFLE = re.compile(r"Exchange (hashpartitioning|rangepartitioning|SinglePartition|RoundRobinPartitioning)")
BROADCAST = re.compile(r"BroadcastExchange")


def events_shuffles(plan: str) -> int:
    """Shuffle exchanges whose stage (its subtree, down to the next exchanges) scans the events' files."""
    lines = plan.splitlines()

    def depth(line: str) -> int:
        return len(line) - len(line.lstrip(" :+-"))

    count = 0
    for i, line in enumerate(lines):
        if not SHUFFLE.search(line):
            continue
        top, skip = depth(line), None
        for below in lines[i + 1:]:
            d = depth(below)
            if d <= top:
                break
            if skip is not None and d > skip:
                continue  # inside another exchange's stage
            skip = d if "Exchange" in below else None
            if skip is None and "FileScan parquet" in below and "/events/" in below:
                count += 1
                break
    return count


class PlanRecorder(SparkEngine):
    """The Spark engine, noting the physical plan of every query before it runs."""

    def __init__(self, session: Any, lake: Path) -> None:
        super().__init__(session, lake)
        self.current = "?"
        self.plans: dict[str, list[tuple[str, str]]] = defaultdict(list)

    def _sql(self, sql: str, params: dict[str, Any] | None) -> Any:
        df = super()._sql(sql, params)
        plan = df._jdf.queryExecution().executedPlan().toString()
        first = re.sub(r"\s+", " ", sql).strip()[:60]
        self.plans[self.current].append((first, plan))
        return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="a store to read (default: the seed scenario, ingested)")
    ap.add_argument("--lake", type=Path, help="where to export the lake (default: a temporary folder)")
    ap.add_argument("--detectors", default="", help="comma-separated names (default: every registered one)")
    ap.add_argument("--plans", type=Path, help="write each plan to this folder")
    ap.add_argument("--plan-only", action="store_true",
                    help="plan each detector's declared queries (Detector.queries) without running anything: "
                         "for a large lake, where Spark's choice of broadcast or shuffle joins depends on sizes")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tw-plans-"))
    db = args.db
    if db is None:
        seed = Path(os.environ.get("TIEWATCH_SHARED", "/work/shared")) / "scenarios" / "seed"
        db = work / "seed.duckdb"
        subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(seed), "--json"],
                       check=True, capture_output=True)
    lake = args.lake or work / "lake"
    if not (lake / "manifest.json").exists() or args.db is None:
        with Store(db, read_only=True) as store:
            export_lake(store.con, lake)
    names = [s.strip() for s in args.detectors.split(",") if s.strip()] or [e.name for e in REGISTRY]
    only = [e.load()() for e in REGISTRY if e.name in names]
    spark = spark_session("local[2]")
    engine = PlanRecorder(spark, lake)
    out_db = work / "signals.duckdb"
    with Store(out_db) as out:
        (accounts,) = table_files(lake, "accounts")
        out.con.execute("INSERT INTO accounts (platform, account, name, person, kind) SELECT platform, account, "
                        f"name, person, kind FROM read_parquet('{accounts}')")

        def progress(ev: ProgressEvent) -> None:
            engine.current = ev.item

        if args.plan_only:
            ctx = Context(store=out, dialect=DUCKDB, window=Window(), keep_p=0.05, engine=engine)
            for det in only:
                engine.current = det.name
                for sql in det.queries(ctx).values():
                    engine._sql(sql, ctx.window.params)
        else:
            detect(out, engine=engine, only=only, progress=progress)
        engine.close()
    spark.stop()
    print("| detector | queries through the engine | shuffle exchanges | broadcast exchanges | "
          "shuffles reading the events |")
    print("|---|---|---|---|---|")
    for det in only:
        plans = engine.plans.get(det.name, [])
        if not plans:
            print(f"| {det.name} | none (its SQL does not run on the engine yet) | – | – | – |")
            continue
        shuffles = sum(len(SHUFFLE.findall(p)) for _, p in plans)
        broadcasts = sum(len(BROADCAST.findall(p)) for _, p in plans)
        on_events = sum(events_shuffles(p) for _, p in plans)
        print(f"| {det.name} | {len(plans)} | {shuffles} | {broadcasts} | {on_events} |")
        if args.plans:
            args.plans.mkdir(parents=True, exist_ok=True)
            for i, (first, plan) in enumerate(plans):
                (args.plans / f"{det.name}.{i}.txt").write_text(f"-- {first}\n{plan}\n")


if __name__ == "__main__":
    main()
