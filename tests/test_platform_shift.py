"""platform_shift: many accounts moving the same day are reported as one shared cause, by a test."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from conftest import Cli


def _metrics(path: Path, movers: int, seed: int) -> Path:
    """30 accounts, 120 daily snapshots each, trend + Student-t noise; on day 90 the first `movers` lose
    3-8 % of their followers."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2022, 10, 1, 6)
    rows = []
    for a in range(30):
        base, trend = rng.uniform(5_000, 50_000), rng.uniform(-5, 20)
        x = base + trend * np.arange(120) + np.cumsum(rng.standard_t(5, 120) * 8)
        if a < movers:
            x[90:] -= x[90] * rng.uniform(0.03, 0.08)
        rows += [{"ts": (t0 + timedelta(days=i)).isoformat() + "Z", "platform": "x", "account": f"acct{a:02d}",
                  "followers": int(v)} for i, v in enumerate(x)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_many_accounts_dropping_the_same_day_are_one_platform_shift(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "p.duckdb")
    cli("ingest", str(_metrics(tmp_path / "m.jsonl", movers=10, seed=1)), "--table", "metrics")
    cli("detect")
    shifts = cli.json("signals", "--kind", "platform_shift")
    assert len(shifts) == 1
    s = shifts[0]
    assert s["ts"].startswith("2022-12-30") and s["detail"]["direction"] == "down"
    assert set(s["detail"]["cohort"]) == {f"acct{a:02d}" for a in range(10)}
    assert s["p_value"] is not None and s["q_value"] <= 0.05
    assert "platform-wide shift" in s["summary"]
    drops = cli.json("signals", "--kind", "audience_drop")
    named = [d for d in drops if d["detail"].get("platform_shift")]
    assert named and all(len(d["detail"]["cohort"]) == 9 for d in named)


def test_accounts_moving_on_their_own_raise_no_platform_shift(tmp_path: Path) -> None:
    for seed in (2, 3):
        cli = Cli(tmp_path / f"p{seed}.duckdb")
        cli("ingest", str(_metrics(tmp_path / f"m{seed}.jsonl", movers=1, seed=seed)), "--table", "metrics")
        cli("detect")
        assert not cli.json("signals", "--kind", "platform_shift")
