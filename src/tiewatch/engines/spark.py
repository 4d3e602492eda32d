"""Apache Spark as an engine: the same detector SQL, compiled for Spark SQL, over a Parquet lake.

The lake's tables (`tiewatch export --parquet`) become temporary views named as in the store; a query is
compiled with `engines.sql.compile_sql(sql, "spark")` and run with its values bound (`spark.sql(text,
args=...)`). Results come back to the driver as Arrow; detectors screen in SQL first, so what comes back is
bounded by the number of candidates, never by the number of events.

The session works as the store does: time zone UTC, timestamps without a time zone (TIMESTAMP_NTZ, as
DuckDB's TIMESTAMP), ANSI SQL semantics. `local[2]` runs Spark in this process's JVM; `--remote sc://HOST:PORT`
talks to a Spark Connect server (the client needs `pip install tiewatch[spark-connect]`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from tiewatch.engines.shared import inline_ctes
from tiewatch.engines.sql import bind, compile_sql
from tiewatch.engines.store_tables import STORE_TABLES
from tiewatch.errors import TiewatchError
from tiewatch.lake import LAKE_COLUMNS, LAKE_TABLES, table_files
from tiewatch.schema import TABLES

SPARK_TYPES = {"VARCHAR": "STRING", "TIMESTAMP": "TIMESTAMP_NTZ", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE",
               "VARCHAR[]": "ARRAY<STRING>", "BOOLEAN": "BOOLEAN", "INTEGER": "INT"}
# What every session needs for DuckDB's answers: UTC, naive timestamps, exact ANSI arithmetic, and no network
# beyond the loopback interface for a local master.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class SparkUnavailable(TiewatchError):
    """pyspark (or a Java runtime) is missing."""

    code = "spark_unavailable"


def spark_session(master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """A Spark session for tiewatch: classic on `master` (default local[2]) or Spark Connect at `remote`."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'tiewatch[spark]'") from None
    if master and remote:
        raise TiewatchError("choose --master or --remote, not both")
    if remote:
        _probe(remote)
    under_submit = bool(os.environ.get("PYSPARK_GATEWAY_PORT"))  # started by spark-submit: its --master rules
    local = not remote and not (under_submit and not master) and (master or "local").startswith("local")
    builder = SparkSession.builder.appName("tiewatch")
    if remote:
        builder = builder.remote(remote)
    elif master or not under_submit:
        builder = builder.master(master or "local[2]")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # a local master listens on loopback only
        # As many shuffle partitions as local cores: the candidates' data is small after each screen, and
        # Spark's default (200) costs more in scheduling than it computes here.
        cores = (master or "local[2]").removeprefix("local[").removesuffix("]")
        if cores.isdigit():
            builder = builder.config("spark.sql.shuffle.partitions", cores)
        for k, v in LOCAL_CONF.items():
            builder = builder.config(k, v)
    for k, v in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(k, v)
    try:
        session = builder.getOrCreate()
    except Exception as e:  # a JVM that cannot start, a server that does not answer
        raise SparkUnavailable(f"cannot start Spark ({'--remote ' + remote if remote else master}): "
                               f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    for k, v in SESSION_CONF.items():  # a session that already existed keeps its own settings otherwise
        session.conf.set(k, v)
    _quiet(session, remote)
    return session


def _probe(remote: str) -> None:
    """Fail at once when nothing listens at sc://HOST:PORT (the Connect client retries for minutes)."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(remote)
    if url.scheme != "sc" or not url.hostname:
        raise TiewatchError(f"--remote {remote}: expected sc://HOST:PORT")
    try:
        socket.create_connection((url.hostname, url.port or 15002), timeout=10).close()
    except OSError as e:
        raise SparkUnavailable(f"--remote {remote}: no Spark Connect server answers ({e.strerror or e})") from None


def _quiet(session: Any, remote: str | None) -> None:
    """Failures reach the user as one line (SparkFailed), not as a JVM log or pyspark's JSON error log."""
    import logging

    try:
        from pyspark.logger import PySparkLogger

        for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
            PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)
    except ImportError:  # an older pyspark without these loggers
        pass
    if not remote:
        session.sparkContext.setLogLevel("FATAL")


