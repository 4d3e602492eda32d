"""The shape of the code: no import cycle between top-level parts, data flowing one way, a cheap start-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tiewatch"

# What each part may never import (the data flows sources -> ingest/store -> detect -> views -> front ends).
FORBIDDEN = {
    "sources": {"ingest", "store", "detect", "views", "cli", "signals"},
    "store": {"sources", "ingest", "detect", "views", "cli"},
    "ingest": {"detect", "views", "cli"},
    "detect": {"views", "cli"},
    "views": {"cli"},
}


def unit(module: str) -> str:
    """The top-level part of the package a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "tiewatch"


def import_graph() -> dict[str, set[str]]:
    """Every import anywhere in a module (function-local ones too), as edges between top-level parts."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        src = unit(module)
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target.startswith("tiewatch.") and unit(target) != src:
                    graph.setdefault(src, set()).add(unit(target))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_between_top_level_parts() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_data_flows_one_way(part: str) -> None:
    bad = import_graph().get(part, set()) & FORBIDDEN[part]
    assert not bad, f"{part} imports {sorted(bad)}"


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    code = ("import sys, runpy\nsys.argv = ['tiewatch', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('tiewatch', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('duckdb', 'pyarrow', 'numpy', 'scipy', 'rich', 'altair') if m in sys.modules)\n"
            "print('HEAVY:' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY:", out


def test_the_store_has_exactly_the_declared_columns(tmp_path: Path) -> None:
    from tiewatch.schema import TABLES
    from tiewatch.store import Store

    with Store(tmp_path / "s.duckdb") as store:
        rows = store.con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                                 "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall()
    stored: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_ in rows:
        stored.setdefault(table, []).append((column, type_))
    declared = {name: [(c.name, c.type) for c in t.columns] for name, t in TABLES.items()}
    assert stored == declared
