"""Incremental backfill: getRepo?since=REV diffs, read through the kept tree, store exactly what a full
re-download stores, for fewer bytes; a PDS refusing `since`, or a diff the kept tree cannot complete, falls back
to the whole repository."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import libipld
from bsky_double import BLUESKY, REAL_CARS, BskyDouble, _cid, car_records, cbor2, mst
from click.testing import CliRunner
from test_track_client import client_for

from tiewatch.cli import app
from tiewatch.store import Store
from tiewatch.track import work
from tiewatch.track.watchlist import add, remove

TRACKED = ("app.bsky.feed.like", "app.bsky.feed.post", "app.bsky.graph.follow", "app.bsky.actor.profile")


def test_the_double_builds_real_trees_bit_for_bit() -> None:
    """The double's MST builder rebuilds each real repository's tree to the very root CID its commit names, so the
    revisions and diffs it serves have the real structure (layers, prefix compression, subtrees)."""
    for name in REAL_CARS:
        data = (BLUESKY / name).read_bytes()
        header, blocks = libipld.decode_car(data)

        def put(obj: object) -> bytes:
            return _cid(cbor2.dumps(obj, canonical=True))

        root = mst({k: _cid(v) for k, v in car_records(data).items()}, put)
        assert root == blocks[header["roots"][0]]["data"], name


def _revise(double: BskyDouble, dids: list[str], rng: random.Random, round_: int) -> None:
    """Delete about a fifth of each repository's likes, posts and follows, add new ones, rename the profile."""
    for did in dids:
        keys = sorted(car_records(double.repos[did]))
        victims = [k for k in keys if k.startswith(TRACKED[:3]) and rng.random() < 0.2]
        put: dict[str, dict[str, Any]] = {
            f"app.bsky.feed.like/3zz{round_}like{i}": {
                "$type": "app.bsky.feed.like", "createdAt": f"2025-0{round_}-0{i + 1}T10:00:00Z",
                "subject": {"uri": f"at://{dids[0]}/app.bsky.feed.post/3kpost{i}", "cid": "x"}} for i in range(3)}
        put[f"app.bsky.feed.post/3zz{round_}post"] = {"$type": "app.bsky.feed.post", "text": f"round {round_}",
                                                     "createdAt": f"2025-0{round_}-05T10:00:00Z"}
        put[f"app.bsky.graph.follow/3zz{round_}follow"] = {"$type": "app.bsky.graph.follow", "subject": dids[-1],
                                                          "createdAt": f"2025-0{round_}-06T10:00:00Z"}
        put["app.bsky.actor.profile/self"] = {"$type": "app.bsky.actor.profile", "displayName": f"Renamed {round_}"}
        if round_ == 2 and "app.bsky.feed.like/3zz1like0" not in victims:
            victims.append("app.bsky.feed.like/3zz1like0")  # a delete of a record only a diff ever carried
        double.revise(did, f"7aaaaaaaaaa{round_}0", drop=victims, put=put)


def _rows(db: Path) -> dict[str, Any]:
    with Store(db) as store:
        q = store.con.execute
        return {
            "events": q("SELECT id, ts, ts_lo, ts_hi, platform, actor, kind, target, post, text, source FROM events "
                        "ORDER BY id").fetchall(),
            "deletes": q("SELECT id, did, collection, rkey, source, ts_lo IS NOT NULL FROM record_deletes "
                         "ORDER BY id").fetchall(),
            "accounts": q("SELECT platform, account, name, person, kind FROM accounts ORDER BY ALL").fetchall(),
            "quarantine": q("SELECT count(*) FROM quarantine").fetchall(),
            "revs": q("SELECT did, rev FROM watchlist ORDER BY did").fetchall(),
        }


def _track(db: Path, double: BskyDouble, rounds: int) -> list[work.PeriodReport]:
    rng = random.Random(7)
    dids = double.add_real_repos()
    with Store(db) as store:
        add(store, dids)
    reports = []
    with client_for(double) as client:
        work.resolve(db, client, work.PeriodReport())
        for round_ in range(rounds + 1):
            if round_:
                _revise(double, dids, rng, round_)
            report = work.PeriodReport()
            work.backfill(db, client, report, every_seconds=0)
            assert report.errors == [] and report.backfilled == len(dids), report
            reports.append(report)
    return reports


