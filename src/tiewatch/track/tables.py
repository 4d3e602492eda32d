"""The tables the tracker adds to the store (schema version 4), kept here so the tracker owns its schema.

* watchlist: one row per watched entry (a handle or DID as the user typed it) and what was resolved for it:
  DID, handle, PDS, the repository revision last backfilled, and when each kind of work last ran.
* profiles: periodic profile snapshots (display name, bio, avatar, status), the input of profile_change.
* record_deletes: deletions of likes and posts (from Jetstream, or found missing from a newer repository),
  the input of unlike and post_deleted; ts_lo is set when the deletion is only known to lie in an interval.
* alerts: one row per (signal, channel): baseline (there before tracking), sent or failed, with attempts.
* track_log: what the tracker held back or could not do (rate limits, caps, unreachable hosts).
"""

TRACK_TABLES: dict[str, str] = {
    "watchlist": """CREATE TABLE IF NOT EXISTS watchlist (
        entry VARCHAR PRIMARY KEY, did VARCHAR, handle VARCHAR, pds VARCHAR, added TIMESTAMP, resolved TIMESTAMP,
        rev VARCHAR,
        backfilled TIMESTAMP, profiled TIMESTAMP, followers_listed TIMESTAMP, followers_capped BOOLEAN,
        error VARCHAR)""",
    "profiles": """CREATE TABLE IF NOT EXISTS profiles (
        ts TIMESTAMP NOT NULL, did VARCHAR NOT NULL, handle VARCHAR, display_name VARCHAR, description VARCHAR,
        avatar VARCHAR, status VARCHAR, source VARCHAR)""",
    "record_deletes": """CREATE TABLE IF NOT EXISTS record_deletes (
        id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, ts_lo TIMESTAMP, did VARCHAR NOT NULL,
        collection VARCHAR NOT NULL, rkey VARCHAR NOT NULL, source VARCHAR)""",
    "alerts": """CREATE TABLE IF NOT EXISTS alerts (
        signal VARCHAR NOT NULL, channel VARCHAR NOT NULL, status VARCHAR NOT NULL, attempts INTEGER,
        first_try TIMESTAMP, last_try TIMESTAMP, next_try TIMESTAMP, error VARCHAR, payload VARCHAR,
        PRIMARY KEY (signal, channel))""",
    "track_log": """CREATE TABLE IF NOT EXISTS track_log (
        ts TIMESTAMP NOT NULL, account VARCHAR, what VARCHAR NOT NULL, message VARCHAR)""",
}
