"""Discrete-test power: silence tests that can never pass stop diluting the false-discovery count."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import REPO, Cli
from tiewatch.synth import account_with_fans


def test_the_clear_silence_is_found_among_100000_tests(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "clear.duckdb")
    cli("ingest", str(account_with_fans(tmp_path / "clear.jsonl", seed=1, silence=True)))
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
    cli("ingest", str(account_with_fans(tmp_path / "steady.jsonl", seed=2, silence=False)))
    out = cli.json("detect")
    assert out["untestable"]["silence"] > out["tests"]["silence"]  # most fans could never be significant
    assert not [s for s in cli.json("signals") if s["kind"] in ("silence", "resumption")]



def test_random_likers_of_popular_accounts_are_not_silent(tmp_path: Path) -> None:
    """The speed benchmark's data: 300,000 random likes on Zipf-popular authors, nothing planted. Some
    likers of a big account like two of its posts in a row and look like friends (2 of 2) before hundreds of
    misses; once Tarone's filter leaves few tests those thin histories would pass. They are not tests."""
    sys.path.insert(0, str(REPO / "bench"))
    from detect import write_events  # bench/detect.py's generator

    data = tmp_path / "events.parquet"
    write_events(300_000, 20_000, data)
    cli = Cli(tmp_path / "bench.duckdb")
    cli("ingest", str(data))
    out = cli.json("detect")
    assert out["untestable"]["silence"] > 200_000
    assert not cli.json("signals", "--kind", "silence")
