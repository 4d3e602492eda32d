"""What an engine is: somewhere the detectors' SQL runs, over the canonical tables.

Detectors write DuckDB SQL with named parameters (`$since`) and call the engine; the engine compiles the text
for itself (`engines.sql.compile_sql`) and binds the values. What a detector does after its SQL screen
(per-candidate arithmetic on a bounded number of rows) happens on the driver, whatever the engine.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa


class Engine(Protocol):
    """The few operations detectors need from a SQL engine."""

    name: str
    # True when a CTE read several times in one query is computed once (DuckDB); False when each reference
    # computes it again (Spark inlines them): `engines.shared.shared_ctes` then materialises the ones named.
    computes_ctes_once: bool

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """A query's rows as an Arrow table (bounded: detectors screen in SQL first)."""

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        """Keep a query's result under `name` for later queries of this run (a temp table or cached view)."""

    def register(self, name: str, table: pa.Table) -> None:
        """Make a small driver-side table (candidates) visible to later queries under `name`."""

    def drop(self, name: str) -> None:
        """Forget what `materialize` or `register` made."""
