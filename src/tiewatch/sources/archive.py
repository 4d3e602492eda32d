"""Reading platform exports from a zip or a folder, safely.

Nothing is extracted: entries are read into memory one at a time. Archives whose entries climb out
(`../`, absolute paths) are refused, and so are zip bombs: by total uncompressed size, by the ratio of
every entry over 64 KiB and of the whole archive, and while streaming (an entry never yields more than its
size allows, whatever its header claims). Everything parsed in Python from one archive is bounded too
(MAX_PARSED_BYTES), since parsed JSON takes several times its size in memory. In a folder, symbolic links
that lead outside it are not followed.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from tiewatch.errors import TiewatchError

MAX_TOTAL_BYTES = 8 << 30  # uncompressed size of everything tiewatch may read from one archive
MAX_ENTRY_BYTES = 2 << 30
MAX_RATIO = 200  # uncompressed / compressed, for entries (and whole archives) over RATIO_FLOOR
RATIO_FLOOR = 64 << 10
MAX_PARSED_BYTES = 512 << 20  # bytes one archive may hand to Python parsers (parsed JSON takes ~5-7x that)
CHUNK = 1 << 20


def bounded_decompress(data: bytes, kind: str, label: str, limit: int | None = None) -> bytes:
    """Decompress xz/gzip/zstd bytes held in memory, refusing output over `limit` (default: MAX_RATIO times the
    input, at least RATIO_FLOOR, at most MAX_ENTRY_BYTES) and truncated input."""
    import lzma
    import zlib

    import zstandard

    cap = limit if limit is not None else min(max(MAX_RATIO * len(data), RATIO_FLOOR), MAX_ENTRY_BYTES)
    try:
        if kind == "xz":
            d = lzma.LZMADecompressor(memlimit=256 << 20)  # a header may ask for a huge dictionary
            out = d.decompress(data, max_length=cap + 1)
            complete = d.eof
        elif kind == "gzip":
            z = zlib.decompressobj(wbits=31)
            out = z.decompress(data, cap + 1)
            complete = z.eof
        elif kind == "zstd":
            zd = zstandard.ZstdDecompressor().decompressobj()
            pieces: list[bytes] = []
            produced = 0
            for at in range(0, len(data), 1024):  # small inputs: one step cannot expand beyond ~50 MB
                piece = zd.decompress(data[at: at + 1024])
                pieces.append(piece)
                produced += len(piece)
                if produced > cap:
                    break
            out = b"".join(pieces)
            complete = zd.eof
        else:
            raise ValueError(kind)
    except (lzma.LZMAError, zlib.error, zstandard.ZstdError, EOFError) as e:
        raise TiewatchError(f"{label}: not a readable .{kind} file: {e}") from None
    if len(out) > cap:
        raise TiewatchError(f"{label}: decompresses to over {cap:,} bytes from {len(data):,}; looks like a "
                            "decompression bomb; refused")
    if not complete:
        raise TiewatchError(f"{label}: truncated .{kind} file (ends before its end marker)")
    return out


class Archive:
    """A zip file or a folder of export files, addressed by relative POSIX paths."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._parsed = 0
        if path.is_dir():
            self._names = sorted(str(p.relative_to(path).as_posix()) for p in inside(path) if p.is_file())
            return
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
            raise TiewatchError(f"{path}: not a readable zip archive (truncated or damaged?): {e}") from None
        total = 0
        packed = 0
        for info in infos:
            parts = PurePosixPath(info.filename).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in (parts[0] if parts else ""):
                raise TiewatchError(f"{path}!{info.filename}: entry path leaves the archive; refused")
            total += info.file_size
            packed += info.compress_size
            if info.file_size > MAX_ENTRY_BYTES or (
                    info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                raise TiewatchError(f"{path}!{info.filename}: {info.file_size:,} bytes from "
                                    f"{info.compress_size:,} compressed looks like a zip bomb; refused")
        if total > MAX_TOTAL_BYTES:
            raise TiewatchError(f"{path}: {total:,} bytes uncompressed is over the {MAX_TOTAL_BYTES:,} limit; refused")
        if total > RATIO_FLOOR and total > MAX_RATIO * max(packed, 1):
            raise TiewatchError(f"{path}: {total:,} bytes from {packed:,} compressed looks like a zip bomb; refused")
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
        """An entry's bytes, streamed with bounds: never more than its declared size, its ratio or the archive's
        Python-parsing budget allows."""
        import zlib

        budget = MAX_PARSED_BYTES - self._parsed
        try:
            if self._zip is not None:
                info = self._zip.getinfo(name)
                cap = min(MAX_ENTRY_BYTES, info.file_size, max(RATIO_FLOOR, MAX_RATIO * max(info.compress_size, 1)))
                with self._zip.open(info) as f:
                    data = _read_capped(f, min(cap, budget) + 1)
                if len(data) > cap:
                    raise TiewatchError(f"{self.label(name)}: yields more than its {cap:,}-byte bound; refused")
            else:
                file = self.path / name
                if not _stays_inside(self.path, file):
                    raise TiewatchError(f"{self.label(name)}: leads outside {self.path}; refused")
                size = file.stat().st_size
                if size > MAX_ENTRY_BYTES:
                    raise TiewatchError(f"{self.label(name)}: entry larger than {MAX_ENTRY_BYTES:,} bytes; refused")
                with open(file, "rb") as fh:
                    data = _read_capped(fh, min(size, budget) + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError, ValueError, NotImplementedError,
                RuntimeError) as e:  # RuntimeError: encrypted; NotImplementedError: unsupported method/version
            raise TiewatchError(f"{self.label(name)}: cannot read entry (damaged, encrypted or unsupported?): "
                                f"{e}") from None
        if len(data) > budget:
            raise TiewatchError(f"{self.path}: more than {MAX_PARSED_BYTES:,} bytes of export files to parse; "
                                "refused (split the export)")
        self._parsed += len(data)
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
            stamps = [p.stat().st_mtime for p in inside(self.path) if p.is_file()]
        return max(stamps) if stamps else None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)


def _read_capped(f: Any, limit: int) -> bytes:
    """At most `limit` bytes, read in chunks (a lying header cannot make one read allocate more)."""
    out = bytearray()
    while len(out) < limit:
        block = f.read(min(CHUNK, limit - len(out)))
        if not block:
            break
        out += block
    return bytes(out)


def _stays_inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def inside(root: Path) -> Iterator[Path]:
    """Every path under `root` whose real location is inside it too (symbolic links out, and anything
    reached through one, are skipped)."""
    real_root = root.resolve()
    for p in root.rglob("*"):
        try:
            p.resolve().relative_to(real_root)
        except (ValueError, OSError, RuntimeError):
            continue
        yield p


def sniff_archive(path: Path, test: Callable[[Archive], bool]) -> bool:
    """Is `path` a folder or zip that `test` recognises? (A damaged zip raises TiewatchError: the user hears
    why rather than "unknown format".)"""
    if not (path.is_dir() or path.suffix.lower() == ".zip"):
        return False
    archive = Archive(path)
    try:
        return test(archive)
    finally:
        archive.close()
