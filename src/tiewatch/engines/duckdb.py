"""The embedded engine: the store's own DuckDB connection."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from tiewatch.engines.sql import bind, compile_sql


class DuckDBEngine:
    """Runs detector SQL on a DuckDB connection (the store's), with values bound as named parameters."""

    name = "duckdb"
    computes_ctes_once = True  # a CTE read more than once is materialised by DuckDB's planner (CTE Scan)

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._registered: set[str] = set()

    def _sql(self, sql: str) -> str:
        return compile_sql(sql, "duckdb")

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        rel = self.con.sql(self._sql(sql), params=bind(sql, params) or None)
        to_table = getattr(rel, "to_arrow_table", None) or rel.arrow  # the zero-copy way for this DuckDB
        table = to_table()
        return table if isinstance(table, pa.Table) else table.read_all()

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.con.execute(self._sql(sql), bind(sql, params)).fetchall()
        return rows[0][0] if rows else None

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {self._sql(sql)}", bind(sql, params))

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)
        self._registered.add(name)

    def drop(self, name: str) -> None:
        if name in self._registered:
            self.con.unregister(name)
            self._registered.discard(name)
        else:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
