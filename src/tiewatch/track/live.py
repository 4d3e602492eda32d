"""The tracker's live phase: Jetstream with wantedDids = the watch list, written batch by batch.

Each batch writes its events, the deletions of likes and posts (record_deletes, for unlike and
post_deleted) and the stream cursor in one transaction; the store is held for a couple of seconds at most
and closed whenever the stream pauses, so other commands are never locked out for long, and a kill -9
loses nothing: the next run resumes from the stored
cursor, rewound by REWIND_US (Jetstream is slightly out of order), and ids make the replayed overlap insert
nothing twice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import ClientConnection

from tiewatch.errors import TiewatchError
from tiewatch.ingest.loader import IngestResult
from tiewatch.sources.jetstream import STAGED
from tiewatch.store import Store
from tiewatch.stream import REWIND_US, WriteGap, stored_cursor, subscribe_url, write_batch
from tiewatch.track.watchlist import open_waiting

COLLECTIONS = ["app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost", "app.bsky.graph.follow",
               "app.bsky.graph.block"]
# Deletions of likes and posts, kept apart from events (they are the raw material of unlike and post_deleted).
DELETES_SQL = f"""
    INSERT INTO record_deletes
    SELECT DISTINCT 'at://' || did || '/' || collection || '/' || rkey,
           make_timestamp(TRY_CAST(time_us AS BIGINT)), NULL, did, collection, rkey, 'jetstream'
    FROM {STAGED}
    WHERE _fault IS NULL AND event_kind = 'commit' AND operation = 'delete'
      AND collection IN ('app.bsky.feed.like', 'app.bsky.feed.post') AND rkey IS NOT NULL
      AND TRY_CAST(time_us AS BIGINT) IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM record_deletes d
                      WHERE d.id = 'at://' || {STAGED}.did || '/' || {STAGED}.collection || '/' || {STAGED}.rkey)"""


@dataclass
class LiveStats:
    received: int = 0
    batches: int = 0
    reconnects: int = 0
    result: IngestResult = field(default_factory=IngestResult)


def cursor_key(url: str) -> str:
    return f"track:{url}"


def write_live_batch(store: Store, key: str, lines: list[str], label: str) -> IngestResult:
    """One batch: events, deletions and cursor in one transaction (the stream writer plus DELETES_SQL)."""
    return write_batch(store, key, lines, label, also=[DELETES_SQL])


class LiveFollower:
    """A Jetstream connection kept across periods (so a period boundary costs no reconnect and no replay),
    writing batch by batch. The store is held only briefly: opened for a batch, kept for the next batches
    while they come within `hold_seconds`, then closed, so other commands wait at most about that long."""

    def __init__(self, db: Path | None, url: str, *, batch_size: int = 500, flush_seconds: float = 1.0,
                 rewind_us: int = REWIND_US, hold_seconds: float = 2.0,
                 on_retry: Callable[[str, float], None] | None = None) -> None:
        self.db, self.url, self.key = db, url, cursor_key(url)
        self.batch_size, self.flush_seconds, self.rewind_us = batch_size, flush_seconds, rewind_us
        self.hold_seconds, self.on_retry = hold_seconds, on_retry
        self.dids: list[str] = []
        self.ws: ClientConnection | None = None
        self.store: Store | None = None
        self.store_since = 0.0
        self.backoff = 0.5
        self.last_cursor = 0  # the stream cursor as last committed (time_us)
        self._stack = contextlib.ExitStack()

    # -- the store lease --------------------------------------------------------------------------------
    def _store(self) -> Store:
        if self.store is None:
            self.store = open_waiting(self.db)
            self.store_since = time.monotonic()
        return self.store

    def release(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    @contextlib.contextmanager
    def lease(self) -> Iterator[Store]:
        """The store for the caller's own unit of work (detection right after a live phase): the lease the last
        batches held when `run(release=False)` kept it, else a new one; released after, whatever happens."""
        try:
            yield self._store()
        finally:
            self.release()

    def _maybe_release(self) -> None:
        if self.store is not None and time.monotonic() - self.store_since >= self.hold_seconds:
            self.release()

    # -- the connection ---------------------------------------------------------------------------------
    def _connect(self) -> ClientConnection:
        from websockets.exceptions import InvalidURI
        from websockets.sync.client import connect

        cursor = stored_cursor(self._store(), self.key, self.rewind_us)
        self.release()
        self._stack = contextlib.ExitStack()
        try:
            # A deep queue keeps the connection's reader answering pings while a batch is written or detection
            # runs; a shallow one stops reading when full, and Jetstream drops a client that misses its pings.
            return self._stack.enter_context(connect(subscribe_url(self.url, COLLECTIONS, self.dids, cursor),
                                                     open_timeout=10, max_size=2**24, max_queue=8192))
        except InvalidURI as e:
            raise TiewatchError(f"{self.url}: not a WebSocket URL ({e})") from None

    def disconnect(self) -> None:
        self.ws = None
        with contextlib.suppress(Exception):
            self._stack.close()

    def close(self) -> None:
        self.disconnect()
        self.release()

    def run(self, dids: list[str], *, until: float, idle_exit: float | None = None,
            stop: Callable[[], bool] = lambda: False, max_events: int | None = None,
            release: bool = True) -> LiveStats:
        """Follow the stream until the monotonic time `until`, `idle_exit` seconds without a message, stop(),
        or `max_events` received. Everything received is written before it returns. `release=False` keeps the
        store open for the caller's next step (see lease()) when it returns normally; an error releases it."""
        from websockets.exceptions import ConnectionClosed, WebSocketException

        stats = LiveStats()
        if sorted(dids) != self.dids:
            self.disconnect()  # wantedDids are fixed per connection
            self.dids = sorted(dids)
        if not self.dids:
            return stats
        pending: list[str] = []
        last_flush = last_message = time.monotonic()
        gap = WriteGap(self.batch_size)  # a fast stream's batches are written together, as `tiewatch watch` does

        def flush(final: bool = False) -> None:
            nonlocal pending, last_flush
            if pending:
                if not final and gap.waiting(len(pending)):
                    return
                began = time.monotonic()
                store = self._store()
                stats.result.add(write_live_batch(store, self.key, pending, self.url))
                self.last_cursor = stored_cursor(store, self.key) or 0
                stats.batches += 1
                pending = []
                gap.wrote(began)
            last_flush = time.monotonic()

        def over(now: float) -> bool:
            return (now >= until or stop() or (idle_exit is not None and now - last_message >= idle_exit)
                    or (max_events is not None and stats.received >= max_events))

        try:
            while True:
                try:
                    if self.ws is None:
                        self.ws = self._connect()
                        self.backoff = 0.5
                    while True:
                        try:
                            message = self.ws.recv(timeout=0.25)
                        except TimeoutError:
                            message = None
                        now = time.monotonic()
                        if message is not None:
                            pending.append(message if isinstance(message, str) else message.decode())
                            stats.received += 1
                            last_message = now
                        if len(pending) >= self.batch_size or (pending and now - last_flush >= self.flush_seconds):
                            flush()
                        elif not pending:
                            self._maybe_release()
                        if over(now):
                            flush(final=True)
                            return stats
                except (ConnectionClosed, WebSocketException, OSError) as e:
                    self.disconnect()
                    flush(final=True)
                    stats.reconnects += 1
                    if over(time.monotonic()):
                        return stats
                    if self.on_retry:
                        self.on_retry(f"{type(e).__name__}: {e}", self.backoff)
                    time.sleep(self.backoff)
                    self.backoff = min(self.backoff * 2, 30.0)
        except BaseException:
            self.release()
            raise
        finally:
            if release:
                self.release()


def follow(db: Path | None, url: str, dids: list[str], *, until: float, idle_exit: float | None = None,
           batch_size: int = 500, flush_seconds: float = 1.0, rewind_us: int = REWIND_US,
           stop: Callable[[], bool] = lambda: False,
           on_retry: Callable[[str, float], None] | None = None) -> LiveStats:
    """One live phase on its own connection (see LiveFollower)."""
    follower = LiveFollower(db, url, batch_size=batch_size, flush_seconds=flush_seconds, rewind_us=rewind_us,
                            on_retry=on_retry)
    try:
        return follower.run(dids, until=until, idle_exit=idle_exit, stop=stop)
    finally:
        follower.close()
