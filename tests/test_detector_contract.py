"""Every registered detector against the one check suite, and proof that the suite can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

import detector_checks as checks
from tiewatch.detect.base import Context, Detector, DetectorOutput, Signal
from tiewatch.detect.registry import REGISTRY, DetectorEntry, signal_kinds
from tiewatch.signals import KINDS


@pytest.fixture(scope="module")
def check_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checks.build_store(tmp_path_factory.mktemp("checks"))


@pytest.fixture(scope="module")
def null_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checks.build_store(tmp_path_factory.mktemp("null"), plot=False, seed=11)


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_class_matches_its_registry_entry(entry: DetectorEntry) -> None:
    cls = entry.load()
    assert issubclass(cls, Detector)
    assert (cls.name, cls.kinds, cls.families) == (entry.name, entry.kinds, entry.families)


def test_kinds_come_from_the_registry() -> None:
    assert signal_kinds() == KINDS
    assert len(set(KINDS)) == len(KINDS), "two detectors claim one signal kind"
    assert len({e.name for e in REGISTRY}) == len(REGISTRY)


@pytest.mark.parametrize("check", list(checks.CHECKS), ids=list(checks.CHECKS))
@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_detector_check(entry: DetectorEntry, check: str, check_store: Path, tmp_path: Path) -> None:
    checks.CHECKS[check](entry.load(), checks.fresh_copy(check_store, tmp_path))


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_detector_null_scenario(entry: DetectorEntry, null_store: Path, tmp_path: Path) -> None:
    checks.check_null_scenario(entry.load(), checks.fresh_copy(null_store, tmp_path))


# -- a deliberately broken detector: the suite must catch each of its faults ---------------------------
class CarelessDetector(Detector):
    """Reads every event whatever the window, calls every poster's latest post a 'silence' with a made-up
    p-value and cites an event that does not exist."""

    name = "careless"
    kinds = ("silence",)
    families = ("careless",)

    def run(self, ctx: Context) -> DetectorOutput:
        rows = ctx.store.con.execute("SELECT actor, max(ts), count(*) FROM events WHERE kind = 'post' "
                                     "GROUP BY actor ORDER BY actor").fetchall()
        out = [Signal("silence", ts, ts, ts, [actor], 1.0, 1e-9 * (i + 1), ["no-such-event"], family="careless")
               for i, (actor, ts, _) in enumerate(rows)]
        return DetectorOutput(out, {"careless": len(out)})


class UnstableDetector(Detector):
    """Uses the wall clock: reruns and shifted data give other answers."""

    name = "unstable"
    kinds = ("coincidence",)
    families = ()

    def run(self, ctx: Context) -> DetectorOutput:
        import time

        first = ctx.store.con.execute("SELECT id, ts, actor FROM events ORDER BY id LIMIT 1").fetchall()
        if not first:
            return DetectorOutput([], {})
        eid, ts, actor = first[0]
        return DetectorOutput([Signal("coincidence", ts, ts, ts, [actor, str(time.perf_counter_ns())], 1.0, None,
                                      [eid])], {})


class ConstantDetector(Detector):
    """Says the same thing whatever the data, even when there is none."""

    name = "constant"
    kinds = ("follow",)
    families = ()

    def run(self, ctx: Context) -> DetectorOutput:
        from datetime import datetime

        when = datetime(2022, 1, 1)
        return DetectorOutput([Signal("follow", when, when, when, ["a", "b"], 1.0, None, ["e-1"])], {})


@pytest.mark.parametrize("check,broken", [
    ("evidence_resolves", CarelessDetector), ("window", CarelessDetector), ("rerun_identical", UnstableDetector),
    ("time_shift", UnstableDetector), ("empty_store", ConstantDetector),
])
def test_the_suite_catches_a_broken_detector(check: str, broken: type[Detector], check_store: Path,
                                             tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        checks.CHECKS[check](broken, checks.fresh_copy(check_store, tmp_path))


def test_the_null_check_catches_a_detector_that_always_alarms(null_store: Path, tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        checks.check_null_scenario(CarelessDetector, checks.fresh_copy(null_store, tmp_path))
