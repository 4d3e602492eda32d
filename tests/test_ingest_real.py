"""Acceptance on real files: the seed scenario and SNAP's CollegeMsg."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import COLLEGEMSG, SEED, Cli


def _records(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:  # type: ignore[operator]
        return sum(1 for line in f if line.strip())


def test_seed_ingests_whole_and_reingest_inserts_nothing(cli: Cli) -> None:
    first = cli.json("ingest", str(SEED))
    events, metrics = _records(SEED / "events.jsonl.gz"), _records(SEED / "metrics.jsonl.gz")
    news, accounts = _records(SEED / "news.jsonl"), _records(SEED / "accounts.jsonl")
    assert first["inserted"]["events"] == events
    assert first["inserted"]["metrics"] == metrics
    assert first["inserted"]["news"] == news
    assert first["rejected"] == 0
    stats = cli.json("stats")
    assert stats["events"]["total"] == events
    assert stats["metrics"] == metrics and stats["news"] == news and stats["accounts"] == accounts
    assert stats["events"]["by_platform"] == {"instagram": events}
    assert stats["quarantine"] == 0

    second = cli.json("ingest", str(SEED))
    assert second["inserted"] == {"events": 0, "metrics": 0, "news": 0, "accounts": 0}
    assert second["duplicates"] == events + metrics + news + accounts
    assert cli.json("stats")["events"]["total"] == events


def test_seed_times_are_utc(cli: Cli) -> None:
    cli("ingest", str(SEED / "news.jsonl"))
    from tiewatch.store import Store

    with Store(cli.db) as store:
        ts = store.scalar("SELECT ts FROM news WHERE id = 'n-reveal'")
    assert ts.isoformat() == "2024-03-15T00:00:00"  # 09:00 +09:00


def test_collegemsg_with_map_and_set(cli: Cli) -> None:
    out = cli.json("ingest", str(COLLEGEMSG), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
                   "--set", "kind=message", "--set", "platform=collegemsg")
    assert out["inserted"]["events"] == 59_835
    assert out["inserted"]["accounts"] == 1_899
    stats = cli.json("stats")
    assert stats["events"]["by_kind"] == {"message": 59_835}
    assert stats["events"]["first"] == "2004-04-15T14:56:01Z"
    again = cli.json("ingest", str(COLLEGEMSG), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
                     "--set", "kind=message", "--set", "platform=collegemsg")
    assert again["inserted"]["events"] == 0 and again["duplicates"] == 59_835


def test_ingest_json_output_is_one_object(cli: Cli) -> None:
    result = cli("ingest", str(SEED / "news.jsonl"), "--json")
    obj = json.loads(result.stdout)
    assert set(obj) == {"inserted", "duplicates", "rejected", "set_aside", "warnings"}
    assert set(obj["inserted"]) == {"events", "metrics", "news", "accounts"}
