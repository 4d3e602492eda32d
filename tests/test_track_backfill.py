"""Backfill through the CAR reader, and what a newer repository revision says: records gone since are deletions."""

from __future__ import annotations

from pathlib import Path

from bsky_double import BLUESKY, BskyDouble, build_car
from test_track_client import client_for

from tiewatch.api import Tiewatch
from tiewatch.detect.run import detect
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.track import work
from tiewatch.track.watchlist import add
from tiewatch.views.sentences import render_signals

A, B = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
POST = f"at://{B}/app.bsky.feed.post/3kb1"


def _records(likes: list[str]) -> dict[str, dict[str, object]]:
    recs: dict[str, dict[str, object]] = {
        f"app.bsky.feed.like/{rk}": {"$type": "app.bsky.feed.like", "createdAt": "2024-05-03T10:00:00Z",
                                     "subject": {"uri": POST, "cid": "x"}} for rk in likes}
    recs["app.bsky.feed.post/3ka1"] = {"$type": "app.bsky.feed.post", "text": "hi",
                                       "createdAt": "2024-05-01T10:00:00Z"}
    return recs


def test_revision_unchanged_costs_one_call_and_a_shorter_repo_yields_deletions(db: Path) -> None:
    with BskyDouble() as double:
        double.add_repo(build_car(A, _records(["3kl1", "3kl2"]), "3kaaaaaaaaaa1"), handle="anna.test")
        double.add_repo(build_car(B, {"app.bsky.feed.post/3kb1": {"text": "b", "createdAt": "2024-05-02T00:00:00Z"}},
                                  "3kbbbbbbbbbb1"), handle="ben.test")
        with Store(db) as store:
            add(store, ["anna.test", B])
        with client_for(double) as client:
            report = work.PeriodReport()
            work.resolve(db, client, report)
            work.backfill(db, client, report, every_seconds=0)
            assert (report.resolved, report.backfilled, report.repo_events) == (2, 2, 4)
            again = work.PeriodReport()
            work.backfill(db, client, again, every_seconds=0)
            assert (again.backfilled, again.unchanged) == (0, 2)
            assert sum(1 for _, p, _ in double.requests if "getRepo" in p) == 2  # not downloaded again
            # A unliked B's post while nobody was listening: the next revision of A's repository lacks the like.
            double.add_repo(build_car(A, _records(["3kl1"]), "3kaaaaaaaaaa2"))
            later = work.PeriodReport()
            work.backfill(db, client, later, every_seconds=0)
            assert (later.backfilled, later.repo_deletes) == (1, 1)
            work.backfill(db, client, work.PeriodReport(), every_seconds=3600)  # too soon: nothing asked
            assert sum(1 for _, p, _ in double.requests if "getLatestCommit" in p) == 6
    with Store(db) as store:
        row = store.con.execute("SELECT id, ts_lo IS NOT NULL, source FROM record_deletes").fetchall()
        assert row == [(f"at://{A}/app.bsky.feed.like/3kl2", True, "getRepo")]
        assert store.scalar("SELECT rev FROM watchlist WHERE did = ?", [A]) == "3kaaaaaaaaaa2"
        detect(store, sentences=render_signals)
        unlikes = list_signals(store, kind="unlike")
        assert len(unlikes) == 1 and " between " in unlikes[0]["summary"]  # known only between two backfills
    # The API's track status reads through its own connection: a read-only handle (a notebook, a server) works,
    # and says what `tiewatch track status` says.
    with Tiewatch(db, read_only=True) as tw:
        assert tw.stats()["events"]  # the connection is open before status is asked
        rows = tw.track_status()
    assert [(r["did"], r["handle"], r["rev"]) for r in rows] == [
        (A, "anna.test", "3kaaaaaaaaaa2"), (B, "ben.test", "3kbbbbbbbbbb1")]
    assert [{**r, "cursor_lag_seconds": None} for r in rows] == [
        {**r, "cursor_lag_seconds": None} for r in work.status(db)]


def test_a_repository_the_reader_refuses_is_reported_and_the_others_proceed(db: Path) -> None:
    with BskyDouble() as double:
        sliced = double.add_repo((BLUESKY / "indigo_repo_slice.car").read_bytes())  # only part of a repository
        fine = double.add_repo(build_car(A, _records(["3kl1"]), "3kaaaaaaaaaa1"), handle="anna.test")
        with Store(db) as store:
            add(store, [sliced, fine])
        with client_for(double) as client:
            report = work.PeriodReport()
            work.resolve(db, client, report)
            work.backfill(db, client, report, every_seconds=0)
    assert report.backfilled == 1 and len(report.errors) == 1 and report.errors[0].startswith(sliced)
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM events WHERE actor = ?", [fine]) == 2
        assert store.scalar("SELECT rev FROM watchlist WHERE did = ?", [sliced]) is None  # tried again next time
