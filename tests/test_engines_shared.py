"""Shared CTEs (engines.shared): computed once where an engine would recompute them, the same rows either way.

DuckDB computes a CTE read several times once, so it runs the query as written; the split path (what Spark
runs: each shared CTE materialised, the rest reading it) is checked here on DuckDB too, by an engine that
declares it recomputes CTEs, so that both paths give identical rows over the seed scenario's real query.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest

from tiewatch.detect.base import Context, Window
from tiewatch.detect.coincidence import SHARED, CoincidenceDetector
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.follows import FollowDetector
from tiewatch.detect.post_deleted import SCRATCH, PostDeletedDetector
from tiewatch.detect.unlike import UnlikeDetector
from tiewatch.engines.duckdb import DuckDBEngine
from tiewatch.engines.shared import inline_ctes, shared_ctes, split_shared
from tiewatch.engines.sql import SqlError
from tiewatch.store import Store


class Recomputing(DuckDBEngine):
    """DuckDB playing an engine that computes a CTE once per reference (as Spark does)."""

    computes_ctes_once = False


QUERY = """
    WITH a AS (SELECT actor, count(*) AS n FROM events GROUP BY actor),
    b AS (SELECT actor FROM a WHERE n >= 2),
    c AS (SELECT a.actor, a.n FROM a JOIN b USING (actor))
    SELECT c.actor, c.n, (SELECT count(*) FROM b) AS nb FROM c JOIN a AS a2 ON a2.actor = c.actor
    WHERE c.actor IN (SELECT actor FROM b) ORDER BY c.actor"""


@pytest.fixture()
def store(seed_db: Path) -> Store:
    return Store(seed_db, read_only=True)


def test_duckdb_runs_the_query_as_written(store: Store) -> None:
    engine = DuckDBEngine(store.con)
    with shared_ctes(engine, QUERY, None, ("a", "b")) as sql:
        assert sql == QUERY
    assert engine.computes_ctes_once


def test_shared_ctes_give_the_same_rows_and_are_dropped_after(store: Store) -> None:
    plain = DuckDBEngine(store.con).arrow(QUERY)
    assert plain.num_rows > 0
    engine = Recomputing(store.con)
    for names in (("a",), ("b",), ("a", "b"), ("c",), ("a", "b", "c")):
        with shared_ctes(engine, QUERY, None, names) as sql:
            assert sql != QUERY and all(f"tw_cte_{n}" in sql for n in names)
            assert engine.arrow(sql).equals(plain), names
        left = store.con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'tw_cte_%'").fetchall()
        assert left == []


@pytest.fixture(scope="module")
def checks_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The detector check suite's store: it has follows and unfollows, which the seed lacks."""
    from detector_checks import build_store

    return build_store(tmp_path_factory.mktemp("shared_checks"))


def _same(a: pa.Table, b: pa.Table) -> bool:
    """Equal rows; sums of doubles to 1e-12 relative (a parallel sum's order varies from run to run)."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True):
        for k, v in x.items():
            w = y[k]
            if isinstance(v, float) and isinstance(w, float):
                if not math.isclose(v, w, rel_tol=1e-12):
                    return False
            elif v != w:
                return False
    return True


def _same_rows_split(store: Store, sql: str, names: tuple[str, ...]) -> None:
    plain = DuckDBEngine(store.con).arrow(sql)
    assert plain.num_rows > 0
    engine = Recomputing(store.con)
    with shared_ctes(engine, sql, None, names) as split:
        assert _same(engine.arrow(split), plain)
    assert _same(engine.arrow(inline_ctes(sql)), plain)


def test_coincidence_splits_to_the_same_rows(store: Store) -> None:
    ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
    _same_rows_split(store, CoincidenceDetector()._sql(ctx), SHARED)


def test_tracker_detectors_split_to_the_same_rows(checks_db: Path) -> None:
    with Store(checks_db, read_only=True) as store:
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        _same_rows_split(store, FollowDetector._sql(ctx), ("f",))
        _same_rows_split(store, UnlikeDetector._sql(ctx), ("u",))
        ctx.engine.materialize(SCRATCH, PostDeletedDetector._deletes_sql(ctx))
        try:
            _same_rows_split(store, PostDeletedDetector._about_sql(ctx), ("g",))
        finally:
            ctx.engine.drop(SCRATCH)


def test_a_view_carries_only_the_ctes_it_needs() -> None:
    views, rest = split_shared(QUERY, ("b",))
    ((name, view),) = views
    assert name == "tw_cte_b" and "WITH a AS" in view and "c AS" not in view
    assert "b AS (" not in rest and "tw_cte_b" in rest


def test_an_unknown_cte_is_refused() -> None:
    with pytest.raises(SqlError, match="no common table expression named z"):
        split_shared(QUERY, ("z",))
