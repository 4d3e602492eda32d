"""The engagement-rate prior reaches the rates of casual fans of prolific accounts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from conftest import Cli
from tiewatch.detect.engagement_prior import GRID


def casual_fans(path: Path, posts: int = 40_000, fans: int = 30, rate: float = 1.5e-4, seed: int = 3) -> Path:
    """One account posting `posts` times over 200 days; each fan likes each post with a constant `rate`
    (about one post in seven thousand), so nothing changes and every gap is ordinary."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1)
    step = timedelta(days=200) / posts
    rows = [{"id": f"p{i}", "ts": (t0 + i * step).isoformat() + "Z", "platform": "bsky", "actor": "star",
             "kind": "post", "post": f"p{i}"} for i in range(posts)]
    for f in range(fans):
        for i in np.nonzero(rng.random(posts) < rate)[0]:
            rows.append({"id": f"l{f}-{i}", "ts": (t0 + int(i) * step + timedelta(hours=1)).isoformat() + "Z",
                         "platform": "bsky", "actor": f"fan{f}", "kind": "like", "target": "star",
                         "post": f"p{i}"})
        rows += [{"id": f"s{f}-{d}", "ts": (t0 + timedelta(days=d, hours=2)).isoformat() + "Z", "platform": "bsky",
                  "actor": f"fan{f}", "kind": "post", "post": f"fp{f}-{d}"} for d in range(200)]  # active daily
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_casual_fans_of_a_prolific_account_are_not_silent(tmp_path: Path) -> None:
    """With a grid that stopped at 0.001 these fans' posteriors sat at 0.001 and their longest ordinary gaps
    (over ten thousand posts) had p-values near 1e-8: false silences on every skewed data set."""
    assert GRID[0] < 1e-5
    cli = Cli(tmp_path / "fans.duckdb")
    cli("ingest", str(casual_fans(tmp_path / "fans.jsonl")))
    out = cli.json("detect")
    assert out["tests"]["silence"] + out["untestable"]["silence"] > 150  # every gap of every fan is counted
    assert not [s for s in cli.json("signals") if s["kind"] in ("silence", "resumption")]
