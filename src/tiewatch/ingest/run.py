"""Ingesting many paths: expand folders, recognise formats, load file by file with a progress bar."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tiewatch.errors import NotATable, TiewatchError
from tiewatch.ingest.canonical import FieldMapping
from tiewatch.ingest.loader import IngestResult, ingest_generic_file
from tiewatch.lake import ingest_lake, is_lake
from tiewatch.progress import ProgressCallback, ProgressEvent
from tiewatch.sources.files import InputFile, expand_paths, recognise
from tiewatch.store import Store


@dataclass
class IngestReport:
    result: IngestResult = field(default_factory=IngestResult)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def ingest_paths(store: Store, paths: list[str | Path], *, mapping: FieldMapping | None = None,
                 table: str | None = None, fmt: str | None = None, strict: bool = False,
                 progress: ProgressCallback | None = None, as_of: datetime | None = None) -> IngestReport:
    """Ingest every file under `paths`; a file that fails is reported and leaves the store untouched.

    `progress`, when given, hears how many bytes of the input are done, moving within a long file as DuckDB
    reports its own progress through the file's statements.
    """
    mapping = mapping or FieldMapping({}, {})
    report = IngestReport()
    lakes = [Path(p) for p in paths if is_lake(Path(p))]  # a Parquet lake that `tiewatch export` wrote
    for lake in lakes:
        report.result.add(_ingest_lake(store, lake))
    files = expand_paths([p for p in paths if Path(p) not in lakes])
    total = float(sum(f.stat().st_size for f, _ in files)) or 1.0
    done = 0.0
    for f, explicit in files:
        size = f.stat().st_size
        stop = threading.Event()
        poller = threading.Thread(target=_poll, args=(store, progress, f.name, done, size, total, stop),
                                  daemon=True)
        if progress is not None:
            progress(ProgressEvent("ingest", f.name, done, total))
            store.con.execute("SET enable_progress_bar = true")  # tracked, not printed: the front end draws it
            store.con.execute("SET enable_progress_bar_print = false")
            poller.start()
        try:
            report.result.add(ingest_file(store, f, mapping, table=table, fmt=fmt, strict=strict, as_of=as_of))
        except NotATable as e:
            (report.errors if explicit else report.skipped).append(str(e))
        except TiewatchError as e:
            report.errors.append(str(e))
        finally:
            stop.set()
            if progress is not None:
                poller.join()
        done += size
        if progress is not None:
            progress(ProgressEvent("ingest", f.name, done, total))
    return report


PLATFORM_FORMATS = ("jetstream", "x", "instagram", "instaloader", "snapshots", "car")


def ingest_file(store: Store, path: Path, mapping: FieldMapping, *, table: str | None = None,
                fmt: str | None = None, strict: bool = False, as_of: datetime | None = None) -> IngestResult:
    """One file: a platform format when named or recognised, else a generic table. `as_of` dates an export's
    follower snapshots when the export does not say when it was made."""
    from tiewatch.ingest.loader import ingest_parts
    from tiewatch.sources.files import read_head
    from tiewatch.sources.jetstream import count_other_apps, jetstream_parts, looks_like_jetstream
    from tiewatch.sources.platforms import ARCHIVE_FORMATS, archive_parts

    if path.is_dir() or fmt in ARCHIVE_FORMATS or path.suffix.lower() == ".zip":
        registered: list[str] = []
        try:
            kind, parts, statements, warnings = archive_parts(store.con, path, fmt, registered, as_of)
            result = ingest_parts(store, InputFile(path, kind, None), parts, strict=strict, after_load=statements,
                                  hash_file=path.is_file())
            result.warnings += warnings
            return result
        finally:
            for name in registered:
                store.con.unregister(name)
    if fmt == "car" or (fmt is None and path.suffix.lower() == ".car"):
        from tiewatch.sources.car import car_parts

        registered = []
        try:
            parts = car_parts(store.con, path, registered)
            return ingest_parts(store, InputFile(path, "car", None), parts, strict=strict)
        finally:
            for name in registered:
                store.con.unregister(name)
    if fmt == "snapshots" or (fmt is None and path.name.lower().endswith((".snapshots.jsonl", "snapshots.jsonl"))):
        return _ingest_snapshots(store, path)
    inp = recognise(path, None if fmt in PLATFORM_FORMATS else fmt)
    if fmt == "jetstream" or (fmt is None and inp.format == "jsonl"
                              and looks_like_jetstream(read_head(inp.path, inp.compression))):
        inp = InputFile(inp.path, "jetstream", inp.compression)
        parts, after = jetstream_parts(inp)
        other_apps: list[int] = []
        counter = threading.Thread(target=lambda: other_apps.append(count_other_apps(inp)), daemon=True)
        counter.start()
        result = ingest_parts(store, inp, parts, strict=strict, after_load=after)
        counter.join()
        result.set_aside = other_apps[0] if other_apps else 0
        return result
    return ingest_generic_file(store, inp, mapping, table=table, strict=strict)


def _ingest_snapshots(store: Store, path: Path) -> IngestResult:
    from tiewatch.ingest.loader import ingest_parts
    from tiewatch.sources.files import open_binary
    from tiewatch.sources.snapshots import parse_snapshot_lines, snapshot_statements

    inp = recognise(path, "jsonl")
    with open_binary(inp.path, inp.compression) as f:
        text = f.read().decode("utf-8", errors="strict")
    registered: list[str] = []
    try:
        snaps = sorted(parse_snapshot_lines(text, str(path)), key=lambda s: s.taken)
        statements: list[str] = []
        for i, snap in enumerate(snaps):  # each diffed against the one before it, in time order
            statements += snapshot_statements(store.con, snap, str(path), registered, snaps[:i])
        return ingest_parts(store, InputFile(path, "snapshots", inp.compression), [], after_load=statements)
    finally:
        for name in registered:
            store.con.unregister(name)


def _poll(store: Store, progress: ProgressCallback | None, name: str, base: float, size: int, total: float,
          stop: threading.Event) -> None:
    """Report DuckDB's own progress through the current file's long statements (never moving backwards)."""
    shown = 0.0
    while not stop.wait(0.2):
        try:
            pct = store.con.query_progress()
        except Exception:  # the connection is between statements: no reading this time
            continue
        if progress is not None and pct is not None and pct > shown:
            shown = min(pct, 99.0)
            progress(ProgressEvent("ingest", name, base + size * shown / 100.0, total))


def _ingest_lake(store: Store, lake: Path) -> IngestResult:
    summary = ingest_lake(store, lake)
    result = IngestResult(files=1, duplicates=summary.duplicates)
    for table, n in summary.inserted.items():
        result.inserted[table] = result.inserted.get(table, 0) + n
    return result
