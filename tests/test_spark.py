"""Spark local[2] against DuckDB: the same detector SQL gives the same candidates, tests and signals.

Spark runs over a Parquet lake exported from a store; its signals are stored in a second store that holds
none of the events (only the account names the summaries use), so a detector that still reads the store
instead of `ctx.engine` finds nothing there and fails these tests rather than passing them by accident.

One SparkSession for the whole test session (local[2], UTC, loopback only, UI off). `make test` installs Java
and pyspark, so in CI these tests always run; elsewhere they are skipped when pyspark is missing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import COLLEGEMSG, Cli
from tiewatch.detect.base import Context, DetectorOutput, Signal, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.naming import Names
from tiewatch.detect.registry import REGISTRY
from tiewatch.detect.run import detect
from tiewatch.engines.store_tables import share_store_tables
from tiewatch.lake import export_lake, table_files
from tiewatch.store import Store
from tiewatch.views.sentences import render, render_signals

if os.environ.get("CI"):
    import pyspark  # noqa: F401  (in CI a missing pyspark is a failure, not a skip)
else:
    pytest.importorskip("pyspark")

from tiewatch.engines.spark import SparkEngine, spark_session

# Detectors whose SQL does not yet run through ctx.engine (the lead is converting them on main); their
# equality tests are expected to fail until then, and fail loudly (strict) once they pass.
PENDING: set[str] = set()
REL = 1e-9


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]")
    yield session
    session.stop()


@dataclass
class Pair:
    """A scenario twice: DuckDB over its store, and Spark over its lake with signals into an events-less store."""

    duck: Store
    spark_store: Store
    engine: SparkEngine


def _pair(tmp: Path, source: Path, spark: Any) -> Iterator[Pair]:
    duck = Store(source, read_only=False)
    lake = tmp / "lake"
    export_lake(duck.con, lake)
    other = Store(tmp / "spark.duckdb")
    (accounts,) = table_files(lake, "accounts")
    other.con.execute("INSERT INTO accounts (platform, account, name, person, kind) "
                      f"SELECT platform, account, name, person, kind FROM read_parquet('{accounts}')")
    engine = SparkEngine(spark, lake)
    share_store_tables(engine, duck.con)  # the tracker's tables stay in the store (api.Tiewatch.detect does this)
    yield Pair(duck, other, engine)
    engine.close()
    other.close()
    duck.close()


@pytest.fixture(scope="module")
def seed_pair(seed_db: Path, tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("seed_spark")
    copy = tmp / "seed.duckdb"
    copy.write_bytes(seed_db.read_bytes())
    yield from _pair(tmp, copy, spark)


@pytest.fixture(scope="module")
def college_pair(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("college_spark")
    db = tmp / "college.duckdb"
    Cli(db)("ingest", str(COLLEGEMSG), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
            "--set", "kind=message", "--set", "platform=collegemsg")
    yield from _pair(tmp, db, spark)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or math.isclose(a, b, rel_tol=REL, abs_tol=0.0)


def _same_value(a: Any, b: Any) -> bool:
    if type(a).__module__ == "numpy" and type(b).__module__ == "numpy":  # a posterior row before finalize
        return _same_value(a.tolist(), b.tolist())
    if isinstance(a, float) and isinstance(b, float):
        return _close(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _key(s: Signal) -> tuple[Any, ...]:
    return (s.kind, s.platform, tuple(s.subjects), s.start, s.ts, tuple(s.evidence))


def _assert_same_signals(duck: list[Signal], spark: list[Signal], pair: Pair) -> None:
    assert len(duck) == len(spark)
    names = Names(pair.duck), Names(pair.spark_store)
    for a, b in zip(sorted(duck, key=_key), sorted(spark, key=_key), strict=True):
        assert _key(a) == _key(b)
        assert (a.end, a.family) == (b.end, b.family)
        assert render(a, names[0]) == render(b, names[1])
        assert _close(a.p_value, b.p_value) and _close(a.score, b.score) and _close(a.weight, b.weight)
        assert _same_value(a.detail, b.detail), (a.detail, b.detail)


def _run(det_name: str, pair: Pair, window: Window) -> tuple[DetectorOutput, DetectorOutput]:
    entry = next(e for e in REGISTRY if e.name == det_name)
    duck = entry.load()().run(Context(store=pair.duck, dialect=DUCKDB, window=window, keep_p=0.05))
    spark = entry.load()().run(Context(store=pair.spark_store, dialect=DUCKDB, window=window, keep_p=0.05,
                                       engine=pair.engine))
    return duck, spark


def _pending(name: str) -> list[Any]:
    # Not strict: where a scenario gives a detector nothing to find (no follow events in the seed, no metrics in
    # CollegeMsg), both sides are empty and the comparison passes whether or not the detector is converted.
    return [pytest.mark.xfail(reason=f"{name}: SQL not yet written through ctx.engine (reads the store)",
                              strict=False)] if name in PENDING else []


DETECTORS = [pytest.param(e.name, id=e.name, marks=_pending(e.name)) for e in REGISTRY]


@pytest.mark.slow
@pytest.mark.parametrize("name", DETECTORS)
def test_each_detector_finds_the_same_on_spark_on_the_seed(name: str, seed_pair: Pair) -> None:
    duck, spark = _run(name, seed_pair, Window())
    assert duck.tests == spark.tests
    _assert_same_signals(duck.signals, spark.signals, seed_pair)
    if name in ("coincidence", "audience"):
        assert duck.signals, f"the seed plants a {name} signal: the comparison is not between two empty sets"


@pytest.mark.slow
@pytest.mark.parametrize("name", DETECTORS)
def test_each_detector_finds_the_same_on_spark_on_collegemsg(name: str, college_pair: Pair) -> None:
    duck, spark = _run(name, college_pair, Window(datetime(2004, 5, 1), datetime(2004, 9, 1)))
    assert duck.tests == spark.tests
    _assert_same_signals(duck.signals, spark.signals, college_pair)
    if name == "burst_account":
        assert duck.signals, "CollegeMsg has crowds of first contacts: the comparison is not between empty sets"


@pytest.fixture(scope="module")
def checks_pair(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[Pair]:
    """The detector check suite's store: a generated scenario plus the watch-list tracker's rows."""
    from detector_checks import build_store

    tmp = tmp_path_factory.mktemp("checks_spark")
    yield from _pair(tmp, build_store(tmp), spark)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["follow", "unlike", "post_deleted", "profile_change"])
def test_tracker_detectors_find_the_same_on_spark(name: str, checks_pair: Pair) -> None:
    duck, spark = _run(name, checks_pair, Window())
    assert duck.signals, f"{name}: the check rows plant something to find"
    assert duck.tests == spark.tests
    _assert_same_signals(duck.signals, spark.signals, checks_pair)


def _stored(store: Store) -> list[tuple[Any, ...]]:
    return store.con.execute('SELECT id, kind, ts, start, "end", subjects, evidence, summary, detail, platform, '
                             "p_value, q_value, score FROM signals ORDER BY id").fetchall()


def _whole_run_marks() -> list[Any]:
    # Not strict: on CollegeMsg the pending detectors find nothing on either side (no follower counts, no
    # follows, renewal silences without power), so that run already agrees.
    return [pytest.mark.xfail(reason=f"pending detectors: {', '.join(sorted(PENDING))}", strict=False)] \
        if PENDING else []


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [pytest.param("seed_pair", marks=_whole_run_marks()),
                                      pytest.param("college_pair", marks=_whole_run_marks())])
def test_whole_run_stores_identical_signals(scenario: str, request: pytest.FixtureRequest) -> None:
    pair: Pair = request.getfixturevalue(scenario)
    detect(pair.duck, sentences=render_signals)
    detect(pair.spark_store, engine=pair.engine, sentences=render_signals)
    duck, spark = _stored(pair.duck), _stored(pair.spark_store)
    assert [r[:10] for r in duck] == [r[:10] for r in spark]  # ids, kinds, times, evidence, sentences, detail
    for a, b in zip(duck, spark, strict=True):
        assert all(_close(x, y) for x, y in zip(a[10:], b[10:], strict=True))


def test_bound_times_and_exact_percentiles_agree(seed_pair: Pair) -> None:
    since, until = datetime(2023, 1, 1), datetime(2023, 7, 1, 12, 30, 0, 250)
    sql = """SELECT platform, count(*) AS n, min(ts) AS first, quantile_cont(epoch_us(ts), 0.9) AS p90,
                    median(epoch_us(ts)) AS mid
             FROM events WHERE ts >= $since AND ts < $until GROUP BY platform ORDER BY platform NULLS LAST"""
    params = {"since": since, "until": until}
    duck = seed_pair.duck.con.execute(sql.replace("$since", "?").replace("$until", "?"), [since, until]).fetchall()
    spark = seed_pair.engine.arrow(sql, params).to_pylist()
    assert [tuple(r.values()) for r in spark] == duck


def test_materialize_and_register_are_visible_to_later_queries(seed_pair: Pair) -> None:
    import pyarrow as pa

    eng = seed_pair.engine
    eng.materialize("tw_test_actors", "SELECT actor, count(*) AS n FROM events WHERE kind = 'post' GROUP BY actor")
    eng.register("tw_test_pick", pa.table({"actor": ["nobody", "x"]}))
    try:
        n = eng.scalar("SELECT count(*) FROM tw_test_actors a JOIN tw_test_pick p ON p.actor = a.actor")
        total = eng.scalar("SELECT sum(n) FROM tw_test_actors")
        assert n == 0
        assert total == seed_pair.duck.scalar("SELECT count(*) FROM events WHERE kind = 'post'")
    finally:
        eng.drop("tw_test_actors")
        eng.drop("tw_test_pick")


def test_a_materialized_table_is_read_not_recomputed_by_a_query_with_its_own_ctes(seed_pair: Pair) -> None:
    # Spark would otherwise merge a cached query's CTEs into the reader's WITH and compute the table again.
    eng = seed_pair.engine
    eng.materialize("tw_test_pairs", "WITH e AS (SELECT actor, target FROM events WHERE target IS NOT NULL) "
                    "SELECT a.actor, count(*) AS n FROM e a JOIN e b ON b.actor = a.target GROUP BY a.actor")
    try:
        df = eng._sql("WITH p AS (SELECT * FROM tw_test_pairs) SELECT count(*) FROM p JOIN p AS q USING (actor)", {})
        operators = []  # the reader's own plan, before it runs (a cached table's scan is a leaf)
        todo = [df._jdf.queryExecution().executedPlan().executedPlan()]
        while todo:
            node = todo.pop()
            operators.append(node.getClass().getSimpleName())
            todo += [node.children().apply(i) for i in range(node.children().size())]
        assert "InMemoryTableScanExec" in operators
        assert "FileSourceScanExec" not in operators
    finally:
        eng.drop("tw_test_pairs")


def test_a_query_spark_refuses_is_one_line_not_a_traceback(seed_pair: Pair) -> None:
    from tiewatch.errors import TiewatchError

    with pytest.raises(TiewatchError, match=r"^Spark: ") as err:
        seed_pair.engine.scalar("SELECT no_such_column FROM events")
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_silence_through_finalize_stores_identical_signals(seed_pair: Pair) -> None:
    from tiewatch.detect.silence import SilenceDetector

    detect(seed_pair.duck, only=[SilenceDetector()])
    detect(seed_pair.spark_store, only=[SilenceDetector()], engine=seed_pair.engine)
    duck, spark = _stored(seed_pair.duck), _stored(seed_pair.spark_store)
    assert {r[1] for r in duck} == {"silence", "resumption"}, "the seed plants a silence that ends"
    assert [r[:10] for r in duck] == [r[:10] for r in spark]  # dated (ts from B's post times) the same
    for a, b in zip(duck, spark, strict=True):
        assert all(_close(x, y) for x, y in zip(a[10:], b[10:], strict=True))


@pytest.mark.slow
def test_renewal_screen_and_exact_counts_agree(college_pair: Pair) -> None:
    # A loose cap, so the windowed quantile screen, the exact counts and the longest earlier gaps all have
    # rows to compare (at the run's level CollegeMsg has no testable renewal gap).
    from tiewatch.detect.renewal import renewal_candidates, renewal_histogram

    window = Window(datetime(2004, 5, 1), datetime(2004, 9, 1))
    out = []
    for store, engine in ((college_pair.duck, None), (college_pair.spark_store, college_pair.engine)):
        ctx = Context(store=store, dialect=DUCKDB, window=window, keep_p=0.05, engine=engine)  # type: ignore[arg-type]
        pmin, counts = renewal_histogram(ctx)
        out.append((pmin.tolist(), counts.tolist(), renewal_candidates(ctx, 0.2, 0.2).to_pylist()))
        ctx.engine.drop("tw_spacings")
    (dp, dc, duck), (sp, sc, spark) = out
    assert (dp, dc) == (sp, sc)
    assert len(duck) > 10
    assert len(duck) == len(spark)
    for a, b in zip(duck, spark, strict=True):
        assert _same_value({k: (float(v) if k == "typical" else v) for k, v in a.items()},
                           {k: (float(v) if k == "typical" else v) for k, v in b.items()})
