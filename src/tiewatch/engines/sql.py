"""SQL written once, in DuckDB's dialect, compiled for each engine with sqlglot (the Ibis habit).

Detector and view queries are written as DuckDB SQL with named parameters (`$since`, `$until`, ...); values are
bound, never pasted into the text. `compile_sql(sql, "spark")` gives the Spark SQL of the same query: sqlglot
maps what it knows (list_contains -> array_contains, unnest -> explode, explicit NULLS FIRST/LAST wherever
order matters, named parameters -> `:name`), and `SPARK_FUNCTIONS` below maps the few functions it does not.

Only exact statistics are allowed: an approximate percentile changes which gaps are flagged (on 10M events,
8,429 instead of 5,824), so a query that asks for one is refused for every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlglot
from sqlglot import exp

ENGINES = ("duckdb", "spark")
APPROXIMATE = (exp.ApproxQuantile, exp.ApproxDistinct)
APPROXIMATE_NAMES = {"APPROX_QUANTILE", "PERCENTILE_APPROX", "APPROX_PERCENTILE", "APPROX_COUNT_DISTINCT",
                     "RESERVOIR_QUANTILE"}


class SqlError(ValueError):
    """A query that cannot be compiled for an engine (a programming error, caught by the snapshot tests)."""


def _args(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [a for a in (node.this, node.expression) if isinstance(a, exp.Expression)] or list(node.expressions)


def _epoch_us(node: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="UNIX_MICROS", expressions=_args(node))


def _to_microseconds(node: exp.Expression) -> exp.Expression:
    # An interval of N microseconds: make_dt_interval takes seconds as DECIMAL(18,6), exact to the microsecond.
    # Divided as DECIMAL(20, 0), then narrowed: N microseconds are N / 10^6 seconds exactly (six decimals).
    (n,) = _args(node)
    seconds = exp.Cast(this=exp.Div(this=exp.Cast(this=n, to=exp.DataType.build("DECIMAL(20, 0)")),
                                    expression=exp.Literal.number(1_000_000)),
                       to=exp.DataType.build("DECIMAL(18, 6)"))
    return exp.Anonymous(this="MAKE_DT_INTERVAL", expressions=[exp.Literal.number(0), exp.Literal.number(0),
                                                                exp.Literal.number(0), seconds])


def _percentile(node: exp.Expression) -> exp.Expression:
    # DuckDB's quantile_cont(x, q) and median(x) are exact with linear interpolation, as is Spark's percentile.
    if isinstance(node, exp.Median):
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, exp.Literal.number(0.5)])
    value, q = node.this, node.expression
    return exp.Anonymous(this="PERCENTILE", expressions=[value, q])


SPARK_FUNCTIONS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "EPOCH_US": _epoch_us,
    "TO_MICROSECONDS": _to_microseconds,
}


def _function_name(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper()
    return None


def _check_exact(tree: exp.Expr) -> None:
    for node in tree.walk():
        name = _function_name(node)
        if isinstance(node, APPROXIMATE) or (name is not None and name in APPROXIMATE_NAMES):
            raise SqlError(f"approximate statistic {node.sql('duckdb')!r}: only exact percentiles are allowed")


def _to_spark(node: exp.Expression) -> exp.Expression:
    name = _function_name(node)
    if name is not None and name in SPARK_FUNCTIONS:
        return SPARK_FUNCTIONS[name](node)
    if isinstance(node, exp.PercentileCont | exp.Median):
        return _percentile(node)
    return node


@lru_cache(maxsize=1024)
def _parse(sql: str) -> exp.Expr:
    """A query's syntax tree, parsed once per text (binding and compiling both need it, and a tracker runs the
    same queries every period). Shared: callers never change it (sqlglot's transform copies)."""
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise SqlError(f"cannot parse query: {e}") from None


def parameters(sql: str) -> set[str]:
    """The named parameters ($name) a query uses."""
    return {str(p.this) for p in _parse(sql).find_all(exp.Placeholder) if p.this}


def bind(sql: str, params: dict[str, object] | None) -> dict[str, object]:
    """The values of the parameters `sql` uses (engines refuse values a query does not ask for)."""
    wanted = parameters(sql) if params else set()
    missing = wanted - set(params or {})
    if missing:
        raise SqlError(f"no value for parameter(s) {', '.join(sorted(missing))}")
    return {k: v for k, v in (params or {}).items() if k in wanted}


def compile_sql(sql: str, engine: str = "duckdb") -> str:
    """The query for `engine`: DuckDB's text as written (checked), Spark SQL compiled from it."""
    if engine not in ENGINES:
        raise SqlError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    tree = _parse(sql)
    _check_exact(tree)
    if engine == "duckdb":
        return sql
    # sqlglot's transform does not descend into a node it has just replaced, so a call nested in a mapped one
    # (epoch_us inside quantile_cont) needs another pass: repeat until nothing maps any more.
    text = tree.sql(dialect="spark", pretty=True)
    for _ in range(20):
        tree = tree.transform(_to_spark)
        new = tree.sql(dialect="spark", pretty=True)
        if new == text:
            break
        text = new
    return text
