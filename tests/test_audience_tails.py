"""Audience day tests on accounts whose daily change is heavier-tailed than a t4: each account's own tail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from conftest import Cli


def _metrics(path: Path, series: dict[str, np.ndarray]) -> Path:
    t0 = datetime(2023, 3, 1, 9)
    rows = [{"ts": (t0 + timedelta(days=i)).isoformat() + "Z", "platform": "x", "account": name,
             "followers": int(v)} for name, x in series.items() for i, v in enumerate(x)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _spiky(rng: np.random.Generator, days: int = 240) -> np.ndarray:
    """Growth with t2 daily noise (finite mean, infinite variance): many days jump far beyond what a t4 allows,
    and no change is planted."""
    return 50_000 + 20 * np.arange(days) + np.cumsum(rng.standard_t(2, days) * 15)


def _day_signals(cli: Cli) -> list[dict[str, object]]:
    return [s for s in cli.json("signals") if s["kind"] in ("audience_drop", "audience_surge")]


def test_spiky_accounts_with_no_change_raise_no_drop_or_surge(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    cli = Cli(tmp_path / "a.duckdb")
    cli("ingest", str(_metrics(tmp_path / "m.jsonl", {f"acct{i}": _spiky(rng) for i in range(8)})), "--table",
        "metrics")
    cli("detect")
    # Under a t4 these series give dozens of "significant" days; under their own tail, none (FDR 5%: at most
    # one false episode would be within the level).
    assert len(_day_signals(cli)) <= 1


def test_a_real_drop_on_a_spiky_account_is_still_found_with_its_tail_reported(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    x = _spiky(rng)
    x[200:] -= 0.4 * x[200]
    cli = Cli(tmp_path / "a.duckdb")
    cli("ingest", str(_metrics(tmp_path / "m.jsonl", {"acct": x})), "--table", "metrics")
    cli("detect")
    drops = cli.json("signals", "--kind", "audience_drop")
    assert len(drops) == 1
    d = drops[0]
    assert d["end"].startswith("2023-09-17")  # day 200
    assert d["detail"]["change_pct"] < -35
    assert d["detail"]["noise_df"] in (1, 2, 3)  # the account's own heavy tail, not the t4
    assert d["p_value"] is not None and d["q_value"] <= 0.05


def test_under_a_t4_the_same_spiky_accounts_would_raise_several(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The null check above can fail: with the tail fixed at the t4 (the model before), the same series raise
    false drops and surges."""
    from tiewatch.detect import audience

    monkeypatch.setattr(audience, "TAIL_DF", (4,))
    rng = np.random.default_rng(7)
    cli = Cli(tmp_path / "a.duckdb")
    cli("ingest", str(_metrics(tmp_path / "m.jsonl", {f"acct{i}": _spiky(rng) for i in range(8)})), "--table",
        "metrics")
    cli("detect")
    assert len(_day_signals(cli)) >= 3
