"""`tiewatch track run`: one period after another of resolve, backfill, snapshots, live stream, detection and
alerts. SIGINT (Ctrl-C) and SIGTERM (`kill`, systemd stop) end it at the next safe point: the batch being
written commits or not at all, and the next run picks up from what is stored. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from tiewatch.track import work
from tiewatch.track.alerts.config import parse as parse_alerts
from tiewatch.track.alerts.deliver import DeliveryReport, deliver, queue
from tiewatch.track.client import AtClient
from tiewatch.track.config import endpoints, load_toml
from tiewatch.track.live import LiveFollower
from tiewatch.track.watchlist import briefly, utcnow, watched_dids

BASELINE_KEY = "track_alert_baseline"


@dataclass
class RunOptions:
    period: float = 900.0
    once: bool = False
    alerts_file: Path | None = None
    followers_every: float = 86400.0
    backfill_every: float = 86400.0
    follower_cap: int = 10000
    alert_history: bool = False
    idle_exit: float = 3.0  # --once: the live phase ends after this long without an event
    retry_base: float | None = None  # seconds before a failed alert's first retry (default: the alert file's)
    max_periods: int | None = None


class Stopper:
    """SIGINT/SIGTERM set a flag checked at safe points; a second SIGINT interrupts at once."""

    def __init__(self) -> None:
        self.stopping = False
        self._old: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.stopping

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.stopping = True

    def __enter__(self) -> Stopper:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread (a test runner): defaults stay
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _interruptible_sleep(seconds: float, stop: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not stop() and time.monotonic() < end:
        time.sleep(min(0.2, max(end - time.monotonic(), 0)))


def one_period(db: Path | None, client: AtClient, follower: LiveFollower, options: RunOptions,
               config: dict[str, Any], label: str, stop: Callable[[], bool],
               say: Callable[[str], None]) -> dict[str, Any]:
    started = time.monotonic()
    alert_config = parse_alerts(config, label)
    report = work.PeriodReport()
    held_before = len(client.held)
    if not stop():
        work.resolve(db, client, report)
    if not stop():
        work.backfill(db, client, report, every_seconds=options.backfill_every)
    if not stop():
        work.snapshot_profiles(db, client, report)
    if not stop():
        work.snapshot_followers(db, client, report, cap=options.follower_cap, every_seconds=options.followers_every)
    for did in report.capped:
        say(f"{did}: more than {options.follower_cap:,} followers; the list was not diffed (cap)")
    with briefly(db) as store:
        dids = watched_dids(store)
        if not store.count("watchlist"):
            say("the watch list is empty: add accounts with `tiewatch track add HANDLE`")
    live = None
    if not stop():
        # The live phase fills the period, and gets at least half a period even after a long backfill.
        until = max(started + options.period, time.monotonic() + options.period / 2)
        live = follower.run(dids, until=until, idle_exit=options.idle_exit if options.once else None, stop=stop,
                            release=False)
    from tiewatch.detect.run import detect
    from tiewatch.views.sentences import render_signals

    with follower.lease() as store:  # the live phase's store, kept for detection (no close and reopen between)
        detected = detect(store, sentences=render_signals)
        first = store.scalar("SELECT value FROM meta WHERE key = ?", [BASELINE_KEY]) is None
    delivery = DeliveryReport()
    if first and not options.alert_history:
        delivery = queue(db, alert_config, baseline=True)
    if alert_config.channels:
        queued = queue(db, alert_config, baseline=False)
        retry_base = options.retry_base if options.retry_base is not None else alert_config.retry_base
        sent = deliver(db, alert_config, retry_base=retry_base, stop=stop)
        delivery.queued, delivery.sent, delivery.failed = queued.queued, sent.sent, sent.failed
        delivery.retrying, delivery.errors = sent.retrying, sent.errors
    if first:
        with briefly(db) as store:
            store.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [BASELINE_KEY, str(utcnow())])
    held = client.held[held_before:]
    if held:
        by_reason: dict[tuple[str, str], float] = {}
        for h in held:
            by_reason[(h.host, h.reason)] = by_reason.get((h.host, h.reason), 0.0) + h.seconds
        for (host, reason), seconds in by_reason.items():
            work.log(db, "held", f"{host}: {reason} held work back {seconds:.1f}s")
    out = {"report": report.as_json(), "signals": detected.counts,
           "live": None if live is None else {"received": live.received, "batches": live.batches,
                                              "reconnects": live.reconnects,
                                              "inserted": sum(live.result.inserted.values())},
           "alerts": {"baseline": delivery.baseline, "queued": delivery.queued, "sent": delivery.sent,
                      "failed": delivery.failed, "retrying": delivery.retrying, "errors": delivery.errors},
           "calls": dict(client.calls), "held_seconds": round(sum(h.seconds for h in held), 2)}
    for e in report.errors:
        say(f"warning: {e}")
    say(f"period: {report.backfilled} backfilled ({report.unchanged} unchanged), {report.profiles} profiles, "
        f"{report.follower_lists} follower lists, {live.received if live else 0} live events, "
        f"{sum(detected.counts.values())} signals, {delivery.sent} alerts sent"
        + (f", {delivery.failed} failed" if delivery.failed else "")
        + (f", {delivery.retrying} to retry" if delivery.retrying else ""))
    return out


def run(db: Path | None, options: RunOptions, say: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    config: dict[str, Any] = {}
    label = "defaults"
    if options.alerts_file is not None:
        config, label = load_toml(options.alerts_file), str(options.alerts_file)
    parse_alerts(config, label)  # refuse a bad alert file before any work
    reports: list[dict[str, Any]] = []
    eps = endpoints(config, label)
    follower = LiveFollower(db, eps.jetstream,
                            on_retry=lambda why, wait: say(f"Jetstream: {why}; retrying in {wait:.1f}s"))
    with Stopper() as stop, AtClient(eps) as client, contextlib.closing(follower):
        while True:
            began = time.monotonic()
            reports.append(one_period(db, client, follower, options, config, label, stop, say))
            if options.once or stop() or (options.max_periods and len(reports) >= options.max_periods):
                break
            _interruptible_sleep(options.period - (time.monotonic() - began), stop)
            if stop():
                break
    if stop.stopping:
        say("stopped; everything written so far is kept")
    return reports
