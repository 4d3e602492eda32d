"""Shared fixtures: a fresh real DuckDB store per test, the CLI through Click's runner, shared data paths."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tiewatch.cli import app
from tiewatch.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TIEWATCH_SHARED", REPO.parent / "shared"))
SEED = SHARED / "scenarios" / "seed"
COLLEGEMSG = SHARED / "data" / "collegemsg" / "CollegeMsg.txt"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = Store(db)
    yield s
    s.close()


class Cli:
    """Runs `tiewatch --db <db> ...` in-process and returns the result."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(app, ["--db", str(self.db), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def cli(db: Path) -> Cli:
    return Cli(db)


@pytest.fixture(scope="session")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the seed scenario ingested once, shared by read-only tests."""
    if not SEED.exists():
        pytest.fail(f"seed scenario not found at {SEED} (set TIEWATCH_SHARED)")
    path = tmp_path_factory.mktemp("seed") / "seed.duckdb"
    Cli(path)("ingest", str(SEED))
    return path
