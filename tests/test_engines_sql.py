"""SQL written once for DuckDB compiles to Spark SQL with exact statistics and explicit null ordering."""

from __future__ import annotations

import pytest

from tiewatch.engines.sql import SqlError, compile_sql


def test_functions_sqlglot_does_not_map_are_mapped() -> None:
    spark = compile_sql("SELECT epoch_us(ts) AS us, ts - to_microseconds(CAST(5e6 AS BIGINT)) AS before FROM t",
                        "spark")
    assert "UNIX_MICROS(ts)" in spark and "MAKE_DT_INTERVAL(0, 0, 0," in spark
    assert "EPOCH_US" not in spark and "TO_MICROSECONDS" not in spark


def test_percentiles_stay_exact() -> None:
    spark = compile_sql("SELECT median(x) OVER w, quantile_cont(x, 0.25) OVER w FROM t "
                        "WINDOW w AS (PARTITION BY a ORDER BY ts ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING)", "spark")
    assert spark.count("PERCENTILE(x,") == 2 and "APPROX" not in spark.upper()
    for approximate in ("approx_quantile(x, 0.5)", "percentile_approx(x, 0.5)", "approx_count_distinct(x)"):
        with pytest.raises(SqlError, match="only exact"):
            compile_sql(f"SELECT {approximate} FROM t", "duckdb")


def test_order_says_where_nulls_go_and_parameters_stay_named() -> None:
    spark = compile_sql("SELECT a FROM t WHERE ts >= $since AND list_contains(s, $who) ORDER BY a, b DESC", "spark")
    assert "a NULLS LAST" in spark and "b DESC" in spark  # DuckDB's defaults, spelled out for Spark
    assert ":since" in spark and "ARRAY_CONTAINS(s, :who)" in spark


def test_duckdb_text_is_kept_as_written() -> None:
    sql = "SELECT median(x) FROM t WHERE ts >= $since"
    assert compile_sql(sql, "duckdb") == sql
    with pytest.raises(SqlError, match="unknown engine"):
        compile_sql(sql, "oracle")


def test_functions_nested_in_mapped_functions_are_mapped_too() -> None:
    from tiewatch.engines.sql import compile_sql

    spark = compile_sql("SELECT quantile_cont(epoch_us(ts), 0.9) AS q, "
                        "epoch_us(greatest(a, b - to_microseconds(CAST(31536000000000 AS BIGINT)))) AS e FROM t",
                        "spark").upper()
    assert "EPOCH_US" not in spark and "TO_MICROSECONDS" not in spark and "QUANTILE" not in spark
    assert "PERCENTILE(UNIX_MICROS(TS), 0.9)" in spark
    assert "DECIMAL(20, 0)" in spark  # a year in microseconds does not fit DECIMAL(18, 6) before the division
