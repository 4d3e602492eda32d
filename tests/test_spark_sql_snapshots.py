"""The Spark SQL of every detector query is kept in the repo, so a change in what Spark would run shows up in
review (the Ibis habit). Regenerate with: TIEWATCH_UPDATE_SNAPSHOTS=1 pytest tests/test_spark_sql_snapshots.py"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from tiewatch.detect.base import Context, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.registry import REGISTRY, DetectorEntry
from tiewatch.engines.sql import compile_sql, parameters
from tiewatch.store import Store

SNAPSHOTS = Path(__file__).parent / "snapshots" / "spark"
UPDATE = os.environ.get("TIEWATCH_UPDATE_SNAPSHOTS") == "1"
# detectors whose SQL is not yet written through ctx.engine
PENDING: set[str] = set()
THRESHOLDS: dict[str, dict[str, float]] = {"audience": {"z_min": 4.6, "z0": 4.6}}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    store = Store(tmp_path_factory.mktemp("snap") / "s.duckdb")
    return Context(store=store, dialect=DUCKDB, window=Window(datetime(2020, 1, 1), datetime(2030, 1, 1)),
                   keep_p=0.05)


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_spark_sql_of_every_detector_query_is_snapshotted(entry: DetectorEntry, ctx: Context) -> None:
    if entry.name in PENDING:
        pytest.xfail(f"{entry.name}: SQL not yet written through the engine")
    det = entry.load()()
    queries = det.queries(ctx)
    assert queries, f"{entry.name}: declares no queries"
    # Thresholds a detector derives from the run's settings are bound too (example values, for EXPLAIN).
    # A detector whose later queries read what earlier ones materialised (tw_* names) or what the driver
    # registers gives empty tables of those shapes and example values of its other parameters.
    known = {**ctx.window.params, **THRESHOLDS.get(entry.name, {}), **getattr(det, "snapshot_params", dict)()}
    for table_name, table in getattr(det, "snapshot_tables", dict)().items():
        ctx.engine.register(table_name, table)
    for name, sql in queries.items():
        assert parameters(sql) <= {"since", "until", *known}, f"{entry.name}.{name}: unknown parameters"
        if name.startswith("tw_"):
            ctx.engine.materialize(name, sql, known)
        else:
            ctx.store.con.execute(f"EXPLAIN {sql}", {k: v for k, v in known.items() if k in parameters(sql)})
        spark = compile_sql(sql, "spark") + "\n"
        path = SNAPSHOTS / f"{entry.name}.{name}.sql"
        if UPDATE:
            path.write_text(spark)
        assert path.exists(), f"no snapshot {path.name}; run with TIEWATCH_UPDATE_SNAPSHOTS=1"
        assert path.read_text() == spark, f"{path.name} changed; review it and regenerate"


def test_no_snapshot_is_left_without_its_query(ctx: Context) -> None:
    names = {f"{e.name}.{q}.sql" for e in REGISTRY if e.name not in PENDING for q in e.load()().queries(ctx)}
    stale = {p.name for p in SNAPSHOTS.glob("*.sql")} - names
    assert not stale, f"snapshots of queries that no longer exist: {sorted(stale)}"
