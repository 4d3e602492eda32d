"""Platform exports read for real: X archives, Instagram exports (zip and folder, two exports diffed),
generic follower snapshots, and the malformed archives users will bring."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, Cli
from tiewatch.store import Store

FIX = REPO / "tests" / "fixtures"
X = FIX / "x_archive"
IG1 = FIX / "instagram" / "instagram-hyeri_0609-2024-03-01-AbCdEf"
IG2 = FIX / "instagram" / "instagram-hyeri_0609-2024-04-01-GhIjKl"


def _zip(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(folder).as_posix())
    return out


def _events(db: Path) -> dict[str, tuple]:
    with Store(db) as store:
        rows = store.con.execute("SELECT id, ts, ts_lo, ts_hi, actor, kind, target, post FROM events").fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("as_zip", [False, True])
def test_x_archive(cli: Cli, tmp_path: Path, as_zip: bool) -> None:
    src = _zip(X, tmp_path / "twitter-2024-05-30.zip") if as_zip else X
    out = cli.json("ingest", str(src))
    assert out["inserted"]["events"] == 8 and out["rejected"] == 0
    ev = _events(cli.db)
    assert ev["x:tweet:5002"][4:6] == ("reply", "2000")
    assert ev["x:mention:5001:2000"][0].isoformat() == "2024-05-19T02:10:00"
    like = ev["x:like:1000:7001"]
    assert like[:3] == (None, None, None) and like[4] == "like"  # the archive gives likes no time
    assert ev["x:follow:3000:1000"][4:6] == ("follow", "1000")
    assert cli.json("accounts", "--search", "friend_handle")[0]["account"] == "2000"
    assert cli.json("ingest", str(src))["inserted"]["events"] == 0
    cli("detect")  # timeless events take no part in timing, and break nothing


def test_instagram_exports_are_diffed_into_unfollows(cli: Cli, tmp_path: Path) -> None:
    first = cli.json("ingest", str(_zip(IG1, tmp_path / f"{IG1.name}.zip")))
    assert first["inserted"]["events"] == 10 and first["rejected"] == 0
    ev = _events(cli.db)
    assert ev["ig:follow:ryu_junyeol:hyeri_0609"][3:5] == ("ryu_junyeol", "follow")
    assert ev["ig:like:hyeri_0609:https://www.instagram.com/p/C4aaa/"][5] == "celeb00"
    cli("ingest", str(IG2))  # the later export, as a folder
    ev = _events(cli.db)
    unfollows = {k: v for k, v in ev.items() if v[4] == "unfollow"}
    assert {(v[3], v[5]) for v in unfollows.values()} == {("ryu_junyeol", "hyeri_0609"), ("hyeri_0609", "ryu_junyeol")}
    for v in unfollows.values():
        assert (v[1].isoformat(), v[2].isoformat()) == ("2024-03-01T00:00:00", "2024-04-01T00:00:00")
    follows_of_fan = [k for k, v in ev.items() if v[3] == "fan002" and v[4] == "follow"]
    assert follows_of_fan == ["ig:follow:fan002:hyeri_0609"]  # the export's own timed follow, not a second one
    story = next(v for v in ev.values() if v[4] == "story" and v[0].isoformat().startswith("2024-03-15"))
    assert story[3] == "hyeri_0609"
    cli("detect")
    signals = cli.json("signals", "--kind", "unfollow")
    assert {tuple(s["subjects"]) for s in signals} == {("ryu_junyeol", "hyeri_0609"), ("hyeri_0609", "ryu_junyeol")}
    assert "between 1 March 2024 and 1 April 2024" in signals[0]["summary"]
    assert cli.json("ingest", str(IG2))["inserted"]["events"] == 0


def test_generic_snapshots(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "followers.snapshots.jsonl"
    rows = [{"ts": "2024-01-01T00:00:00Z", "platform": "bluesky", "account": "a", "direction": "followers",
             "members": ["b", "c", "d"]},
            {"ts": "2024-02-01T00:00:00+09:00", "platform": "bluesky", "account": "a", "direction": "followers",
             "members": ["b", "d", "e"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cli("ingest", str(path))
    ev = _events(cli.db)
    got = {(v[3], v[4], v[5], v[1].isoformat(), v[2].isoformat()) for v in ev.values()}
    assert got == {("c", "unfollow", "a", "2024-01-01T00:00:00", "2024-01-31T15:00:00"),
                   ("e", "follow", "a", "2024-01-01T00:00:00", "2024-01-31T15:00:00")}
    cli("ingest", str(path))
    assert len(_events(cli.db)) == 2


def _write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def test_malformed_archives_give_clear_messages(cli: Cli, tmp_path: Path) -> None:
    good = _zip(X, tmp_path / "x.zip")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    climbing = _write_zip(tmp_path / "climb.zip", {"../evil.json": b"[]", "data/account.js": b"x"})
    bomb = _write_zip(tmp_path / "bomb.zip", {"data/account.js": b"window.YTD.account.part0 = []",
                                              "data/like.js": b"0" * (50 << 20)})
    wrong_shape = _write_zip(tmp_path / "shape.zip", {
        "data/account.js": (X / "data" / "account.js").read_bytes(),
        "data/like.js": b'window.YTD.like.part0 = {"like": 1}'})
    not_utf8 = _write_zip(tmp_path / "latin1.zip", {
        "data/account.js": (X / "data" / "account.js").read_bytes(), "data/like.js": "caf\xe9".encode("latin-1")})
    ig_shape = tmp_path / "ig"
    (ig_shape / "connections").mkdir(parents=True)
    (ig_shape / "connections" / "following.json").write_text('{"relationships_following": {"oops": 1}}')
    (ig_shape / "personal_information.json").write_text(
        '{"profile_user": [{"string_map_data": {"Username": {"value": "me"}}}]}')
    cases = [(truncated, "not a readable zip"), (climbing, "leaves the archive"), (bomb, "zip bomb"),
             (wrong_shape, "like.js: expected a JSON array"), (not_utf8, "like.js: not UTF-8"),
             (ig_shape, "following.json: wrong shape")]
    for path, message in cases:
        result = cli("ingest", str(path), ok=False)
        assert result.exit_code == 1, path
        assert message in result.stderr and "Traceback" not in result.output, (path, result.stderr)
    assert cli.json("stats")["events"]["total"] == 0


def test_bad_records_inside_an_export_are_quarantined_by_entry(cli: Cli, tmp_path: Path) -> None:
    tweets = (X / "data" / "tweets.js").read_text().replace('"id_str" : "5002"', '"idx" : "5002"')
    src = _write_zip(tmp_path / "x.zip", {"data/account.js": (X / "data" / "account.js").read_bytes(),
                                          "data/tweets.js": tweets.encode()})
    out = cli.json("ingest", str(src))
    assert out["rejected"] == 1
    q = cli.json("quarantine")[0]
    assert q["file"] == f"{src}!data/tweets.js" and q["line"] == 2 and "not a tweet object" in q["reason"]


def test_instaloader_folder(cli: Cli, tmp_path: Path) -> None:
    folder = FIX / "instaloader" / "hyeri_0609"
    out = cli.json("ingest", str(folder))
    assert out["inserted"]["events"] == 5 and out["rejected"] == 0
    ev = _events(cli.db)
    assert ev["ig:p:C4story1"][0].isoformat() == "2024-03-15T02:20:00" and ev["ig:p:C5coffee"][3] == "hyeri_0609"
    assert ev["ig:c:900001"][3:6] == ("celeb00", "comment", "hyeri_0609")
    assert ev["ig:c:900002"][3:6] == ("hyeri_0609", "reply", "celeb00")
    assert cli.json("accounts", "--search", "Hyeri")[0]["name"] == "Hyeri"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "2024-01-01_00-00-00_UTC.json.xz").write_bytes(b"not xz at all")
    result = cli("ingest", str(broken), ok=False)
    assert result.exit_code == 1 and "not a readable .xz file" in result.stderr


def test_bluesky_car_export(cli: Cli, tmp_path: Path) -> None:
    car = FIX / "bluesky_car" / "repo.car"
    out = cli.json("ingest", str(car))
    assert out["inserted"]["events"] == 5
    ev = _events(cli.db)
    like = ev["at://did:plc:alice111/app.bsky.feed.like/3kszlike1"]
    assert like[3:6] == ("did:plc:alice111", "like", "did:plc:bob22222")
    assert ev["at://did:plc:alice111/app.bsky.feed.post/3kszrply1"][4] == "reply"
    assert cli.json("accounts", "--search", "Alice")[0]["account"] == "did:plc:alice111"
    # the same like seen live (Jetstream capture) is the same event
    cli("ingest", str(FIX / "jetstream" / "capture.jsonl"))
    with Store(cli.db) as store:
        assert store.scalar("SELECT count(*) FROM events WHERE id = "
                            "'at://did:plc:alice111/app.bsky.feed.like/3kszlike1'") == 1
    truncated = tmp_path / "cut.car"
    truncated.write_bytes(car.read_bytes()[:700])
    result = cli("ingest", str(truncated), ok=False)
    assert result.exit_code == 1 and str(truncated) in result.stderr and "Traceback" not in result.output


def test_malformed_snapshots_name_the_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.snapshots.jsonl"
    path.write_text('{"ts": "2024-01-01", "account": "a", "direction": "followers", "members": ["b"]}\n'
                    '{"ts": "2024-02-01", "account": "a", "direction": "followers", "members": "b, c"}\n')
    result = cli("ingest", str(path), ok=False)
    assert result.exit_code == 1 and f"{path}:2: not a snapshot" in result.stderr
    assert "Traceback" not in result.output
    path.write_text('{"ts": "2024-01-01", "account": "a", "direction": "sideways", "members": ["b"]}\n')
    result = cli("ingest", str(path), ok=False)
    assert result.exit_code == 1 and "direction must be followers or following" in result.stderr