class SparkFailed(TiewatchError):
    """A query Spark refused or could not finish."""

    code = "spark_failed"


def _schema(table: str) -> str:
    cols = TABLES[table]
    return ", ".join(f"`{c}` {SPARK_TYPES[cols.column(c).type]}" for c in LAKE_COLUMNS[table])


def _store_schema(table: str) -> str:
    return ", ".join(f"`{c.name}` {SPARK_TYPES[c.type]}" for c in TABLES[table].columns)


def _naive(table: pa.Table) -> pa.Table:
    """Timestamps as the store has them: microseconds, no time zone (values in UTC)."""
    fields = []
    changed = False
    for f in table.schema:
        t = f.type
        if pa.types.is_timestamp(t) and (t.tz is not None or t.unit != "us"):
            fields.append(pa.field(f.name, pa.timestamp("us"), f.nullable))
            changed = True
        else:
            fields.append(f)
    if not changed:
        return table
    cols = [c.cast(pa.timestamp("us", tz=c.type.tz)).cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type)
            else c for c in table.columns]
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


class SparkEngine:
    """Runs detector SQL on Spark over a lake, with values bound as named parameters."""

    name = "spark"
    computes_ctes_once = False  # Spark inlines every reference to a CTE: see engines.shared

    def __init__(self, session: Any, lake: str | Path) -> None:
        # A session of its own (sharing the SparkContext): its temporary views are its lake's, whatever other
        # engines in the same application have registered.
        try:
            self.spark = session.newSession()
        except Exception:  # Spark Connect: one session per client
            self.spark = session
        for k, v in SESSION_CONF.items():
            self.spark.conf.set(k, v)
        self.lake = Path(lake)
        self._cached: dict[str, Any] = {}
        for table in LAKE_TABLES:
            files = [str(f.resolve()) for f in table_files(self.lake, table)]
            if files:  # the columns from the files, typed as the store types them
                df = self.spark.read.schema(_schema(table)).parquet(*files)
            else:
                df = self.spark.createDataFrame([], _schema(table))
            df.createOrReplaceTempView(table)
        for table in STORE_TABLES:  # the tracker's tables are the store's: a run copies them in (share_store_tables)
            self.spark.createDataFrame([], _store_schema(table)).createOrReplaceTempView(table)

    def _sql(self, sql: str, params: dict[str, Any] | None) -> Any:
        return self.spark.sql(compile_sql(sql, "spark"), args=bind(sql, params) or None)

    def _run(self, action: Any) -> Any:
        try:
            return action()
        except Exception as e:
            if type(e).__module__.startswith(("pyspark", "py4j")):
                raise SparkFailed(f"Spark: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") \
                    from None
            raise

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        return _naive(self._run(lambda: self._sql(sql, params).toArrow()))

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self._run(lambda: self._sql(sql, params).limit(1).collect())
        return rows[0][0] if rows else None

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        self.drop(name)

        def build() -> Any:
            # Without its CTE definitions, so that later queries find the cached rows (engines.shared.inline_ctes)
            df = self._sql(inline_ctes(sql), params).cache()
            df.count()  # computed once here, as DuckDB's CREATE TEMP TABLE does
            return df

        df = self._run(build)
        df.createOrReplaceTempView(name)
        self._cached[name] = df

    def register(self, name: str, table: pa.Table) -> None:
        self.drop(name)
        df = self.spark.createDataFrame(table)
        df.createOrReplaceTempView(name)
        self._cached[name] = None

    def drop(self, name: str) -> None:
        if name in self._cached:
            df = self._cached.pop(name)
            if df is not None:
                df.unpersist()
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        for name in list(self._cached):
            self.drop(name)

