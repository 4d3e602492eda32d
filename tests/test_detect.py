"""Detectors against planted truth: the seed scenario, generated variants with other names and dates, a
null scenario with nothing planted, and the statistics' building blocks."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from conftest import SEED, Cli
from tiewatch.detect.base import Signal
from tiewatch.detect.engagement_prior import fit_grid_prior
from tiewatch.detect.fdr import family_weights, weighted_bh
from tiewatch.evaluate import evaluate, load_truth
from tiewatch.scenario import Cast, generate
from tiewatch.signals import SIGNAL_KEYS

STATISTICAL = ("silence", "resumption", "audience_drop", "audience_surge")


@pytest.fixture(scope="module")
def seed_signals(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, list[dict[str, object]]]:
    cli = Cli(tmp_path_factory.mktemp("detect") / "seed.duckdb")
    cli("ingest", str(SEED))
    cli("detect")
    return cli, cli.json("signals")


def test_seed_truth_is_reported_and_little_else(seed_signals: tuple[Cli, list[dict]]) -> None:
    _, signals = seed_signals
    ev = evaluate(signals, load_truth(SEED / "truth.json"))
    assert not ev.missed, f"missed: {ev.missed}"
    assert ev.precision_of(STATISTICAL) >= 0.9, ev.as_json()


def test_seed_story_is_the_top_coincidence_for_the_dating_news(seed_signals: tuple[Cli, list[dict]]) -> None:
    _, signals = seed_signals
    for_news = [s for s in signals if s["kind"] == "coincidence" and "n-reveal" in s["evidence"]]
    top = max(for_news, key=lambda s: s["score"])
    assert top["subjects"][0] == "hyeri_0609" and "ev0118509" in top["evidence"]


def test_resumption_reads_like_a_news_sentence(seed_signals: tuple[Cli, list[dict]]) -> None:
    _, signals = seed_signals
    res = next(s for s in signals if s["kind"] == "resumption" and s["subjects"][:2] == ["songhyekyo", "xeesoxee"])
    assert res["summary"].startswith("Song Hye-kyo liked Han So-hee's post on 19 May 2024, the first in")
    assert res["evidence"][0] == "ev0118508"
    silence = next(s for s in signals if s["kind"] == "silence" and s["subjects"][:2] == ["songhyekyo", "xeesoxee"])
    assert silence["end"] == res["ts"] and silence["start"] == res["start"]
    assert silence["detail"]["misses"] > 10 and silence["start"] < silence["ts"] < silence["end"]


def test_signals_json_shape_and_filters(seed_signals: tuple[Cli, list[dict]]) -> None:
    cli, signals = seed_signals
    assert all(tuple(s) == SIGNAL_KEYS for s in signals)
    assert all(s["q_value"] is None or s["q_value"] <= 0.05 for s in signals)
    only = cli.json("signals", "--kind", "audience_drop")
    assert only and all(s["kind"] == "audience_drop" for s in only)
    drop = only[0]
    assert drop["detail"]["change"] < 0 and drop["detail"]["change_pct"] < 0
    assert drop["detail"]["change_in_spreads"] < -10
    mine = cli.json("signals", "--account", "Hyeri")
    assert mine and all("hyeri_0609" in s["subjects"] for s in mine)
    assert len(cli.json("signals", "--limit", "2")) == 2
    assert all(s["ts"] >= "2024-05-01" for s in cli.json("signals", "--since", "2024-05-01"))


def test_rerun_replaces_signals(seed_signals: tuple[Cli, list[dict]]) -> None:
    cli, signals = seed_signals
    cli("detect")
    again = cli.json("signals")
    assert sorted(s["id"] for s in again) == sorted(s["id"] for s in signals)


def test_ties_lists_both_directions(seed_signals: tuple[Cli, list[dict]]) -> None:
    cli, _ = seed_signals
    before = cli.json("ties", "hyeri_0609", "--at", "2023-09-01")
    assert "ryu_junyeol" in [t["account"] for t in before[:10]]
    row = next(t for t in before if t["account"] == "ryu_junyeol")
    assert row["out"] > 0 and row["in"] > 0
    after = cli.json("ties", "hyeri_0609", "--at", "2024-06-01")
    later = next((t for t in after if t["account"] == "ryu_junyeol"), {"tie": 0.0})
    assert later["tie"] < row["tie"] / 2  # the break-up shows as a decaying tie


@pytest.mark.parametrize("seed,start,cast", [
    (101, datetime(2019, 6, 1), Cast(("alpha", "Alpha Kim"), ("beta", "Beta Lee"), ("gamma", "Gamma Park"),
                                     ("delta", "Delta Choi"))),
    (202, datetime(2021, 2, 14), Cast()),
    (303, datetime(2022, 9, 9), Cast(("star_a", "Star A"), ("star_b", "Star B"), ("star_c", "Star C"),
                                     ("star_d", "Star D"))),
])
def test_generated_variants(tmp_path: Path, seed: int, start: datetime, cast: Cast) -> None:
    folder = generate(seed=seed, start=start, cast=cast).write(tmp_path / "scenario")
    cli = Cli(tmp_path / "v.duckdb")
    cli("ingest", str(folder))
    cli("detect")
    ev = evaluate(cli.json("signals"), load_truth(folder / "truth.json"))
    assert not ev.missed, f"missed: {ev.missed}"
    assert ev.precision_of(STATISTICAL) >= 0.9, ev.as_json()


def test_null_scenarios_raise_almost_no_alarm(tmp_path: Path) -> None:
    """With nothing planted every discovery is false; FDR control at 5% bounds how often any appears."""
    false_alarms = 0
    for seed in (7, 8, 9, 10):
        folder = generate(seed=seed, start=datetime(2020, 1, 1), plot=False).write(tmp_path / f"null{seed}")
        cli = Cli(tmp_path / f"null{seed}.duckdb")
        cli("ingest", str(folder))
        out = cli.json("detect")
        assert out["tests"]["silence"] > 10_000
        found = [s for s in cli.json("signals") if s["kind"] in (*STATISTICAL, "coincidence")]
        false_alarms += len(found)
    assert false_alarms <= 1


def test_a_pair_seen_twice_is_not_a_confident_silence(tmp_path: Path) -> None:
    rows = []
    t = 1_600_000_000
    for i in range(60):  # B posts every 3 days; A likes the first two, then nothing
        rows.append({"id": f"p{i}", "ts": t + i * 259200, "actor": "b", "kind": "post"})
        rows.append({"id": f"q{i}", "ts": t + i * 259200 + 7, "actor": "c", "kind": "post"})
        if i < 2:
            rows.append({"id": f"l{i}", "ts": t + i * 259200 + 3600, "actor": "a", "kind": "like", "target": "b",
                         "post": f"p{i}"})
        rows.append({"id": f"m{i}", "ts": t + i * 259200 + 3600, "actor": "a", "kind": "like", "target": "c",
                     "post": f"q{i}"})  # A stays active
        for f in range(30):  # fans who like B now and then
            if (i * 7 + f * 3) % 10 == 0:
                rows.append({"id": f"f{f}-{i}", "ts": t + i * 259200 + 60 * f, "actor": f"fan{f}", "kind": "like",
                             "target": "b", "post": f"p{i}"})
    path = tmp_path / "twice.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cli = Cli(tmp_path / "twice.duckdb")
    cli("ingest", str(path))
    cli("detect")
    assert not [s for s in cli.json("signals", "--kind", "silence") if s["subjects"][:2] == ["a", "b"]]


def test_weighted_bh_equals_bh_with_unit_weights() -> None:
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 1, 90), rng.uniform(0, 1e-4, 10)])
    sigs = [Signal("silence", None, None, None, ["a"], 0.0, float(x), [], family="f") for x in p]
    kept = weighted_bh(sigs, {"f": 100}, 0.05)
    order = np.sort(p)
    k = max(i for i in range(1, 101) if order[i - 1] <= 0.05 * i / 100)
    assert len(kept) == k
    q = np.array([s.q_value for s in sigs])
    assert np.all(q >= p - 1e-12) and np.all(q <= 1)


def test_family_weights_average_one() -> None:
    tests = {"silence": 100_000, "audience": 15_000, "coincidence": 90}
    w = family_weights(tests)
    total = sum(w[f] * n for f, n in tests.items())
    assert total == pytest.approx(sum(tests.values()))


def test_grid_prior_recovers_a_two_group_population() -> None:
    rng = np.random.default_rng(1)
    rates = np.where(rng.random(4000) < 0.8, 0.02, 0.7)
    seen = rng.integers(20, 200, 4000)
    engaged = rng.binomial(seen, rates)
    prior = fit_grid_prior(engaged.astype(float), seen.astype(float))
    low = prior.weights[prior.rates < 0.1].sum()
    assert 0.7 < low < 0.9
    post = prior.posterior(np.array([2.0]), np.array([2.0]))
    assert prior.run_probability(post, np.array([40.0]))[0] > 1e-3  # two of two is weak evidence
