"""docs/api.md is executable: its examples run as doctests against a real store in a fresh folder."""

from __future__ import annotations

import doctest
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_api_docs_examples_run(tmp_path: Path) -> None:
    result = doctest.testfile(str(REPO / "docs" / "api.md"), module_relative=False, globs={"tmp": tmp_path},
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 20
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in docs/api.md failed (see output)"
