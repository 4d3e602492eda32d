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


@pytest.fixture(scope="session")
def detected_db(seed_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed store with signals detected (read-mostly tests of the pages and the API)."""
    import shutil

    path = tmp_path_factory.mktemp("detected") / "seed.duckdb"
    shutil.copy(seed_db, path)
    Cli(path)("detect")
    return path


HOSTILE_CAST = {
    "star": ("<img src=x onerror=alert('h')>", "</script><script>alert('name')</script>"),
    "friend": ("friend_\"quote'", "<b>Bold</b> & <i>Friend</i>\u0007\u202e"),
    "actor": ("actor", "{{7*7}} ${7*7} <svg onload=alert(1)>"),
    "ex": ("ex", "<!-- comment --><style>body{display:none}</style>"),
}


@pytest.fixture(scope="session")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated story with handles, names and (through them) news titles made of markup and scripts."""
    from tiewatch.scenario import Cast, generate

    root = tmp_path_factory.mktemp("hostile")
    folder = generate(seed=1, cast=Cast(**HOSTILE_CAST)).write(root / "scenario")
    (folder / "truth.json").unlink()
    cli = Cli(root / "hostile.duckdb")
    cli("ingest", str(folder))
    cli("detect")
    return root / "hostile.duckdb"


class LiveServer:
    """`tiewatch serve`'s app on a free loopback port, in a thread of the test process."""

    def __init__(self, db: Path, *, token: str | None = "test-token", poll_s: float = 0.3, tz: str = "UTC") -> None:
        import socket
        import threading

        import uvicorn

        from tiewatch.web.app import create_app

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        app = create_app(db, token=token, poll_s=poll_s, tz=tz)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()
