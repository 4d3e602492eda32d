"""The DuckDB store: schema, connection settings, transactions."""

from tiewatch.store.database import Store, default_db_path

__all__ = ["Store", "default_db_path"]
