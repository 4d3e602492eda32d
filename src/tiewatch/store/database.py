"""Opening the store: one DuckDB file, its settings, its schema version, and transactions."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tiewatch.errors import TiewatchError
from tiewatch.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

DEFAULT_DB = "tiewatch.duckdb"
DEFAULT_MEMORY_LIMIT = "3GB"
MAX_DEFAULT_TEMP_GB = 20  # the temp-file cap: at most this, and never more than half the free disk


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
            raise TiewatchError(f"{self.path}: no such database (run `tiewatch ingest` first)")
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
        self._set_size("memory_limit", limit, "TIEWATCH_MEMORY_LIMIT")
        self.con.execute("SET preserve_insertion_order = false")
        if not read_only:
            tmp = self.path.with_name(self.path.name + ".tmp")
            self.con.execute(f"SET temp_directory = '{tmp}'")
            self._set_size("max_temp_directory_size", temp_limit(self.path), "TIEWATCH_TEMP_LIMIT")
            self._ensure_schema()
        else:
            self._check_version()

    def _set_size(self, setting: str, value: str, env: str) -> None:
        try:
            self.con.execute(f"SET {setting} = '{value.replace(chr(39), '')}'")
        except duckdb.Error:
            self.con.close()
            raise TiewatchError(f"{env}={value}: not a size (write it like 3GB or 500MB)") from None

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

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def temp_limit(db: Path) -> str:
    """The cap on DuckDB's temp files: `TIEWATCH_TEMP_LIMIT` when set, else the smaller of 20 GB and half the
    free space of the disk holding the database (so spilling never fills the disk)."""
    env = os.environ.get("TIEWATCH_TEMP_LIMIT")
    if env:
        return env
    try:
        free_gb = shutil.disk_usage(db.resolve().parent).free / 1e9
    except OSError:
        free_gb = 2.0 * MAX_DEFAULT_TEMP_GB
    return f"{max(min(MAX_DEFAULT_TEMP_GB, free_gb / 2), 0.1):.1f}GB"


def out_of_room(e: duckdb.Error) -> str | None:
    """One line for a query that ran out of memory and temp-file space (None for any other error)."""
    text = str(e)
    if isinstance(e, duckdb.OutOfMemoryException):
        memory = os.environ.get("TIEWATCH_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
        if "max_temp_directory_size" in text:
            cap = os.environ.get("TIEWATCH_TEMP_LIMIT") or "the default cap"
            return (f"out of temporary disk space: this needed more than the memory limit ({memory}) plus the "
                    f"temp-file cap ({cap}); set TIEWATCH_TEMP_LIMIT higher (e.g. TIEWATCH_TEMP_LIMIT=50GB) "
                    "or TIEWATCH_MEMORY_LIMIT (detect can also be narrowed with --since/--until)")
        return (f"out of memory: this needed more than the memory limit ({memory}); set TIEWATCH_MEMORY_LIMIT "
                "higher (e.g. TIEWATCH_MEMORY_LIMIT=8GB) or TIEWATCH_TEMP_LIMIT for more room to spill")
    if isinstance(e, duckdb.IOException) and "No space left on device" in text:
        return ("out of disk space while writing the database or its temp files; free some space or lower "
                "TIEWATCH_TEMP_LIMIT so that spilling stops before the disk is full")
    return None
