"""End to end on loopback: watch list → backfill → a planted silence, resumption, unfollows and an unlike
arrive live → each alert reaches every sink (webhook, ntfy, Discord, Slack, SMTP with STARTTLS, JSON lines)
exactly once, across restarts, with one channel failing for a while."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from alert_sinks import HttpSink, MailSink, alert_file, hook_ids
from bsky_double import BLUESKY, BskyDouble
from track_scenario import HANDLES, A, B, C, D, Story

from tiewatch.sources.jetstream import COLLECTIONS
from tiewatch.store import Store

CHANNEL_PATHS = ("/hook", "/ntfy/desk", "/discord", "/slack")


def tracker(db: Path, env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(db), "track", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_once(db: Path, env: dict[str, str], alerts: Path) -> dict[str, Any]:
    done = tracker(db, env, "run", "--once", "--every", "60s", "--followers-every", "1s", "--alerts", str(alerts),
                   "--idle-exit", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_watch_list_to_alerts_exactly_once(tmp_path: Path) -> None:
    db, log = tmp_path / "track.duckdb", tmp_path / "alerts.jsonl"
    story = Story()
    with BskyDouble() as double, HttpSink() as http, MailSink(tmp_path) as mail:
        real = double.add_real_repos()
        story.install(double)
        double.jetstream.push_real_capture()
        alerts = alert_file(tmp_path / "alerts.toml", http, mail, log)
        env = {**os.environ, **double.env(), "TIEWATCH_SMTP_USER": "desk", "TIEWATCH_SMTP_PASSWORD": "s3cret"}
        added = tracker(db, env, "add", HANDLES[A], HANDLES[B], C, *real, "--json")
        assert json.loads(added.stdout)["added"][:2] == [HANDLES[A], HANDLES[B]]

        first = run_once(db, env, alerts)  # backfill; what is there already is the baseline, not news
        assert first["report"]["backfilled"] == 3 + len(real) and not first["report"]["errors"]
        assert first["alerts"]["sent"] == 0 and not http.received and not mail.messages
        with Store(db) as store:
            assert store.scalar("SELECT count(*) FROM events WHERE actor = ? AND kind = 'like'", [A]) == 80
            # The real corpus repository arrived whole: its records as the upstream test expects them.
            expected = [ln.split("\t")[0] for ln in (BLUESKY / "jetstream_corpus_car_expected_records.tsv")
                        .read_text().splitlines() if ln.split("/")[0] in COLLECTIONS]
            got = store.con.execute("SELECT id FROM events WHERE actor = ?", [real[0]]).fetchall()
            assert sorted(g[0].split("/", 3)[3] for g in got) == sorted(expected)
            assert store.scalar("SELECT count(*) FROM metrics WHERE source = 'getProfiles'") == 3 + len(real)
            assert store.scalar("SELECT count(DISTINCT member) FROM snapshots WHERE account = ?", [B]) == 3

        http.fail_next["/discord"] = 1  # Discord fails; nobody else may wait for it
        double.fail("appview", "429", times=1, seconds=0.3)  # and the AppView asks for a pause
        double.jetstream.push(*story.silence_lines())
        second = run_once(db, env, alerts)
        assert second["signals"].get("silence") == 1
        assert len(http.bodies("/hook")) == 1 and len(mail.messages) == 1 and not http.bodies("/discord")
        assert second["alerts"]["retrying"] == 1

        double.jetstream.push(*story.resumption_lines())
        Story.live_profile_changes(double)
        third = run_once(db, env, alerts)
        assert third["live"]["received"] >= 3
        assert third["alerts"]["sent"] == 6 * 6 + 1  # the new signals everywhere, and Discord's retry
        fourth = run_once(db, env, alerts)  # nothing new: nothing sent again
        assert fourth["alerts"]["queued"] == 0 and fourth["alerts"]["sent"] == 0

        kinds = Counter(json.loads(b)["kind"] for b in http.bodies("/hook"))
        assert kinds == {"silence": 1, "resumption": 1, "unfollow": 2, "unlike": 1, "profile_change": 2}
        ids = hook_ids(http)
        assert len(ids) == len(set(ids)) == 7
        for path in CHANNEL_PATHS:
            assert len(http.bodies(path)) == 7, path
        assert len(mail.messages) == 7 and len({m["Message-ID"] for m in mail.messages}) == 7
        assert len(log.read_text().splitlines()) == 7
        payloads = {json.loads(b)["kind"]: json.loads(b) for b in http.bodies("/hook")}
        unlike = payloads["unlike"]
        assert unlike["subjects"] == [A, B] and "unliked" in unlike["summary"]
        assert unlike["evidence"][0]["url"] == f"https://bsky.app/profile/{B}/post/3kbp0003"
        unfollows = {tuple(json.loads(b)["subjects"]) for b in http.bodies("/hook")
                     if json.loads(b)["kind"] == "unfollow"}
        assert unfollows == {(A, C), (D, B)}
        slack = [json.loads(b)["text"] for b in http.bodies("/slack")]
        assert any(f"<https://bsky.app/profile/{B}/post/" in t for t in slack)
        headers = [h for p, h, _ in http.received if p == "/hook"]
        assert all(h["Idempotency-Key"].endswith(":hook") for h in headers)

        status = json.loads(tracker(db, env, "status", "--json").stdout)
        anna = next(r for r in status if r["did"] == A)
        assert anna["sent"] > 0 and anna["failed"] == 0 and anna["backfilled"]
        assert anna["cursor_lag_seconds"] is not None
        assert "HTTP 429 held work back" in anna["held"]
    with Store(db) as store:
        rows = dict(store.con.execute("SELECT status, count(*) FROM alerts WHERE channel <> '*' GROUP BY 1").fetchall())
        assert rows == {"sent": 7 * 6}
