"""The check suite every registered detector must pass (river's estimator checks, for detectors).

Each check takes a detector factory and a fresh copy of a store, runs the detector alone through the real
pipeline (false-discovery control included) and asserts behaviour a user relies on. The store holds a
generated seed-like scenario plus the rows in tests/fixtures/detector_checks/, so every detector has something
to find; a new detector that needs other data adds its sample rows there.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tiewatch.detect.base import Detector
from tiewatch.detect.run import detect
from tiewatch.ingest.run import ingest_paths
from tiewatch.scenario import generate
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.sentences import render_signals

FIXTURES = Path(__file__).parent / "fixtures" / "detector_checks"
SHIFT = timedelta(days=364)  # whole weeks: calendar days and weekdays stay what they were
Make = Callable[[], Detector]


def build_store(folder: Path, *, plot: bool = True, seed: int = 5) -> Path:
    """A store with a generated scenario (and, with the plot, the check fixtures) ingested."""
    data = generate(seed=seed, start=datetime(2021, 3, 1), n_fans=120, plot=plot).write(folder / "scenario")
    path = folder / "checks.duckdb"
    with Store(path) as store:
        paths: list[str | Path] = [data] + ([FIXTURES] if plot else [])
        report = ingest_paths(store, paths)
        assert not report.errors, report.errors
        if plot:
            _tracker_rows(store)
    return path


def _tracker_rows(store: Store) -> None:
    """What the watch-list tracker records (deletions, profile snapshots) for a small Bluesky story inside the
    scenario's span: A likes B's posts, unlikes one, deletes replies to B in a burst, drops B from their bio."""
    a, b = "did:plc:checksaaaaaaaaaaaaaaaaaa", "did:plc:checksbbbbbbbbbbbbbbbbbb"
    t0 = datetime(2021, 11, 1, 12)
    con = store.con
    con.execute("INSERT INTO accounts (platform, account, name) VALUES ('bluesky', ?, 'a.test'), "
                "('bluesky', ?, 'b.test')", [a, b])

    def event(eid: str, ts: datetime, actor: str, kind: str, target: str | None, post: str | None,
              text: str | None = None) -> None:
        con.execute("INSERT INTO events (id, ts, platform, actor, kind, target, post, text) "
                    "VALUES (?, ?, 'bluesky', ?, ?, ?, ?, ?)", [eid, ts, actor, kind, target, post, text])

    for i in range(6):
        post = f"at://{b}/app.bsky.feed.post/p{i}"
        event(post, t0 + timedelta(days=i), b, "post", None, post)
        event(f"at://{a}/app.bsky.feed.like/l{i}", t0 + timedelta(days=i, hours=1), a, "like", b, post)
        event(f"at://{a}/app.bsky.feed.post/r{i}", t0 + timedelta(days=i, hours=2), a, "reply", b, post, "hi")
    deletes = [(f"at://{a}/app.bsky.feed.like/l2", t0 + timedelta(days=40))]
    deletes += [(f"at://{a}/app.bsky.feed.post/r{i}", t0 + timedelta(days=50, minutes=i)) for i in range(4)]
    for uri, ts in deletes:
        did, collection, rkey = uri.removeprefix("at://").split("/")
        con.execute("INSERT INTO record_deletes VALUES (?, ?, NULL, ?, ?, ?, 'checks')", [uri, ts, did, collection,
                                                                                         rkey])
    for hours, bio in ((0, "with @b.test"), (24 * 60, "on my own")):
        con.execute("INSERT INTO profiles VALUES (?, ?, 'a.test', 'A', ?, 'avatar', 'active', 'checks')",
                    [t0 + timedelta(hours=hours), a, bio])


def fresh_copy(template: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "copy.duckdb"
    shutil.copyfile(template, path)
    return path


def run(path: Path, make: Make, **window: datetime | None) -> list[dict[str, Any]]:
    with Store(path) as store:
        detect(store, only=[make()], sentences=render_signals, **window)
        return list_signals(store)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.rstrip("Z"))


# -- the checks -------------------------------------------------------------------------------------------
def check_declares_itself(make: Make, path: Path) -> None:
    det = make()
    assert det.name, "a detector needs a name"
    assert det.kinds, f"{det.name}: declares no signal kinds"
    signals = run(path, make)
    assert signals, f"{det.name}: found nothing in the check data; add sample rows to {FIXTURES}"
    for s in signals:
        assert s["kind"] in det.kinds, f"{det.name}: stored kind {s['kind']!r} it does not declare"


def check_empty_store(make: Make, path: Path) -> None:
    with Store(path) as store:
        for table in ("events", "metrics", "news", "accounts", "snapshots", "record_deletes", "profiles"):
            store.con.execute(f"DELETE FROM {table}")
    assert run(path, make) == [], f"{make().name}: signals from an empty store"


def check_p_and_q(make: Make, path: Path) -> None:
    for s in run(path, make):
        p, q = s["p_value"], s["q_value"]
        if p is None:
            assert q is None, f"{s['id']}: a q-value without a p-value"
            continue
        assert q is not None and 0.0 <= p <= q <= 1.0, f"{s['id']}: p={p}, q={q}"
        assert q <= 0.05 + 1e-12, f"{s['id']}: stored with q={q} above the run's FDR level"


def check_evidence_resolves(make: Make, path: Path) -> None:
    signals = run(path, make)
    with Store(path, read_only=True) as store:
        for s in signals:
            assert s["evidence"], f"{s['id']}: no evidence"
            for ref in s["evidence"]:
                if ref.startswith("metrics:"):
                    platform, account, ts = ref.removeprefix("metrics:").split(":", 2)
                    n = store.scalar("SELECT count(*) FROM metrics WHERE platform = ? AND account = ? AND ts = ?",
                                     [platform, account, _time(ts)])
                elif ref.startswith("profile:"):  # profile:DID:ISO time of a stored profile snapshot
                    n = store.scalar("SELECT count(*) FROM profiles WHERE ? LIKE 'profile:' || did || ':' || "
                                     "strftime(ts, '%Y-%m-%dT%H:%M:%S') || '%'", [ref])
                elif ref.endswith("#delete"):
                    n = store.scalar("SELECT count(*) FROM record_deletes WHERE id = ?", [ref.removesuffix("#delete")])
                else:
                    n = store.scalar("SELECT (SELECT count(*) FROM events WHERE id = ?) + "
                                     "(SELECT count(*) FROM news WHERE id = ?)", [ref, ref])
                assert n, f"{s['id']}: evidence {ref!r} is no stored event, news item or metric row"


def check_window(make: Make, path: Path) -> None:
    with Store(path, read_only=True) as store:
        lo, hi = store.con.execute("SELECT min(ts), max(ts) FROM events").fetchall()[0]
    since = (lo + (hi - lo) * 0.3).replace(hour=0, minute=0, second=0, microsecond=0)
    until = (lo + (hi - lo) * 0.9).replace(hour=0, minute=0, second=0, microsecond=0)
    for s in run(path, make, since=since, until=until):
        for key in ("ts", "start", "end"):
            t = _time(s[key])
            assert t is None or since <= t <= until, f"{s['id']}: {key} {t} outside [{since}, {until}]"


def check_rerun_identical(make: Make, path: Path) -> None:
    first = run(path, make)
    again = run(path, make)
    assert sorted(s["id"] for s in first) == sorted(s["id"] for s in again)
    p_again = {s["id"]: s["p_value"] for s in again}
    for s in first:  # equal up to floating-point summation order (DuckDB aggregates in parallel)
        a, b = s["p_value"], p_again[s["id"]]
        assert (a is None and b is None) or abs(a - b) <= 1e-9 * max(abs(a), 1e-300), (s["id"], a, b)


def check_time_shift(make: Make, path: Path) -> None:
    """Shifting every time in the data by a constant shifts every signal by it and changes nothing else."""
    before = run(path, make)
    with Store(path) as store, store.transaction() as con:
        step = f"INTERVAL {SHIFT.days} DAY"
        con.execute(f"UPDATE events SET ts = ts + {step}, ts_lo = ts_lo + {step}, ts_hi = ts_hi + {step}")
        con.execute(f"UPDATE metrics SET ts = ts + {step}")
        con.execute(f"UPDATE news SET ts = ts + {step}")
        con.execute(f"UPDATE snapshots SET taken = taken + {step}")
        con.execute(f"UPDATE record_deletes SET ts = ts + {step}, ts_lo = ts_lo + {step}")
        con.execute(f"UPDATE profiles SET ts = ts + {step}")
    after = run(path, make)

    def key(s: dict[str, Any], shift: timedelta) -> tuple[Any, ...]:
        times = tuple(None if _time(s[k]) is None else _time(s[k]) + shift for k in ("ts", "start", "end"))  # type: ignore[operator]
        return (s["kind"], tuple(s["subjects"]), times, tuple(sorted(e for e in s["evidence"]
                                                                   if not e.startswith(("metrics:", "profile:")))))

    assert sorted(map(str, (key(s, SHIFT) for s in before))) == sorted(map(str, (key(s, timedelta()) for s in after)))
    p_before = sorted(s["p_value"] for s in before if s["p_value"] is not None)
    p_after = sorted(s["p_value"] for s in after if s["p_value"] is not None)
    assert len(p_before) == len(p_after)
    assert all(abs(a - b) <= 1e-9 * max(abs(a), 1e-300) for a, b in zip(p_before, p_after, strict=True))


def check_null_scenario(make: Make, null_path: Path) -> None:
    """Nothing planted: every tested discovery is false, and FDR control at 5% bounds how often one appears."""
    tested = [s for s in run(null_path, make) if s["p_value"] is not None]
    assert len(tested) <= 1, f"{make().name}: {len(tested)} false alarms on a null scenario: {tested[:3]}"


CHECKS: dict[str, Callable[[Make, Path], None]] = {
    "declares_itself": check_declares_itself,
    "empty_store": check_empty_store,
    "p_and_q": check_p_and_q,
    "evidence_resolves": check_evidence_resolves,
    "window": check_window,
    "rerun_identical": check_rerun_identical,
    "time_shift": check_time_shift,
}
