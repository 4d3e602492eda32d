"""Generic tabular inputs (JSON Lines, JSON arrays, CSV, TSV, whitespace text, Parquet) as DuckDB relations.

Every reader yields the same shape: `_rec` (record number), `_raw` (the raw line where cheap to keep),
`_fault` (why the record could not be parsed, else NULL) and one VARCHAR column per source field. Typing and
validation happen later, in one place (tiewatch.ingest.canonical), so every format gets the same rules.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tiewatch.errors import NotATable, TiewatchError
from tiewatch.sources.files import InputFile

MAX_LINE = 64 * 1024 * 1024


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class RawSource:
    """A parsed-but-untyped view of one file."""

    sql: str  # a SELECT producing _rec, _raw, _fault and the source columns
    columns: list[str]  # source column names, in file order
    exact_lines: bool  # _rec is the file line number (else a record number to be located)
    header_lines: int = 0  # lines before the first record (for locating records)
    record_label: str = "line"
    fast_path: bool = False  # a strict bulk reader that raises on malformed input
    fallback: RawSource | None = None  # a tolerant reader to use when the fast one raises
    typed: bool = False  # the SQL already yields the typed stage (_reason, _rawjson and the table's fields)
    trim: bool = False  # text formats pad values with spaces ("a, b"); JSON and Parquet carry exact strings
    also_readable: list[str] = field(default_factory=list)  # selectable though not seen in the sample
    pre_rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)
    line_rejects: bool = False  # reads numbered_lines: lines it cannot read are in LINE_REJECTS (see below)
    tables: dict[str, Any] = field(default_factory=dict)  # Arrow tables the SQL reads: the loader binds them


def _compression_arg(inp: InputFile) -> str:
    return f", compression={sql_str(inp.compression)}" if inp.compression else ""


LINE_REJECTS = "tw_line_rejects"


def _lines_reader(inp: InputFile) -> str:
    """Every line of a text file as one VARCHAR, blank lines kept (as NULL) so numbering stays exact.

    A line that is not UTF-8 or longer than MAX_LINE is not a row: it goes to the LINE_REJECTS table with its
    line number (the loader quarantines it and renumbers the rows after it)."""
    return (f"read_csv({sql_str(str(inp.path))}, columns={{'_raw': 'VARCHAR'}}, header=false, delim=chr(1), "
            f"quote='', escape='', auto_detect=false, strict_mode=false, max_line_size={MAX_LINE}"
            f"{_compression_arg(inp)}, store_rejects=true, rejects_table='{LINE_REJECTS}', "
            "rejects_scan='tw_line_scans')")


def numbered_lines(inp: InputFile) -> str:
    """A relation of every non-blank line of a text file (_raw) with its exact line number (_rec)."""
    return (f"(SELECT * FROM (SELECT row_number() OVER () AS _rec, _raw FROM {_lines_reader(inp)}) "
            f"WHERE _raw IS NOT NULL AND trim(_raw) <> '')")


def json_lines_sql(lines: str, structure: dict[str, str], fields: str) -> str:
    """Each line of `lines` (a relation with _rec, _raw) parsed as JSON to `structure` (available as _j to the
    `fields` select list); _fault says why a line could not be read: the tolerant path of every JSON reader."""
    return (f"SELECT _rec, _raw, CASE WHEN NOT starts_with(ltrim(_raw), '{{') THEN 'not a JSON object' "
            f"WHEN _j IS NULL THEN 'bad JSON' END AS _fault, {fields} FROM ("
            f"SELECT _rec, _raw, try(json_transform(_raw, {sql_str(json.dumps(structure))})) AS _j FROM {lines})")


def _json_keys(head: bytes) -> list[str]:
    keys: dict[str, None] = {}
    for line in head.split(b"\n")[:500]:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    return list(keys)


# Every canonical field is always read from JSON, so a key that first appears late in a file (a `text` only
# comments have, a `target` after thousands of posts) is never lost to the sample that named the columns.
CANONICAL_KEYS = ("id", "ts", "ts_lo", "ts_hi", "platform", "actor", "kind", "target", "post", "text",
                  "time_unknown", "account", "followers", "following", "posts", "title", "subjects", "status",
                  "url", "name", "person")


def jsonl_source(inp: InputFile, head: bytes, wanted: list[str]) -> RawSource:
    seen = list(dict.fromkeys([*_json_keys(head), *wanted]))
    extra = [k for k in CANONICAL_KEYS if k not in seen]
    columns = seen + extra
    spec = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    cols_sql = ", ".join(quote_ident(c) for c in columns)
    fast = (f"SELECT row_number() OVER () AS _rec, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _fault, {cols_sql} "
            f"FROM read_json({sql_str(str(inp.path))}, format='newline_delimited', columns={spec}, "
            f"maximum_object_size={MAX_LINE}{_compression_arg(inp)})")
    picked = ", ".join(f"_j[{sql_str(c)}] AS {quote_ident(c)}" for c in columns)
    slow = json_lines_sql(numbered_lines(inp), dict.fromkeys(columns, "VARCHAR"), picked)
    fallback = RawSource(slow, seen, exact_lines=True, also_readable=extra, line_rejects=True)
    return RawSource(fast, seen, exact_lines=False, fast_path=True, fallback=fallback, also_readable=extra)


def json_array_source(con: duckdb.DuckDBPyConnection, inp: InputFile, wanted: list[str]) -> RawSource:
    reader = (f"read_json({sql_str(str(inp.path))}, format='array'{_compression_arg(inp)}, "
              f"maximum_object_size={MAX_LINE})")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as e:
        raise NotATable(f"{inp.path}: not a JSON array of objects: {_first_line(e)}") from None
    seen = list(dict.fromkeys([str(r[0]) for r in described] + wanted))
    extra = [k for k in CANONICAL_KEYS if k not in seen]
    columns = seen + extra
    spec = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    cols_sql = ", ".join(quote_ident(c) for c in columns)
    sql = (f"SELECT row_number() OVER () AS _rec, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _fault, {cols_sql} "
           f"FROM read_json({sql_str(str(inp.path))}, format='array', columns={spec}"
           f"{_compression_arg(inp)}, maximum_object_size={MAX_LINE})")
    return RawSource(sql, seen, exact_lines=False, record_label="record", fast_path=True, also_readable=extra)


def delimited_source(inp: InputFile, head: bytes, delim: str) -> RawSource:
    """CSV or TSV through DuckDB's reader with the header's columns (no sniffing, so one bad row cannot stop
    the file); rows it cannot parse are kept as rejects with their line."""
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0] if head else ""
    names = next(csv.reader([first], delimiter=delim), [])
    columns = [n.strip() or f"column{i + 1}" for i, n in enumerate(names)]
    if not columns:
        raise TiewatchError(f"{inp.path}: no header line")
    spec = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    cols_sql = ", ".join(quote_ident(c) for c in columns)
    sql = (f"SELECT row_number() OVER () AS _rec, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _fault, {cols_sql} "
           f"FROM read_csv({sql_str(str(inp.path))}, columns={spec}, header=true, auto_detect=false, "
           f"delim={sql_str(delim)}, quote='\"', escape='\"', max_line_size={MAX_LINE}{_compression_arg(inp)}, "
           "store_rejects=true, rejects_scan='tw_reject_scans', rejects_table='tw_reject_errors')")
    return RawSource(sql, columns, exact_lines=False, header_lines=1, trim=True)


_NUMBER = re.compile(rb"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


def text_source(inp: InputFile, head: bytes) -> RawSource:
    """Whitespace-separated columns (like SNAP edge lists); the first line is a header when it has no numbers
    and the next one does."""
    numbered = [(i, ln) for i, ln in enumerate(head.split(b"\n"), 1)
                if ln.strip() and not ln.strip().startswith(b"#")][:2]
    if not numbered:
        raise TiewatchError(f"{inp.path}: no data in the first {len(head):,} bytes (only blank or # lines)")
    header_line = numbered[0][0]
    lines = [ln for _, ln in numbered]
    first = lines[0].split()
    second = lines[1].split() if len(lines) > 1 else []
    has_header = (not any(_NUMBER.match(t) for t in first)) and any(_NUMBER.match(t) for t in second)
    names = [t.decode("utf-8", "replace") for t in first] if has_header else [f"c{i + 1}" for i in range(len(first))]
    n = len(names)
    picked = ", ".join(f"_parts[{i + 1}] AS {quote_ident(c)}" for i, c in enumerate(names))
    skip = f"AND _rec > {header_line}" if has_header else ""
    sql = (f"SELECT _rec, _raw, CASE WHEN len(_parts) <> {n} THEN 'expected {n} fields, found ' || len(_parts) END "
           f"AS _fault, {picked} FROM (SELECT _rec, _raw, regexp_split_to_array(trim(_raw), '\\s+') AS _parts "
           f"FROM {numbered_lines(inp)} WHERE NOT starts_with(trim(_raw), '#') {skip})")
    return RawSource(sql, names, exact_lines=True, trim=True, line_rejects=True)


def parquet_source(con: duckdb.DuckDBPyConnection, inp: InputFile) -> RawSource:
    reader = f"read_parquet({sql_str(str(inp.path))}, file_row_number=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as e:
        raise TiewatchError(f"{inp.path}: not a readable Parquet file: {_first_line(e)}") from None
    columns = [str(r[0]) for r in described if r[0] != "file_row_number"]
    types = {str(r[0]): str(r[1]) for r in described}

    def as_text(c: str) -> str:
        t = types[c]
        if t.endswith("[]") or t.startswith(("STRUCT", "MAP")):
            return f"to_json({quote_ident(c)})::VARCHAR AS {quote_ident(c)}"
        return f"{quote_ident(c)}::VARCHAR AS {quote_ident(c)}"

    cols_sql = ", ".join(as_text(c) for c in columns)
    sql = (f"SELECT file_row_number + 1 AS _rec, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _fault, {cols_sql} "
           f"FROM {reader}")
    return RawSource(sql, columns, exact_lines=False, record_label="row", fast_path=True)


def open_source(con: duckdb.DuckDBPyConnection, inp: InputFile, head: bytes, wanted: list[str]) -> RawSource:
    """The raw relation for one generic file."""
    if inp.format == "jsonl":
        return jsonl_source(inp, head, wanted)
    if inp.format == "json":
        return json_array_source(con, inp, wanted)
    if inp.format == "csv":
        return delimited_source(inp, head, ",")
    if inp.format == "tsv":
        return delimited_source(inp, head, "\t")
    if inp.format == "text":
        return text_source(inp, head)
    if inp.format == "parquet":
        return parquet_source(con, inp)
    raise TiewatchError(f"{inp.path}: no generic reader for format {inp.format!r}")


def _first_line(e: BaseException) -> str:
    try:
        text = str(e).strip()
    except UnicodeDecodeError:  # DuckDB's message quoted bytes of the file that are not UTF-8
        return f"{type(e).__name__} (the input is not valid UTF-8 there)"
    return text.splitlines()[0] if text else type(e).__name__
