"""Reading platform exports from a zip or a folder, safely.

Nothing is extracted: entries are read into memory one at a time. Archives whose entries climb out
(`../`, absolute paths) are refused, and so are zip bombs (by total uncompressed size and by ratio).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from tiewatch.errors import TiewatchError

MAX_TOTAL_BYTES = 8 << 30  # uncompressed size of everything tiewatch may read from one archive
MAX_ENTRY_BYTES = 2 << 30
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MB


class Archive:
    """A zip file or a folder of export files, addressed by relative POSIX paths."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self._names = sorted(str(p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file())
            return
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise TiewatchError(f"{path}: not a readable zip archive (truncated or damaged?): {e}") from None
        total = 0
        for info in infos:
            parts = PurePosixPath(info.filename).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in (parts[0] if parts else ""):
                raise TiewatchError(f"{path}!{info.filename}: entry path leaves the archive; refused")
            total += info.file_size
            if info.file_size > MAX_ENTRY_BYTES or (
                    info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                raise TiewatchError(f"{path}!{info.filename}: {info.file_size:,} bytes from "
                                    f"{info.compress_size:,} compressed looks like a zip bomb; refused")
        if total > MAX_TOTAL_BYTES:
            raise TiewatchError(f"{path}: {total:,} bytes uncompressed is over the {MAX_TOTAL_BYTES:,} limit; refused")
        self._names = sorted(i.filename for i in infos if not i.is_dir())

    def names(self) -> list[str]:
        return list(self._names)

    def find(self, filename: str) -> list[str]:
        """Entries whose base name is `filename` (exports move files between folders over the years)."""
        return [n for n in self._names if PurePosixPath(n).name == filename]

    def find_prefix(self, prefix: str, suffix: str = ".json") -> list[str]:
        return [n for n in self._names if PurePosixPath(n).name.startswith(prefix) and n.endswith(suffix)]

    def label(self, name: str) -> str:
        return f"{self.path}!{name}" if self._zip else str(self.path / name)

    def read_bytes(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                with self._zip.open(name) as f:
                    data = f.read(MAX_ENTRY_BYTES + 1)
            else:
                data = (self.path / name).read_bytes()
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
            raise TiewatchError(f"{self.label(name)}: cannot read entry: {e}") from None
        if len(data) > MAX_ENTRY_BYTES:
            raise TiewatchError(f"{self.label(name)}: entry larger than {MAX_ENTRY_BYTES:,} bytes; refused")
        return data

    def read_text(self, name: str) -> str:
        data = self.read_bytes(name)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise TiewatchError(f"{self.label(name)}: not UTF-8 text (byte {e.start})") from None

    def newest_entry_time(self) -> float | None:
        """When the export was made, as far as its own metadata says (seconds since epoch, UTC)."""
        import calendar

        stamps: list[float]
        if self._zip is not None:
            stamps = [calendar.timegm((*i.date_time, 0, 0, 0)) for i in self._zip.infolist()]
        else:
            stamps = [p.stat().st_mtime for p in self.path.rglob("*") if p.is_file()]
        return max(stamps) if stamps else None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)
