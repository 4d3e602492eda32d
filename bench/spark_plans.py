"""What each detector costs on Spark in shuffles: the Exchange nodes of the physical plan of every query it
sends through `ctx.engine`, recorded during a real run (so queries over tables an earlier step materialised
are planned as they run).

    python bench/spark_plans.py [--db STORE] [--lake DIR] [--detectors coincidence,...] [--plans DIR]

Without --db, the seed scenario (/work/shared/scenarios/seed, or $TIEWATCH_SHARED/scenarios/seed) is ingested
into a temporary store. The store is exported to a lake; every registered detector runs on Spark local[2]
over it, and for each query the initial physical plan (adaptive execution re-plans at run time, and may
turn a shuffle join into a broadcast one, never the reverse) is counted: shuffle exchanges (hash, range,
single partition: rows move between tasks), broadcast exchanges (a small side copied to every task), and
how many times the events' files are scanned, and the shuffles whose input is a scan of the events (the
expensive kind: the number of events moves). A query over a table an earlier step materialised (`ctx.engine.
materialize`, cached on Spark) counts what it does with the cached rows, not the plan that made them (Spark
prints that plan under every reader, but ran it once, counted with the step that materialised it). Prints a
Markdown table (--by-query: also one row per query); --plans DIR also writes each plan as text.

    python bench/spark_plans.py --checks      # the check suite's store: tracker deletions and profiles too

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiewatch.detect.base import Context, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.registry import REGISTRY
from tiewatch.detect.run import detect
from tiewatch.engines.spark import SparkEngine, spark_session
from tiewatch.engines.store_tables import share_store_tables
from tiewatch.lake import export_lake, table_files
from tiewatch.progress import ProgressEvent
from tiewatch.store import Store

SHUFFLES = ("ShuffleExchangeExec",)
BROADCASTS = ("BroadcastExchangeExec",)


@dataclass
class PlanCounts:
    """What one physical plan costs: shuffle exchanges, broadcast exchanges, scans of the events' files, and
    the shuffles whose stage (the operators below it down to the next exchanges) scans the events."""

    shuffles: int = 0
    broadcasts: int = 0
    event_scans: int = 0
    event_shuffles: int = 0

    def __add__(self, other: PlanCounts) -> PlanCounts:
        return PlanCounts(self.shuffles + other.shuffles, self.broadcasts + other.broadcasts,
                          self.event_scans + other.event_scans, self.event_shuffles + other.event_shuffles)

    def cells(self) -> str:
        return f"{self.shuffles} | {self.broadcasts} | {self.event_scans} | {self.event_shuffles}"


def count_plan(plan: Any) -> PlanCounts:
    """Walk a physical plan (a py4j handle on SparkPlan) through its children. A cached table's scan
    (`InMemoryTableScanExec`) is a leaf here: the plan that made the table ran once, when it was materialised,
    and was counted then (Spark's printed plan repeats it under every reader). A reused exchange is a leaf too:
    its rows moved once."""
    counts = PlanCounts()

    def walk(node: Any) -> bool:
        """Counts below `node`; True when `node`'s stage (up to the exchanges below it) scans the events."""
        kind = node.getClass().getSimpleName()
        if kind == "AdaptiveSparkPlanExec":
            return walk(node.executedPlan())  # before it runs: the initial plan
        if kind == "FileSourceScanExec":
            on_events = "/events/" in node.toString()
            counts.event_scans += on_events
            return on_events
        children = node.children()
        below = [walk(children.apply(i)) for i in range(children.size())]
        if kind in SHUFFLES:
            counts.shuffles += 1
            counts.event_shuffles += any(below)
            return False
        if kind in BROADCASTS:
            counts.broadcasts += 1
            return False
        return any(below)

    walk(plan)
    return counts


class PlanRecorder(SparkEngine):
    """The Spark engine, noting the physical plan of every query before it runs."""

    def __init__(self, session: Any, lake: Path) -> None:
        super().__init__(session, lake)
        self.current = "?"
        self.label: str | None = None
        self.plans: dict[str, list[tuple[str, PlanCounts, str]]] = defaultdict(list)

    def _sql(self, sql: str, params: dict[str, Any] | None) -> Any:
        df = super()._sql(sql, params)
        plan = df._jdf.queryExecution().executedPlan()
        first = self.label or re.sub(r"\s+", " ", sql).strip()[:60]
        self.plans[self.current].append((first, count_plan(plan), plan.toString()))
        return df

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        self.label = f"materialize {name}"
        try:
            super().materialize(name, sql, params)
        finally:
            self.label = None


def _as(engine: PlanRecorder, name: str, step: Any) -> Any:
    """`step` (a detector's bound method), with the queries it sends noted under the detector's name."""
    def run(*args: Any) -> Any:
        before, engine.current = engine.current, name
        try:
            return step(*args)
        finally:
            engine.current = before
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="a store to read (default: the seed scenario, ingested)")
    ap.add_argument("--checks", action="store_true",
                    help="read the detector check suite's store instead (tests/detector_checks.py: a generated "
                         "scenario with the watch-list tracker's deletions and profiles, which the seed lacks)")
    ap.add_argument("--lake", type=Path, help="where to export the lake (default: a temporary folder)")
    ap.add_argument("--detectors", default="", help="comma-separated names (default: every registered one)")
    ap.add_argument("--plans", type=Path, help="write each plan to this folder")
    ap.add_argument("--by-query", action="store_true", help="also a table with one row per query")
    ap.add_argument("--plan-only", action="store_true",
                    help="plan each detector's declared queries (Detector.queries) without running anything: "
                         "for a large lake, where Spark's choice of broadcast or shuffle joins depends on sizes")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tw-plans-"))
    db = args.db
    if args.checks:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from detector_checks import build_store

        db = build_store(work)
    elif db is None:
        seed = Path(os.environ.get("TIEWATCH_SHARED", "/work/shared")) / "scenarios" / "seed"
        db = work / "seed.duckdb"
        subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(seed), "--json"],
                       check=True, capture_output=True)
    lake = args.lake or work / "lake"
    if not (lake / "manifest.json").exists() or args.db is None:  # a given store's lake is reused
        with Store(db, read_only=True) as store:
            export_lake(store.con, lake)
    names = [s.strip() for s in args.detectors.split(",") if s.strip()] or [e.name for e in REGISTRY]
    only = [e.load()() for e in REGISTRY if e.name in names]
    spark = spark_session("local[2]")
    engine = PlanRecorder(spark, lake)
    with Store(db, read_only=True) as store:
        share_store_tables(engine, store.con)  # the tracker's tables stay in the store, as in a real run
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
            for det in only:  # refine and finalize run after every detector's run: name them too
                for step in ("refine", "finalize"):
                    setattr(det, step, _as(engine, det.name, getattr(det, step)))
            detect(out, engine=engine, only=only, progress=progress)
        engine.close()
    spark.stop()
    head = "shuffle exchanges | broadcast exchanges | scans of the events | shuffles of stages scanning the events"
    print(f"| detector | queries through the engine | {head} |")
    print("|---|---|---|---|---|---|")
    for det in only:
        plans = engine.plans.get(det.name, [])
        if not plans:
            print(f"| {det.name} | none (its SQL does not run on the engine yet) | – | – | – | – |")
            continue
        print(f"| {det.name} | {len(plans)} | {sum((c for _, c, _ in plans), PlanCounts()).cells()} |")
    if args.by_query:
        print(f"\n| detector | query | {head} |")
        print("|---|---|---|---|---|---|")
        for det in only:
            for first, c, _ in engine.plans.get(det.name, []):
                print(f"| {det.name} | `{first.replace('|', '/')}` | {c.cells()} |")
    if args.plans:
        args.plans.mkdir(parents=True, exist_ok=True)
        for det in only:
            for i, (first, _, text) in enumerate(engine.plans.get(det.name, [])):
                (args.plans / f"{det.name}.{i}.txt").write_text(f"-- {first}\n{text}\n")


if __name__ == "__main__":
    main()
