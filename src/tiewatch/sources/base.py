"""The contract every input format meets: a source sniffs an input and reads it into parts, without a store.

A source (one file per format, one line in sources/registry.py) answers two questions:

* `sniff(path, head)`: is this input mine? `head` is the first bytes of a file, decompressed (empty for a
  folder or a zip). Sniffing is cheap and, being asked in the registry's order, may be greedy only when it
  comes late (the generic table source claims whatever is left). It may raise TiewatchError when the input
  is plainly meant for it but cannot be opened (a damaged zip), so the user hears why.
* `read(path, options)`: the input as a `Reading`: parts (one table's worth of records each, as DuckDB SQL
  over the file or over Arrow tables the reading carries), follower snapshots, statements to run in the
  ingest's transaction and warnings. Reading needs no store connection: the loader binds the tables,
  stages, types, checks and inserts, all or nothing; it also diffs snapshots against the stored ones.

Sources never import `tiewatch.ingest` or the store: data flows sources -> ingest/store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tiewatch.sources.files import InputFile
from tiewatch.sources.generic import RawSource

if TYPE_CHECKING:
    from tiewatch.sources.snapshots import Snapshot

CHOOSE_TABLE = ""  # a part whose table the loader chooses from its columns (generic tables, --table)


@dataclass
class Part:
    """One table's worth of records from a file: a generic file has one, a platform export several."""

    table: str
    source: RawSource
    label: str  # where the records are: the file, or "archive.zip!entry" inside an archive
    needed: Callable[[], bool] | None = None  # asked just before staging; False skips the part


@dataclass(frozen=True)
class ReadOptions:
    """What the user asked that a source may need: a forced format, the columns --map names, --as-of."""

    fmt: str | None = None
    wanted: tuple[str, ...] = ()
    as_of: datetime | None = None


@dataclass
class Reading:
    """Everything a source got from one input, ready for the loader."""

    input: InputFile  # the input, with the format name the ingest log records
    parts: list[Part] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)  # follower lists, in the order to diff them
    after_load: list[str] = field(default_factory=list)  # SQL run inside the ingest's transaction
    warnings: list[str] = field(default_factory=list)  # format drift and the like: the ingest exits 1
    hash_file: bool = True  # the ingest log keeps the file's digest (not for folders)
    mapped: bool = False  # --map/--set apply (generic tables; platform formats define their fields)
    set_aside: Callable[[], int] | None = None  # counts records deliberately not read, beside the staging


@runtime_checkable
class Source(Protocol):
    """One input format. `formats` are the --format names it answers to (the first is its own)."""

    name: str
    formats: tuple[str, ...]
    container: bool  # reads a folder or a .zip as one input

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path, options: ReadOptions) -> Reading: ...
