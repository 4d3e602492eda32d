"""`tiewatch export --parquet DIR` and `tiewatch ingest DIR`: the canonical tables as a Parquet lake and back."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from conftest import Cli
from tiewatch.lake import LAKE_TABLES, MANIFEST, export_lake, ingest_lake, table_files
from tiewatch.store import Store

EVENTS = """id,ts,platform,actor,kind,target,text
e1,2024-01-05T10:00:00,bluesky,alice,like,bob,
e2,2024-01-20T11:00:00,bluesky,bob,post,,hello
e3,2024-02-02T12:00:00,bluesky,alice,reply,bob,"it's ""quoted"", really"
e4,2024-02-03T12:00:00,x/twitter,carol,post,,slash in the platform
"""


def _files(lake: Path) -> dict[str, float]:
    return {str(p.relative_to(lake)): p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}


@pytest.fixture
def small(tmp_path: Path) -> Cli:
    src = tmp_path / "events.csv"
    src.write_text(EVENTS)
    cli = Cli(tmp_path / "small.duckdb")
    cli("ingest", str(src))
    return cli


def test_export_partitions_events_by_platform_and_month_with_every_column(small: Cli, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    out = small.json("export", "--parquet", str(lake))
    manifest = json.loads((lake / MANIFEST).read_text())
    assert out["partitions_written"] == len(manifest["partitions"])
    assert sum(e["rows"] for e in manifest["partitions"].values() if e["table"] == "events") == 4
    parts = sorted(str(p.relative_to(lake).parent) for p in (lake / "events").rglob("*.parquet"))
    assert parts == ["events/platform=bluesky/month=2024-01", "events/platform=bluesky/month=2024-02",
                     "events/platform=x%2Ftwitter/month=2024-02"]
    rows = duckdb.sql(f"SELECT id, platform, text FROM read_parquet('{lake}/events/**/*.parquet', "
                      "hive_partitioning = false) ORDER BY id").fetchall()
    assert rows[2] == ("e3", "bluesky", 'it\'s "quoted", really')
    assert rows[3][1] == "x/twitter"  # the value comes from the file, not from the folder name
    assert manifest["format"] == "tiewatch-lake"
    assert {e["table"] for e in manifest["partitions"].values()} == set(LAKE_TABLES)


def test_export_again_writes_nothing_and_a_change_rewrites_only_its_partition(small: Cli, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    small("export", "--parquet", str(lake))
    before = _files(lake)
    again = small.json("export", "--parquet", str(lake))
    assert again["partitions_written"] == 0 and _files(lake) == before
    more = tmp_path / "more.csv"
    more.write_text("id,ts,platform,actor,kind\ne5,2024-01-30T00:00:00,bluesky,dave,post\n")
    small("ingest", str(more))
    changed = small.json("export", "--parquet", str(lake))
    assert changed["partitions_written"] == 2  # dave's event, and dave among the accounts
    after = _files(lake)
    moved = {k for k in after if after[k] != before.get(k)}
    assert moved == {"events/platform=bluesky/month=2024-01/part-0.parquet", "accounts/part-0.parquet"}


def test_an_interrupted_export_resumes_without_rewriting_what_was_done(small: Cli, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    small("export", "--parquet", str(lake))
    manifest = json.loads((lake / MANIFEST).read_text())
    lost = "events/platform=bluesky/month=2024-02"  # as if killed before this partition was renamed into place
    del manifest["partitions"][lost]
    (lake / MANIFEST).write_text(json.dumps(manifest))
    (lake / lost).rename(lake / (lost + ".tmp"))
    before = _files(lake)
    out = small.json("export", "--parquet", str(lake))
    assert out["partitions_written"] == 1
    after = _files(lake)
    assert {k for k in after if after[k] != before.get(k)} == {f"{lost}/part-0.parquet"}
    assert not list(lake.rglob("*.tmp"))


def test_export_refuses_a_folder_that_is_not_a_lake(small: Cli, tmp_path: Path) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    result = small("export", "--parquet", str(other), ok=False)
    assert result.exit_code != 0 and "not a tiewatch lake" in result.output
    assert (other / "notes.txt").read_text() == "keep me"


def test_ingest_reads_a_lake_back_once(seed_db: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with Store(seed_db, read_only=True) as src:
        export_lake(src.con, lake)
        counts = {t: src.count(t) for t in LAKE_TABLES}
        digest = src.scalar("SELECT sum(hash(id, ts, platform, actor, kind, target, post, text)) FROM events")
    cli = Cli(tmp_path / "back.duckdb")
    first = cli.json("ingest", str(lake))
    assert first["inserted"]["events"] == counts["events"] and first["duplicates"] == 0
    second = cli.json("ingest", str(lake))
    assert sum(second["inserted"].values()) == 0 and second["duplicates"] == sum(counts.values())
    with Store(cli.db) as back:
        assert {t: back.count(t) for t in LAKE_TABLES} == counts
        assert back.scalar("SELECT sum(hash(id, ts, platform, actor, kind, target, post, text)) FROM events") == digest


def test_a_lake_with_a_missing_file_is_refused_whole(small: Cli, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    small("export", "--parquet", str(lake))
    table_files(lake, "events")[0].unlink()
    with Store(tmp_path / "other.duckdb") as other:
        with pytest.raises(Exception, match="missing"):
            ingest_lake(other, lake)
        assert other.count("events") == 0 and other.count("accounts") == 0
