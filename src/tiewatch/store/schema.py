"""The store's DDL and migrations, derived from the one declaration of every table (tiewatch.schema)."""

from tiewatch.schema import EVENT_KINDS, TRACK_TABLES
from tiewatch.schema import TABLES as DECLARED

SCHEMA_VERSION = 5

__all__ = ["EVENT_KINDS", "MIGRATIONS", "SCHEMA_VERSION", "TABLES"]

TABLES: dict[str, str] = {name: table.ddl() for name, table in DECLARED.items()}

# Migrations from version N to N+1, applied in order inside one transaction after the tables above exist.
MIGRATIONS: dict[int, list[str]] = {
    1: [TABLES["snapshots"]],  # 2: follower-list snapshots, diffed into follow/unfollow events
    # 3: which ingest wrote each row (so a clean file can be written in one pass, then de-duplicated)
    2: [f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS ingest BIGINT" for t in ("events", "metrics", "news")]
       + ["ALTER TABLE ingests ADD COLUMN IF NOT EXISTS id BIGINT"],
    3: [TABLES[t] for t in TRACK_TABLES],  # 4: the watch list, profile snapshots, deletions, alert deliveries
    # 5: incremental backfill (getRepo?since=REV): the stored tree, and the bytes each repository cost
    4: [TABLES["repo_nodes"], "ALTER TABLE watchlist ADD COLUMN IF NOT EXISTS repo_bytes BIGINT",
        "ALTER TABLE watchlist ADD COLUMN IF NOT EXISTS last_fetch VARCHAR"],
}
