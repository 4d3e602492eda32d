"""What platform-export readers share: opening the archive, text repair, format-drift checks and the export's date.

Format drift: platforms change their export layouts without notice (Instagram's `_u/` hrefs made every
unfollow checker report everybody as unfollowed). A reader counts, per known file, how many records it
could read; a file present whose records are unreadable (all, or most) yields a loud warning naming the file
and the layout expected, the ingest exits non-zero, and no follower snapshot is taken from that file (an
empty or partial list would look like mass unfollows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiewatch.sources.archive import Archive, sniff_archive
from tiewatch.sources.base import Part, Reading, ReadOptions
from tiewatch.sources.files import InputFile
from tiewatch.sources.snapshots import Snapshot

DRIFT_SHARE = 0.5  # a known file with more than this share of unreadable records is drift, not noise


def repair_text(text: str) -> str:
    """Undo Instagram's mojibake (UTF-8 bytes written as Latin-1 escapes: "ð\\x9f\\x99\\x84" for 🙄), only where
    the repair round-trips: the text must be all Latin-1 code points forming valid UTF-8."""
    if text.isascii():
        return text
    try:
        fixed = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed if fixed.encode("utf-8").decode("latin-1") == text else text


def repair_tree(data: Any) -> Any:
    """repair_text over every string (keys too) of parsed JSON."""
    if isinstance(data, str):
        return repair_text(data)
    if isinstance(data, list):
        return [repair_tree(x) for x in data]
    if isinstance(data, dict):
        return {repair_text(k) if isinstance(k, str) else k: repair_tree(v) for k, v in data.items()}
    return data


@dataclass
class ExportNotes:
    """Per-file record counts and the warnings they raise, gathered while an export is read."""

    warnings: list[str] = field(default_factory=list)
    drifted: set[str] = field(default_factory=set)  # labels of files that drifted

    def wrong_shape(self, label: str, layout: str) -> None:
        self.drifted.add(label)
        self.warnings.append(f"format drift: {label}: wrong shape, nothing readable; expected {layout}. The platform "
                             "may have changed its export layout: nothing from this file was stored")

    def check(self, label: str, total: int, bad: int, layout: str) -> bool:
        """Record a file's counts; True when it drifted (no, or too few, readable records)."""
        if total == 0 or bad <= DRIFT_SHARE * total:
            return False
        self.drifted.add(label)
        self.warnings.append(f"format drift: {label}: {bad:,} of {total:,} records unreadable (see `tiewatch "
                             f"quarantine`); expected {layout}. The platform may have changed its export layout")
        return True

    def note(self, text: str) -> None:
        self.warnings.append(text)



class ArchiveSource:
    """A platform export read as one Archive (a zip or a folder): a subclass says how to recognise its layout
    (`recognises`) and what to take from it (`take`: parts, follower snapshots, format-drift warnings); opening
    and closing the archive and the ingest's Reading are the same for every export."""

    name: str
    formats: tuple[str, ...]
    container = True

    def recognises(self, archive: Archive) -> bool:
        raise NotImplementedError

    def take(self, archive: Archive, options: ReadOptions) -> tuple[list[Part], list[Snapshot], list[str]]:
        raise NotImplementedError

    def sniff(self, path: Path, head: bytes) -> bool:
        return sniff_archive(path, self.recognises)

    def read(self, path: Path, options: ReadOptions) -> Reading:
        archive = Archive(path)
        try:
            parts, snapshots, warnings = self.take(archive, options)
        finally:
            archive.close()
        return Reading(InputFile(path, self.name, None), parts, snapshots, warnings=warnings, hash_file=path.is_file())
