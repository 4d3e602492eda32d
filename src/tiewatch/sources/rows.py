"""Turning rows parsed in Python (small platform exports) into a RawSource the common loader types and checks."""

from __future__ import annotations

import itertools
from typing import Any

import pyarrow as pa

from tiewatch.sources.base import Part
from tiewatch.sources.generic import RawSource, quote_ident

_counter = itertools.count()


def rows_part(table: str, rows: list[dict[str, Any]], columns: list[str], label: str) -> Part:
    """`rows` (values as text; `_rec` the record's number in its entry, `_fault` a parse problem) as one part.

    The rows travel with the part as an Arrow table that the loader binds to its connection; no connection is
    needed to read."""
    name = f"tw_rows_{next(_counter)}"
    data = {"_rec": pa.array([int(r.get("_rec", i + 1)) for i, r in enumerate(rows)], pa.int64()),
            "_raw": pa.array([r.get("_raw") for r in rows], pa.string()),
            "_fault": pa.array([r.get("_fault") for r in rows], pa.string())}
    for c in columns:
        data[c] = pa.array([None if r.get(c) is None else str(r.get(c)) for r in rows], pa.string())
    arrow = pa.table(data)
    cols = ", ".join(quote_ident(c) for c in columns)
    return Part(table, RawSource(f"SELECT _rec, _raw, _fault, {cols} FROM {name}", columns, exact_lines=True,
                                 record_label="record", tables={name: arrow}), label)
