"""Property-based tests: every time form reads as the instant it names, ambiguous numbers are refused, and
records written in each generic format come back as the same canonical rows."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Cli
from tiewatch.ingest.timeparse import parse_ts_sql, ts_problem_sql
from tiewatch.store import Store

INSTANTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31),
                        timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=(t.microsecond // 1000) * 1000))
OFFSETS = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def parse(values: list[str]) -> list[tuple[datetime | None, str | None]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    rows = con.execute(f"SELECT {parse_ts_sql('v')}, CASE WHEN {parse_ts_sql('v')} IS NULL THEN "
                       f"{ts_problem_sql('v')} END FROM t ORDER BY i").fetchall()
    return [(r[0], r[1]) for r in rows]


def forms(t: datetime, tz: timezone) -> dict[str, str]:
    """The instant t written every way tiewatch reads; all name the same instant (to the millisecond)."""
    local = t.astimezone(tz)
    off = local.strftime("%z")  # +0930
    epoch = (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return {
        "iso offset": local.isoformat(timespec="milliseconds"),
        "iso Z": t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "iso naive (UTC)": t.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "compact basic": local.strftime("%Y%m%dT%H%M%S.%f")[:-3] + off,
        "epoch s": f"{epoch / 1e6:.3f}",
        "epoch ms": str(epoch // 1000),
        "epoch us": str(epoch),
        "epoch ns": str(epoch * 1000),
    }


@SETTINGS
@given(INSTANTS, OFFSETS)
def test_every_time_form_names_the_same_instant(t: datetime, tz: timezone) -> None:
    written = forms(t, tz)
    expected = t.replace(tzinfo=None)
    for (form, text), (got, problem) in zip(written.items(), parse(list(written.values())), strict=True):
        assert got is not None, f"{form} {text!r}: {problem}"
        assert abs(got - expected) <= timedelta(milliseconds=1), f"{form} {text!r} -> {got}, expected {expected}"


@SETTINGS
@given(st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2100, 12, 31).date()))
def test_compact_dates_are_dates_not_epoch_seconds(d: Any) -> None:
    (got, _), = parse([d.strftime("%Y%m%d")])
    assert got == datetime(d.year, d.month, d.day)


@SETTINGS
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)))
def test_twelve_digit_date_times_are_refused_as_ambiguous(t: datetime) -> None:
    text = t.strftime("%Y%m%d%H%M")
    (got, problem), = parse([text])
    assert got is None and problem is not None and problem.startswith(f'ambiguous time "{text}"')
    assert t.strftime("%Y-%m-%dT%H:%MZ") in problem


def test_compact_date_reaches_the_store_as_a_date_and_ambiguity_as_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "compact.csv"
    path.write_text("actor,kind,ts\nana,post,20240519\nbo,post,202405191200\n")
    cli = Cli(tmp_path / "c.duckdb")
    cli("ingest", str(path))
    with Store(cli.db, read_only=True) as store:
        assert store.con.execute("SELECT actor, ts FROM events").fetchall() == [("ana", datetime(2024, 5, 19))]
        (reason,), = store.con.execute("SELECT reason FROM quarantine").fetchall()
    assert reason.startswith('ambiguous time "202405191200"')


# -- round trips through every generic format ----------------------------------------------------------
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s.strip() != "")
HANDLE = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
KINDS = st.sampled_from(["post", "like", "comment", "repost", "follow", "message"])


@st.composite
def event_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    n = draw(st.integers(min_value=1, max_value=12))
    rows = []
    for i in range(n):
        t = draw(INSTANTS).replace(microsecond=0)
        rows.append({"id": f"e{i}", "ts": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "generic",
                     "actor": draw(HANDLE), "kind": draw(KINDS), "target": draw(HANDLE), "post": f"p{i}",
                     "text": draw(TEXT)})
    return rows


EXAMPLES = itertools.count()


def write(rows: list[dict[str, str]], fmt: str, folder: Path) -> Path:
    path = folder / f"events.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt in ("csv", "tsv"):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter="," if fmt == "csv" else "\t",
                                lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def stored(db: Path) -> list[tuple[Any, ...]]:
    with Store(db, read_only=True) as store:
        return store.con.execute("SELECT id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ'), platform, actor, kind, target, "
                                 "post, text FROM events ORDER BY id").fetchall()


def _roundtrip(rows: list[dict[str, str]], fmt: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cli = Cli(folder / "r.duckdb")
    cli("ingest", str(write(rows, fmt, folder)))
    want = sorted(tuple(r.values()) for r in rows)
    assert stored(cli.db) == want
    cli("ingest", str(folder / f"events.{fmt}"))
    assert stored(cli.db) == want  # nothing twice


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=event_rows(), fmt=st.sampled_from(["jsonl", "json", "csv", "tsv", "parquet"]))
def test_records_written_in_a_format_come_back_as_the_same_rows(rows: list[dict[str, str]], fmt: str,
                                                              tmp_path: Path) -> None:
    _roundtrip(rows, fmt, tmp_path / f"{fmt}-{next(EXAMPLES)}")  # a fresh store per example
