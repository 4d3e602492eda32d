"""Loading one file into the store, all or nothing, with set-based statements only.

Two paths, one transaction each. Direct: a file read by a fast bulk reader is inserted in one pass, stamped
with its ingest id, and rows whose key was already stored are deleted again; any bad record, reader failure
or repeated key rolls it back. Staged: parsing and typing go to a connection-local temp table first (nothing
in the store changes there), bad records are located by line, and the good ones are inserted with an
anti-join. A crash or kill leaves the store as before that file either way.
Identity: events and news by id (else a stable hash), metrics by (platform, account, ts), accounts by
(platform, account). Rows already stored, or repeated within the file, count as duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from tiewatch.errors import RejectedRecord, TiewatchError
from tiewatch.ingest.canonical import TABLES, FieldMapping, stage_sql
from tiewatch.schema import FIELDS
from tiewatch.sources.base import Part
from tiewatch.sources.files import InputFile, locate_records, zstd_problem
from tiewatch.sources.generic import LINE_REJECTS, MAX_LINE, RawSource, numbered_lines
from tiewatch.store import Store

STAGE = "tw_stage"


@dataclass
class IngestResult:
    """What one or more files did to the store."""

    inserted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    duplicates: int = 0
    rejected: int = 0
    files: int = 0
    set_aside: int = 0  # records deliberately not read (other apps' records in a Bluesky capture)
    warnings: list[str] = field(default_factory=list)  # format drift, snapshots not taken: the ingest exits 1

    def add(self, other: IngestResult) -> None:
        for k, v in other.inserted.items():
            self.inserted[k] = self.inserted.get(k, 0) + v
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.files += other.files
        self.set_aside += other.set_aside
        self.warnings += other.warnings

    def as_json(self) -> dict[str, object]:
        return {"inserted": dict(self.inserted), "duplicates": self.duplicates, "rejected": self.rejected,
                "set_aside": self.set_aside, "warnings": list(self.warnings)}


@dataclass
class Reject:
    line: int | None  # the line in the file (a live stream: the message's time_us, when it has one)
    reason: str
    raw: str


def _sha256(path: Path, out: list[str], lines: list[int] | None = None) -> None:
    """The file's digest (and, into `lines`, how many lines it has: a bound on its JSON Lines records)."""
    h = hashlib.sha256()
    n = 0
    last = b"\n"
    try:
        with open(path, "rb") as f:
            while block := f.read(8 << 20):
                h.update(block)
                n += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return  # the ingest log then has no digest; the readers report why the file cannot be read
    out.append(h.hexdigest())
    if lines is not None:
        lines.append(n + (last != b"\n"))


def _unread_records(con: duckdb.DuckDBPyConnection, inp: InputFile, seen: int, lines: list[int]) -> bool:
    """Did a bulk JSON Lines reader skip records without a word (a record over the size it reads)?

    `seen` records were read (stored, duplicate or rejected); a file with more lines than that has blank
    lines or unread records: the line reader, which reports every line it cannot read, tells which."""
    if inp.format != "jsonl" or inp.compression is not None or not lines or seen >= lines[0]:
        return False
    con.execute(f"DROP TABLE IF EXISTS {LINE_REJECTS}")
    nonblank = int(con.execute(f"SELECT count(_raw) FROM {numbered_lines(inp)}").fetchall()[0][0])
    unreadable = int(con.execute(f"SELECT count(*) FROM {LINE_REJECTS}").fetchall()[0][0]) \
        if _has_table(con, LINE_REJECTS) else 0
    con.execute(f"DROP TABLE IF EXISTS {LINE_REJECTS}")
    return seen < nonblank + unreadable


def _first_line(e: BaseException) -> str:
    try:
        text = str(e).strip()
    except UnicodeDecodeError:
        return type(e).__name__
    return text.splitlines()[0] if text else type(e).__name__


def _typed(table: str, src: RawSource, mapping: FieldMapping) -> str:
    return src.sql if src.typed else stage_sql(table, src, mapping)


