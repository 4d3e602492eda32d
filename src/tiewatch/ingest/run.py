"""Ingesting many paths: expand folders, recognise formats, load file by file with a progress bar."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from tiewatch.errors import Interrupted, NotATable, TiewatchError
from tiewatch.ingest.canonical import FieldMapping
from tiewatch.ingest.loader import IngestResult, ingest_generic_file
from tiewatch.sources.files import InputFile, expand_paths, recognise
from tiewatch.store import Store


@dataclass
class IngestReport:
    result: IngestResult = field(default_factory=IngestResult)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def ingest_paths(store: Store, paths: list[str | Path], *, mapping: FieldMapping | None = None,
                 table: str | None = None, fmt: str | None = None, strict: bool = False,
                 show_progress: bool | None = None) -> IngestReport:
    """Ingest every file under `paths`; a file that fails is reported and leaves the store untouched."""
    mapping = mapping or FieldMapping({}, {})
    report = IngestReport()
    files = expand_paths(paths, report.skipped)
    total = sum(f.stat().st_size for f, _ in files)
    console = Console(stderr=True)
    show = console.is_terminal if show_progress is None else show_progress
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                        console=console, transient=True, disable=not show)
    with progress:
        overall = progress.add_task("ingest", total=total or 1)
        for f, explicit in files:
            size = f.stat().st_size
            done_before = progress.tasks[overall].completed
            progress.update(overall, description=f"ingest {f.name}")
            stop = threading.Event()
            poller = threading.Thread(target=_poll, args=(store, progress, overall, done_before, size, stop),
                                      daemon=True)
            if show:
                store.con.execute("SET enable_progress_bar = true")  # tracked, not printed: we draw it
                store.con.execute("SET enable_progress_bar_print = false")
                poller.start()
            try:
                one = guarded_ingest_file(store, f, mapping, table=table, fmt=fmt, strict=strict)
                report.result.add(one)
                if one.rejected and not one.duplicates and not any(one.inserted.values()) \
                        and _record_format(store, f):
                    report.errors.append(_all_rejected(store, f, one.rejected))
            except NotATable as e:
                (report.errors if explicit else report.skipped).append(str(e))
            except TiewatchError as e:
                report.errors.append(str(e))
            except (KeyboardInterrupt, duckdb.InterruptException, RuntimeError) as e:
                if isinstance(e, RuntimeError) and "interrupted" not in str(e).lower():
                    raise
                done = report.result.files
                raise Interrupted(f"Interrupted; nothing from {f} was stored"
                                  + (f" ({done} file(s) before it were)" if done else "")) from None
            finally:
                stop.set()
                if show:
                    poller.join()
            progress.update(overall, completed=done_before + size)
    return report


PLATFORM_FORMATS = ("jetstream", "x", "instagram", "instaloader", "snapshots", "car")


def _record_format(store: Store, path: Path) -> bool:
    """Was the file last ingested as records only (a table file or a capture)? Exports also store snapshots,
    so for them "no record stored" does not mean "nothing stored"."""
    row = store.con.execute("SELECT format FROM ingests WHERE file = ? ORDER BY id DESC LIMIT 1",
                            [str(path)]).fetchall()
    return bool(row) and row[0][0] in ("jsonl", "json", "csv", "tsv", "text", "parquet", "jetstream")


def _all_rejected(store: Store, path: Path, n: int) -> str:
    """The error for a file none of whose records could be stored, with the likely fix."""
    row = store.con.execute("SELECT reason FROM quarantine WHERE file = ? GROUP BY reason ORDER BY count(*) DESC "
                            "LIMIT 1", [str(path)]).fetchall()
    reason = str(row[0][0]) if row else ""
    missing = reason[len("missing "):].split()[0] if reason.startswith("missing ") and reason[8:] else None
    example = f"--map {missing}=COLUMN" if missing else "--map FIELD=COLUMN or --set FIELD=VALUE"
    return (f"{path}: all {n:,} records were quarantined, nothing stored"
            + (f" (mostly: {reason})" if reason else "")
            + f"; if the file names its fields differently, map them ({example}) and run "
            "`tiewatch quarantine --retry` with the same options")


def guarded_ingest_file(store: Store, path: Path, mapping: FieldMapping, *, table: str | None = None,
                        fmt: str | None = None, strict: bool = False) -> IngestResult:
    """`ingest_file`, with any failure a reader did not foresee turned into a one-line error for that file
    (malformed input must never surface as a traceback; the file's transaction has rolled back)."""
    import zlib

    try:
        return ingest_file(store, path, mapping, table=table, fmt=fmt, strict=strict)
    except TiewatchError:
        raise
    except RecursionError:
        raise TiewatchError(f"{path}: nested too deeply to read; nothing stored") from None
    except MemoryError:
        raise TiewatchError(f"{path}: too large to read in the memory allowed; nothing stored",
                            code="memory") from None
    except UnicodeDecodeError as e:
        raise TiewatchError(f"{path}: not valid UTF-8 text (byte {e.start}); nothing stored") from None
    except (zlib.error, EOFError) as e:
        raise TiewatchError(f"{path}: damaged compressed data ({e}); nothing stored") from None
    except OSError as e:
        raise TiewatchError(f"{path}: cannot read: {e.strerror or e}; nothing stored") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, LookupError, ArithmeticError,
            NotImplementedError) as e:
        kind = fmt or path.suffix.lstrip(".") or "input"
        raise TiewatchError(f"{path}: cannot read as {kind}: unexpected content ({type(e).__name__}: "
                            f"{str(e)[:200]}); nothing stored") from None


