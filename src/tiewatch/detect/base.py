"""The detector protocol and the signal row every detector produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tiewatch.detect.dialect import Dialect
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


@dataclass
class Context:
    """What a detector gets: the store, the SQL dialect, the time window and the keep threshold."""

    store: Store
    dialect: Dialect
    window: Window
    keep_p: float  # candidates with p above this can never pass FDR control at the run's level
    other_tests: dict[str, int] = field(default_factory=dict)  # tests run by detectors before this one

    def events_sql(self) -> str:
        return f"(SELECT * FROM events WHERE ts IS NOT NULL AND {self.window.where()})"


class Detector(Protocol):
    name: str

    def run(self, ctx: Context) -> DetectorOutput: ...