def _create_stage(con: duckdb.DuckDBPyConnection, table: str, src: RawSource, mapping: FieldMapping,
                  stage: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {LINE_REJECTS}")
    con.execute("DROP TABLE IF EXISTS tw_line_scans")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS {_typed(table, src, mapping)}")
    if src.line_rejects and _has_table(con, LINE_REJECTS):
        # Unreadable lines are not rows, so the row numbers after each one are one short: add back the count
        # of unreadable lines before each row (the k-th row is line k + #{i: r_i - i < k}, r_i sorted).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {stage} AS
            SELECT s.* REPLACE (s._rec + coalesce(j.shift, 0) AS _rec) FROM {stage} s
            ASOF LEFT JOIN (SELECT key, max(shift) AS shift FROM (
                SELECT line - row_number() OVER (ORDER BY line) AS key, row_number() OVER (ORDER BY line) AS shift
                FROM (SELECT DISTINCT line FROM {LINE_REJECTS})) GROUP BY key) j ON s._rec > j.key""")


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def _stage(con: duckdb.DuckDBPyConnection, table: str, src: RawSource, mapping: FieldMapping,
           stage: str = STAGE) -> RawSource:
    """Materialise the typed stage; fall back to the tolerant reader when the fast one meets bad input."""
    if "row_number() OVER ()" in src.sql or (src.fallback is not None and "row_number() OVER ()" in src.fallback.sql):
        con.execute("SET preserve_insertion_order = true")  # record numbers follow file order
    try:
        _create_stage(con, table, src, mapping, stage)
        if src.fallback is not None and con.execute(
                f"SELECT count(*) FROM {stage} WHERE _reason IS NOT NULL").fetchall()[0] != (0,):
            # Some records are bad: re-read with the reader that knows exact lines and raw text.
            src = src.fallback
            _create_stage(con, table, src, mapping, stage)
        return src
    except (duckdb.InvalidInputException, UnicodeDecodeError):
        if src.fallback is None:
            raise
        src = src.fallback
        _create_stage(con, table, src, mapping, stage)
        return src
    finally:
        con.execute("SET preserve_insertion_order = false")


def _line_rejects(con: duckdb.DuckDBPyConnection) -> list[Reject]:
    """Lines the line reader could not read (not UTF-8, too long), as quarantine records."""
    if not _has_table(con, LINE_REJECTS):
        return []
    rows = con.execute(f"SELECT DISTINCT ON (line) line, error_type, left(csv_line, 2000) FROM {LINE_REJECTS} "
                       "ORDER BY line").fetchall()
    reasons = {"INVALID ENCODING": "not valid UTF-8 text",
               "LINE SIZE OVER MAXIMUM": f"line longer than {MAX_LINE:,} bytes (not read)"}
    return [Reject(int(line), reasons.get(str(etype), f"unreadable line ({str(etype).lower()})"), str(raw or ""))
            for line, etype, raw in rows]


def _csv_rejects(con: duckdb.DuckDBPyConnection) -> list[Reject]:
    try:
        rows = con.execute("SELECT DISTINCT ON (line) line, error_type, error_message, csv_line "
                           "FROM tw_reject_errors ORDER BY line, column_idx").fetchall()  # one reason per line
    except duckdb.CatalogException:
        return []
    return [Reject(int(line), f"malformed row ({str(etype).lower().replace('_', ' ')}): "
                   f"{_first_line(Exception(msg))}", str(raw or "")) for line, etype, msg, raw in rows]


def _rejects(con: duckdb.DuckDBPyConnection, inp: InputFile, src: RawSource, stage: str = STAGE) -> list[Reject]:
    rows = con.execute(f"SELECT _rec, _reason, coalesce(_raw, _rawjson) FROM {stage} WHERE _reason IS NOT NULL "
                       "ORDER BY _rec").fetchall()
    structural = _csv_rejects(con) if inp.format in ("csv", "tsv") else []
    if src.line_rejects:
        structural += _line_rejects(con)
    if src.exact_lines or src.record_label != "line":
        found = [Reject(int(r), str(reason), str(raw or "")) for r, reason, raw in rows]
    else:
        skip = {r.line for r in structural if r.line is not None}
        located = _locate(inp, src, {int(r[0]) for r in rows}, skip)
        found = [Reject(located.get(int(r), (int(r), ""))[0], str(reason),
                        located.get(int(r), (0, str(raw or "")))[1] or str(raw or "")) for r, reason, raw in rows]
    return sorted(found + structural, key=lambda r: r.line or 0)


def _locate(inp: InputFile, src: RawSource, recs: set[int], skip_lines: set[int]) -> dict[int, tuple[int, str]]:
    """Record numbers to file lines for text formats read by a bulk reader; rows the CSV reader rejected are
    not records, so numbering skips them."""
    return locate_records(inp.path, inp.compression, recs, skip_lines=src.header_lines, excluded=skip_lines)


def _insert_count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchall()[0]
    return int(row[0]) if row else 0


KEYS = {"events": ("id",), "news": ("id",), "metrics": ("platform", "account", "ts"),
        "accounts": ("platform", "account")}
DIRECT_TABLES = ("events", "metrics", "news")
DIRECT_REJECT = "tiewatch-direct-reject"


def _load_rows(con: duckdb.DuckDBPyConnection, table: str, source: str, stage: str = STAGE,
               ingest_id: int | None = None) -> tuple[int, int]:
    """Insert the stage's good rows not yet stored; returns (inserted, good rows in the file)."""
    key = KEYS[table]
    cols = FIELDS[table]
    match = " AND ".join(f"t.{k} = s.{k}" for k in key)
    key_list = ", ".join(key)
    counted = con.execute(f"SELECT count(*), count(DISTINCT ({key_list})) FROM {stage} WHERE _reason IS NULL")
    good, distinct = counted.fetchall()[0]
    repeats = int(good) - int(distinct)
    once = f"QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY _rec) = 1" if repeats else ""
    src = "'" + source.replace("'", "''") + "'"
    if table == "accounts":
        # Accounts files add names and links to accounts that events may have created already.
        updated = _insert_count(con, f"""
            UPDATE accounts t SET name = coalesce(s.name, t.name), person = coalesce(s.person, t.person),
                   kind = coalesce(s.kind, t.kind), source = coalesce(t.source, {src})
            FROM (SELECT * FROM {stage} WHERE _reason IS NULL {once}) s
            WHERE {match} AND (s.name IS DISTINCT FROM t.name AND s.name IS NOT NULL
                OR s.person IS DISTINCT FROM t.person AND s.person IS NOT NULL
                OR s.kind IS DISTINCT FROM t.kind AND s.kind IS NOT NULL)""")
    else:
        updated = 0
    stamp = ", ingest" if table in DIRECT_TABLES else ""
    stamp_value = f", {int(ingest_id)}" if table in DIRECT_TABLES and ingest_id is not None else (
        ", NULL" if table in DIRECT_TABLES else "")
    inserted = _insert_count(con, f"""
        INSERT INTO {table} ({', '.join(cols)}, source{stamp})
        SELECT {', '.join('s.' + c for c in cols)}, {src}{stamp_value} FROM {stage} s
        WHERE s._reason IS NULL AND NOT EXISTS (SELECT 1 FROM {table} t WHERE {match}) {once}""")
    return inserted + updated, int(good)


def _create_accounts(con: duckdb.DuckDBPyConnection, table: str, source: str, stage: str = STAGE,
                     rows: str | None = None) -> int:
    """Every actor, target and measured account gets an accounts row (names come from accounts files).
    `rows` is the relation of the file's good rows (default: the stage's)."""
    good = rows or f"(SELECT * FROM {stage} WHERE _reason IS NULL)"
    if table == "events":
        seen = (f"SELECT platform, actor AS account FROM {good} g1 UNION "
                f"SELECT platform, target FROM {good} g2 WHERE target IS NOT NULL")
    elif table == "metrics":
        seen = f"SELECT DISTINCT platform, account FROM {good} g"
    else:
        return 0
    src = "'" + source.replace("'", "''") + "'"
    return _insert_count(con, f"""
        INSERT INTO accounts (platform, account, source) SELECT x.platform, x.account, {src} FROM ({seen}) x
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.platform = x.platform AND a.account = x.account)""")


def _stage_part(con: duckdb.DuckDBPyConnection, inp: InputFile, part: Part, stage: str, mapping: FieldMapping,
                strict: bool, tolerant: bool = False) -> list[tuple[str, Reject]]:
    """Stage one part (a private temp table) and return its bad records; --strict refuses at the first.
    `tolerant` reads with the line-exact reader from the start."""
    if tolerant and part.source.fallback is not None:
        part.source = part.source.fallback
    try:
        part.source = _stage(con, part.table, part.source, mapping, stage)
    except duckdb.Error as e:
        raise TiewatchError(f"{part.label}: cannot read as {inp.format}: {_first_line(e)}") from None
    except UnicodeDecodeError:  # DuckDB's message quoted bytes of the file that are not UTF-8
        raise TiewatchError(f"{part.label}: cannot read as {inp.format}: not valid UTF-8 text") from None
    rejects = _rejects(con, inp, part.source, stage)
    if strict and rejects:
        first = rejects[0]
        raise RejectedRecord(f"{part.label}:{first.line}: {first.reason} (--strict: nothing from this file stored)")
    return [(part.label, r) for r in rejects]


def _next_ingest_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(id), 0) + 1 FROM ingests").fetchall()[0][0])


