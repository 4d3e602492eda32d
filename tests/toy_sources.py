"""Toy sources for proving the source check suite can fail: one that meets the contract, and broken ones,
each with one fault a real source could have. The format: lines of "actor target kind ISO-time" in *.toy."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.sources.base import Part, Reading, ReadOptions
from tiewatch.sources.files import InputFile
from tiewatch.sources.generic import RawSource
from tiewatch.sources.rows import rows_part

COLUMNS = ["id", "ts", "platform", "actor", "kind", "target"]
_reads = itertools.count()


class ToyParseError(Exception):
    """What a careless parser lets escape (not a TiewatchError, not a built-in the ingest guard knows)."""


class ToySource:
    """Meets the contract: bad lines become quarantined records with their line, ids come from the record."""

    name = "toy"
    formats = ("toy",)
    container = False

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".toy"

    def row(self, lineno: int, line: bytes) -> dict[str, Any] | None:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return {"_rec": lineno, "_raw": line.decode("utf-8", "replace"), "_fault": "not valid UTF-8 text"}
        fields = text.split()
        if len(fields) != 4:
            return {"_rec": lineno, "_raw": text, "_fault": f"expected 4 fields, found {len(fields)}"}
        actor, target, kind, ts = fields
        return {"_rec": lineno, "_raw": text, "id": f"toy:{actor}:{target}:{kind}:{ts}", "ts": ts,
                "platform": "toy", "actor": actor, "kind": kind, "target": target}

    def rows(self, path: Path) -> list[dict[str, Any]]:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise TiewatchError(f"{path}: cannot read: {e.strerror}") from None
        found = (self.row(i, line) for i, line in enumerate(data.split(b"\n"), 1) if line.strip())
        return [r for r in found if r is not None]

    def read(self, path: Path, options: ReadOptions) -> Reading:
        return Reading(InputFile(path, self.name, None), [rows_part("events", self.rows(path), COLUMNS, str(path))])


class ShyToy(ToySource):
    """Never recognises its own files (they fall through to the generic table source)."""

    def sniff(self, path: Path, head: bytes) -> bool:
        return False


class StoreBoundToy(ToySource):
    """Its SQL reads a store table: it cannot be read without the store."""

    def read(self, path: Path, options: ReadOptions) -> Reading:
        reading = super().read(path, options)
        src = reading.parts[0].source
        reading.parts[0] = Part("events", RawSource(
            f"{src.sql} WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = 'never')", src.columns,
            exact_lines=True, record_label="record", tables=src.tables), str(path))
        return reading


class EmptyToy(ToySource):
    """Reads nothing at all."""

    def rows(self, path: Path) -> list[dict[str, Any]]:
        return []


class RestlessToy(ToySource):
    """Gives records new ids on every read: a second ingest stores everything again."""

    def row(self, lineno: int, line: bytes) -> dict[str, Any] | None:
        row = super().row(lineno, line)
        if row is not None and "id" in row:
            row["id"] = f"toy:{next(_reads)}"
        return row


class FragileToy(ToySource):
    """Lets its parser's exception escape on a bad line: the user would see a traceback."""

    def row(self, lineno: int, line: bytes) -> dict[str, Any] | None:
        row = super().row(lineno, line)
        if row is not None and row.get("_fault"):
            raise ToyParseError(f"line {lineno}")
        return row


class SilentToy(ToySource):
    """Drops what it cannot read without a word (and reads bytes it does not understand as nothing)."""

    def row(self, lineno: int, line: bytes) -> dict[str, Any] | None:
        row = super().row(lineno, line)
        return None if row is None or row.get("_fault") else row
