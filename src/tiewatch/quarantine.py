"""Managing the quarantine: clearing it, and retrying its files after a fix (a mapping, a corrected file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tiewatch.ingest.canonical import FieldMapping
from tiewatch.ingest.loader import IngestResult
from tiewatch.store import Store


def _source_file(label: str) -> str:
    """The file on disk a quarantine row came from ("export.zip!data/like.js" -> "export.zip")."""
    return label.split("!", 1)[0]


def clear(store: Store, files: list[str] | None = None) -> int:
    """Delete quarantine rows (of these files, or all); returns how many."""
    with store.transaction() as con:
        if files:
            labels = [str(Path(f)) for f in files]
            rows = con.execute("SELECT count(*) FROM quarantine WHERE split_part(file, '!', 1) IN (SELECT unnest(?))",
                               [labels]).fetchall()
            con.execute("DELETE FROM quarantine WHERE split_part(file, '!', 1) IN (SELECT unnest(?))", [labels])
        else:
            rows = con.execute("SELECT count(*) FROM quarantine").fetchall()
            con.execute("DELETE FROM quarantine")
    return int(rows[0][0])


@dataclass
class RetryReport:
    result: IngestResult = field(default_factory=IngestResult)
    cleared: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def retry(store: Store, mapping: FieldMapping, *, table: str | None = None, fmt: str | None = None,
          files: list[str] | None = None) -> RetryReport:
    """Ingest again every file with quarantined records (with the mapping given now); a file that then ingests
    without error has its earlier quarantine rows removed (rows it still rejects are quarantined anew)."""
    from tiewatch.ingest.run import ingest_paths

    report = RetryReport()
    labels = [str(r[0]) for r in store.con.execute("SELECT DISTINCT file FROM quarantine ORDER BY file").fetchall()]
    wanted = {str(Path(f)) for f in files} if files else None
    sources = list(dict.fromkeys(_source_file(label) for label in labels))
    for source in sources:
        if wanted is not None and source not in wanted:
            continue
        path = Path(source)
        if not path.exists():
            report.skipped.append(f"{source}: no longer exists (or is a live stream); not retried")
            continue
        started = datetime.now(UTC).replace(tzinfo=None)
        one = ingest_paths(store, [path], mapping=mapping, table=table, fmt=fmt)
        report.result.add(one.result)
        report.skipped += one.skipped
        if one.errors:
            report.errors += one.errors
            continue
        with store.transaction() as con:
            n = con.execute("SELECT count(*) FROM quarantine WHERE split_part(file, '!', 1) = ? AND ingested_at < ?",
                            [source, started]).fetchall()[0][0]
            con.execute("DELETE FROM quarantine WHERE split_part(file, '!', 1) = ? AND ingested_at < ?",
                        [source, started])
        report.cleared += int(n)
    return report
