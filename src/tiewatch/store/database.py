"""Opening the store: one DuckDB file, its settings, its schema version, and transactions."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tiewatch.errors import NoDatabase, StoreBusy, TiewatchError
from tiewatch.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

DEFAULT_DB = "tiewatch.duckdb"
# DuckDB's own limit, not the process's: peak RSS runs above it (the Python side, the Arrow results of the
# screens, allocations outside DuckDB's buffer manager): 3 GB gave 3.2-3.5 GB at 10-30M events in detect and
# once 4.3 GB at 30M. 2 GB keeps a whole process under 4 GB at 100M events (bench/scale.py); past it, DuckDB
# spills to <db>.tmp.
DEFAULT_MEMORY_LIMIT = "2GB"
MAX_DEFAULT_TEMP_GB = 20  # the temp-file cap: at most this, and never more than half the free disk


# Never fetch or load an extension behind the user's back (a SQLite file would otherwise make DuckDB download
# its sqlite scanner).
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False, "autoload_known_extensions": False}
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)$", re.I)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_line(e: BaseException) -> str:
    try:
        text = str(e).strip()
    except UnicodeDecodeError:
        return type(e).__name__
    return text.splitlines()[0] if text else type(e).__name__


def _connect(path: Path, read_only: bool, wait: float,
             on_wait: Callable[[str], None] | None) -> duckdb.DuckDBPyConnection:
    """Connect, waiting while another process holds the file's lock (DuckDB allows one writer process, or
    any number of readers)."""
    deadline = time.monotonic() + max(wait, 0.0)
    told = False
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=CONFIG)
        except duckdb.IOException as e:
            message = _first_line(e)
            if "lock" not in message.lower():
                if "not a valid DuckDB database" in message or "extension" in message.lower():
                    raise TiewatchError(f"{path}: not a tiewatch database (not a DuckDB file)",
                                        code="not_a_database") from None
                raise TiewatchError(f"{path}: cannot open database: {message}") from None
            holder = re.search(r"PID (\d+)", message)
            who = f"process {holder.group(1)}" if holder else "another process"
            if time.monotonic() >= deadline:
                raise StoreBusy(f"{path}: in use by {who}"
                                + (f"; waited {wait:g} s" if wait > 0 else "")
                                + " (raise --wait, or try again when it finishes)") from None
            if not told and on_wait is not None:
                on_wait(f"{path} is in use by {who}; waiting up to {wait:g} s (--wait)")
                told = True
            time.sleep(pause)
            pause = min(pause * 2, 0.1)  # short polls: a watcher leaves the file free between its batches
        except duckdb.Error as e:
            raise TiewatchError(f"{path}: not a tiewatch database: {_first_line(e)}",
                                code="not_a_database") from None


def default_db_path() -> Path:
    """`TIEWATCH_DB` when set, else ./tiewatch.duckdb."""
    return Path(os.environ.get("TIEWATCH_DB") or DEFAULT_DB)


class Store:
    """A tiewatch database: a DuckDB connection with the canonical schema in place.

    All times inside are UTC; the session time zone is pinned to UTC so that naive ISO input is read as UTC.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, create: bool = True,
                 memory_limit: str | None = None, wait: float = 0.0,
                 on_wait: Callable[[str], None] | None = None) -> None:
        """Open (or, when `create` and not `read_only`, create) the database.

        Another process holding the file makes this wait up to `wait` seconds (calling `on_wait` once with
        a message) before giving up with StoreBusy. Extensions are never installed or loaded on demand:
        nothing reaches the network.
        """
        self.path = Path(path) if path is not None else default_db_path()
        if (read_only or not create) and not self.path.exists():
            raise NoDatabase(f"{self.path}: no such database (check --db, or run `tiewatch ingest` first)")
        if self.path.exists() and not self.path.is_file():
            raise TiewatchError(f"{self.path}: not a database file (a folder?)")
        if self.path.parent and not self.path.parent.exists():
            raise TiewatchError(f"{self.path}: folder {self.path.parent} does not exist")
        limit = memory_limit or os.environ.get("TIEWATCH_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
        if not _MEMORY.match(limit.strip()):
            raise TiewatchError(f"memory limit {limit!r} (TIEWATCH_MEMORY_LIMIT): expected a size such as 3GB, "
                                "512MB or 80%")
        self.read_only, self.wait, self.on_wait, self._limit = read_only, wait, on_wait, limit.strip()
        self._released = False
        self._open()

    def _open(self) -> None:
        self.con = _connect(self.path, self.read_only, self.wait, self.on_wait)
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute(f"SET memory_limit = {_sql_str(self._limit)}")
            self.con.execute("SET preserve_insertion_order = false")
            if not self.read_only:
                tmp = self.path.with_name(self.path.name + ".tmp")
                self.con.execute(f"SET temp_directory = {_sql_str(str(tmp))}")
                self._set_size("max_temp_directory_size", temp_limit(self.path), "TIEWATCH_TEMP_LIMIT")
                self._ensure_schema()
            else:
                self._check_version()
        except duckdb.Error as e:
            self.con.close()
            raise TiewatchError(f"{self.path}: cannot use database: {_first_line(e)}") from None
        except BaseException:
            self.con.close()
            raise

    # -- sharing the file with other processes ------------------------------------------------------
    def release(self) -> None:
        """Close the file so other tiewatch commands can use it; `holding()` opens it again when needed.

        Long-running writers (watch) hold the database only while they write a batch: DuckDB lets one
        process write or many read, never both, so holding it for a lifetime would lock everyone out."""
        if not self._released:
            self.con.close()
            self._released = True

    @contextmanager
    def holding(self) -> Iterator[Store]:
        """The open database for the body (reopened, waiting up to `wait`, if released); released after it
        again when it was released before."""
        was_released = self._released
        if was_released:
            self._open()
            self._released = False
        try:
            yield self
        finally:
            if was_released:
                self.release()

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
        if version == SCHEMA_VERSION and self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name IN "
                f"({', '.join('?' for _ in TABLES)})", list(TABLES)).fetchall()[0][0] == len(TABLES):
            return  # up to date: no write at all (opening stays cheap for a watcher that reopens per batch)
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
            with contextlib.suppress(duckdb.TransactionException):  # DuckDB may have rolled back already
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
        other.read_only, other.wait, other.on_wait, other._limit = self.read_only, self.wait, self.on_wait, self._limit
        other._released = False
        other.con = self.con.cursor()
        other.con.execute("SET TimeZone = 'UTC'")
        return other

    def close(self) -> None:
        if not self._released:
            self.con.close()
        self._released = True

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
