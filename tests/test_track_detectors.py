"""unlike, post_deleted and profile_change on a real store: deletions and profile snapshots become signals."""

from __future__ import annotations

from datetime import datetime, timedelta

from tiewatch.detect.run import detect
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.sentences import render_signals

A, B, C = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", "did:plc:cccccccccccccccccccccccc"
T0 = datetime(2024, 5, 1, 12)


def _event(store: Store, eid: str, ts: datetime, actor: str, kind: str, target: str | None = None,
           post: str | None = None, text: str | None = None) -> None:
    store.con.execute("INSERT INTO events (id, ts, platform, actor, kind, target, post, text) "
                      "VALUES (?, ?, 'bluesky', ?, ?, ?, ?, ?)", [eid, ts, actor, kind, target, post, text])


def _delete(store: Store, uri: str, ts: datetime, ts_lo: datetime | None = None) -> None:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    store.con.execute("INSERT INTO record_deletes VALUES (?, ?, ?, ?, ?, ?, 'test')",
                      [uri, ts, ts_lo, did, collection, rkey])


def test_unlike_matches_the_like_it_removes_and_ranks_by_tie(store: Store) -> None:
    store.con.execute("INSERT INTO accounts (platform, account, name) VALUES ('bluesky', ?, 'alice.test'), "
                      "('bluesky', ?, 'bob.test')", [A, B])
    post = f"at://{B}/app.bsky.feed.post/3kp1"
    _event(store, post, T0, B, "post", post=post)
    for i in range(5):  # A engaged with B before
        _event(store, f"at://{A}/app.bsky.feed.like/3kl{i}", T0 + timedelta(hours=i), A, "like", B,
               f"at://{B}/app.bsky.feed.post/3kq{i}")
    like = f"at://{A}/app.bsky.feed.like/3klx"
    _event(store, like, T0 + timedelta(days=1), A, "like", B, post)
    _event(store, f"at://{C}/app.bsky.feed.like/3kly", T0, C, "like", B, post)
    _delete(store, like, datetime(2024, 6, 20, 9))
    _delete(store, f"at://{C}/app.bsky.feed.like/3kly", datetime(2024, 6, 21))
    _delete(store, f"at://{A}/app.bsky.feed.like/unknown", datetime(2024, 6, 21))  # never seen: not reported
    detect(store, sentences=render_signals)
    unlikes = list_signals(store, kind="unlike")
    assert [s["subjects"] for s in unlikes] == [[A, B], [C, B]]  # the closer tie ranks first
    first = unlikes[0]
    assert first["summary"].startswith("alice.test unliked bob.test's post of 1 May 2024 on 20 June 2024")
    assert first["evidence"] == [like, like + "#delete"] and first["score"] > unlikes[1]["score"]


def test_post_deletion_burst_and_every_post_with_an_account(store: Store) -> None:
    store.con.execute("INSERT INTO accounts (platform, account, name) VALUES ('bluesky', ?, 'bob.test')", [B])
    posts = []
    for i in range(3):
        uri = f"at://{A}/app.bsky.feed.post/3kr{i}"
        _event(store, uri, T0 + timedelta(days=i), A, "reply", B, f"at://{B}/app.bsky.feed.post/x{i}", "hi")
        posts.append(uri)
    mention = f"at://{A}/app.bsky.feed.post/3km"
    _event(store, mention, T0, A, "post", None, mention, "lunch with @bob.test")
    _event(store, f"at://{A}/app.bsky.feed.post/3kz", T0, A, "post", None, None, "unrelated")
    for j, uri in enumerate([*posts, mention]):
        _delete(store, uri, datetime(2024, 7, 1, 10, j))
    _delete(store, f"at://{A}/app.bsky.feed.post/3kz", datetime(2024, 7, 9))  # a second, separate burst
    detect(store, sentences=render_signals)
    signals = list_signals(store, kind="post_deleted")
    about_b = [s for s in signals if s["subjects"] == [A, B]]
    assert len(about_b) == 1
    assert "deleted 4 posts mentioning and replying to bob.test" in about_b[0]["summary"]
    assert "every stored post with bob.test" in about_b[0]["summary"]
    bursts = sorted((s["detail"]["deleted"], s["start"]) for s in signals if s["subjects"] == [A])
    assert [n for n, _ in bursts] == [1, 4]


def test_profile_changes_status_and_bio_mentions(store: Store) -> None:
    store.con.execute("INSERT INTO accounts (platform, account, name) VALUES ('bluesky', ?, 'bob.test')", [B])
    rows = [(T0, "Alice", "with @bob.test", "avatar1", "active"),
            (T0 + timedelta(hours=1), "Alice", "with @bob.test", "avatar1", "active"),  # no change
            (T0 + timedelta(hours=2), "Alice B.", "solo now", "avatar2", "active"),
            (T0 + timedelta(hours=3), None, None, None, "unavailable"),
            (T0 + timedelta(hours=4), "Alice B.", "solo now", "avatar2", "active")]
    for ts, name, bio, avatar, status in rows:
        store.con.execute("INSERT INTO profiles VALUES (?, ?, 'alice.test', ?, ?, ?, ?, 'test')",
                          [ts, A, name, bio, avatar, status])
    detect(store, sentences=render_signals)
    changes = list_signals(store, kind="profile_change")
    summaries = sorted(s["summary"] for s in changes)
    assert any("display name from Alice to Alice B.; changed bio; changed avatar" in s for s in summaries)
    dropped = [s for s in changes if s["detail"]["what"] == "bio_mention"]
    assert len(dropped) == 1 and dropped[0]["subjects"] == [A, B]
    assert "dropped a mention of bob.test in their bio" in dropped[0]["summary"]
    statuses = sorted(s["detail"]["status"] for s in changes if "status" in s["detail"])
    assert statuses == ["active", "unavailable"]
    assert len(changes) == 4
