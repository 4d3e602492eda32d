"""Watching accounts, not files: a Bluesky watch list, its backfill, snapshots, live stream and alerts."""
