"""The check suite every registered source must pass, on every sample it claims (river's estimator checks,
for input formats).

Each check takes a registry entry, one of its samples and a scratch folder, and runs the real pipeline
(registry -> source -> loader -> a real DuckDB store) the way `tiewatch ingest` does:

* claims: the registry, sniffing in its order, gives the sample to this source;
* reads_without_a_store: the source reads the sample with no store at all, and what it read runs on an empty
  in-memory DuckDB connection (the tables it carries bound there);
* loads: the sample ingests without an error and stores something;
* idempotent: a second ingest of the same sample inserts nothing and changes no table;
* truncated, flipped_byte: a copy cut short, or with one byte flipped, ends in a clear one-line error naming
  the file (the store left as it was) or in quarantine rows with file and line; never a traceback, and never
  a silent load as if nothing were wrong.

A source or sample that needs something else adds its own check here, for every source at once.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

from tiewatch.ingest.run import IngestReport, ingest_paths
from tiewatch.sources.base import ReadOptions, Source
from tiewatch.sources.registry import SourceEntry, choose
from tiewatch.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TIEWATCH_SHARED", REPO.parent / "shared"))
TABLES = ("events", "metrics", "news", "accounts", "snapshots", "quarantine")
Check = Callable[[SourceEntry, Path, Path], None]


def sample_path(spec: str) -> Path:
    """A claimed sample's path: "shared:..." under ../shared (TIEWATCH_SHARED), anything else in the repository."""
    return SHARED / spec.removeprefix("shared:") if spec.startswith("shared:") else REPO / spec


def _counts(store: Store) -> dict[str, int]:
    return {t: int(store.scalar(f"SELECT count(*) FROM {t}") or 0) for t in TABLES}


def _ingest(db: Path, path: Path) -> tuple[IngestReport, dict[str, int], dict[str, int]]:
    """Ingest `path` into the store at `db`: (report, table counts before, after). Any exception escaping
    ingest_paths is what a user would see as a traceback, so it fails the check with the sample named."""
    thread_errors: list[str] = []  # an exception in a helper thread is printed as a traceback too
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(f"{args.exc_type.__name__}: {args.exc_value}")
    try:
        with Store(db) as store:
            before = _counts(store)
            try:
                report = ingest_paths(store, [path])
            except Exception as e:  # the point of the check: nothing but a report may come out
                raise AssertionError(f"{path}: ingest raised {type(e).__name__}: {e} (a traceback for the user)") \
                    from e
            after = _counts(store)
    finally:
        threading.excepthook = previous_hook
    assert not thread_errors, f"{path}: a helper thread raised {thread_errors[0]} (a traceback for the user)"
    return report, before, after


def check_claims(entry: SourceEntry, sample: Path, tmp: Path) -> None:
    chosen = choose(sample)
    assert chosen.name == entry.name, f"{sample}: sniffed as {chosen.name!r}, not {entry.name!r}"


def check_reads_without_a_store(entry: SourceEntry, sample: Path, tmp: Path) -> None:
    source: Source = entry.load()
    assert isinstance(source, Source) and (source.name, source.formats, source.container) == (
        entry.name, entry.formats, entry.container), f"{entry.implementation} does not match its registry entry"
    reading = source.read(sample, ReadOptions())
    con = duckdb.connect()  # empty: no store tables, nothing registered but what the reading carries
    try:
        rows = 0
        for part in reading.parts:
            if part.needed is not None and not part.needed():
                continue
            src = part.source
            while src is not None:
                for name, table in src.tables.items():
                    con.register(name, table)
                try:
                    n = int(con.execute(f"SELECT count(*) FROM ({src.sql})").fetchall()[0][0])
                except duckdb.Error as e:
                    raise AssertionError(f"{part.label}: the part's SQL does not run without the store: {e}") from e
                rows += n if src is part.source else 0
                src = src.fallback
    finally:
        con.close()
    assert rows + len(reading.snapshots) > 0, f"{sample}: read nothing (no rows, no snapshots)"


