"""Recognising platform exports (zip or folder) and turning them into parts for the common loader."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from tiewatch.errors import TiewatchError
from tiewatch.sources.archive import Archive
from tiewatch.sources.base import Part
from tiewatch.sources.instagram import instagram_parts, is_instagram_export
from tiewatch.sources.instaloader import instaloader_parts, is_instaloader_folder
from tiewatch.sources.snapshots import snapshot_statements
from tiewatch.sources.xarchive import is_x_archive, x_archive_parts

ARCHIVE_FORMATS = ("x", "instagram", "instaloader")


def archive_kind(archive: Archive) -> str | None:
    if is_x_archive(archive):
        return "x"
    if is_instagram_export(archive):
        return "instagram"
    if is_instaloader_folder(archive):
        return "instaloader"
    return None


def is_platform_folder(path: Path) -> bool:
    """A folder that is one export (read as a whole) rather than a folder of table files."""
    try:
        return path.is_dir() and archive_kind(Archive(path)) is not None
    except TiewatchError:
        return False


def archive_parts(con: duckdb.DuckDBPyConnection, path: Path, fmt: str | None, registered: list[str],
                  as_of: datetime | None = None) -> tuple[str, list[Part], list[str], list[str]]:
    """(format, parts, statements to run in the ingest transaction, warnings) for an export. `as_of` dates the
    export's follower snapshots when its own files do not."""
    archive = Archive(path)
    try:
        kind = fmt if fmt in ARCHIVE_FORMATS else archive_kind(archive)
        if kind is None:
            raise TiewatchError(f"{path}: not an X archive, Instagram export or Instaloader folder (no "
                                "data/account.js or manifest.js; no followers_N.json, following.json or "
                                "liked_posts.json; no <date>_UTC.json post files)")
        if kind == "instaloader":
            return kind, instaloader_parts(con, archive, registered), [], []
        if kind == "x":
            parts, snapshots, warnings = x_archive_parts(con, archive, registered, as_of)
        else:
            parts, snapshots, warnings = instagram_parts(con, archive, registered, as_of)
        statements = [sql for i, snap in enumerate(snapshots)
                      for sql in snapshot_statements(con, snap, str(path), registered, snapshots[:i])]
        return kind, parts, statements, warnings
    finally:
        archive.close()
