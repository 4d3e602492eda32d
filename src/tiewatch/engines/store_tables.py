"""The store's own small tables that a remote engine needs besides the lake.

The watch-list tracker's tables (deletions of likes and posts, profile snapshots, the watch list) stay in the
store: they are the size of a watch list, not of the event stream, and the lake (`tiewatch export --parquet`)
does not hold them. The detectors that read them (unlike, post_deleted, profile_change) run their SQL on the
engine like every other, so before a run on another engine they are copied to it as small tables
(`share_store_tables`); an engine sees them empty until then, as a store that never tracked anything.
"""

from __future__ import annotations

from typing import Any

from tiewatch.engines.base import Engine

STORE_TABLES = ("record_deletes", "profiles", "watchlist")


def share_store_tables(engine: Engine, con: Any) -> None:
    """Make the store's tracker tables visible to `engine` under their own names (`con`: the store's DuckDB).
    Empty ones are left as the engine made them (an engine starts with them empty)."""
    for table in STORE_TABLES:
        if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchall()[0][0]:
            continue
        rel = con.sql(f"SELECT * FROM {table}")
        engine.register(table, (getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table)())
