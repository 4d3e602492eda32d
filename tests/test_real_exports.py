"""Exports as people really have them (one sample per known layout and year), and the follower answers they
bring them for: `tiewatch followers` and `tiewatch growth`."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SHARED, Cli
from tiewatch.store import Store

FIX = REPO / "tests" / "fixtures"
LAYOUTS = FIX / "instagram_layouts"
IG1 = FIX / "instagram" / "instagram-hyeri_0609-2024-03-01-AbCdEf"
IG2 = FIX / "instagram" / "instagram-hyeri_0609-2024-04-01-GhIjKl"
IG_FULL_2024 = LAYOUTS / "instagram-hyeri_0609-2024-06-01-FuLl24"
IG_2025 = LAYOUTS / "instagram-nova_2025-2025-11-01-Nw25Ab"
IG_OLD = LAYOUTS / "instagram-oldie_99-2021-06-01-Zq1w2E"
STUPARLU = SHARED / "data" / "instagram-export-stuparlu" / "followers_and_following"
BLUESKY = SHARED / "data" / "bluesky"
ODU = SHARED / "data" / "follower-history-odu" / "fch_ten_gop.csv"


def _rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with Store(db, read_only=True) as store:
        return store.con.execute(sql, params or []).fetchall()


# --- Instagram ----------------------------------------------------------------------------------------------

def test_full_export_with_ads_files_is_read_not_refused(cli: Cli) -> None:
    """Defect 1: ads_information/ads_and_topics/posts_viewed.json is not the owner's posts."""
    out = cli.json("ingest", str(IG_FULL_2024))
    assert out["rejected"] == 0 and out["warnings"] == []
    posts = _rows(cli.db, "SELECT post FROM events WHERE kind = 'post'")
    assert posts == [("media/posts/202405/x9.jpg",)]
    assert _rows(cli.db, "SELECT count(*) FROM events WHERE actor = 'some_brand' OR target = 'some_brand'") == [(0,)]


def test_2025_likes_and_u_hrefs(cli: Cli) -> None:
    """Defect 2: the 2025-26 liked_posts.json layout, and following names given only by title or /_u/ href."""
    out = cli.json("ingest", str(IG_2025))
    assert out["rejected"] == 0 and out["warnings"] == []
    likes = _rows(cli.db, "SELECT post, target, ts FROM events WHERE kind = 'like' ORDER BY ts")
    assert [(p, t) for p, t, _ in likes] == [("https://www.instagram.com/p/DQaaa1/", "star_a"),
                                             ("https://www.instagram.com/p/DQbbb2/", "star_c"),
                                             ("https://www.instagram.com/reel/DQccc3/", "star_a")]
    assert likes[0][2] == datetime.fromtimestamp(1760000000, UTC).replace(tzinfo=None)
    media = _rows(cli.db, "SELECT kind, post, text FROM events WHERE kind IN ('post', 'story') ORDER BY kind")
    assert media == [("post", "media/posts/202510/17900000000000011.jpg", "golden hour"),
                     ("story", "media/stories/202510/17900000000000012.mp4", None)]  # media/, not content/
    members = _rows(cli.db, "SELECT direction, list(member ORDER BY member) FROM snapshots GROUP BY 1 ORDER BY 1")
    assert members == [("followers", ["star_a", "star_b"]), ("following", ["star_a", "star_c"])]
    view = cli.json("followers", "nova_2025")
    assert [m["account"] for m in view["mutuals"]] == ["star_a"]
    assert [m["account"] for m in view["not_following_back"]] == ["star_c"]


def test_older_export_text_is_repaired_where_it_round_trips(cli: Cli) -> None:
    """Defect 3: UTF-8 written as Latin-1 escapes comes back as the text people wrote."""
    out = cli.json("ingest", str(IG_OLD))
    assert out["rejected"] == 0 and out["inserted"]["events"] == 2 + 1 + 1 + 3 + 1
    texts = dict(_rows(cli.db, "SELECT target || ':' || kind || ':' || coalesce(CAST(epoch(ts) AS BIGINT), 0), "
                               "text FROM events WHERE text IS NOT NULL"))
    assert texts["pal_one:comment:1616000000"] == "so tired 🙄"
    assert texts["pal_two:comment:1617000000"] == "café time"
    assert texts["pal_two:comment:1618000000"] == "naïve"  # genuine Latin-1-range text is left alone
    assert _rows(cli.db, "SELECT text FROM events WHERE kind = 'post'") == [("Seoul ❤️ 서울",)]


