"""Progress as data: the library reports, front ends draw (the CLI a Rich bar, a web server an event stream)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """How far a long operation is: `done` of `total` units (bytes for ingest, detectors for detect)."""

    stage: str  # "ingest" or "detect"
    item: str  # the file or detector being worked on
    done: float
    total: float

    @property
    def fraction(self) -> float:
        return min(max(self.done / self.total, 0.0), 1.0) if self.total > 0 else 0.0


ProgressCallback = Callable[[ProgressEvent], None]
