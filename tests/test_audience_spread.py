"""Audience drops on accounts whose usual daily change has no spread at all."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from conftest import Cli


def _metrics(path: Path, counts: list[int]) -> Path:
    """One daily snapshot per count, from 1 January 2024."""
    t0 = datetime(2024, 1, 1, 12)
    rows = [{"ts": (t0 + timedelta(days=i)).isoformat() + "Z", "platform": "x", "account": "acct", "followers": c}
            for i, c in enumerate(counts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("name,counts", [
    ("flat", [10_000] * 60 + [5_000] * 10),
    ("steady growth", [10_000 + 10 * i for i in range(60)] + [5_000 + 10 * i for i in range(10)]),
])
def test_an_account_with_zero_spread_that_loses_half_its_followers_raises_a_drop(tmp_path: Path, name: str,
                                                                                 counts: list[int]) -> None:
    cli = Cli(tmp_path / "a.duckdb")
    cli("ingest", str(_metrics(tmp_path / "metrics.jsonl", counts)), "--table", "metrics")
    cli("detect")
    drops = cli.json("signals", "--kind", "audience_drop")
    assert len(drops) == 1, name
    d = drops[0]["detail"]
    assert d["followers_before"] == counts[59] and d["followers_after"] == counts[60]
    assert d["change_pct"] < -45
    assert drops[0]["start"].startswith("2024-02-29") and drops[0]["end"].startswith("2024-03-01")


def test_a_flat_account_that_stays_flat_raises_nothing(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "a.duckdb")
    cli("ingest", str(_metrics(tmp_path / "metrics.jsonl", [10_000] * 60 + [10_001, 10_000] * 5)), "--table",
        "metrics")
    cli("detect")
    assert not [s for s in cli.json("signals") if s["kind"].startswith("audience")]


def test_a_change_of_trend_is_reported_as_an_untested_shift(tmp_path: Path) -> None:
    """Growth of about 50 a day for 90 days, then a steady loss of about 40 a day, with daily noise of
    ±80: no single day is an
    outlier, but the trend changed; segmentation reports where, without a p-value."""
    rng = np.random.default_rng(0)
    counts = [20_000 + 50 * i + int(rng.integers(-80, 81)) for i in range(90)]
    counts += [counts[-1] - 40 * (i + 1) + int(rng.integers(-80, 81)) for i in range(60)]
    cli = Cli(tmp_path / "a.duckdb")
    cli("ingest", str(_metrics(tmp_path / "metrics.jsonl", counts)), "--table", "metrics")
    cli("detect")
    shifts = cli.json("signals", "--kind", "audience_shift")
    assert len(shifts) == 1
    s = shifts[0]
    assert s["p_value"] is None and s["q_value"] is None
    assert abs((datetime.fromisoformat(s["end"].rstrip("Z")) - datetime(2024, 3, 31, 12)).days) <= 2
    assert 40 < s["detail"]["trend_before_per_day"] < 60 and -50 < s["detail"]["trend_after_per_day"] < -30
    assert "not a statistical test" in s["summary"]