def test_recently_unfollowed_profiles_give_exact_unfollows(cli: Cli) -> None:
    """Defect 8, and the followers view over three exports of one account."""
    for export in (IG1, IG2, IG_FULL_2024):
        cli("ingest", str(export))
    exact = _rows(cli.db, "SELECT actor, target, ts, ts_lo FROM events WHERE kind = 'unfollow' AND actor = "
                          "'hyeri_0609' AND target = 'celeb00'")
    assert exact == [("hyeri_0609", "celeb00", datetime(2024, 5, 10, 12, 0), None)]  # no second, diffed one
    view = cli.json("followers", "hyeri_0609")
    by = {k: {(c["account"], c["when"]) for c in view[k]} for k in
          ("new_follower", "lost_follower", "you_followed", "you_unfollowed", "vanished")}
    assert by["lost_follower"] == {("fan001", "between 1 April and 1 June 2024")}
    assert by["you_unfollowed"] == {("celeb00", "on 10 May 2024 at 12:00 UTC")}
    assert by["vanished"] == {("ryu_junyeol", "between 1 March and 1 April 2024")}
    assert {a for a, _ in by["new_follower"]} == {"fan002", "fan003"}
    assert {a for a, _ in by["you_followed"]} == {"new_friend"}
    lost = view["lost_follower"][0]
    assert (lost["start"], lost["end"], lost["exact"]) == ("2024-04-01T00:00:00Z", "2024-06-01T00:00:00Z", None)
    assert [m["account"] for m in view["not_following_back"]] == ["new_friend"] and view["mutuals"] == []
    assert (view["followers"], view["following"]) == (3, 1)
    # --since / --until select changes by their interval
    later = cli.json("followers", "hyeri_0609", "--since", "2024-04-15")
    assert [c["account"] for c in later["vanished"]] == [] and len(later["lost_follower"]) == 1
    early = cli.json("followers", "hyeri_0609", "--until", "2024-04-01")
    assert early["lost_follower"] == [] and early["you_unfollowed"] == [] and early["followers"] == 3
    table = list(csv.DictReader(io.StringIO(cli("followers", "hyeri_0609", "--csv").stdout)))
    assert {(r["change"], r["account"]) for r in table} >= {("lost_follower", "fan001"),
                                                            ("not_following_back", "new_friend")}
    text = cli("followers", "hyeri_0609").stdout
    assert "between 1 April and 1 June 2024" in text and "fan001" in text


def test_real_2023_followers_following_pair(cli: Cli, tmp_path: Path) -> None:
    """The real 2023 layout (stuparlu), inside an export folder named as Instagram names its zips."""
    export = tmp_path / "instagram-lukastupar-2023-07-10-Rea1x" / "followers_and_following"
    shutil.copytree(STUPARLU, export)
    cli("ingest", str(export.parent))
    followers = {e["string_list_data"][0]["value"] for e in json.loads((STUPARLU / "followers.json").read_text())}
    following = {e["string_list_data"][0]["value"] for e in
                 json.loads((STUPARLU / "following.json").read_text())["relationships_following"]}
    view = cli.json("followers", "lukastupar")
    assert (view["followers"], view["following"]) == (len(followers), len(following))
    assert {m["account"] for m in view["not_following_back"]} == following - followers
    assert {m["account"] for m in view["mutuals"]} == following & followers


def test_folder_without_a_date_asks_for_as_of(cli: Cli, tmp_path: Path) -> None:
    """Defect 6: no silent skip of the snapshot; --as-of dates it and a later export is then compared."""
    undated = tmp_path / "my instagram download"
    shutil.copytree(IG1, undated)
    result = cli("ingest", str(undated), ok=False)
    assert result.exit_code == 1 and "--as-of" in result.stderr and "no followers snapshot" in result.stderr
    assert _rows(cli.db, "SELECT count(*) FROM snapshots") == [(0,)]
    cli("ingest", str(undated), "--as-of", "2024-03-01")
    assert _rows(cli.db, "SELECT DISTINCT taken FROM snapshots") == [(datetime(2024, 3, 1),)]
    cli("ingest", str(IG2))
    lost = _rows(cli.db, "SELECT actor, ts_lo, ts_hi FROM events WHERE kind = 'unfollow' AND target = 'hyeri_0609'")
    assert lost == [("ryu_junyeol", datetime(2024, 3, 1), datetime(2024, 4, 1))]


