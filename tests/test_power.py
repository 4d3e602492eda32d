"""Discrete-test power: silence tests that can never pass stop diluting the false-discovery count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conftest import Cli

DAY = 86400
T0 = 1_600_000_000


def _account_with_fans(path: Path, seed: int, silence: bool, fans: int = 6_500) -> Path:
    """One account B posting about twice a day for 300 days, six close friends who engage with 30-80 % of
    its posts, and many fans who like 0.2-5 % of them (the usual audience: their history can never make a
    run of misses significant). The friend `a` likes 26 of B's posts 10-50 after its first like (the
    first like and 25 of the next 40), then, if `silence`, passes over the next 14 posts while staying
    active (daily stories) and likes again, continuing at its rate. Returns the JSONL path."""
    rng = np.random.default_rng(seed)
    post_t = np.sort(rng.uniform(T0, T0 + 300 * DAY, 600))
    rows: list[dict[str, object]] = [{"id": f"p{i}", "ts": int(t), "actor": "b", "kind": "post"}
                                     for i, t in enumerate(post_t)]
    liked_by: dict[str, np.ndarray] = {}
    for f in range(6):
        liked_by[f"friend{f}"] = rng.random(600) < rng.uniform(0.3, 0.8)
    a = rng.random(600) < 0.63
    a[:100] = False
    a[100] = True
    window = np.zeros(40, bool)
    window[rng.choice(39, 24, replace=False)] = True
    window[-1] = True  # the 41st post is liked; the next 14 are not
    a[101:141] = window
    if silence:
        a[141:155] = False
        a[155] = True
    liked_by["a"] = a
    rates = rng.uniform(0.002, 0.05, fans)
    fan_likes = rng.random((fans, 600)) < rates[:, None]
    for who, mask in liked_by.items():
        for i in np.nonzero(mask)[0]:
            rows.append({"id": f"{who}-{i}", "ts": int(post_t[i]) + 1800, "actor": who, "kind": "like",
                         "target": "b", "post": f"p{i}"})
    fi, pi = np.nonzero(fan_likes)
    delay = rng.exponential(6 * 3600, len(fi)).astype(int)
    rows += [{"id": f"f{f}-{i}", "ts": int(post_t[i]) + int(d), "actor": f"fan{f}", "kind": "like", "target": "b",
              "post": f"p{i}"} for f, i, d in zip(fi.tolist(), pi.tolist(), delay.tolist(), strict=True)]
    rows += [{"id": f"s{d}", "ts": T0 + d * DAY + 3600, "actor": "a", "kind": "story"} for d in range(301)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_clear_silence_is_found_among_100000_tests(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "clear.duckdb")
    cli("ingest", str(_account_with_fans(tmp_path / "clear.jsonl", seed=1, silence=True)))
    out = cli.json("detect")
    assert out["tests"]["silence"] + out["untestable"]["silence"] > 100_000
    found = [s for s in cli.json("signals", "--kind", "silence") if s["subjects"][:2] == ["a", "b"]]
    assert len(found) == 1 and found[0]["detail"]["misses"] == 14
    assert found[0]["detail"]["engaged_before"] == 26 and found[0]["detail"]["posts_before"] == 41
    others = [s for s in cli.json("signals") if s["kind"] in ("silence", "resumption")
              and s["subjects"][:2] != ["a", "b"]]
    assert not others


def test_the_same_account_without_the_silence_raises_nothing(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "steady.duckdb")
    cli("ingest", str(_account_with_fans(tmp_path / "steady.jsonl", seed=2, silence=False)))
    out = cli.json("detect")
    assert out["untestable"]["silence"] > out["tests"]["silence"]  # most fans could never be significant
    assert not [s for s in cli.json("signals") if s["kind"] in ("silence", "resumption")]
