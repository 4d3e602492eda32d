"""Bluesky Jetstream: captured files and the live stream (against a local replay server), including a
kill -9 mid-stream and a restart that loses nothing and doubles nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jetstream_replay import ReplayServer

from conftest import REPO, Cli
from tiewatch.store import Store
from tiewatch.stream import REWIND_US

FIXTURE = REPO / "tests" / "fixtures" / "jetstream" / "capture.jsonl"


def test_capture_maps_every_collection(cli: Cli) -> None:
    out = cli.json("ingest", str(FIXTURE))
    assert out["inserted"]["events"] == 7 and out["rejected"] == 0 and out["set_aside"] == 1
    with Store(cli.db) as store:
        kinds = dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
        assert kinds == {"post": 1, "like": 1, "repost": 1, "reply": 1, "follow": 1, "block": 1, "unfollow": 1}
        like = store.con.execute("SELECT actor, target, post, ts FROM events WHERE kind = 'like'").fetchall()[0]
        assert like[:3] == ("did:plc:alice111", "did:plc:bob22222", "at://did:plc:bob22222/app.bsky.feed.post/3kszpost1")
        assert like[3].isoformat() == "2024-05-19T02:10:00"
        assert store.scalar("SELECT target FROM events WHERE kind = 'unfollow'") == "did:plc:bob22222"
        assert store.scalar("SELECT name FROM accounts WHERE account = 'did:plc:alice111'") == "alice.bsky.social"
    assert cli.json("quarantine") == []  # another app's record is set aside (counted), not quarantined
    assert cli.json("ingest", str(FIXTURE))["inserted"]["events"] == 0
    assert cli.json("accounts", "--search", "alice")[0]["account"] == "did:plc:alice111"


def test_malformed_capture_lines_are_quarantined_with_their_line(cli: Cli, tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    lines.insert(3, '{"did":"did:plc:x","time_us":1716084000000001,"kind":"commit","commit":')  # truncated
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    out = cli.json("ingest", str(bad), "--format", "jetstream")
    assert out["inserted"]["events"] == 7 and out["rejected"] == 1 and out["set_aside"] == 1
    assert {q["line"]: q["reason"] for q in cli.json("quarantine")}[4] == "bad JSON"
    strict = cli("ingest", str(bad), "--strict", ok=False)
    assert strict.exit_code == 1 and f"{bad}:4: bad JSON" in strict.stderr


def _capture(path: Path, n: int) -> Path:
    t0 = 1_716_000_000_000_000
    rows = []
    for i in range(n):
        did = f"did:plc:user{i % 50:04d}"
        if i % 10 == 0:
            rec = {"$type": "app.bsky.feed.post", "text": f"post {i}", "createdAt": "2024-05-18T00:00:00Z"}
            commit = {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"p{i}", "record": rec}
        else:
            author = f"did:plc:user{(i * 7) % 50:04d}"
            subject = {"uri": f"at://{author}/app.bsky.feed.post/p{(i // 10) * 10}", "cid": "bafy"}
            commit = {"operation": "create", "collection": "app.bsky.feed.like", "rkey": f"l{i}",
                      "record": {"$type": "app.bsky.feed.like", "subject": subject}}
        rows.append({"did": did, "time_us": t0 + i * 1000, "kind": "commit", "commit": {"rev": "r", **commit}})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_live_watch_survives_kill_minus_nine_and_resumes(tmp_path: Path) -> None:
    n = 6000
    capture = _capture(tmp_path / "live.jsonl", n)
    db = tmp_path / "live.duckdb"
    with ReplayServer(capture, per_second=2000) as server:
        cmd = [sys.executable, "-m", "tiewatch", "--db", str(db), "watch", "jetstream", "--url", server.url,
               "--batch", "200", "--idle-exit", "2", "--json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)  # about a third of the stream
        deadline = time.monotonic() + 20  # on a loaded machine: until a first batch is committed (the watcher
        while time.monotonic() < deadline:  # releases the database between batches, so it can be read)
            if db.exists():
                with Store(db, read_only=True, wait=5) as peek:
                    if peek.count("cursors"):
                        break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Store(db) as store:
            cursor = int(store.scalar("SELECT cursor FROM cursors"))
            stored = store.count("events")
            # Nothing lost up to the committed cursor, nothing beyond it half-written.
            expected = sum(1 for ln in capture.read_text().splitlines() if json.loads(ln)["time_us"] <= cursor)
            assert 0 < stored == expected < n
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
        summary = json.loads(done.stdout)
        assert summary["received"] >= n - stored
        # The restart asked to resume a few seconds before the stored cursor (Jetstream is slightly out of order).
        assert server.cursors[-1] == cursor - REWIND_US
    with Store(db) as store:
        assert store.count("events") == n
        assert store.scalar("SELECT count(DISTINCT id) FROM events") == n
        assert int(store.scalar("SELECT cursor FROM cursors")) == 1_716_000_000_000_000 + (n - 1) * 1000


def test_watch_reports_a_bad_url(cli: Cli) -> None:
    result = cli("watch", "jetstream", "--url", "not a url", "--idle-exit", "1", ok=False)
    assert result.exit_code == 1 and "not a WebSocket URL" in result.stderr


def test_clean_capture_with_identities(cli: Cli, tmp_path: Path) -> None:
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(ln for ln in FIXTURE.read_text().splitlines() if "com.example" not in ln) + "\n")
    out = cli.json("ingest", str(clean))
    assert out["inserted"]["events"] == 7 and out["rejected"] == 0
    with Store(cli.db) as store:
        assert store.scalar("SELECT name FROM accounts WHERE account = 'did:plc:bob22222'") == "bob.bsky.social"
        assert store.scalar("SELECT target FROM events WHERE kind = 'unfollow'") == "did:plc:bob22222"
        assert store.scalar("SELECT count(DISTINCT ingest) FROM events") == 1
    again = cli.json("ingest", str(clean))
    assert again["inserted"]["events"] == 0 and again["duplicates"] == 9
