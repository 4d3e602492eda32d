"""Common table expressions computed once, on engines that would compute them once per reference.

A detector query names an intermediate once (`WITH tie AS (...)`) and reads it several times. DuckDB computes
such a CTE once and scans the result at each reference (its plans show `CTE` and `CTE Scan`). Spark inlines
every reference: a CTE read by two others, each read twice, is computed four times, each time from a scan of
the events, with its shuffles (docs/scale.md counts them per detector).

`shared_ctes(engine, sql, params, names)` gives the query to run. On an engine that computes a CTE once
(`computes_ctes_once`, DuckDB), it is the query as written: DuckDB keeps its plan. On one that does not
(Spark), each named CTE is first materialised through `engine.materialize` (Spark caches it) as the view
`tw_cte_<name>`, in the order the WITH clause defines them, each from the CTEs it needs (those not shared
are carried along inline); the query returned reads the views instead, and the views are dropped when the
`with` block ends. The rows are the same either way: only where the work happens changes.

Choose the CTEs to share: small intermediates read several times (candidates, a subject's ties), not a copy
of the events, which each reference reads more cheaply with its own filters pushed into the scan.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlglot
from sqlglot import exp

from tiewatch.engines.base import Engine
from tiewatch.engines.sql import SqlError

PREFIX = "tw_cte_"


def _referenced(node: exp.Expr, names: set[str]) -> set[str]:
    """The names among `names` that `node` reads as tables (unqualified)."""
    return {t.name for t in node.find_all(exp.Table) if t.name in names and not t.args.get("db")}


def split_shared(sql: str, names: Sequence[str]) -> tuple[list[tuple[str, str]], str]:
    """([(view, its query)], the rest of the query reading the views), all in DuckDB's dialect.

    Each view's query holds the CTE's body with the unshared CTEs it needs (directly or through others); the
    references to a shared CTE, in the views' queries and the rest, read `tw_cte_<name>` under the alias the
    reference had (or the CTE's name), so qualified columns keep working. Unshared CTEs that only the shared
    ones needed are left out of the rest."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise SqlError(f"cannot parse query: {e}") from None
    with_ = tree.args.get("with_")
    ctes: list[exp.CTE] = list(with_.expressions) if isinstance(with_, exp.With) else []
    defined = [c.alias for c in ctes]
    unknown = [n for n in names if n not in defined]
    if unknown:
        raise SqlError(f"no common table expression named {', '.join(unknown)} to share")
    shared = {n: PREFIX + n for n in defined if n in set(names)}

    def to_view(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name in shared and not node.args.get("db"):
            view = node.copy()
            view.set("this", exp.to_identifier(shared[node.name]))
            if not node.alias:
                view.set("alias", exp.TableAlias(this=exp.to_identifier(node.name)))
            return view
        return node

    bodies = {c.alias: c.this.transform(to_view) for c in ctes}
    inline = [n for n in defined if n not in shared]

    def needed(start: set[str]) -> list[str]:
        """The unshared CTEs read from `start` (bodies or names), transitively, in definition order."""
        seen: set[str] = set()
        todo = list(start)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo += _referenced(bodies[name], set(inline))
        return [n for n in inline if n in seen]

    def with_clause(deps: list[str]) -> str:
        return ("WITH " + ",\n".join(f"{d} AS ({bodies[d].sql(dialect='duckdb')})" for d in deps) + "\n"
                if deps else "")

    views = []
    for name in shared:
        deps = needed(_referenced(bodies[name], set(inline)))
        body = bodies[name].sql(dialect="duckdb")
        views.append((shared[name], f"{with_clause(deps)}SELECT * FROM ({body}) AS {PREFIX}body" if deps else body))
    rest = tree.copy()
    rest.set("with_", None)
    rest = rest.transform(to_view)
    deps = needed(_referenced(rest, set(inline)))
    return views, with_clause(deps) + rest.sql(dialect="duckdb")


def inline_ctes(sql: str) -> str:
    """The query with every CTE reference replaced by the CTE's body as a derived table (what Spark's planner
    does with a deterministic CTE anyway), in DuckDB's dialect.

    Spark needs it before caching a query (`SparkEngine.materialize`): a cached plan that keeps its CTE
    definitions is not recognised inside a later query that has a WITH clause of its own (Spark merges the
    definitions into the outer query's), so that query would silently compute the table again."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise SqlError(f"cannot parse query: {e}") from None
    with_ = tree.args.get("with_")
    if not isinstance(with_, exp.With):
        return sql
    bodies: dict[str, exp.Expr] = {}

    def expand(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name in bodies and not node.args.get("db"):
            return exp.Subquery(this=bodies[node.name].copy(),
                                alias=exp.TableAlias(this=exp.to_identifier(node.alias or node.name)))
        return node

    for cte in with_.expressions:
        bodies[cte.alias] = cte.this.transform(expand)
    rest = tree.copy()
    rest.set("with_", None)
    return rest.transform(expand).sql(dialect="duckdb")


@contextmanager
def shared_ctes(engine: Engine, sql: str, params: dict[str, Any] | None, names: Sequence[str]) -> Iterator[str]:
    """The query to run on `engine`: `sql` itself where the engine computes each CTE once, else the query
    reading the CTEs `names` materialised once each (dropped again when the block ends)."""
    if not names or getattr(engine, "computes_ctes_once", True):
        yield sql
        return
    views, rest = split_shared(sql, names)
    made: list[str] = []
    try:
        for view, query in views:
            engine.materialize(view, query, params)
            made.append(view)
        yield rest
    finally:
        for view in reversed(made):
            engine.drop(view)
