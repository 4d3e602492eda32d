"""Writing output files and folders (--out) with one clear line for every way it can fail."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from tiewatch.errors import TiewatchError


def _why(e: OSError) -> str:
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only?)"
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    return e.strerror or str(e)


def output_dir(path: Path) -> Path:
    """`path` as a folder to write into: created when missing (with its parents), refused when it is a file."""
    if path.exists() and not path.is_dir():
        raise TiewatchError(f"{path}: exists and is not a folder; choose another --out", code="bad_output")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TiewatchError(f"{path}: cannot create folder: {_why(e)}", code="bad_output") from None
    return path


def _write(path: Path, write: Callable[[], object]) -> Path:
    """Write a file (replacing an earlier one) with `write`; its folder must exist."""
    if path.is_dir():
        raise TiewatchError(f"{path}: is a folder; give a file name", code="bad_output")
    if not path.parent.exists():
        raise TiewatchError(f"{path}: folder {path.parent} does not exist", code="bad_output")
    try:
        write()
    except OSError as e:
        raise TiewatchError(f"{path}: cannot write: {_why(e)}", code="bad_output") from None
    return path


def write_text(path: Path, text: str) -> Path:
    return _write(path, lambda: path.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    return _write(path, lambda: path.write_bytes(data))