def tables_of(parts: list[Part]) -> str:
    return ",".join(dict.fromkeys(p.table for p in parts))


def _finish(con: duckdb.DuckDBPyConnection, inp: InputFile, result: IngestResult,
            rejects: list[tuple[str, Reject]], after_load: list[str] | None, after_params: list[list[object]] | None,
            tables: str, file: str, digest: list[str], started: datetime, hash_file: bool, ingest_id: int) -> None:
    """What every ingest does last, inside its transaction: fix-ups, quarantine, the ingest log."""
    for i, sql in enumerate(after_load or []):
        changed = con.execute(sql, (after_params or [])[i] if after_params and i < len(after_params)
                              else []).fetchall()
        if sql.lstrip().startswith("INSERT INTO events") and changed:  # events derived in SQL (diffs)
            result.inserted["events"] += int(changed[0][0])
    result.rejected = len(rejects)
    if rejects:
        con.register("tw_rejects", pa.table({
            "file": [label for label, _ in rejects], "line": [r.line for _, r in rejects],
            "reason": [r.reason for _, r in rejects], "raw": [r.raw for _, r in rejects]}))
        con.execute("""INSERT INTO quarantine SELECT r.file, r.line, r.reason, r.raw, ? FROM tw_rejects r
            WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file = r.file
                              AND q.line IS NOT DISTINCT FROM r.line AND q.reason = r.reason
                              AND q.raw IS NOT DISTINCT FROM r.raw)""", [started])
        con.unregister("tw_rejects")
    con.execute("""INSERT INTO ingests (file, size, sha256, format, table_name, inserted, duplicates, rejected,
                                        started, finished, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", [
        file, inp.path.stat().st_size if hash_file else None, digest[0] if digest else None, inp.format, tables,
        sum(result.inserted.values()), result.duplicates, result.rejected, started,
        datetime.now(UTC).replace(tzinfo=None), ingest_id])


def _direct_sql(part: Part, mapping: FieldMapping) -> str:
    """The part's typed rows straight from its fast reader, without record numbers (only rejects need them,
    and any reject sends the file down the staged path)."""
    sql = _typed(part.table, part.source, mapping)
    return sql.replace("row_number() OVER () AS _rec", "NULL::BIGINT AS _rec")


def _try_direct(store: Store, parts: list[Part], mapping: FieldMapping, file: str, ingest_id: int,
                result: IngestResult) -> bool:
    """Write clean files straight into the store: one pass instead of stage-then-insert.

    Runs inside the caller's transaction. Every row is inserted; rows whose key was already stored are then
    deleted again (counted as duplicates). Returns False, having written nothing the caller will keep (it
    rolls back), when any record is bad, the fast reader fails or records repeat within the file: the staged
    path then reports bad records with their lines and keeps the first of repeated ones.
    """
    con = store.con
    for part in parts:
        cols = FIELDS[part.table]
        key = KEYS[part.table]
        src = "'" + file.replace("'", "''") + "'"
        try:
            total = _insert_count(con, f"""
                INSERT INTO {part.table} ({', '.join(cols)}, source, ingest)
                SELECT {', '.join(cols)}, {src}, {ingest_id} FROM ({_direct_sql(part, mapping)}) s
                WHERE CASE WHEN s._reason IS NOT NULL THEN error('{DIRECT_REJECT}') ELSE TRUE END""")
        except UnicodeDecodeError:
            return False  # the tolerant reader will find the lines that are not UTF-8
        except duckdb.Error as e:
            if isinstance(e, duckdb.InvalidInputException) or DIRECT_REJECT in _first_line(e):
                return False
            raise TiewatchError(f"{part.label}: cannot read: {_first_line(e)}") from None
        match = " AND ".join(f"o.{k} = t.{k}" for k in key)
        stored = _insert_count(con, f"""
            DELETE FROM {part.table} t WHERE t.ingest = {ingest_id}
              AND EXISTS (SELECT 1 FROM {part.table} o WHERE {match} AND o.ingest IS DISTINCT FROM {ingest_id})""")
        key_list = ", ".join(key)
        if con.execute(f"SELECT count(*) - count(DISTINCT ({key_list})) FROM {part.table} "
                       f"WHERE ingest = {ingest_id}").fetchall()[0][0]:
            return False  # records repeat within the file: the staged path keeps the first of each, in file order
        result.inserted[part.table] += total - stored
        result.duplicates += stored
    for table in dict.fromkeys(p.table for p in parts):
        result.inserted["accounts"] += _create_accounts(
            con, table, file, rows=f"(SELECT * FROM {table} WHERE ingest = {ingest_id})")
    return True


def _bind(con: duckdb.DuckDBPyConnection, parts: list[Part]) -> list[str]:
    """Register the Arrow tables the parts' SQL reads (rows a source parsed in Python) on the store's connection."""
    bound: list[str] = []
    for part in parts:
        src: RawSource | None = part.source
        while src is not None:
            for name, table in src.tables.items():
                con.register(name, table)
                bound.append(name)
            src = src.fallback
    return bound


def ingest_parts(store: Store, inp: InputFile, parts: list[Part], mapping: FieldMapping | None = None, *,
                 strict: bool = False, after_load: list[str] | None = None,
                 after_params: list[list[object]] | None = None, hash_file: bool = True,
                 reject_position: Callable[[Reject], int | None] | None = None) -> IngestResult:
    """Stage every part (nothing in the store changes), then write them all in one transaction.

    `reject_position` renumbers rejected records (a live stream keys them by stream position, not by their
    place in a batch).

    `after_load` statements run inside that transaction (fix-ups, a stream's cursor), so they commit with
    the rows or not at all.
    """
    con = store.con
    mapping = mapping or FieldMapping({}, {})
    started = datetime.now(UTC).replace(tzinfo=None)

    def positioned(rejects: list[tuple[str, Reject]]) -> list[tuple[str, Reject]]:
        if reject_position is None:
            return rejects
        return [(label, Reject(reject_position(r), r.reason, r.raw)) for label, r in rejects]

    digest: list[str] = []
    lines: list[int] = []
    hasher = threading.Thread(target=_sha256, args=(inp.path, digest, lines), daemon=True)
    single_jsonl = len(parts) == 1 and inp.format == "jsonl"
    tolerant = False
    if hash_file:
        hasher.start()
    integrity: list[str | None] = []
    checker = threading.Thread(target=lambda: integrity.append(zstd_problem(inp.path)), daemon=True)
    check_zstd = inp.compression == "zstd" and inp.path.is_file()
    if check_zstd:
        checker.start()  # beside the (longer) staging; joined before anything is written

    def checks_done() -> None:
        if hash_file:
            hasher.join()
        if check_zstd:
            checker.join()
            if integrity and integrity[0]:
                raise TiewatchError(f"{inp.path}: {integrity[0]}")

    file = str(inp.path)
    stages = [f"{STAGE}_{i}" for i in range(len(parts))]
    bound = _bind(con, parts)
    try:
        all_rejects: list[tuple[str, Reject]] = []
        parts = [p for p in parts if p.needed is None or p.needed()]
        stages = stages[: len(parts)]
        direct = [p for p in parts if p.table in DIRECT_TABLES and p.source.fast_path]
        if direct:
            # Parts that cannot go direct (accounts, upserted) are staged first, outside the transaction.
            direct_ids = {id(p) for p in direct}
            others = [(p, st) for p, st in zip(parts, stages, strict=True) if id(p) not in direct_ids]
            other_rejects: list[tuple[str, Reject]] = []
            for part, stage in others:
                other_rejects += _stage_part(con, inp, part, stage, mapping, strict)
            checks_done()
            result = IngestResult(files=1)
            con.execute("BEGIN TRANSACTION")
            try:
                ingest_id = _next_ingest_id(con)
                direct_ok = _try_direct(store, direct, mapping, file, ingest_id, result)
                if direct_ok and single_jsonl and _unread_records(
                        con, inp, sum(result.inserted[p.table] for p in direct) + result.duplicates, lines):
                    direct_ok, tolerant = False, True  # read it again line by line: every line accounted for
                if direct_ok:
                    for part, stage in others:
                        inserted, good = _load_rows(con, part.table, file, stage, ingest_id)
                        result.inserted[part.table] += inserted
                        result.inserted["accounts"] += _create_accounts(con, part.table, file, stage)
                        result.duplicates += good - inserted
                    _finish(con, inp, result, positioned(other_rejects), after_load, after_params, tables_of(parts),
                            file, digest, started, hash_file, ingest_id)
                    con.execute("COMMIT")
                    return result
                con.execute("ROLLBACK")
            except BaseException:
                with contextlib.suppress(duckdb.TransactionException):  # DuckDB may have rolled back already
                    con.execute("ROLLBACK")
                raise
        for part, stage in zip(parts, stages, strict=True):
            all_rejects += _stage_part(con, inp, part, stage, mapping, strict, tolerant)
        checks_done()
        if single_jsonl and not tolerant:
            staged = int(con.execute(f"SELECT count(*) FROM {stages[0]} WHERE _reason IS NULL").fetchall()[0][0])
            if _unread_records(con, inp, staged + len(all_rejects), lines):
                all_rejects = _stage_part(con, inp, parts[0], stages[0], mapping, strict, tolerant=True)
        result = IngestResult(files=1)
        with store.transaction():
            ingest_id = _next_ingest_id(con)
            for part, stage in zip(parts, stages, strict=True):
                inserted, good = _load_rows(con, part.table, file, stage, ingest_id)
                result.inserted[part.table] += inserted
                result.inserted["accounts"] += _create_accounts(con, part.table, file, stage)
                result.duplicates += good - inserted
            _finish(con, inp, result, positioned(all_rejects), after_load, after_params, tables_of(parts), file, digest,
                    started, hash_file, ingest_id)
        return result
    finally:
        for name in bound:
            con.unregister(name)
        for stage in stages:
            con.execute(f"DROP TABLE IF EXISTS {stage}")
        con.execute("DROP TABLE IF EXISTS tw_reject_errors")
        con.execute("DROP TABLE IF EXISTS tw_reject_scans")
        con.execute(f"DROP TABLE IF EXISTS {LINE_REJECTS}")
        con.execute("DROP TABLE IF EXISTS tw_line_scans")
