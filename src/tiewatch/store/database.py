"""Opening the store: one DuckDB file, its settings, its schema version, and transactions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tiewatch.errors import NotFound, TiewatchError
from tiewatch.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

DEFAULT_DB = "tiewatch.duckdb"
DEFAULT_MEMORY_LIMIT = "3GB"


def default_db_path() -> Path:
    """`TIEWATCH_DB` when set, else ./tiewatch.duckdb."""
    return Path(os.environ.get("TIEWATCH_DB") or DEFAULT_DB)


class Store:
    """A tiewatch database: a DuckDB connection with the canonical schema in place.

    All times inside are UTC; the session time zone is pinned to UTC so that naive ISO input is read as UTC.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 memory_limit: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if read_only and not self.path.exists():
            raise NotFound(f"{self.path}: no such database (run `tiewatch ingest` first)")
        if self.path.parent and not self.path.parent.exists():
            raise TiewatchError(f"{self.path}: folder {self.path.parent} does not exist")
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as e:
            raise TiewatchError(f"{self.path}: cannot open database: {e}") from None
        except duckdb.Error as e:
            raise TiewatchError(f"{self.path}: not a tiewatch (DuckDB) database: {e}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        limit = memory_limit or os.environ.get("TIEWATCH_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
        self.con.execute(f"SET memory_limit = '{limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        if not read_only:
            tmp = self.path.with_name(self.path.name + ".tmp")
            self.con.execute(f"SET temp_directory = '{tmp}'")
            self._ensure_schema()
        else:
            self._check_version()

    # -- schema -------------------------------------------------------------------------------------
    def _stored_version(self) -> int | None:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchall()[0]
        if not has_meta or not has_meta[0]:
            return None
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        return int(rows[0][0]) if rows else None

    def _check_version(self) -> None:
        version = self._stored_version()
        if version is not None and version != SCHEMA_VERSION:
            raise TiewatchError(
                f"{self.path}: written by schema version {version}, this tiewatch uses {SCHEMA_VERSION}; "
                "open it once without read-only access (any ingest or detect) to migrate it")

    def _ensure_schema(self) -> None:
        version = self._stored_version()
        if version is not None and version > SCHEMA_VERSION:
            raise TiewatchError(
                f"{self.path}: written by a newer tiewatch (schema {version} > {SCHEMA_VERSION}); "
                "upgrade tiewatch or use another --db")
        if version is None:
            n_tables = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'").fetchall()[0]
            if n_tables and n_tables[0]:
                raise TiewatchError(f"{self.path}: a DuckDB file that is not a tiewatch database; "
                                    "choose another --db")
        with self.transaction():
            for ddl in TABLES.values():
                self.con.execute(ddl)
            for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
                for stmt in MIGRATIONS.get(step, []):
                    self.con.execute(stmt)
            self.con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    # -- helpers ------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit on success, roll back on any exception (a kill leaves nothing either)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def arrow(self, sql: str) -> pa.Table:
        """A query's result as an Arrow table (the zero-copy way for this DuckDB version)."""
        rel = self.con.sql(sql)
        to_table = getattr(rel, "to_arrow_table", None) or rel.arrow
        result = to_table()
        return result if isinstance(result, pa.Table) else result.read_all()

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}"))

    def cursor(self) -> Store:
        """Another connection to this open database, for another thread (DuckDB: one instance, independent
        connections; readers see the last committed state while a writer works)."""
        other = Store.__new__(Store)
        other.path = self.path
        other.con = self.con.cursor()
        other.con.execute("SET TimeZone = 'UTC'")
        return other

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
