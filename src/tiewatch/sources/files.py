"""Finding input files, recognising their format and compression, and mapping record numbers to lines."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import zstandard

from tiewatch.errors import TiewatchError

TEXT_FORMATS = ("jsonl", "json", "csv", "tsv", "text")
FORMATS = (*TEXT_FORMATS, "parquet")
_EXT_FORMAT = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".txt": "text", ".parquet": "parquet", ".pq": "parquet",
}
_COMPRESSION = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class InputFile:
    """One file to ingest: where it is, what format it holds and how it is compressed."""

    path: Path
    format: str
    compression: str | None  # "gzip", "zstd" or None


def expand_paths(paths: Iterable[str | Path], skipped: list[str] | None = None) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for files named and files found recursively under folders, in stable order.

    Inside a folder, symbolic links that lead outside it are not followed (noted in `skipped`)."""
    from tiewatch.sources.archive import inside

    out: list[tuple[Path, bool]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise TiewatchError(f"{p}: no such file or folder")
        if p.is_dir():
            from tiewatch.sources.registry import is_platform_folder

            if is_platform_folder(p):
                out.append((p, True))
                continue
            kept = set(inside(p))
            if skipped is not None:
                skipped += [f"{f}: symbolic link to outside {p}; not followed" for f in sorted(p.rglob("*"))
                            if f.is_symlink() and f not in kept]
            found = sorted(f for f in kept if f.is_file() and not f.name.startswith("."))
            readable = [f for f in found if guess_format_by_name(f)[0] is not None]
            if not readable:
                raise TiewatchError(f"{p}: folder has no readable files (CSV, TSV, TXT, JSON, JSONL, Parquet)")
            out.extend((f, False) for f in readable)
        else:
            out.append((p, True))
    return out


def guess_format_by_name(path: Path) -> tuple[str | None, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    fmt = _EXT_FORMAT.get(suffixes[-1]) if suffixes else None
    return fmt, compression


def open_binary(path: Path, compression: str | None) -> IO[bytes]:
    """The file's decompressed bytes as a stream."""
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)  # type: ignore[no-any-return]
    return open(path, "rb")


def read_head(path: Path, compression: str | None, size: int = SNIFF_BYTES) -> bytes:
    import zlib

    try:
        with open_binary(path, compression) as f:
            return f.read(size)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise TiewatchError(f"{path}: cannot read ({compression or 'file'}): {e}") from None


def zstd_problem(path: Path, chunk: int = 1 << 20) -> str | None:
    """Why a .zst file is not complete (None when every frame ends properly), as gzip's CRC check would tell.

    zstd's streaming readers return what they could decode from a truncated frame without complaint, so the
    file is decoded to its end here (output discarded) and every frame must reach its end."""
    try:
        with open(path, "rb") as f:
            d = zstandard.ZstdDecompressor().decompressobj()
            started = False
            while block := f.read(chunk):
                while block:
                    started = True
                    d.decompress(block)
                    if not d.eof:
                        break
                    block = d.unused_data  # the next frame starts in this block
                    d = zstandard.ZstdDecompressor().decompressobj()
                    started = False
            if started:
                return "truncated .zst file (its last frame ends early); nothing stored"
    except zstandard.ZstdError as e:
        return f"damaged .zst file ({e}); nothing stored"
    except OSError as e:
        return f"cannot read: {e.strerror}"
    return None


def _sniff(head: bytes) -> str | None:
    text = head.lstrip()
    if text.startswith(b"PAR1"):
        return "parquet"
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0].strip()
        try:
            json.loads(first)
            return "jsonl"
        except ValueError:
            return "json"
    first_line = text.split(b"\n", 1)[0]
    if b"\t" in first_line:
        return "tsv"
    if b"," in first_line:
        return "csv"
    if first_line.strip():
        return "text"
    return None


def recognise(path: Path, forced_format: str | None = None) -> InputFile:
    """Decide format and compression from the name, then the content; fail clearly when neither says."""
    if not path.is_file():
        raise TiewatchError(f"{path}: not a file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as e:
        raise TiewatchError(f"{path}: cannot read: {e.strerror}") from None
    if size == 0:
        raise TiewatchError(f"{path}: empty file")
    fmt, compression = guess_format_by_name(path)
    if compression is None:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic[:2] == b"\x1f\x8b":
            compression = "gzip"
        elif magic == b"\x28\xb5\x2f\xfd":
            compression = "zstd"
    if forced_format:
        if forced_format not in FORMATS:
            raise TiewatchError(f"unknown format {forced_format!r}; choose one of {', '.join(FORMATS)}")
        fmt = forced_format
    if fmt == "parquet" and compression:
        raise TiewatchError(f"{path}: compressed Parquet is not supported (Parquet compresses internally)")
    if compression == "zstd" and size < 4 * SNIFF_BYTES:
        problem = zstd_problem(path)  # a small truncated .zst otherwise reads as nothing at all
        if problem:
            raise TiewatchError(f"{path}: {problem}")
    head = read_head(path, compression) if fmt != "parquet" else b""
    if fmt != "parquet" and not head.strip():
        raise TiewatchError(f"{path}: empty file")
    if fmt is None:
        fmt = _sniff(head)
    elif fmt == "json" and head.lstrip().startswith(b"{"):
        fmt = _sniff(head)  # a .json file holding one object per line is JSON Lines
    if fmt is None:
        raise TiewatchError(f"{path}: unknown format; name it with --format ({', '.join(FORMATS)})")
    if fmt in TEXT_FORMATS:
        try:
            head.decode("utf-8") if len(head) < SNIFF_BYTES else head[: SNIFF_BYTES - 4].decode("utf-8")
        except UnicodeDecodeError as e:
            raise TiewatchError(f"{path}: not UTF-8 text (byte {e.start}); convert it to UTF-8 first") from None
    return InputFile(path, fmt, compression)


def iter_lines(path: Path, compression: str | None, chunk: int = 32 << 20) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its end) for every line; numbering counts blank lines too."""
    lineno = 0
    rest = b""
    with open_binary(path, compression) as f:
        reader = f if isinstance(f, io.BufferedReader) else io.BufferedReader(f)  # type: ignore[type-var,arg-type]
        while True:
            block = reader.read(chunk)
            buf = rest + block
            if not block:
                if buf:
                    lineno += 1
                    yield lineno, buf.rstrip(b"\r")
                return
            cut = buf.rfind(b"\n") + 1
            rest, buf = buf[cut:], buf[:cut]
            for line in buf.split(b"\n")[:-1]:
                lineno += 1
                yield lineno, line.rstrip(b"\r")


def locate_records(path: Path, compression: str | None, records: set[int], *, skip_lines: int = 0,
                   excluded: set[int] | frozenset[int] = frozenset()) -> dict[int, tuple[int, str]]:
    """Map record numbers (1-based, counting non-blank lines after `skip_lines`, except `excluded` lines) to
    (line, raw text).

    Used only for the few records a file rejects: the fast bulk readers number records, not lines.
    """
    found: dict[int, tuple[int, str]] = {}
    if not records:
        return found
    last = max(records)
    rec = 0
    for lineno, line in iter_lines(path, compression):
        if lineno <= skip_lines or lineno in excluded or not line.strip():
            continue
        rec += 1
        if rec in records:
            found[rec] = (lineno, line.decode("utf-8", errors="replace"))
        if rec >= last:
            break
    return found