def test_format_drift_is_loud_and_takes_no_snapshot(cli: Cli, tmp_path: Path) -> None:
    """A known file whose records no longer read: a warning naming the file and the layout, exit 1, and no
    snapshot (an empty following list would report everybody as unfollowed)."""
    cli("ingest", str(IG1))
    drifted = tmp_path / "instagram-hyeri_0609-2024-04-01-Drift1"
    shutil.copytree(IG2, drifted)
    following = drifted / "connections" / "followers_and_following" / "following.json"
    following.write_text(json.dumps({"relationships_following": [
        {"title": "", "string_list_data": [{"timestamp": 1700000000}]},
        {"title": "", "string_list_data": [{"timestamp": 1700000001}]}]}))
    likes = drifted / "your_instagram_activity" / "likes" / "liked_posts.json"
    likes.write_text(json.dumps([{"ts": 1, "what": "a future layout"}]))
    result = cli("ingest", str(drifted), ok=False)
    assert result.exit_code == 1
    assert f"format drift: {following}: 2 of 2 records unreadable" in result.stderr
    assert f"format drift: {likes}: 1 of 1 records unreadable" in result.stderr and "label_values" in result.stderr
    assert "no following snapshot taken" in result.stderr
    assert _rows(cli.db, "SELECT DISTINCT taken FROM snapshots WHERE direction = 'following'") == [
        (datetime(2024, 3, 1),)]
    assert _rows(cli.db, "SELECT count(*) FROM events WHERE kind = 'unfollow' AND actor = 'hyeri_0609'") == [(0,)]
    # the followers file still read: its snapshot is taken and diffed
    assert _rows(cli.db, "SELECT actor FROM events WHERE kind = 'unfollow'") == [("ryu_junyeol",)]


# --- X archives -----------------------------------------------------------------------------------------------

def _ytd(name: str, items: list[Any]) -> str:
    return f"window.YTD.{name}.part0 = " + json.dumps(items, indent=2)


def _x_archive(root: Path, when: datetime, followers: list[str], following: list[str], *, account_js: bool,
               tweets: list[dict[str, Any]] | None = None) -> Path:
    """An X archive folder in the layout X writes: data/*.js wrapped in window.YTD..., data/manifest.js."""
    data = root / "data"
    data.mkdir(parents=True)
    manifest = {"userInfo": {"accountId": "1000", "userName": "owner_handle", "displayName": "The Owner"},
                "archiveInfo": {"sizeBytes": "1000", "generationDate": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                "isPartialArchive": False, "maxPartSizeBytes": "53687091200"},
                "readmeInfo": {"fileName": "data/README.txt", "directory": "data/", "name": "README.txt"}}
    (data / "manifest.js").write_text("window.__THAR_CONFIG = " + json.dumps(manifest, indent=2))
    if account_js:
        (data / "account.js").write_text(_ytd("account", [{"account": {
            "accountId": "1000", "username": "owner_handle", "accountDisplayName": "The Owner"}}]))
    link = "https://twitter.com/intent/user?user_id="
    (data / "follower.js").write_text(_ytd("follower", [{"follower": {"accountId": a, "userLink": link + a}}
                                                        for a in followers]))
    (data / "following.js").write_text(_ytd("following", [{"following": {"accountId": a, "userLink": link + a}}
                                                          for a in following]))
    (data / "tweets.js").write_text(_ytd("tweets", [{"tweet": t} for t in tweets or []]))
    return root