def ingest_file(store: Store, path: Path, mapping: FieldMapping, *, table: str | None = None,
                fmt: str | None = None, strict: bool = False) -> IngestResult:
    """One file: a platform format when named or recognised, else a generic table."""
    from tiewatch.ingest.loader import ingest_parts
    from tiewatch.sources.files import read_head
    from tiewatch.sources.jetstream import jetstream_parts, looks_like_jetstream
    from tiewatch.sources.platforms import ARCHIVE_FORMATS, archive_parts

    if path.is_dir() or fmt in ARCHIVE_FORMATS or path.suffix.lower() == ".zip":
        registered: list[str] = []
        try:
            kind, parts, statements = archive_parts(store.con, path, fmt, registered)
            return ingest_parts(store, InputFile(path, kind, None), parts, strict=strict, after_load=statements,
                                hash_file=path.is_file())
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
        return ingest_parts(store, inp, parts, strict=strict, after_load=after)
    return ingest_generic_file(store, inp, mapping, table=table, strict=strict)


MAX_SNAPSHOT_BYTES = 1 << 30


def _ingest_snapshots(store: Store, path: Path) -> IngestResult:
    from tiewatch.ingest.loader import ingest_parts
    from tiewatch.sources.files import open_binary
    from tiewatch.sources.snapshots import parse_snapshot_lines, snapshot_statements

    inp = recognise(path, "jsonl")
    with open_binary(inp.path, inp.compression) as f:
        data = f.read(MAX_SNAPSHOT_BYTES + 1)
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise TiewatchError(f"{path}: snapshot files are read whole; this one is over {MAX_SNAPSHOT_BYTES:,} bytes "
                            "(split it)")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise TiewatchError(f"{path}: not valid UTF-8 text (byte {e.start})") from None
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


def _poll(store: Store, progress: Progress, task: TaskID, base: float, size: int, stop: threading.Event) -> None:
    """Show DuckDB's own progress through the current file's long statements (never moving backwards)."""
    shown = 0.0
    while not stop.wait(0.2):
        try:
            pct = store.con.query_progress()
        except Exception:  # the connection is between statements: no reading this time
            continue
        if pct is not None and pct > shown:
            shown = min(pct, 99.0)
            progress.update(task, completed=base + size * shown / 100.0)
