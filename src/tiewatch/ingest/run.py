"""Ingesting many paths: expand folders, recognise formats, load file by file with a progress bar."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from tiewatch.errors import Interrupted, NotATable, TiewatchError
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
    files = expand_paths([p for p in paths if Path(p) not in lakes], report.skipped)
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
        before = _last_ingest_id(store)
        try:
            one = guarded_ingest_file(store, f, mapping, table=table, fmt=fmt, strict=strict, as_of=as_of)
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
            stored = report.result.files
            if _last_ingest_id(store) != before:  # the interrupt came after this file's commit
                raise Interrupted(f"Interrupted after {f} was stored ({stored + 1} file(s) stored)") from None
            raise Interrupted(f"Interrupted; nothing from {f} was stored"
                              + (f" ({stored} file(s) before it were)" if stored else "")) from None
        finally:
            stop.set()
            if progress is not None:
                poller.join()
        done += size
        if progress is not None:
            progress(ProgressEvent("ingest", f.name, done, total))
    return report


PLATFORM_FORMATS = ("jetstream", "x", "instagram", "instaloader", "snapshots", "car")


def _last_ingest_id(store: Store) -> int | None:
    """The id of the latest committed ingest (None when there is none or it cannot be read now)."""
    try:
        row = store.con.execute("SELECT max(id) FROM ingests").fetchall()
    except duckdb.Error:
        return None
    return int(row[0][0]) if row and row[0][0] is not None else None


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
                        fmt: str | None = None, strict: bool = False, as_of: datetime | None = None) -> IngestResult:
    """`ingest_file`, with any failure a reader did not foresee turned into a one-line error for that file
    (malformed input must never surface as a traceback; the file's transaction has rolled back)."""
    import zlib

    try:
        return ingest_file(store, path, mapping, table=table, fmt=fmt, strict=strict, as_of=as_of)
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

        def count() -> None:
            try:
                other_apps.append(count_other_apps(inp))
            except Exception:  # damaged input: the staging reader reports it, with the file's name
                other_apps.append(0)

        counter = threading.Thread(target=count, daemon=True)
        counter.start()
        result = ingest_parts(store, inp, parts, strict=strict, after_load=after)
        counter.join()
        result.set_aside = other_apps[0] if other_apps else 0
        return result
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
