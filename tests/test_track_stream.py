"""The tracker's live phase on the real Jetstream capture, delivered in its real (non-monotonic) order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bsky_double import BLUESKY, BskyDouble

from tiewatch.store import Store
from tiewatch.track.live import LiveFollower, follow

CAPTURE = BLUESKY / "jetstream_expected_v1.jsonl"


def _dids() -> list[str]:
    return sorted({json.loads(ln)["did"] for ln in CAPTURE.read_text().splitlines() if ln.strip()})


def _run(db: Path, double: BskyDouble, **kw: object) -> tuple[int, int]:
    stats = follow(db, double.jetstream.url, _dids(), until=time.monotonic() + 30, idle_exit=1.5, batch_size=20,
                   flush_seconds=0.05, **kw)  # type: ignore[arg-type]
    with Store(db) as store:
        return store.count("events"), stats.reconnects


def test_dropped_connection_resumes_without_losing_out_of_order_events(tmp_path: Path) -> None:
    with BskyDouble() as d:
        d.jetstream.push_real_capture()
        full, _ = _run(tmp_path / "full.duckdb", d)
        assert full > 140
        # Drop the connection three times mid-stream: without the rewind, the resume from the largest time_us
        # seen misses events stamped just before it that the capture delivers later (it steps back 42 times).
        d.jetstream.drop_after = [50, 60, 40]
        naive, reconnects = _run(tmp_path / "naive.duckdb", d, rewind_us=0)
        assert reconnects >= 2 and naive < full
        d.jetstream.drop_after = [50, 60, 40]
        rewound, reconnects = _run(tmp_path / "rewound.duckdb", d)
        assert reconnects >= 2 and rewound == full
    with Store(tmp_path / "rewound.duckdb") as store:
        assert store.scalar("SELECT count(DISTINCT id) FROM events") == full
        # Deletes of likes and posts are kept for unlike / post_deleted (the capture holds one like delete).
        deletes = store.con.execute("SELECT collection FROM record_deletes").fetchall()
        expected = sum(1 for ln in CAPTURE.read_text().splitlines() if ln.strip()
                       and (json.loads(ln).get("commit") or {}).get("operation") == "delete"
                       and json.loads(ln)["commit"]["collection"] in ("app.bsky.feed.like", "app.bsky.feed.post"))
        assert len(deletes) == expected


def test_a_poison_message_replayed_after_a_rewind_is_one_dead_letter(tmp_path: Path) -> None:
    """The tracker writes through the stream writer: rejects are keyed by their place in the stream (time_us),
    so the overlap a reconnect replays quarantines a bad message once, like `tiewatch watch`."""
    poison = json.dumps({"did": _dids()[0], "time_us": 1_716_000_000_000_500, "kind": "commit",
                         "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "",
                                    "record": {}}})
    with BskyDouble() as d:
        d.jetstream.push(poison)
        d.jetstream.push_real_capture()
        d.jetstream.drop_after = [50]  # the poison went first: the reconnect replays it
        db = tmp_path / "t.duckdb"
        events, reconnects = _run(db, d, rewind_us=10**15)  # the reconnect replays everything
        assert reconnects >= 1
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM quarantine WHERE line = 1716000000000500") == 1
        assert store.scalar("SELECT count(DISTINCT id) FROM events") == events > 140


def _free(db: Path) -> bool:
    """Whether another process can open the store for writing right now (DuckDB locks the file per process)."""
    code = f"from tiewatch.store import Store; Store({str(db)!r}).close()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120).returncode == 0


def test_detection_takes_over_the_live_phases_store_and_frees_it_after(tmp_path: Path) -> None:
    """A period's detection runs on the store the live phase's last batches held (no close and reopen between),
    sees every event written, and the file is free for other commands once it ends, or when the phase fails."""
    db = tmp_path / "t.duckdb"
    with BskyDouble() as d:
        d.jetstream.push_real_capture()
        follower = LiveFollower(db, d.jetstream.url, batch_size=20, flush_seconds=0.05)
        try:
            stats = follower.run(_dids(), until=time.monotonic() + 30, idle_exit=1.5, release=False)
            assert follower.store is not None and not _free(db)
            with follower.lease() as store:
                assert store.count("events") == stats.result.inserted["events"] > 140
            assert follower.store is None and _free(db)

            def interrupted() -> bool:  # Ctrl-C while the store is held for the next batches
                if follower.store is not None:
                    raise KeyboardInterrupt
                return False

            d.jetstream.push(*[json.dumps({"did": _dids()[0], "time_us": 1_800_000_000_000_000 + i, "kind": "commit",
                                           "commit": {"operation": "create", "collection": "app.bsky.feed.post",
                                                      "rkey": f"p{i}", "record": {"text": "new"}}})
                               for i in range(100)])
            with pytest.raises(KeyboardInterrupt):
                follower.run(_dids(), until=time.monotonic() + 30, stop=interrupted, release=False)
            assert follower.store is None and _free(db)
        finally:
            follower.close()
