"""Fuzzing every source, bounded in time: mutated real samples must end in a clean error or in stored and
quarantined records, never in a traceback, a silent drop or a partly written store (tests/fuzzing.py says
how inputs are made; bench/fuzz.py runs the same for 20,000 inputs)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fuzzing import SOURCES, Generator, run_one

from tiewatch.store import Store

BUDGET = float(os.environ.get("TIEWATCH_FUZZ_SECONDS", "2.5"))  # per source
MIN_CASES = 8


@pytest.fixture(scope="module")
def generator() -> Generator:
    return Generator()


@pytest.mark.parametrize("source", SOURCES)
def test_fuzzed_inputs_end_cleanly(source: str, generator: Generator, tmp_path: Path) -> None:
    bad: list[str] = []
    kinds: dict[str, int] = {}
    start = time.monotonic()
    n = 0
    with Store(tmp_path / "fuzz.duckdb") as store:
        while n < MIN_CASES or time.monotonic() - start < BUDGET:
            case = generator.case(source, n, tmp_path / "in")
            outcome = run_one(store, case)
            kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
            if outcome.kind not in ("ok", "error"):
                bad.append(f"seed {n} ({source}): {outcome.kind}: {outcome.detail}")
            n += 1
    assert not bad, "\n".join(bad[:5])
    assert kinds.get("ok", 0) + kinds.get("error", 0) == n
