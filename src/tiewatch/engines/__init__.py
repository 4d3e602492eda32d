"""Where detector SQL runs: DuckDB (embedded, the default) or Apache Spark, from one SQL text."""
