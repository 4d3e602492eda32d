"""The renewal silence test (message data): calibrated on real-data nulls, and able to find what it can."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import COLLEGEMSG, Cli
from tiewatch.detect.base import Context, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.fdr import tarone_floor
from tiewatch.detect.renewal import all_pvalues_sql, crossing_length
from tiewatch.nulls import write_null
from tiewatch.store import Store

DAY = 86400


def _ingest_messages(cli: Cli, path: Path) -> None:
    cli("ingest", str(path), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
        "--set", "kind=message", "--set", "platform=collegemsg")


@pytest.mark.parametrize("kind", ["gaps", "days"])
def test_collegemsg_null_raises_no_silence_and_pvalues_are_calibrated(tmp_path: Path, kind: str) -> None:
    """Real CollegeMsg with each pair's gaps (or active days) permuted: any silence would be false."""
    path = write_null(tmp_path / "null.txt", COLLEGEMSG, kind, seed=3)
    cli = Cli(tmp_path / "null.duckdb")
    _ingest_messages(cli, path)
    out = cli.json("detect")
    assert out["signals"].get("silence", 0) == 0 and out["signals"].get("resumption", 0) == 0
    assert out["tests"]["silence"] + out["untestable"]["silence"] > 30_000
    store = Store(tmp_path / "null.duckdb")
    try:
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        tbl = store.arrow(all_pvalues_sql(ctx))
    finally:
        store.close()
    pos = tbl["pos"].to_numpy().astype(float)
    at_least, longer = tbl["at_least"].to_numpy(), tbl["longer"].to_numpy()
    p = at_least / pos
    for alpha in (1e-3, 1e-2, 0.05, 0.2):  # conservative at every level
        assert np.mean(p <= alpha) <= alpha
    u = np.sort((longer + np.random.default_rng(0).random(len(pos)) * (at_least - longer)) / pos)
    i = np.arange(1, len(u) + 1)
    ks = max((i / len(u) - u).max(), (u - (i - 1) / len(u)).max())
    assert ks < 0.05  # the randomised p-values are uniform: the test is exact, not just conservative


def test_a_regular_pair_that_goes_quiet_is_found(tmp_path: Path) -> None:
    """A messages B every day for 600 days (all gaps equal: no spread at all), then not for 60 days while
    messaging other people every day: the open gap is the longest of 600, p = 1/600, and it passes."""
    t0 = 1_600_000_000
    lines = ["src dst time"]
    lines += [f"a b {t0 + d * DAY + 3600}" for d in range(600)]
    lines += [f"a p{d} {t0 + d * DAY + 7200}" for d in range(600, 660)]
    lines += [f"b a {t0 + d * DAY + 5000}" for d in range(0, 600, 3)]
    path = tmp_path / "regular.txt"
    path.write_text("\n".join(lines) + "\n")
    cli = Cli(tmp_path / "regular.duckdb")
    _ingest_messages(cli, path)
    cli("detect")
    found = [s for s in cli.json("signals", "--kind", "silence") if s["subjects"][:2] == ["a", "b"]]
    assert len(found) == 1
    s = found[0]
    assert s["end"] is None and s["p_value"] == pytest.approx(1 / 600)
    assert s["detail"]["gap_active_days"] == 61 and s["detail"]["typical_gap_active_days"] == 1
    assert s["start"] < s["ts"] and "longer than all 599 earlier gaps" in s["summary"]


def test_short_regular_pairs_are_reported_untestable_not_silent(tmp_path: Path) -> None:
    """Thirty pairs with 40 daily contacts each, then 60 quiet days: among 30 such tests a rank p-value of
    1/40 cannot be significant, and the tool says the tests had no power instead of reporting silences."""
    t0 = 1_600_000_000
    lines = ["src dst time"]
    for j in range(30):
        lines += [f"a{j} b{j} {t0 + d * DAY}" for d in range(40)]
        lines += [f"a{j} p{j}-{d} {t0 + d * DAY + 60}" for d in range(40, 100)]
    path = tmp_path / "short.txt"
    path.write_text("\n".join(lines) + "\n")
    cli = Cli(tmp_path / "short.duckdb")
    _ingest_messages(cli, path)
    out = cli.json("detect")
    assert out["signals"].get("silence", 0) == 0
    assert out["tests"]["silence"] == 0 and out["untestable"]["silence"] == 30 * 100


def test_tarone_floor_drops_tests_that_can_never_pass() -> None:
    # 10 tests that can reach 1e-6 and 100,000 that cannot go below 0.1: K = 10, the floor is 0.005
    floor = tarone_floor(np.array([1e-6, 0.1]), np.array([10, 100_000]), 0.05)
    assert floor == pytest.approx(0.005)
    # everything testable: K is the number of tests (Bonferroni's m)
    assert tarone_floor(np.array([0.0]), np.array([300]), 0.05) == pytest.approx(0.05 / 300)
    assert tarone_floor(np.zeros(0), np.zeros(0, np.int64), 0.05) == 0.0


def test_crossing_length_is_when_the_rank_pvalue_reaches_the_threshold() -> None:
    earlier = [30, 20, 10, 5, 1, 1]
    # position 100, p* = 0.02: at most one earlier gap may be at least as long -> beyond the 2nd longest
    assert crossing_length(earlier, 100, 45, 0.02) == 21
    assert crossing_length(earlier, 100, 45, 0.005) == 45  # never reached before the gap's own length
    assert crossing_length(earlier, 7, 45, 0.99) == 2  # all but the shortest may be as long


def test_collegemsg_real_data_says_where_it_has_no_power(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "college.duckdb")
    _ingest_messages(cli, COLLEGEMSG)
    out = cli.json("detect")
    assert out["untestable"]["silence"] > 30_000  # at most 42 contact days per pair: no rank can pass
    assert json.loads(cli("signals", "--kind", "silence", "--json").stdout) == []


def test_gaps_lists_the_longest_pauses_as_not_tested(tmp_path: Path) -> None:
    t0 = 1_600_000_000
    lines = ["src dst time"] + [f"a b {t0 + d * DAY}" for d in range(0, 20, 2)]
    lines += [f"a b {t0 + 60 * DAY}"] + [f"a c {t0 + d * DAY + 60}" for d in range(70)]
    path = tmp_path / "g.txt"
    path.write_text("\n".join(lines) + "\n")
    cli = Cli(tmp_path / "g.duckdb")
    _ingest_messages(cli, path)
    rows = cli.json("gaps")
    top = rows[0]
    assert top["subjects"] == ["a", "b"] and top["gap_active_days"] == 42 and top["tested"] is False
    assert "Not a test" in cli("gaps").stdout
