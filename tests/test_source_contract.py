"""Every registered source against the one check suite, on every sample it claims, and proof that the suite
can fail (deliberately broken toy sources in tests/toy_sources.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import source_checks as checks

from tiewatch.sources import registry
from tiewatch.sources.registry import REGISTRY, SourceEntry

CASES = [(entry, spec) for entry in REGISTRY for spec in entry.samples]


@pytest.mark.parametrize("check", list(checks.CHECKS), ids=list(checks.CHECKS))
@pytest.mark.parametrize(("entry", "spec"), CASES, ids=[f"{e.name}:{s}" for e, s in CASES])
def test_source_check(entry: SourceEntry, spec: str, check: str, tmp_path: Path) -> None:
    sample = checks.sample_path(spec)
    if not sample.exists():
        if spec.startswith("shared:"):
            pytest.skip(f"{sample} not here (../shared is absent; set TIEWATCH_SHARED to check it)")
        pytest.fail(f"{entry.name} claims {spec}, which is not in the repository")
    checks.CHECKS[check](entry, sample, tmp_path)


def test_every_source_claims_a_sample_in_the_repository() -> None:
    """So CI, which has no ../shared, checks every source."""
    for entry in REGISTRY:
        assert any(not s.startswith("shared:") for s in entry.samples), f"{entry.name}: no sample in tests/fixtures"


def test_formats_are_unique_and_drive_the_cli_and_docs(cli: object) -> None:
    names = registry.formats()
    assert len(set(names)) == len(names), "two sources answer to one --format name"
    assert len({e.name for e in REGISTRY}) == len(REGISTRY)
    docs = (checks.REPO / "docs" / "sources.md").read_text()
    assert registry.docs_table() in docs, "docs/sources.md's table is not the registry's: paste docs_table()"
    from click.testing import CliRunner

    from tiewatch.cli import app

    help_text = " ".join(CliRunner().invoke(app, ["ingest", "--help"]).output.split())
    assert ", ".join(names) in help_text


def test_an_unknown_format_lists_the_registry(tmp_path: Path) -> None:
    from tiewatch.errors import TiewatchError

    with pytest.raises(TiewatchError, match="choose one of x, instagram"):
        registry.choose(tmp_path / "a.jsonl", "xml")


# -- deliberately broken toy sources: the suite must catch each fault ------------------------------------------
TOY_SAMPLE = "tests/fixtures/toy/sample.toy"
FAULTS = {  # toy class -> the checks its fault must fail
    "ShyToy": ("claims",),
    "StoreBoundToy": ("reads_without_a_store",),
    "EmptyToy": ("loads",),
    "RestlessToy": ("idempotent",),
    "FragileToy": ("truncated", "flipped_byte"),
    "SilentToy": ("truncated", "flipped_byte"),
}


def _toy(cls: str) -> SourceEntry:
    return SourceEntry("toy", ("toy",), f"toy_sources:{cls}", "toy", "toy lines", (TOY_SAMPLE,))


def test_every_check_is_failed_by_some_toy() -> None:
    assert {c for checks_ in FAULTS.values() for c in checks_} == set(checks.CHECKS)


@pytest.mark.parametrize("check", list(checks.CHECKS), ids=list(checks.CHECKS))
def test_a_toy_that_meets_the_contract_passes(check: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The faults below are the toys' own, not the harness's: the sound toy passes every check."""
    entry = _toy("ToySource")
    monkeypatch.setattr(registry, "REGISTRY", [entry, *REGISTRY])
    checks.CHECKS[check](entry, checks.sample_path(TOY_SAMPLE), tmp_path)


@pytest.mark.parametrize(("cls", "check"), [(c, k) for c, ks in FAULTS.items() for k in ks],
                         ids=[f"{c}-{k}" for c, ks in FAULTS.items() for k in ks])
def test_a_broken_toy_fails_the_suite(cls: str, check: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _toy(cls)
    monkeypatch.setattr(registry, "REGISTRY", [entry, *REGISTRY])
    with pytest.raises(AssertionError):
        checks.CHECKS[check](entry, checks.sample_path(TOY_SAMPLE), tmp_path)


def test_every_source_is_fuzzed() -> None:
    """tests/fuzzing.py mutates samples of every registered source (bench/fuzz.py for long runs)."""
    from fuzzing import SOURCES

    for entry in REGISTRY:
        assert any(s.split("-")[0] in (entry.name, *entry.formats) for s in SOURCES), f"{entry.name}: no fuzz seed"