def test_successive_x_archives_give_unfollows_with_intervals(cli: Cli, tmp_path: Path) -> None:
    """Defect 4: four archives 2021-2023, three without account.js; 81 followers leave, 11 are unfollowed."""
    rng = random.Random(12)
    dates = [datetime(2021, 3, 1, 9, 30), datetime(2021, 11, 15, 18, 2), datetime(2022, 7, 1, 6, 45),
             datetime(2023, 2, 20, 23, 10)]
    followers = [f"{9_000_000 + i}" for i in range(400)]
    following = [f"{9_000_000 + i}" for i in range(0, 120, 2)]  # 60, all of them followers at first
    lists = [(list(followers), list(following))]
    next_id = 9_100_000
    for left, unfollowed in ((30, 4), (26, 4), (25, 3)):
        fr, fg = list(lists[-1][0]), list(lists[-1][1])
        gone = set(rng.sample([a for a in fr if a not in fg], left - 1)) | {fg[0]}  # one leaves both lists
        fr = [a for a in fr if a not in gone]
        dropped = set(rng.sample(fg[1:], unfollowed - 1)) | {fg[0]}
        fg = [a for a in fg if a not in dropped]
        fr += [str(next_id + k) for k in range(10)]
        fg += [str(next_id + 100 + k) for k in range(2)]
        next_id += 1000
        lists.append((fr, fg))
    rt = {"id_str": "8001", "created_at": "Mon Mar 01 08:00:00 +0000 2021",
          "full_text": "RT @friend_handle: big news from @other_handle",
          "entities": {"user_mentions": [{"screen_name": "friend_handle", "id_str": "2000"},
                                         {"screen_name": "other_handle", "id_str": "2001"}]}}
    plain = {"id_str": "8002", "created_at": "Mon Mar 01 09:00:00 +0000 2021", "full_text": "hello @friend_handle",
             "entities": {"user_mentions": [{"screen_name": "friend_handle", "id_str": "2000"}]}}
    for i, (when, (fr, fg)) in enumerate(zip(dates, lists, strict=True)):
        root = _x_archive(tmp_path / f"twitter-archive-{i}", when, fr, fg, account_js=i == 0,
                          tweets=[rt, plain] if i == 0 else [])
        out = cli.json("ingest", str(root))
        assert out["warnings"] == [] and out["rejected"] == 0
    stored = _rows(cli.db, "SELECT actor, target, ts_lo, ts_hi FROM events WHERE kind = 'unfollow'")
    expected_lost, expected_dropped = set(), set()
    for (fr0, fg0), (fr1, fg1), lo, hi in zip(lists, lists[1:], dates, dates[1:], strict=False):
        expected_lost |= {(a, "1000", lo, hi) for a in set(fr0) - set(fr1)}
        expected_dropped |= {("1000", a, lo, hi) for a in set(fg0) - set(fg1)}
    assert len(expected_lost) == 81 and len(expected_dropped) == 11
    assert set(stored) == expected_lost | expected_dropped
    # the followers view: exactly that diff, with intervals, the accounts gone from both lists told apart
    view = cli.json("followers", "owner_handle")
    vanished = {(c["account"], c["start"], c["end"]) for c in view["vanished"]}
    both = {(a, lo, hi) for a, _, lo, hi in expected_lost} & {(a, lo, hi) for _, a, lo, hi in expected_dropped}
    assert len(both) == 3 and vanished == {(a, _z(lo), _z(hi)) for a, lo, hi in both}
    assert {(c["account"], c["start"], c["end"]) for c in view["lost_follower"]} == {
        (a, _z(lo), _z(hi)) for a, _, lo, hi in expected_lost if (a, lo, hi) not in both}
    assert {(c["account"], c["start"], c["end"]) for c in view["you_unfollowed"]} == {
        (a, _z(lo), _z(hi)) for _, a, lo, hi in expected_dropped if (a, lo, hi) not in both}
    assert all(c["exact"] is None and c["when"].startswith("between") for c in view["lost_follower"])
    assert view["followers"] == len(lists[-1][0]) and view["following"] == len(lists[-1][1])
    # Defect 5: a retweet is a repost of the retweeted account, not a post plus mentions
    kinds = _rows(cli.db, "SELECT id, kind, target FROM events WHERE id LIKE 'x:%:800%' ORDER BY id")
    assert kinds == [("x:mention:8002:2000", "mention", "2000"), ("x:tweet:8001", "repost", "2000"),
                     ("x:tweet:8002", "post", None)]


