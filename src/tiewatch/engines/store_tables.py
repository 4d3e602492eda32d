"""The store's own small tables that a remote engine needs besides the lake.

The watch-list tracker's tables (deletions of likes and posts, profile snapshots, the watch list) stay in the
store: they are the size of a watch list, not of the event stream, and the lake (`tiewatch export --parquet`)
does not hold them. The detectors that read them (unlike, post_deleted, profile_change) run their SQL on the
engine like every other, so before a run on another engine they are copied to it as small tables
(`share_store_tables`); an engine started without them sees them empty (`empty_store_tables`), as a store
that never tracked anything.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tiewatch.engines.base import Engine
from tiewatch.schema import TABLES

STORE_TABLES = ("record_deletes", "profiles", "watchlist")
ARROW_TYPES = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(),
               "INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64()}


def empty_store_tables(engine: Engine) -> None:
    """The tracker's tables, empty, with the store's columns and types."""
    for table in STORE_TABLES:
        cols = TABLES[table].columns
        engine.register(table, pa.table({c.name: pa.array([], ARROW_TYPES[c.type]) for c in cols}))


def share_store_tables(engine: Engine, con: Any) -> None:
    """Make the store's tracker tables visible to `engine` under their own names (`con`: the store's DuckDB)."""
    for table in STORE_TABLES:
        rel = con.sql(f"SELECT * FROM {table}")
        engine.register(table, (getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table)())
