"""The store's DuckDB settings that bound a process's memory and disk: what a user running at scale relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiewatch.store import Store


def _setting(store: Store, name: str) -> str:
    return str(store.con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0])


def test_default_memory_limit_leaves_room_under_4gb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIEWATCH_MEMORY_LIMIT", raising=False)
    with Store(tmp_path / "s.duckdb") as store:
        assert _setting(store, "memory_limit") == "1.8 GiB"  # 2 GB: DuckDB's share of a 4 GB process
        assert _setting(store, "preserve_insertion_order") .lower() == "false"
        assert Path(_setting(store, "temp_directory")) == tmp_path / "s.duckdb.tmp"


def test_memory_and_temp_limits_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEWATCH_MEMORY_LIMIT", "6GB")
    monkeypatch.setenv("TIEWATCH_TEMP_LIMIT", "30GB")
    with Store(tmp_path / "s.duckdb") as store:
        assert _setting(store, "memory_limit") == "5.5 GiB"
        assert _setting(store, "max_temp_directory_size") == "27.9 GiB"