def _z(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds") + "Z"


def test_x_archive_without_manifest_or_date_asks_for_as_of(cli: Cli, tmp_path: Path) -> None:
    root = _x_archive(tmp_path / "x", datetime(2022, 1, 1), ["1", "2"], ["1"], account_js=True)
    (root / "data" / "manifest.js").unlink()
    result = cli("ingest", str(root), ok=False)
    assert result.exit_code == 1 and "--as-of" in result.stderr
    cli("ingest", str(root), "--as-of", "2022-01-01")
    assert _rows(cli.db, "SELECT direction, count(*) FROM snapshots GROUP BY 1 ORDER BY 1") == [
        ("followers", 2), ("following", 1)]


# --- Bluesky -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "set_aside"), [("jetstream_subscribe_golden_v1.jsonl", 2),
                                                  ("jetstream_expected_v1.jsonl", 1)])
def test_other_apps_records_are_set_aside_alike(cli: Cli, name: str, set_aside: int) -> None:
    """Defect 7: real captures hold updates and deletes of other apps' collections; creates, updates and deletes
    of those are all set aside, and the summary says how many."""
    out = cli.json("ingest", str(BLUESKY / name))
    assert out["set_aside"] == set_aside and out["rejected"] == 0
    assert "records of other apps set aside" in cli("ingest", str(BLUESKY / name)).stdout


# --- growth ---------------------------------------------------------------------------------------------------

def test_growth_on_a_real_irregular_history(cli: Cli, tmp_path: Path) -> None:
    """The deltas a spreadsheet gives: change, days between captures, change per day, week and 30-day month."""
    cli("ingest", str(ODU), "--set", "account=TEN_GOP", "--map", "ts=date", "--map", "followers=count",
        "--set", "platform=x")
    with open(ODU) as f:
        sheet = [(datetime.strptime(r["date"], "%Y-%m-%d"), int(r["count"])) for r in csv.DictReader(f)]
    [g] = cli.json("growth", "TEN_GOP")
    assert [(r["ts"], r["followers"]) for r in g["rows"]] == [(_z(d), c) for d, c in sheet]
    for row, (d0, c0), (d1, c1) in zip(g["rows"][1:], sheet[:-1], sheet[1:], strict=True):
        days = (d1 - d0).days
        assert (row["change"], row["days"]) == (c1 - c0, days)
        assert row["per_day"] == pytest.approx((c1 - c0) / days)
        assert row["per_week"] == pytest.approx(7 * (c1 - c0) / days)
        assert row["per_month"] == pytest.approx(30 * (c1 - c0) / days)
    total_days = (sheet[-1][0] - sheet[0][0]).days
    s = g["summary"]
    assert s["change"] == sheet[-1][1] - sheet[0][1] and s["days"] == total_days
    assert s["avg_per_day"] == pytest.approx((sheet[-1][1] - sheet[0][1]) / total_days)  # not the mean of rows
    # the last 30 days: 2017-07-15 lies between the 2017-06-23 and 2017-07-18 captures
    (d0, c0), (d1, c1) = sheet[-3], sheet[-2]
    start = sheet[-1][0] - timedelta(days=30)
    assert d0 < start < d1
    then = c0 + (c1 - c0) * (start - d0).days / (d1 - d0).days
    assert s["last_30_days"] == round(sheet[-1][1] - then)
    low, mid, high = (g["projection"][0][k] for k in ("low", "followers", "high"))
    assert low < mid < high and mid == round(sheet[-1][1] + 30 * s["avg_per_day"])
    table = list(csv.DictReader(io.StringIO(cli("growth", "TEN_GOP", "--csv").stdout)))
    assert len(table) == len(sheet) and float(table[1]["per_day"]) == pytest.approx(
        (sheet[1][1] - sheet[0][1]) / (sheet[1][0] - sheet[0][0]).days)


def test_growth_side_by_side_with_one_chart(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", str(ODU), "--set", "account=TEN_GOP", "--map", "ts=date", "--map", "followers=count",
        "--set", "platform=x")
    for export in (IG1, IG2, IG_FULL_2024):
        cli("ingest", str(export))
    chart = tmp_path / "growth.svg"
    out = cli("growth", "TEN_GOP", "hyeri_0609", "--chart", str(chart)).stdout
    assert "side by side" in out and "TEN_GOP" in out and "hyeri_0609" in out
    svg = chart.read_text()
    assert "TEN_GOP" in svg and "hyeri_0609" in svg
    both = cli.json("growth", "TEN_GOP", "hyeri_0609")
    assert [g["source"] for g in both] == ["metrics", "snapshots"]
    assert [r["followers"] for r in both[1]["rows"]] == [3, 3, 3]


