"""Alerts: channels and rules from a TOML file, and exactly-once bookkeeping of each delivery in the store."""
