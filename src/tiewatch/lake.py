"""The canonical tables as a Parquet lake: what a Spark cluster (or anything that reads Parquet) runs on.

Layout (one folder, a manifest at its root):

    DIR/manifest.json                                  {"format": "tiewatch-lake", "version": 1, "partitions": {...}}
    DIR/events/platform=<p>/month=<YYYY-MM>/part-0.parquet   (month=none: events without a time)
    DIR/metrics/part-0.parquet
    DIR/news/part-0.parquet
    DIR/accounts/part-0.parquet
    DIR/snapshots/part-0.parquet

Every file holds every column of its table (the folder names are for people and for pruning by hand; readers
take the files the manifest lists and the columns from the files, `hive_partitioning = false` in DuckDB), with
the store's types: naive TIMESTAMP in UTC, VARCHAR[] as a list of strings.

Exporting is idempotent and resumable: each partition's fingerprint (row count and a sum of row hashes,
computed in one grouped query) is kept in the manifest; a partition whose fingerprint has not changed is not
written again; a changed one is written to a temporary folder and renamed into place, and the manifest is
rewritten (atomically) after every partition, so a killed export resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tiewatch.errors import InvalidInput
from tiewatch.schema import FIELDS, TABLES

FORMAT = "tiewatch-lake"
VERSION = 1
MANIFEST = "manifest.json"
NO_MONTH = "none"
# The columns each table keeps in the lake: the canonical fields (which file a row came from and which ingest
# wrote it are the store's own bookkeeping), and every column of the follower snapshots.
LAKE_COLUMNS: dict[str, tuple[str, ...]] = {**FIELDS, "snapshots": TABLES["snapshots"].names}
LAKE_TABLES = ("events", "metrics", "news", "accounts", "snapshots")
KEYS = {"events": ("id",), "news": ("id",), "metrics": ("platform", "account", "ts"),
        "accounts": ("platform", "account"), "snapshots": ("platform", "account", "direction", "member", "taken")}


@dataclass
class ExportSummary:
    path: Path
    written: dict[str, int] = field(default_factory=dict)  # partition -> rows written in this run
    unchanged: int = 0  # partitions already in the lake with the same rows

    def as_json(self) -> dict[str, Any]:
        return {"lake": str(self.path), "partitions_written": len(self.written),
                "rows_written": sum(self.written.values()), "partitions_unchanged": self.unchanged}


def _q(name: str) -> str:
    return f'"{name}"'


def _columns(table: str) -> str:
    return ", ".join(_q(c) for c in LAKE_COLUMNS[table])


def is_lake(path: Path) -> bool:
    """A folder with a tiewatch lake manifest at its root."""
    manifest = path / MANIFEST
    if not (path.is_dir() and manifest.is_file()):
        return False
    try:
        return bool(json.loads(manifest.read_text()).get("format") == FORMAT)
    except (OSError, ValueError, AttributeError):
        return False


def read_manifest(path: Path) -> dict[str, Any]:
    manifest = path / MANIFEST
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as e:
        raise InvalidInput(f"{manifest}: not a tiewatch lake manifest ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{manifest}: not a tiewatch lake manifest")
    if data.get("version") != VERSION:
        raise InvalidInput(f"{manifest}: lake version {data.get('version')}, this tiewatch reads {VERSION}")
    return data


def _write_manifest(path: Path, partitions: dict[str, Any]) -> None:
    tmp = path / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "version": VERSION, "partitions": partitions}, indent=1,
                              sort_keys=True))
    os.replace(tmp, path / MANIFEST)


def partition_dir(table: str, platform: str | None = None, month: str | None = None) -> str:
    """The folder of a partition, relative to the lake root."""
    if table != "events":
        return table
    return f"events/platform={quote(str(platform), safe='')}/month={month}"


def table_files(lake: Path, table: str) -> list[Path]:
    """The Parquet files of a table in the lake (those the manifest lists)."""
    manifest = read_manifest(lake)
    return sorted(lake / rel / "part-0.parquet" for rel in manifest["partitions"]
                  if rel == table or rel.startswith(table + "/"))


def _fingerprints(con: Any, table: str) -> dict[str, tuple[int, str]]:
    """partition folder -> (rows, fingerprint), in one grouped query over the table."""
    row_hash = f"sum(hash({_columns(table)})::HUGEINT)"
    if table == "events":
        month = f"coalesce(strftime(ts, '%Y-%m'), '{NO_MONTH}')"
        rows = con.execute(f"SELECT platform, {month} AS month, count(*), {row_hash}::VARCHAR FROM events "
                           "GROUP BY ALL").fetchall()
        return {partition_dir("events", p, m): (int(n), str(h)) for p, m, n, h in rows}
    n, h = con.execute(f"SELECT count(*), coalesce({row_hash}, 0)::VARCHAR FROM {table}").fetchall()[0]
    return {table: (int(n), str(h))}


def _partition_query(table: str, rel: str) -> tuple[str, list[Any]]:
    if table != "events":
        return f"SELECT {_columns(table)} FROM {table}", []
    platform_part, month_part = rel.split("/")[1:]
    from urllib.parse import unquote

    platform = unquote(platform_part.removeprefix("platform="))
    month = month_part.removeprefix("month=")
    if month == NO_MONTH:
        return f"SELECT {_columns(table)} FROM events WHERE platform = ? AND ts IS NULL", [platform]
    # A range on ts (not strftime(ts) = month) lets DuckDB skip row groups by their min/max.
    return (f"SELECT {_columns(table)} FROM events WHERE platform = ? AND ts >= CAST(? AS TIMESTAMP) "
            "AND ts < CAST(? AS TIMESTAMP) + INTERVAL 1 MONTH ORDER BY ts, id",
            [platform, f"{month}-01", f"{month}-01"])


def export_lake(con: Any, path: str | Path) -> ExportSummary:
    """Write the store's canonical tables under `path` as a Parquet lake (see the module's doc)."""
    lake = Path(path)
    if lake.exists() and not lake.is_dir():
        raise InvalidInput(f"{lake}: exists and is not a folder")
    if lake.is_dir() and any(lake.iterdir()) and not is_lake(lake):
        raise InvalidInput(f"{lake}: a folder that is not a tiewatch lake (no {MANIFEST}); choose an empty folder")
    lake.mkdir(parents=True, exist_ok=True)
    old: dict[str, Any] = read_manifest(lake)["partitions"] if is_lake(lake) else {}
    partitions: dict[str, Any] = {}
    summary = ExportSummary(lake)
    wanted: dict[str, tuple[str, int, str]] = {}
    for table in LAKE_TABLES:
        for rel, (rows, fp) in _fingerprints(con, table).items():
            wanted[rel] = (table, rows, fp)
    for rel, entry in old.items():  # keep what is done and still right; forget partitions that went away
        if rel in wanted and entry.get("fingerprint") == wanted[rel][2] and (lake / rel / "part-0.parquet").is_file():
            partitions[rel] = entry
        elif rel not in wanted:
            shutil.rmtree(lake / rel, ignore_errors=True)
    _write_manifest(lake, partitions)
    for rel in sorted(wanted):
        table, rows, fp = wanted[rel]
        if rel in partitions:
            summary.unchanged += 1
            continue
        final = lake / rel
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sql, params = _partition_query(table, rel)
        target = str(tmp / "part-0.parquet").replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)",
                    params)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        partitions[rel] = {"table": table, "rows": rows, "fingerprint": fp}
        _write_manifest(lake, partitions)
        summary.written[rel] = rows
    return summary


@dataclass
class LakeIngestSummary:
    inserted: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


def ingest_lake(store: Any, path: str | Path) -> LakeIngestSummary:
    """Read a lake back into the store, all or nothing; rows whose key is already stored are not inserted."""
    lake = Path(path)
    read_manifest(lake)
    summary = LakeIngestSummary()
    with store.transaction() as con:
        for table in LAKE_TABLES:
            files = table_files(lake, table)
            summary.inserted[table] = 0
            if not files:
                continue
            missing = [f for f in files if not f.is_file()]
            if missing:
                raise InvalidInput(f"{missing[0]}: listed in {lake / MANIFEST} but missing")
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            src = f"read_parquet([{listed}], hive_partitioning = false)"
            key = ", ".join(_q(k) for k in KEYS[table])
            match = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in KEYS[table])
            before = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
            total = int(con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0])
            cols = _columns(table)
            con.execute(f"""INSERT INTO {table} ({cols}) SELECT {cols} FROM {src} s
                WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})
                QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {key}) = 1""")
            added = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]) - before
            summary.inserted[table] = added
            summary.duplicates += total - added
    return summary
