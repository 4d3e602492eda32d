"""Soak: `tiewatch track run` killed with -9 at random moments, many times, against an uninterrupted run.

The planted story of the tracker tests (tests/track_scenario.py: backfilled repositories, the real Jetstream
capture, 2,000 filler events, a silence, a resumption, an unfollow and an unlike arriving live), plus a new
revision of A's repository half-way (what A did live, an old like gone, two posts added), which the tracker reads as a
getRepo?since=REV diff: kills land in backfills (whole and incremental), in live batches, in detection and in
alert deliveries. After the kills, two `--once` runs settle; the store and the alerts must equal those of the
uninterrupted run (the same story, the same revision, no kill):

    python bench/track_soak.py [--kills 50] [--seed 13] [--min 1.0] [--max 4.0]

Prints one line per kill (events stored when it landed), then the comparison; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from alert_sinks import HttpSink
from bsky_double import BskyDouble, car_records
from test_track_kill import _alerts_toml, _cmd, _story, stalled
from track_scenario import HANDLES, A, B, C, Story

from tiewatch.store import Store

REVISION = "7aaaaaaaaaaa2"


def revise(double: BskyDouble) -> None:
    """A's repository moves on: it holds what A did live (Jetstream's creates and deletes of A's records), and
    besides one old like of B's post is gone (an unlike no stream saw) and two posts are new."""
    records = car_records(double.repos[A])
    put: dict[str, dict[str, Any]] = {}
    drop = {"app.bsky.feed.like/3kal0010"}
    for _, did, _, line in double.jetstream.events:
        commit = json.loads(line).get("commit") or {}
        if did != A or not commit:
            continue
        key = f"{commit['collection']}/{commit['rkey']}"
        if commit["operation"] == "delete":
            put.pop(key, None)
            drop.add(key)
        else:
            put[key] = commit["record"]
            drop.discard(key)
    put |= {f"app.bsky.feed.post/3kzz{i}": {"$type": "app.bsky.feed.post", "text": f"new {i}",
                                           "createdAt": f"2026-01-0{i + 1}T10:00:00.000Z"} for i in range(2)}
    double.revise(A, REVISION, drop=sorted(k for k in drop if k in records), put=put)


