"""Generic tables (JSON Lines, JSON arrays, CSV, TSV, whitespace text, Parquet; plain, .gz or .zst): the source
asked last, which reads whatever no platform format claimed. The readers are in sources/generic.py; which table
the rows go to (events, metrics, news, accounts) the loader decides from the columns, --map/--set and --table."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tiewatch.sources.base import CHOOSE_TABLE, Part, Reading, ReadOptions
from tiewatch.sources.files import FORMATS, read_head, recognise
from tiewatch.sources.generic import open_source


class TableSource:
    """Any table with the canonical columns (or mapped with --map/--set): the source of last resort."""

    name = "table"
    formats = FORMATS
    container = False

    def sniff(self, path: Path, head: bytes) -> bool:
        return True  # asked last: whatever no platform format claimed is read as a table

    def read(self, path: Path, options: ReadOptions) -> Reading:
        inp = recognise(path, options.fmt if options.fmt in FORMATS else None)
        head = read_head(inp.path, inp.compression) if inp.format != "parquet" else b""
        con = duckdb.connect()  # the source's own: describing a JSON array or Parquet file needs no store
        try:
            src = open_source(con, inp, head, list(options.wanted))
        finally:
            con.close()
        return Reading(inp, [Part(CHOOSE_TABLE, src, str(inp.path))], mapped=True)
