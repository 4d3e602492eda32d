"""The command line itself: help, version, module entry point, account names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Cli
from tiewatch import __version__
from tiewatch.accounts import resolve
from tiewatch.errors import TiewatchError
from tiewatch.store import Store


def test_help_and_version(cli: Cli) -> None:
    assert "ingest" in cli("--help").stdout
    assert __version__ in cli("--version").stdout


def test_python_dash_m(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "tiewatch", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_db_from_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.duckdb"
    env = {"TIEWATCH_DB": str(db), "PATH": ""}
    missing = subprocess.run([sys.executable, "-m", "tiewatch", "stats", "--json"], capture_output=True, text=True,
                             env=env)
    assert missing.returncode == 1 and "no such database" in missing.stderr and not db.exists()
    (tmp_path / "e.jsonl").write_text('{"id":"1","ts":"2024-01-01","actor":"a","kind":"post"}\n')
    subprocess.run([sys.executable, "-m", "tiewatch", "ingest", str(tmp_path / "e.jsonl")], env=env, check=True,
                   capture_output=True)
    out = subprocess.run([sys.executable, "-m", "tiewatch", "stats", "--json"], capture_output=True, text=True,
                         env=env, check=True)
    assert '"events"' in out.stdout and db.exists()


def test_accounts_are_named_by_handle_platform_or_display_name(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"platform":"instagram","account":"xeesoxee","name":"Han So-hee"}\n'
        '{"platform":"bluesky","account":"xeesoxee","name":"Han So-hee"}\n'
        '{"platform":"instagram","account":"songhyekyo","name":"Song Hye-kyo"}\n')
    cli("ingest", str(tmp_path / "a.jsonl"))
    with Store(cli.db) as store:
        assert resolve(store, "SONGHYEKYO").account == "songhyekyo"
        assert resolve(store, "song hye-kyo").account == "songhyekyo"
        assert resolve(store, "bluesky:xeesoxee").platform == "bluesky"
        with pytest.raises(TiewatchError, match=r"ambiguous.*instagram:xeesoxee"):
            resolve(store, "Han So-hee")
        with pytest.raises(TiewatchError, match=r"no account named 'song'.*songhyekyo"):
            resolve(store, "song")
    rows = cli.json("accounts", "--search", "hye")
    assert [r["account"] for r in rows] == ["songhyekyo"]


def test_cli_reference_is_current() -> None:
    from conftest import REPO
    from tiewatch.clidoc import reference

    assert (REPO / "docs" / "cli.md").read_text() == reference(), "run: python -m tiewatch.clidoc > docs/cli.md"
