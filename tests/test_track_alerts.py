"""Alert files, rules (kinds, accounts, thresholds, quiet hours) and the delivery record in the store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alert_sinks import HttpSink

from conftest import Cli
from tiewatch.errors import TiewatchError
from tiewatch.store import Store
from tiewatch.track.alerts import deliver as delivery
from tiewatch.track.alerts.config import load, parse
from tiewatch.track.watchlist import utcnow

A, B = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"


def _signal(store: Store, sid: str, kind: str, subjects: list[str], score: float = 1.0,
            q: float | None = None) -> None:
    store.con.execute("INSERT INTO signals (id, kind, ts, subjects, score, q_value, evidence, summary, detail) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                      [sid, kind, datetime(2024, 6, 1), subjects, score, q,
                       [f"at://{subjects[0]}/app.bsky.feed.post/3kx"], f"{kind} of {subjects}"])


def _watch(store: Store) -> None:
    store.con.execute("INSERT INTO watchlist (entry, did, handle) VALUES ('alice.test', ?, 'alice.test')", [A])


@pytest.mark.parametrize(("text", "message"), [
    ('[[channel]]\ntype = "pager"', "type must be one of"),
    ('[[channel]]\ntype = "webhook"', "needs url"),
    ('[[channel]]\ntype = "log"\npath = "x"\n[[rule]]\ncolour = "red"', "unknown key(s) colour"),
    ('[[channel]]\ntype = "log"\npath = "x"\n[[rule]]\nquiet_hours = "late"', "quiet_hours must look like"),
    ('[[channel]]\ntype = "log"\npath = "x"\n[[rule]]\ntimezone = "Mars/Base"', "unknown timezone"),
    ('[[channel]]\ntype = "log"\npath = "x"\n[[rule]]\nchannels = ["sms"]', "no channel named 'sms'"),
    ("[[channel]\n", "not valid TOML"),
])
def test_bad_alert_files_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    with pytest.raises(TiewatchError, match=r"alerts\.toml") as info:
        load(path)
    assert message in str(info.value)


def test_cli_refuses_a_bad_alert_file_in_one_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "a.toml"
    bad.write_text('[[channel]]\ntype = "webhook"\n')
    result = cli("track", "run", "--once", "--alerts", str(bad), ok=False)
    assert result.exit_code == 1 and "needs url" in result.output and "Traceback" not in result.output


def test_rules_route_by_kind_account_and_thresholds(db: Path, tmp_path: Path) -> None:
    config = parse({"channel": [{"name": "all", "type": "log", "path": str(tmp_path / "all.jsonl")},
                                {"name": "urgent", "type": "log", "path": str(tmp_path / "urgent.jsonl")}],
                    "rule": [{"kinds": ["unfollow"], "channels": ["all"]},
                             {"kinds": ["silence"], "accounts": ["alice.test"], "max_q": 0.01,
                              "channels": ["urgent"]},
                             {"kinds": ["unlike"], "min_score": 5, "channels": ["urgent"]}]}, "test")
    with Store(db) as store:
        _watch(store)
        _signal(store, "s-unf", "unfollow", [A, B])
        _signal(store, "s-sil", "silence", [A, B], q=0.001)
        _signal(store, "s-sil-weak", "silence", [A, B], q=0.04)
        _signal(store, "s-sil-other", "silence", [B, "did:plc:cccccccccccccccccccccccc"], q=0.001)
        _signal(store, "s-unl-weak", "unlike", [A, B], score=1.0)
        _signal(store, "s-unl", "unlike", [A, B], score=9.0)
        _signal(store, "s-unwatched", "unfollow", [B, "did:plc:cccccccccccccccccccccccc"])
    assert delivery.queue(db, config, baseline=False).queued == 3
    report = delivery.deliver(db, config)
    assert report.sent == 3
    sent = {name: [json.loads(ln)["id"] for ln in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
            for name in ("all", "urgent")}
    assert sent == {"all": ["s-unf:all"], "urgent": ["s-sil:urgent", "s-unl:urgent"]}
    # Asking again sends nothing twice.
    assert delivery.queue(db, config, baseline=False).queued == 0
    assert delivery.deliver(db, config).sent == 0


def test_quiet_hours_hold_an_alert_until_they_end(db: Path, tmp_path: Path) -> None:
    now = utcnow()
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    config = parse({"channel": [{"type": "log", "path": str(tmp_path / "log.jsonl")}],
                    "rule": [{"quiet_hours": f"{start}-{end}", "timezone": "UTC"}]}, "test")
    with Store(db) as store:
        _watch(store)
        _signal(store, "s-1", "unfollow", [A, B])
    assert delivery.queue(db, config, baseline=False).queued == 1
    assert delivery.deliver(db, config).sent == 0 and not (tmp_path / "log.jsonl").exists()
    with Store(db) as store:
        held = store.scalar("SELECT next_try FROM alerts WHERE signal = 's-1'")
        assert timedelta(hours=1.9) < held - now < timedelta(hours=2)  # released at the end of the quiet hours


def test_a_failing_channel_retries_with_backoff_then_gives_up_without_blocking_others(db: Path,
                                                                                       tmp_path: Path) -> None:
    with HttpSink() as http:
        http.fail_next["/down"] = 100
        config = parse({"channel": [{"name": "down", "type": "webhook", "url": http.url("/down")},
                                    {"name": "up", "type": "webhook", "url": http.url("/up")}]}, "test")
        with Store(db) as store:
            _watch(store)
            _signal(store, "s-1", "unfollow", [A, B])
        delivery.queue(db, config, baseline=False)
        first = delivery.deliver(db, config, retry_base=0.0)
        assert first.sent == 1 and first.retrying == 1 and "HTTP 503" in first.errors[0]
        assert len(http.bodies("/up")) == 1
        for _ in range(delivery.MAX_ATTEMPTS):
            delivery.deliver(db, config, retry_base=0.0)
        with Store(db) as store:
            rows = store.con.execute("SELECT channel, status, attempts FROM alerts ORDER BY channel").fetchall()
        assert rows == [("down", "failed", delivery.MAX_ATTEMPTS), ("up", "sent", 1)]
        assert len(http.bodies("/up")) == 1


def test_baseline_signals_are_never_sent(db: Path, tmp_path: Path) -> None:
    config = parse({"channel": [{"type": "log", "path": str(tmp_path / "log.jsonl")}]}, "test")
    with Store(db) as store:
        _watch(store)
        _signal(store, "s-old", "unfollow", [A, B])
    assert delivery.queue(db, config, baseline=True).baseline == 1
    with Store(db) as store:
        _signal(store, "s-new", "unfollow", [B, A])
    assert delivery.queue(db, config, baseline=False).queued == 1
    delivery.deliver(db, config)
    assert [json.loads(ln)["id"] for ln in (tmp_path / "log.jsonl").read_text().splitlines()] == ["s-new:log"]


def test_watch_list_commands(cli: Cli) -> None:
    assert cli.json("track", "add", "@Alice.Test", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
                    "https://bsky.app/profile/carol.test")["added"] == [
        "alice.test", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", "carol.test"]
    assert cli.json("track", "add", "alice.test")["added"] == []
    bad = cli("track", "add", "not a handle", ok=False)
    assert bad.exit_code == 1 and "not a Bluesky handle" in bad.output
    assert cli.json("track", "remove", "carol.test")["removed"] == ["carol.test"]
    assert [r["entry"] for r in cli.json("track", "list")] == ["alice.test", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"]
    missing = cli("track", "remove", "nobody.test", ok=False)
    assert missing.exit_code == 1 and "not on the watch list" in missing.output
