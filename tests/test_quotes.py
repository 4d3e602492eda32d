"""A quote post is about the account it quotes: the Bluesky mappings (Jetstream and repository CARs) keep the
quoted post's author as the post's target, and a deleted quote counts for post_deleted like replies and
mentions. The records are real posts of the Jetstream capture in ../shared/data/bluesky, given the two real
quote embeds of the app.bsky.feed.post lexicon (app.bsky.embed.record, app.bsky.embed.recordWithMedia)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bsky_double import build_car

from conftest import SHARED
from tiewatch.api import Tiewatch
from tiewatch.detect.post_deleted import PostDeletedDetector
from tiewatch.detect.run import detect
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.sentences import render_signals

CAPTURE = SHARED / "data" / "bluesky" / "jetstream_expected_v1.jsonl"


def _capture() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CAPTURE.read_text().splitlines() if line.strip()]


def _posts(events: list[dict[str, Any]], embed: str | None) -> list[dict[str, Any]]:
    return [e for e in events if e.get("kind") == "commit" and e["commit"].get("operation") == "create"
            and e["commit"].get("collection") == "app.bsky.feed.post" and "reply" not in e["commit"]["record"]
            and (e["commit"]["record"].get("embed") or {}).get("$type") == embed]


def _quotes(tmp: Path) -> tuple[Path, str, str, list[str]]:
    """The capture's posts plus two quotes of one of them by another account: (file, quoter, quoted, ids)."""
    events = _capture()
    quoted = _posts(events, "app.bsky.embed.external")[0]  # a real post with a link card
    author = quoted["did"]
    ref = {"uri": f"at://{author}/app.bsky.feed.post/{quoted['commit']['rkey']}", "cid": quoted["commit"]["cid"]}
    plain = next(p for p in _posts(events, None) if p["did"] != author)
    with_images = next(p for p in _posts(events, "app.bsky.embed.images") if p["did"] != author)
    quoter = plain["did"]
    q1 = json.loads(json.dumps(plain))
    q1["commit"]["rkey"] += "q"
    q1["commit"]["record"]["embed"] = {"$type": "app.bsky.embed.record", "record": ref}
    q2 = json.loads(json.dumps(plain))
    q2["commit"]["rkey"] += "m"
    q2["time_us"] += 1000
    q2["commit"]["record"]["embed"] = {"$type": "app.bsky.embed.recordWithMedia",
                                       "media": with_images["commit"]["record"]["embed"],
                                       "record": {"$type": "app.bsky.embed.record", "record": ref}}
    path = tmp / "quotes.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [*events, q1, q2]) + "\n")
    ids = [f"at://{quoter}/app.bsky.feed.post/{q['commit']['rkey']}" for q in (q1, q2)]
    return path, quoter, author, ids


def test_jetstream_quotes_name_the_quoted_author_and_a_link_card_names_nobody(tmp_path: Path) -> None:
    path, _, author, ids = _quotes(tmp_path)
    with Tiewatch(tmp_path / "s.duckdb") as tw:
        tw.ingest([path])
        rows = tw.store.con.execute("SELECT id, kind, target FROM events WHERE id IN (?, ?) ORDER BY id",
                                    ids).fetchall()
        assert sorted(rows) == sorted((i, "post", author) for i in ids)
        # posts with a link card or images, and no quote, still have no target
        n = tw.store.scalar("SELECT count(*) FROM events WHERE kind = 'post' AND target IS NOT NULL")
        assert n == 2


def test_a_deleted_quote_is_a_post_deleted_about_the_quoted_account(tmp_path: Path) -> None:
    path, quoter, author, ids = _quotes(tmp_path)
    db = tmp_path / "s.duckdb"
    with Tiewatch(db) as tw:
        tw.ingest([path])
    with Store(db) as store:
        store.con.execute("DELETE FROM accounts WHERE platform = 'bluesky' AND account IN (?, ?)", [quoter, author])
        store.con.execute("INSERT INTO accounts (platform, account, name) VALUES ('bluesky', ?, 'quoter.test'), "
                          "('bluesky', ?, 'author.test')", [quoter, author])
        when = datetime(2026, 7, 5, 9)
        for i, uri in enumerate(ids):
            did, collection, rkey = uri.removeprefix("at://").split("/")
            store.con.execute("INSERT INTO record_deletes VALUES (?, ?, NULL, ?, ?, ?, 'test')",
                              [uri, when + timedelta(minutes=i), did, collection, rkey])
        detect(store, only=[PostDeletedDetector()], sentences=render_signals)
        about = [s for s in list_signals(store, kind="post_deleted") if s["subjects"] == [quoter, author]]
    assert len(about) == 1
    assert about[0]["detail"]["about"] == ["quote"] and about[0]["evidence"] == sorted(ids)
    assert about[0]["summary"].startswith("quoter.test deleted 2 posts quoting author.test on 5 July 2026 "
                                          "(every stored post with author.test;")


def test_repository_quotes_name_the_quoted_author(tmp_path: Path) -> None:
    a, b = "did:plc:quoterqqqqqqqqqqqqqqqqqq", "did:plc:authorbbbbbbbbbbbbbbbbbb"
    ref = {"uri": f"at://{b}/app.bsky.feed.post/3kb1",
           "cid": "bafyreie36hv3vh74dqr7zvswes4ascrqfwd7nrr3tytck5ypyd5d2a5dge"}
    records = {
        "app.bsky.feed.post/3ka1": {"$type": "app.bsky.feed.post", "text": "this",
                                    "createdAt": "2024-05-02T00:00:00Z",
                                    "embed": {"$type": "app.bsky.embed.record", "record": ref}},
        "app.bsky.feed.post/3ka2": {"$type": "app.bsky.feed.post", "text": "and this",
                                    "createdAt": "2024-05-03T00:00:00Z",
                                    "embed": {"$type": "app.bsky.embed.recordWithMedia",
                                              "media": {"$type": "app.bsky.embed.images", "images": []},
                                              "record": {"$type": "app.bsky.embed.record", "record": ref}}},
        "app.bsky.feed.post/3ka3": {"$type": "app.bsky.feed.post", "text": "a list, not a post",
                                    "createdAt": "2024-05-04T00:00:00Z",
                                    "embed": {"$type": "app.bsky.embed.record",
                                              "record": {"uri": f"at://{b}/app.bsky.graph.list/3kl", "cid": "x"}}},
    }
    car = tmp_path / "repo.car"
    car.write_bytes(build_car(a, records, "3kaaaaaaaaaa1"))
    with Tiewatch(tmp_path / "s.duckdb") as tw:
        tw.ingest([car])
        rows = tw.store.con.execute("SELECT id, kind, target FROM events ORDER BY id").fetchall()
    assert rows == [(f"at://{a}/app.bsky.feed.post/3ka1", "post", b),
                    (f"at://{a}/app.bsky.feed.post/3ka2", "post", b),
                    (f"at://{a}/app.bsky.feed.post/3ka3", "post", None)]