def test_incremental_backfill_stores_exactly_what_a_full_redownload_stores(tmp_path: Path) -> None:
    stores = {}
    reports = {}
    # A PDS answering `since` with a diff; one refusing it (full downloads); one ignoring it (whole repositories
    # where a diff was asked for, read the same way).
    for mode in ("diff", "refuse", "ignore"):
        db = tmp_path / f"{mode}.duckdb"
        with BskyDouble() as double:
            double.since = mode
            reports[mode] = _track(db, double, rounds=2)
            since_asked = [p for _, p, _ in double.requests if "getRepo" in p and "since=" in p]
            assert len(since_asked) == 2 * len(REAL_CARS)  # both later rounds asked for a diff
        stores[mode] = _rows(db)
        result = CliRunner().invoke(app, ["--db", str(db), "track", "status", "--json"])
        assert result.exit_code == 0, result.output
        reports[mode + " status"] = json.loads(result.output)
    inc, full = stores["diff"], stores["refuse"]
    assert inc == full == stores["ignore"]  # every row the same
    assert len(inc["deletes"]) > 10 and any(d[0].endswith("/3zz1like0") for d in inc["deletes"])
    assert {"Renamed 2"} <= {a[2] for a in inc["accounts"]}
    # The first round downloads whole repositories either way; later rounds cost far less as diffs.
    first = reports["diff"][0].repo_bytes
    assert first == reports["refuse"][0].repo_bytes
    for later_inc, later_full in zip(reports["diff"][1:], reports["refuse"][1:], strict=True):
        assert later_inc.incremental == len(REAL_CARS) and later_full.incremental == 0
        assert later_inc.repo_bytes * 3 < later_full.repo_bytes
    # track status says how each repository was last fetched and what the fetches cost in total.
    for row in reports["diff status"]:
        assert row["last_fetch"].startswith("since 7aaaaaaaaaa10: ") and row["repo_bytes"] > 0
    for row in reports["refuse status"]:
        assert row["last_fetch"].startswith("full (since refused: HTTP 400): ")
    total = {mode: sum(r["repo_bytes"] for r in reports[mode + " status"]) for mode in ("diff", "refuse")}
    assert total["diff"] == sum(r.repo_bytes for r in reports["diff"]) < total["refuse"]


def test_a_diff_the_kept_tree_cannot_complete_falls_back_to_the_whole_repository(db: Path) -> None:
    with BskyDouble() as double:
        _track(db, double, rounds=1)
        with Store(db) as store:  # lose one kept subtree node (not a root) of every repository that has one
            lost = store.scalar("SELECT count(DISTINCT did) FROM repo_nodes WHERE NOT root")
            store.con.execute("""DELETE FROM repo_nodes WHERE (did, cid) IN (
                                     SELECT did, min(cid) FROM repo_nodes WHERE NOT root GROUP BY did)""")
        before = _rows(db)
        _revise(double, list(double.repos), random.Random(1), 2)
        with client_for(double) as client:
            report = work.PeriodReport()
            work.backfill(db, client, report, every_seconds=0)
    assert report.errors == [] and report.backfilled == len(REAL_CARS)
    assert 0 < lost <= len(REAL_CARS)
    assert report.incremental == len(REAL_CARS) - lost  # the trees that lost a node were fetched whole
    with Store(db) as store:
        hows = [r[0] for r in store.con.execute("SELECT last_fetch FROM watchlist").fetchall()]
        # every kept tree is whole again
        assert store.scalar("SELECT count(*) FROM repo_nodes WHERE root") == len(REAL_CARS)
    assert sum(h.startswith("full (diff incomplete") for h in hows) == lost
    assert len(_rows(db)["events"]) > len(before["events"])
    with Store(db) as store:  # an account no longer watched takes its kept tree with it; its data stays
        gone = store.scalar("SELECT min(did) FROM watchlist")
        remove(store, [gone])
        assert store.scalar("SELECT count(*) FROM repo_nodes WHERE did = ?", [gone]) == 0
        assert store.scalar("SELECT count(DISTINCT did) FROM repo_nodes") == len(REAL_CARS) - 1
        assert store.scalar("SELECT count(*) FROM events WHERE actor = ?", [gone]) > 0