def once(db: Path, alerts: Path, env: dict[str, str]) -> None:
    time.sleep(1.0)  # the last backfill is then older than --backfill-every: the repository is checked again
    done = subprocess.run(_cmd(db, alerts, "--once", "--idle-exit", "1", "--backfill-every", "1s"), env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise SystemExit(f"track run --once failed ({done.returncode}):\n{done.stderr}")


def outcome(db: Path, http: HttpSink, log: Path) -> dict[str, Any]:
    with Store(db) as store:
        q = store.con.execute
        return {
            "events": store.count("events"),
            "distinct_events": store.scalar("SELECT count(DISTINCT id) FROM events"),
            "event_rows": q("SELECT id, ts, actor, kind, target, post, text FROM events ORDER BY id").fetchall(),
            # A like deleted live and missing from the next revision is recorded by whichever comes first (the
            # stream or the diff): which one depends on timing, not on kills; the deletion itself must be there.
            "deletes": [r[0] for r in q("SELECT id FROM record_deletes ORDER BY id").fetchall()],
            "delete_sources": q("SELECT id, source FROM record_deletes ORDER BY id").fetchall(),
            # an unlike known only between two backfills has that interval in its time: compare what it says
            "signals": sorted(q("SELECT kind, subjects, evidence FROM signals").fetchall()),
            "alerts": dict(q("SELECT status, count(*) FROM alerts GROUP BY 1").fetchall()),
            "revs": q("SELECT did, rev FROM watchlist WHERE did IS NOT NULL ORDER BY did").fetchall(),
            "fetches": q("SELECT did, last_fetch FROM watchlist WHERE did IS NOT NULL ORDER BY did").fetchall(),
            "hook": Counter(json.loads(b)["id"] for b in http.bodies("/hook")),
            "log": Counter(json.loads(ln)["id"] for ln in log.read_text().splitlines()) if log.exists() else Counter(),
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--min", type=float, default=1.0, help="shortest life of a tracker process before its kill (s)")
    ap.add_argument("--max", type=float, default=4.0, help="longest life (s)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    story = Story()
    results = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tiewatch-soak-") as tmp:
        for mode in ("uninterrupted", "killed"):
            db, log = Path(tmp) / f"{mode}.duckdb", Path(tmp) / f"{mode}.jsonl"
            with BskyDouble() as double, HttpSink() as http:
                double.jetstream.per_second = 1500
                _story(double, story)
                alerts = _alerts_toml(Path(tmp) / f"{mode}.toml", http, log)
                env = {**os.environ, **double.env()}
                subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(db), "track", "add", HANDLES[A],
                                HANDLES[B], C], env=env, check=True, capture_output=True)
                if mode == "uninterrupted":
                    once(db, alerts, env)
                    revise(double)
                else:
                    seen: list[int] = []
                    for kill in range(1, args.kills + 1):
                        proc = subprocess.Popen(_cmd(db, alerts, "--every", "2s", "--backfill-every", "1s"), env=env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                        life = rng.uniform(args.min, args.max) * (1 + stalled(seen))  # longer while nothing new
                        time.sleep(life)
                        if proc.poll() is not None:
                            print(proc.stderr.read().decode() if proc.stderr else "", file=sys.stderr)
                            raise SystemExit(f"kill {kill}: the tracker exited by itself ({proc.returncode})")
                        os.kill(proc.pid, signal.SIGKILL)
                        proc.wait()
                        if proc.stderr:
                            proc.stderr.close()
                        with Store(db) as store:
                            n = store.count("events")
                            rev = store.scalar("SELECT rev FROM watchlist WHERE did = ?", [A])
                        seen.append(n)
                        print(f"kill {kill:3d} after {life:.2f}s: {n:,} events stored, A at rev {rev}", flush=True)
                        if kill == args.kills // 2:
                            revise(double)
                for _ in range(2):
                    once(db, alerts, env)
                results[mode] = outcome(db, http, log)
    ref, killed = results["uninterrupted"], results["killed"]
    problems = []
    for key in ("events", "distinct_events", "event_rows", "deletes", "signals", "alerts", "revs"):
        if killed[key] != ref[key]:
            problems.append(f"{key} differ" + (f": {killed[key]} vs {ref[key]}" if key not in ("event_rows",)
                                               else ""))
    if killed["events"] != killed["distinct_events"]:
        problems.append("an event was stored twice")
    for sink in ("hook", "log"):
        if len(killed[sink]) != len(ref[sink]) or any(n != 1 for n in ref[sink].values()):
            problems.append(f"{sink}: {len(killed[sink])} alerts reached it, {len(ref[sink])} uninterrupted")
    repeats = {sink: sum(killed[sink].values()) - len(killed[sink]) for sink in ("hook", "log")}
    print(f"\n{args.kills} kills in {time.monotonic() - started:.0f}s (seed {args.seed})")
    print(f"uninterrupted: {ref['events']:,} events, {len(ref['deletes'])} deletions, {len(ref['signals'])} signals, "
          f"alerts {ref['alerts']}")
    print(f"killed:        {killed['events']:,} events, {len(killed['deletes'])} deletions, "
          f"{len(killed['signals'])} signals, alerts {killed['alerts']}")
    print(f"A's last repository fetch: killed {dict(killed['fetches'])[A]!r}, "
          f"uninterrupted {dict(ref['fetches'])[A]!r}")
    if killed["delete_sources"] != ref["delete_sources"]:
        print(f"deletions recorded by another source (timing): killed {killed['delete_sources']}, "
              f"uninterrupted {ref['delete_sources']}")
    print(f"alerts delivered again after a kill between delivery and its record (same Idempotency-Key): {repeats}")
    if problems:
        print("DIFFERENT: " + "; ".join(problems))
        return 1
    print("same store, same signals, every alert delivered (nothing lost, nothing doubled)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
