"""Every generic format, compression and time form lands as the same canonical rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest
import zstandard

from conftest import Cli
from tiewatch.store import Store

ROWS = [
    {"id": "a1", "ts": "2024-05-19T11:10:00+09:00", "platform": "instagram", "actor": "alice", "kind": "like",
     "target": "bob", "post": "p1"},
    {"id": "a2", "ts": "1716084600", "platform": "instagram", "actor": "bob", "kind": "post", "post": "p2"},
    {"id": "a3", "ts": "1716084600000", "platform": "instagram", "actor": "bob", "kind": "comment",
     "target": "alice", "post": "p9"},
    {"id": "a4", "ts": "1716084600000000", "platform": "instagram", "actor": "carol", "kind": "follow",
     "target": "alice"},
    {"id": "a5", "ts": "2024-05-19 02:10:00", "platform": "instagram", "actor": "carol", "kind": "like",
     "target": "bob", "post": "p2"},
]
EXPECTED_TS = "2024-05-19 02:10:00"  # every row above is this instant in UTC


def _write(path: Path, fmt: str) -> Path:
    cols = ["id", "ts", "platform", "actor", "kind", "target", "post"]
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif fmt == "json":
        path.write_text(json.dumps(ROWS, indent=2))
    elif fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        lines = [sep.join(cols)] + [sep.join(str(r.get(c, "")) for c in cols) for r in ROWS]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "text":
        lines = [" ".join(cols)] + [" ".join(str(r.get(c) or "-") for c in cols) for r in ROWS[1:2]]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "parquet":
        con = duckdb.connect()
        con.execute("CREATE TABLE t (id VARCHAR, ts VARCHAR, platform VARCHAR, actor VARCHAR, kind VARCHAR, "
                    "target VARCHAR, post VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", [[r.get(c) for c in cols] for r in ROWS])
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    return path


@pytest.mark.parametrize("fmt,name", [("jsonl", "e.jsonl"), ("json", "e.json"), ("csv", "e.csv"),
                                      ("tsv", "e.tsv"), ("parquet", "e.parquet")])
def test_each_format_gives_the_same_events(cli: Cli, tmp_path: Path, fmt: str, name: str) -> None:
    path = _write(tmp_path / name, fmt)
    out = cli.json("ingest", str(path))
    assert out == {"inserted": {"events": 5, "metrics": 0, "news": 0, "accounts": 3}, "duplicates": 0,
                   "rejected": 0, "set_aside": 0, "warnings": []}
    with Store(cli.db) as store:
        times = {str(t) for (t,) in store.con.execute("SELECT DISTINCT ts FROM events").fetchall()}
        assert times == {EXPECTED_TS}
        assert store.scalar("SELECT post FROM events WHERE id = 'a2'") == "p2"


@pytest.mark.parametrize("compression", ["gz", "zst"])
def test_compressed_inputs(cli: Cli, tmp_path: Path, compression: str) -> None:
    data = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    path = tmp_path / f"e.jsonl.{compression}"
    path.write_bytes(gzip.compress(data) if compression == "gz" else zstandard.ZstdCompressor().compress(data))
    assert cli.json("ingest", str(path))["inserted"]["events"] == 5


def test_whitespace_text_without_header_and_format_override(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "edges.dat"
    path.write_text("1 2 1082040961\n3 4 1082155839\n\n1 2 1082040961\n")
    out = cli.json("ingest", str(path), "--format", "text", "--map", "actor=c1", "--map", "target=c2",
                   "--map", "ts=c3", "--set", "kind=message")
    assert out["inserted"]["events"] == 3  # the repeated line is a second message, not a duplicate


def test_metrics_news_accounts_recognised_from_columns(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("ts,platform,account,followers\n2024-01-01,instagram,bob,100\n"
                                    "2024-01-02,instagram,bob,90\n")
    (tmp_path / "n.csv").write_text('ts,title,subjects,url\n2024-01-02T09:00:00+09:00,"Bob, news",bob;alice,'
                                    "https://x.example/1\n")
    (tmp_path / "a.jsonl").write_text('{"platform":"instagram","account":"bob","name":"Bob Smith"}\n')
    out = cli.json("ingest", str(tmp_path))
    assert out["inserted"]["metrics"] == 2 and out["inserted"]["news"] == 1
    with Store(cli.db) as store:
        assert store.scalar("SELECT subjects FROM news") == ["bob", "alice"]
        assert store.scalar("SELECT name FROM accounts WHERE account = 'bob'") == "Bob Smith"
    assert cli.json("ingest", str(tmp_path))["inserted"] == {"events": 0, "metrics": 0, "news": 0, "accounts": 0}


def test_overlapping_inputs_insert_nothing_twice(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "one.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:3]))
    (tmp_path / "two.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[1:]))
    assert cli.json("ingest", str(tmp_path / "one.jsonl"))["inserted"]["events"] == 3
    out = cli.json("ingest", str(tmp_path / "two.jsonl"))
    assert out["inserted"]["events"] == 2 and out["duplicates"] == 2


def test_hash_identity_is_stable_across_offsets(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"ts":"2024-05-19T11:10:00+09:00","actor":"a","kind":"like","target":"b"}\n')
    (tmp_path / "b.csv").write_text("ts,actor,kind,target\n2024-05-19T02:10:00Z,a,like,b\n")
    assert cli.json("ingest", str(tmp_path / "a.jsonl"))["inserted"]["events"] == 1
    assert cli.json("ingest", str(tmp_path / "b.csv"))["duplicates"] == 1


def test_repeated_ids_within_a_file_keep_the_first(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rep.jsonl"
    path.write_text('{"id":"x","ts":"2024-01-01","actor":"a","kind":"post","text":"first"}\n'
                    '{"id":"y","ts":"2024-01-02","actor":"a","kind":"post"}\n'
                    '{"id":"x","ts":"2024-01-03","actor":"a","kind":"post","text":"second"}\n')
    out = cli.json("ingest", str(path))
    assert out["inserted"]["events"] == 2 and out["duplicates"] == 1
    with Store(cli.db) as store:
        assert store.scalar("SELECT text FROM events WHERE id = 'x'") == "first"
        assert store.scalar("SELECT count(DISTINCT ingest) FROM events") == 1
        assert store.scalar("SELECT max(id) FROM ingests") == 1


@pytest.mark.parametrize("as_array", [False, True])
def test_keys_that_first_appear_late_are_not_lost(cli: Cli, tmp_path: Path, as_array: bool) -> None:
    rows = [{"id": f"p{i}", "ts": 1700000000 + i, "actor": "b", "kind": "post"} for i in range(30000)]
    rows.append({"id": "late", "ts": 1800000000, "actor": "a", "kind": "comment", "target": "b", "post": "p1",
                 "text": "finally"})
    path = tmp_path / ("late.json" if as_array else "late.jsonl")
    path.write_text(json.dumps(rows) if as_array else "".join(json.dumps(r) + "\n" for r in rows))
    assert cli.json("ingest", str(path))["inserted"]["events"] == 30001
    with Store(cli.db) as store:
        assert store.con.execute("SELECT target, post, text FROM events WHERE id = 'late'").fetchall() == [
            ("b", "p1", "finally")]
