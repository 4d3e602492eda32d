"""The tracker's live ingest (the store held briefly, deletions kept, detection after every period) against the
plain Jetstream watcher (`tiewatch watch jetstream`), both reading the same generated capture from the same
loopback Jetstream double with the same wantedDids, in one run. Uniform and skewed (Zipf) actors. Both are told
how many events the capture holds and stop on receiving the last one, having written it; the tracker then
detects once more (its last detection is part of its time).

    python bench/track.py [--events 100000] [--accounts 150] [--period 20] [--repeat 2]

Target: ratio of times (tracker / plain) <= 1.5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bsky_double import JetstreamDouble

from tiewatch.detect.run import detect
from tiewatch.store import Store
from tiewatch.stream import stored_cursor, watch_jetstream
from tiewatch.track.live import LiveFollower, cursor_key
from tiewatch.views.sentences import render_signals


def capture_lines(n: int, accounts: int, zipf: bool) -> list[str]:
    """n Jetstream commits by `accounts` DIDs: posts, likes of their posts, follows, and 1% like deletions."""
    pick = (f"CAST(floor(pow(((hash(i) % 1000000) + 1) / 1000000.0, 3) * {accounts}) AS BIGINT)" if zipf
            else f"hash(i) % {accounts}")
    did = "'did:plc:' || lpad(CAST({x} AS VARCHAR), 24, 'a')"
    con = duckdb.connect()
    other = did.format(x=f"hash(i * 7) % {accounts}")
    commit = "json_object('rev', 'r', 'operation', {op}, 'collection', {col}, 'rkey', {rkey}, 'record', {rec})"
    rows = con.execute(f"""
        SELECT json_object('did', {did.format(x=pick)}, 'time_us', 1716000000000000 + i * 1000, 'kind', 'commit',
            'commit', CASE
              WHEN i % 20 = 0 THEN {commit.format(op="'create'", col="'app.bsky.feed.post'", rkey="'p' || i",
                                                  rec="json_object('text', 'post ' || i)")}
              WHEN i % 100 = 7 THEN {commit.format(op="'delete'", col="'app.bsky.feed.like'", rkey="'l' || (i - 50)",
                                                   rec="NULL")}
              WHEN i % 50 = 3 THEN {commit.format(op="'create'", col="'app.bsky.graph.follow'", rkey="'f' || i",
                                                  rec=f"json_object('subject', {other})")}
              ELSE {commit.format(op="'create'", col="'app.bsky.feed.like'", rkey="'l' || i",
                                  rec=f"json_object('subject', json_object('uri', 'at://' || {other} || "
                                      "'/app.bsky.feed.post/p' || (i // 20) * 20, 'cid', 'bafy'))")}
            END)::VARCHAR
        FROM range({n}) t(i) ORDER BY i""").fetchall()
    return [r[0] for r in rows]


def run_plain(db: Path, url: str, dids: list[str], n: int) -> float:
    start = time.perf_counter()
    with Store(db) as store:
        watch_jetstream(store, url, dids=dids, max_events=n, idle_exit=5.0)
    return time.perf_counter() - start


def run_tracker(db: Path, url: str, dids: list[str], last_us: int, period: float,
                n: int) -> tuple[float, int, float]:
    """The tracker's loop without the HTTP steps: a live phase per period on one connection, then detection,
    until the stored cursor reaches the capture's last event. Like the plain watcher, the live phase is told
    how many events to expect, so it writes the last batch as soon as the n-th event arrives (otherwise it
    would wait up to its flush interval, 1 s, for more events that never come: a cost of the benchmark's end,
    not of following a stream)."""
    start = time.perf_counter()
    periods = 0
    detecting = 0.0
    follower = LiveFollower(db, url)
    key = cursor_key(url)
    cursor = 0
    received = 0
    try:
        while cursor < last_us:
            stats = follower.run(dids, until=time.monotonic() + period, idle_exit=5.0,
                                 stop=lambda: follower.last_cursor >= last_us,
                                 max_events=n - received if received < n else None, release=False)
            received += stats.received
            began = time.perf_counter()
            with follower.lease() as store:  # as track/runner.py's one_period
                detect(store, sentences=render_signals)
                cursor = stored_cursor(store, key) or 0
            detecting += time.perf_counter() - began
            periods += 1
            if stats.received == 0 and cursor < last_us:
                break
    finally:
        follower.close()
    return time.perf_counter() - start, periods, detecting


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--accounts", type=int, default=150, help="watched DIDs (wantedDids travel in the URL)")
    ap.add_argument("--period", type=float, default=20.0,
                    help="seconds between detections in the tracker (a real deployment: 15 minutes)")
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs of each, interleaved (shared machine)")
    args = ap.parse_args()
    print(f"{args.events:,} events by {args.accounts} watched accounts; tracker detects every {args.period:g}s")
    for shape in ("uniform", "zipf"):
        lines = capture_lines(args.events, args.accounts, shape == "zipf")
        dids = [f"did:plc:{str(i).rjust(24, 'a')}" for i in range(args.accounts)]
        plain, tracked, best_detecting, best_periods = float("inf"), float("inf"), 0.0, 0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                jet = JetstreamDouble(None, per_second=10**9)  # type: ignore[arg-type]
                jet.push(*lines)
                jet.start()
                try:
                    plain = min(plain, run_plain(Path(tmp) / "plain.duckdb", jet.url, dids, args.events))
                    took, periods, detecting = run_tracker(Path(tmp) / "track.duckdb", jet.url, dids,
                                                           1716000000000000 + (args.events - 1) * 1000, args.period,
                                                           args.events)
                    if took < tracked:
                        tracked, best_detecting, best_periods = took, detecting, periods
                finally:
                    jet.stop()
                with Store(Path(tmp) / "plain.duckdb") as a, Store(Path(tmp) / "track.duckdb") as b:
                    same = f"{a.count('events'):,} / {b.count('events'):,}"
                    deletes = b.count("record_deletes")
        plain_s, track_s = plain, tracked  # both stop on their n-th event (the tracker then detects once more)
        print(f"{shape:8s} plain watch {args.events / plain_s:10,.0f} ev/s ({plain_s:6.2f}s) | tracker "
              f"{args.events / track_s:10,.0f} ev/s ({track_s:6.2f}s, {best_periods} detections {best_detecting:.1f}s, "
              f"{deletes:,} deletions kept) | ratio {track_s / plain_s:5.2f} (ingest alone "
              f"{(track_s - best_detecting) / plain_s:4.2f}) | events stored (plain / tracker): {same}")


if __name__ == "__main__":
    main()