def test_exports_ingested_out_of_order_give_the_same_changes(cli: Cli, tmp_path: Path) -> None:
    """The newest export first, then the older ones: the same unfollows, with the same intervals."""
    ordered = Cli(tmp_path / "ordered.duckdb")
    for export in (IG1, IG2, IG_FULL_2024):
        ordered("ingest", str(export))
    for export in (IG_FULL_2024, IG1, IG2):
        cli("ingest", str(export))
    sql = "SELECT actor, kind, target, ts_lo, ts_hi FROM events WHERE kind IN ('follow', 'unfollow') ORDER BY ALL"
    assert _rows(cli.db, sql) == _rows(ordered.db, sql)
    assert cli.json("followers", "hyeri_0609") == ordered.json("followers", "hyeri_0609")


def test_live_batches_count_other_apps_alike(store: Store) -> None:
    from tiewatch.stream import write_batch

    lines = (BLUESKY / "jetstream_subscribe_golden_v1.jsonl").read_text().splitlines()
    result = write_batch(store, "jetstream:test", lines, "golden")
    assert result.set_aside == 2 and result.rejected == 0


def test_a_rename_is_hinted_not_called_an_unfollow(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", str(IG1))
    later = tmp_path / IG2.name
    shutil.copytree(IG2, later)
    lists = later / "connections" / "followers_and_following"
    followers = json.loads((lists / "followers_1.json").read_text())
    followers.append({"title": "", "media_list_data": [], "string_list_data": [
        {"href": "https://www.instagram.com/ryu_jy", "value": "ryu_jy", "timestamp": 1710000000}]})
    (lists / "followers_1.json").write_text(json.dumps(followers))
    following = json.loads((lists / "following.json").read_text())
    following["relationships_following"].append({"title": "ryu_jy", "media_list_data": [], "string_list_data": [
        {"href": "https://www.instagram.com/_u/ryu_jy", "timestamp": 1710000100}]})
    (lists / "following.json").write_text(json.dumps(following))
    cli("ingest", str(later))
    view = cli.json("followers", "hyeri_0609")
    [gone] = view["vanished"]
    assert gone["account"] == "ryu_junyeol" and "ryu_jy joined both lists" in gone["note"]
    assert view["lost_follower"] == [] and view["you_unfollowed"] == []
    assert "ryu_jy joined both lists" in cli("followers", "hyeri_0609").stdout


def test_x_follower_file_drift_is_loud_and_takes_no_snapshot(cli: Cli, tmp_path: Path) -> None:
    root = _x_archive(tmp_path / "x", datetime(2022, 1, 1), ["1", "2", "3"], ["1"], account_js=False)
    (root / "data" / "follower.js").write_text(_ytd("follower", [{"follower": {"id": str(i)}} for i in range(3)]))
    result = cli("ingest", str(root), ok=False)
    assert result.exit_code == 1
    assert f"format drift: {root / 'data' / 'follower.js'}: 3 of 3 records unreadable" in result.stderr
    assert _rows(cli.db, "SELECT direction FROM snapshots GROUP BY 1") == [("following",)]


def test_followers_from_dated_events_only(cli: Cli) -> None:
    """Bluesky: follows with exact times and no snapshot: the lists are unknown, not empty."""
    cli("ingest", str(BLUESKY / "jetstream_expected_v1.jsonl"))
    [(actor, target, ts)] = _rows(cli.db, "SELECT actor, target, ts FROM events WHERE kind = 'follow' "
                                          "AND target = 'did:plc:mlbpil2fwz43vfn6uuysxtqa'")
    view = cli.json("followers", target)
    assert [(c["account"], c["exact"]) for c in view["new_follower"]] == [(actor, _z(ts))]
    assert view["not_following_back"] is None and view["mutuals"] is None and view["followers"] is None
    assert "unknown (needs a followers and a following snapshot)" in cli("followers", target).stdout
