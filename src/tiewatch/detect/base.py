"""The detector protocol and the signal row every detector produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from tiewatch.detect.dialect import Dialect
from tiewatch.engines.base import Engine
from tiewatch.store import Store

ENGAGEMENT_KINDS = ("like", "comment", "reply", "repost", "mention", "message")
CONTENT_KINDS = ("post", "story")


@dataclass
class Signal:
    """One detected change. `family` groups tests for false-discovery control; p_value None = not a test."""

    kind: str
    ts: datetime | None
    start: datetime | None
    end: datetime | None
    subjects: list[str]
    score: float
    p_value: float | None
    evidence: list[str]
    summary: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    platform: str | None = None
    family: str | None = None
    weight: float = 1.0  # prior weight for weighted BH (mean 1 within a family)
    q_value: float | None = None
    parent: Signal | None = None  # a resumption shares its silence's test


@dataclass
class DetectorOutput:
    """Candidate signals and how many tests were run to find them (for false-discovery control)."""

    signals: list[Signal]
    tests: dict[str, int]  # family -> number of tests, including those whose p-value was too large to keep
    untestable: dict[str, int] = field(default_factory=dict)  # family -> tests that could never pass (Tarone)


@dataclass(frozen=True)
class Window:
    since: datetime | None = None
    until: datetime | None = None

    def where(self, column: str = "ts") -> str:
        parts = []
        if self.since is not None:
            parts.append(f"{column} >= TIMESTAMP '{self.since.isoformat(sep=' ')}'")
        if self.until is not None:
            parts.append(f"{column} < TIMESTAMP '{self.until.isoformat(sep=' ')}'")
        return " AND ".join(parts) if parts else "TRUE"

    def bound(self, column: str = "ts") -> str:
        """The window as a condition on `column` with the bounds as named parameters ($since, $until)."""
        parts = []
        if self.since is not None:
            parts.append(f"{column} >= $since")
        if self.until is not None:
            parts.append(f"{column} < $until")
        return " AND ".join(parts) if parts else "TRUE"

    @property
    def params(self) -> dict[str, Any]:
        """Values for the parameters `bound` uses."""
        return {k: v for k, v in (("since", self.since), ("until", self.until)) if v is not None}


@dataclass
class Context:
    """What a detector gets: the store, the engine its SQL runs on, the time window and the keep threshold."""

    store: Store
    dialect: Dialect
    window: Window
    keep_p: float  # candidates with p above this can never pass FDR control at the run's level
    other_tests: dict[str, int] = field(default_factory=dict)  # tests run by detectors before this one
    engine: Engine = field(default=None)  # type: ignore[assignment]  # default: DuckDB over the store

    def __post_init__(self) -> None:
        if self.engine is None:
            from tiewatch.engines.duckdb import DuckDBEngine

            self.engine = DuckDBEngine(self.store.con)

    def events_bound(self) -> str:
        """The events inside the window, with its bounds as parameters (`window.params`)."""
        return f"(SELECT * FROM events WHERE ts IS NOT NULL AND {self.window.bound()})"

    def events_sql(self) -> str:
        return f"(SELECT * FROM events WHERE ts IS NOT NULL AND {self.window.where()})"


class Detector:
    """What every detector is: a name, the signal kinds it emits, the test families it adds to false-discovery
    control, and three steps that `detect.run` calls in order.

    - `run` finds candidate signals with set-based queries and counts its tests (every test, kept or not);
    - `refine` may raise the p-values of the first pass's rejections with a more expensive, exact computation
      (weighted BH is monotone, so refining only those gives the same result as refining everything);
    - `finalize` turns the signals that passed into what is stored (episodes, derived signals), given the
      largest raw p-value that passed in its family.

    Subclasses set the class attributes and override `run`; `refine` and `finalize` default to doing nothing.
    """

    name: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = ()  # signal kinds this detector can store
    families: ClassVar[tuple[str, ...]] = ()  # test families it adds to FDR control (none: facts, not tests)
    description: ClassVar[str] = ""  # one line for docs and help

    def run(self, ctx: Context) -> DetectorOutput:
        raise NotImplementedError(f"{type(self).__name__}.run")

    def queries(self, ctx: Context) -> dict[str, str]:
        """Every SQL text `run` sends to the engine, by name (DuckDB's dialect; for review snapshots)."""
        return {}

    def refine(self, ctx: Context, rejected: list[Signal]) -> None:
        """Raise first-pass p-values where an exact computation says so (default: nothing to refine)."""
        return None

    def finalize(self, ctx: Context, kept: list[Signal], p_star: float) -> list[Signal]:
        """The signals to store from those that passed (default: as they are)."""
        return kept
