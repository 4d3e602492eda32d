"""Ingesting many paths: expand folders, recognise formats, load file by file with a progress bar."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from tiewatch.errors import Interrupted, NotATable, TiewatchError
from tiewatch.ingest.canonical import FieldMapping
from tiewatch.ingest.loader import IngestResult
from tiewatch.lake import ingest_lake, is_lake
from tiewatch.progress import ProgressCallback, ProgressEvent
from tiewatch.sources.base import CHOOSE_TABLE, Reading, ReadOptions
from tiewatch.sources.files import expand_paths
from tiewatch.sources.registry import choose
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
    """One file or export: the registry chooses its source (the one `fmt` names, else the first that sniffs
    it), the source reads it without the store, and the loader stores what it read. `as_of` dates an
    export's follower snapshots when the export does not say when it was made."""
    source = choose(path, fmt)
    reading = source.read(path, ReadOptions(fmt=fmt, wanted=tuple(mapping.wanted_columns()), as_of=as_of))
    return load_reading(store, reading, mapping if reading.mapped else None, table=table, strict=strict)


def load_reading(store: Store, reading: Reading, mapping: FieldMapping | None = None, *, table: str | None = None,
                 strict: bool = False) -> IngestResult:
    """Store what a source read, all or nothing: its parts (a generic table's chosen from its columns), its
    follower snapshots diffed against the stored ones, its own statements; warnings are passed on."""
    from tiewatch.ingest.canonical import choose_table
    from tiewatch.ingest.loader import ingest_parts
    from tiewatch.ingest.snapshots import snapshot_statements

    for part in reading.parts:
        if part.table == CHOOSE_TABLE:
            part.table = choose_table(part.source, mapping or FieldMapping({}, {}), table, part.label)
    registered: list[str] = []
    counted: list[int] = []
    counter = threading.Thread(target=lambda: counted.append(reading.set_aside() if reading.set_aside else 0),
                               daemon=True)
    try:
        label = str(reading.input.path)
        statements = [sql for i, snap in enumerate(reading.snapshots)  # each diffed against those before it
                      for sql in snapshot_statements(store.con, snap, label, registered, reading.snapshots[:i])]
        if reading.set_aside is not None:
            counter.start()  # beside the (longer) staging
        result = ingest_parts(store, reading.input, reading.parts, mapping, strict=strict,
                              after_load=statements + reading.after_load, hash_file=reading.hash_file)
        if reading.set_aside is not None:
            counter.join()
            result.set_aside = counted[0] if counted else 0
        result.warnings += reading.warnings
        return result
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