def check_loads(entry: SourceEntry, sample: Path, tmp: Path) -> None:
    report, before, after = _ingest(tmp / "load.duckdb", sample)
    assert not report.errors, f"{sample}: {report.errors}"
    assert report.result.files == 1, f"{sample}: {report.result.files} inputs stored"
    stored = {t: after[t] - before[t] for t in TABLES if t != "quarantine"}
    assert sum(stored.values()) > 0, f"{sample}: nothing stored"


def check_idempotent(entry: SourceEntry, sample: Path, tmp: Path) -> None:
    db = tmp / "twice.duckdb"
    first, _, _ = _ingest(db, sample)
    assert not first.errors, f"{sample}: {first.errors}"
    again, before, after = _ingest(db, sample)
    assert not again.errors, f"{sample}: second ingest: {again.errors}"
    inserted = {t: n for t, n in again.result.inserted.items() if n}
    assert not inserted, f"{sample}: a second ingest inserted {inserted}"
    assert before == after, f"{sample}: a second ingest changed the store: {before} -> {after}"


def _damage_target(copy: Path) -> Path:
    """The file to damage: the copy itself, or in a folder its largest file (the one most records are in)."""
    if copy.is_file():
        return copy
    files = sorted((p for p in copy.rglob("*") if p.is_file() and not p.name.endswith(".md")),
                   key=lambda p: (-p.stat().st_size, str(p)))
    assert files, f"{copy}: an empty sample"
    return files[0]


def _copy(sample: Path, tmp: Path, what: str) -> tuple[Path, Path]:
    folder = tmp / what
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / sample.name
    if sample.is_dir():
        shutil.copytree(sample, copy)
    else:
        shutil.copyfile(sample, copy)
    for p in [copy, *copy.rglob("*")] if copy.is_dir() else [copy]:
        p.chmod(0o755 if p.is_dir() else 0o644)  # the shared data is read-only
    return copy, _damage_target(copy)


def truncate(data: bytes) -> bytes:
    """Cut past the middle, one byte into a line where the data has lines (a record cut after its first byte)."""
    mid = len(data) // 2
    nl = data.find(b"\n", mid)
    return data[: nl + 2] if 0 <= nl < len(data) - 2 else data[:mid]


def flip(data: bytes) -> bytes:
    """The middle byte with its top bit flipped (in text: a byte that is not UTF-8 there)."""
    mid = len(data) // 2
    return data[:mid] + bytes([data[mid] ^ 0x80]) + data[mid + 1:]


def _damaged(sample: Path, tmp: Path, what: str, damage: Callable[[bytes], bytes]) -> None:
    copy, target = _copy(sample, tmp, what)
    target.write_bytes(damage(target.read_bytes()))
    db = tmp / f"{what}.duckdb"
    report, before, after = _ingest(db, copy)
    for err in report.errors:
        assert "\n" not in err.strip() and "Traceback" not in err, f"{target}: not a one-line error: {err!r}"
        assert str(copy) in err, f"{target}: the error does not name the file: {err!r}"
    if report.errors:
        assert before == after, f"{target}: refused, yet the store changed: {before} -> {after}"
        return
    with Store(db, read_only=True) as store:
        quarantined = store.con.execute("SELECT file, line FROM quarantine").fetchall()
    assert quarantined, f"{target} ({what}): stored without an error or a quarantined record, as if intact"
    for file, line in quarantined:
        assert str(file).startswith(str(copy)) and line is not None, \
            f"{target} ({what}): a quarantine row without file:line: {file}:{line}"


def check_truncated(entry: SourceEntry, sample: Path, tmp: Path) -> None:
    _damaged(sample, tmp, "truncated", truncate)


def check_flipped_byte(entry: SourceEntry, sample: Path, tmp: Path) -> None:
    _damaged(sample, tmp, "flipped", flip)


CHECKS: dict[str, Check] = {
    "claims": check_claims,
    "reads_without_a_store": check_reads_without_a_store,
    "loads": check_loads,
    "idempotent": check_idempotent,
    "truncated": check_truncated,
    "flipped_byte": check_flipped_byte,
}
