"""What every source produces: parts, each one table's worth of raw records from one file or archive entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tiewatch.sources.generic import RawSource


@dataclass
class Part:
    """One table's worth of records from a file: a generic file has one, a platform export several."""

    table: str
    source: RawSource
    label: str  # where the records are: the file, or "archive.zip!entry" inside an archive
    needed: Callable[[], bool] | None = None  # asked just before staging; False skips the part
