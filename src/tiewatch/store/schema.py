"""The canonical tables (DESIGN.md) plus quarantine, ingest log and metadata.

Times are stored as naive TIMESTAMP in UTC: portable to Spark and unambiguous once the convention is fixed.
An event whose exact time is unknown keeps the interval it is known to lie in (ts_lo, ts_hi); ts is then
the best single estimate (or NULL when nothing is known, e.g. X archive likes).
"""

from tiewatch.track.tables import TRACK_TABLES

SCHEMA_VERSION = 4

EVENT_KINDS = (
    "post", "story", "like", "comment", "reply", "mention", "repost", "message", "follow", "unfollow", "block",
)

TABLES: dict[str, str] = {
    "meta": "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "accounts": """CREATE TABLE IF NOT EXISTS accounts (
        platform VARCHAR NOT NULL, account VARCHAR NOT NULL, name VARCHAR, person VARCHAR, kind VARCHAR,
        source VARCHAR)""",
    "events": """CREATE TABLE IF NOT EXISTS events (
        id VARCHAR NOT NULL, ts TIMESTAMP, ts_lo TIMESTAMP, ts_hi TIMESTAMP, platform VARCHAR NOT NULL,
        actor VARCHAR NOT NULL, kind VARCHAR NOT NULL, target VARCHAR, post VARCHAR, text VARCHAR,
        source VARCHAR, ingest BIGINT)""",
    "metrics": """CREATE TABLE IF NOT EXISTS metrics (
        ts TIMESTAMP NOT NULL, platform VARCHAR NOT NULL, account VARCHAR NOT NULL, followers BIGINT,
        following BIGINT, posts BIGINT, source VARCHAR, ingest BIGINT)""",
    "news": """CREATE TABLE IF NOT EXISTS news (
        id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, title VARCHAR NOT NULL, subjects VARCHAR[], kind VARCHAR,
        status VARCHAR, url VARCHAR, source VARCHAR, ingest BIGINT)""",
    "signals": """CREATE TABLE IF NOT EXISTS signals (
        id VARCHAR NOT NULL, kind VARCHAR NOT NULL, ts TIMESTAMP, start TIMESTAMP, "end" TIMESTAMP,
        subjects VARCHAR[], score DOUBLE, p_value DOUBLE, q_value DOUBLE, evidence VARCHAR[], summary VARCHAR,
        detail VARCHAR, platform VARCHAR)""",
    "quarantine": """CREATE TABLE IF NOT EXISTS quarantine (
        file VARCHAR NOT NULL, line BIGINT, reason VARCHAR NOT NULL, raw VARCHAR, ingested_at TIMESTAMP)""",
    "ingests": """CREATE TABLE IF NOT EXISTS ingests (
        file VARCHAR NOT NULL, size BIGINT, sha256 VARCHAR, format VARCHAR, table_name VARCHAR,
        inserted BIGINT, duplicates BIGINT, rejected BIGINT, started TIMESTAMP, finished TIMESTAMP, id BIGINT)""",
    "cursors": """CREATE TABLE IF NOT EXISTS cursors (
        source VARCHAR PRIMARY KEY, cursor VARCHAR, updated TIMESTAMP)""",
    **TRACK_TABLES,
    "snapshots": """CREATE TABLE IF NOT EXISTS snapshots (
        platform VARCHAR NOT NULL, account VARCHAR NOT NULL, direction VARCHAR NOT NULL, member VARCHAR NOT NULL,
        taken TIMESTAMP NOT NULL, source VARCHAR)""",
}

# Migrations from version N to N+1, applied in order inside one transaction after the tables above exist.
MIGRATIONS: dict[int, list[str]] = {
    1: [TABLES["snapshots"]],  # 2: follower-list snapshots, diffed into follow/unfollow events
    # 3: which ingest wrote each row (so a clean file can be written in one pass, then de-duplicated)
    2: [f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS ingest BIGINT" for t in ("events", "metrics", "news")]
       + ["ALTER TABLE ingests ADD COLUMN IF NOT EXISTS id BIGINT"],
    3: list(TRACK_TABLES.values()),  # 4: the watch list, profile snapshots, deletions, alert deliveries
}
