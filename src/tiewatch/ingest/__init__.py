"""Ingest: typing, validating and loading raw records into the store, atomically and idempotently."""
