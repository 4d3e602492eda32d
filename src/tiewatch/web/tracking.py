"""`tiewatch serve --track`: the watch-list tracker in the serving process (one process owns the DuckDB file).

The tracker runs in one background thread, period after period, through the tracker's own public steps
(`tiewatch.track.runner.one_period`: resolve, backfill, snapshots, the live Jetstream phase, detection,
alerts). Its writes reach the same database instance the server reads (DuckDB shares one instance per file
within a process), so each signal its detection stores is on the feed's live stream at the next poll.
Stopping (Ctrl-C, SIGTERM: the server's shutdown) sets a flag the tracker checks at its safe points; what was
written so far is kept and the next start picks up from what is stored.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tiewatch.timefmt import iso


@dataclass
class TrackerState:
    """What the Status and Watch list pages say about the tracker of this process."""

    period_s: float
    alerts_file: str | None
    running: bool = False
    periods: int = 0
    started: str | None = None  # the current (or last) period's start, ISO UTC
    finished: str | None = None
    next_at: str | None = None
    last: dict[str, Any] | None = None  # the last period's report (as `track run --json`)
    error: str | None = None
    lines: list[str] = field(default_factory=list)  # the tracker's last messages

    def as_json(self) -> dict[str, Any]:
        return {"running": self.running, "period_seconds": self.period_s, "alerts_file": self.alerts_file,
                "periods": self.periods, "period_started": self.started, "period_finished": self.finished,
                "next_period": self.next_at, "last_period": self.last, "error": self.error,
                "messages": list(self.lines)}


def _now() -> str | None:
    return iso(datetime.now(UTC))


class Tracker:
    """The tracker loop in a thread: `start()`, then `stop()` (waits for the period's safe point)."""

    def __init__(self, db: Path, *, period_s: float = 900.0, alerts_file: Path | None = None,
                 say: Callable[[str], None] = lambda _: None) -> None:
        from tiewatch.track.alerts.config import parse as parse_alerts
        from tiewatch.track.config import load_toml

        self.db = db
        self.say_out = say
        self.config: dict[str, Any] = {}
        self.label = "defaults"
        if alerts_file is not None:
            self.config, self.label = load_toml(alerts_file), str(alerts_file)
        parse_alerts(self.config, self.label)  # refuse a bad alert file before the server starts
        self.state = TrackerState(period_s, str(alerts_file) if alerts_file else None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def say(self, line: str) -> None:
        self.state.lines = [*self.state.lines[-19:], line]
        self.say_out(line)

    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tiewatch-track", daemon=True)
        self._thread.start()

    def stop(self, wait: float = 60.0) -> bool:
        """Ask the tracker to stop and wait for it; False when it was still busy after `wait` seconds (the
        process may then exit: every batch is written all or nothing)."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(wait)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        import duckdb

        from tiewatch.errors import TiewatchError
        from tiewatch.track.client import AtClient
        from tiewatch.track.config import endpoints
        from tiewatch.track.live import LiveFollower
        from tiewatch.track.runner import RunOptions, one_period

        options = RunOptions(period=self.state.period_s)
        self.state.running = True
        try:
            eps = endpoints(self.config, self.label)
            follower = LiveFollower(self.db, eps.jetstream,
                                    on_retry=lambda why, wait: self.say(f"Jetstream: {why}; retrying in {wait:.1f}s"))
            with AtClient(eps) as client, contextlib.closing(follower):
                while not self.stopping():
                    began = time.monotonic()
                    self.state.started, self.state.next_at = _now(), None
                    try:
                        self.state.last = one_period(self.db, client, follower, options, self.config, self.label,
                                                     self.stopping, self.say)
                        self.state.error = None
                    except TiewatchError as e:  # one bad period (the network, a busy store) is not the end
                        self.state.error = str(e)
                        self.say(f"tracker: {e}; trying again next period")
                    except duckdb.TransactionException:  # an API write changed the same rows: nothing was kept
                        self.state.error = "a write through the server conflicted with this period's; retrying"
                        self.say(f"tracker: {self.state.error}")
                    self.state.periods += 1
                    self.state.finished = _now()
                    wait = max(options.period - (time.monotonic() - began), 0.0)
                    self.state.next_at = iso(datetime.now(UTC).replace(microsecond=0)
                                             + timedelta(seconds=round(wait))) if not self.stopping() else None
                    self._stop.wait(wait)
        except Exception as e:  # a bug in a period: the server keeps serving and the pages say it stopped
            self.state.error = f"the tracker stopped: {type(e).__name__}"
            self.say(self.state.error)
        finally:
            self.state.running = False
            self.state.next_at = None
        if self.stopping():
            self.say("tracker stopped; everything written so far is kept")

