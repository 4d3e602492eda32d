"""Live sources: Bluesky Jetstream over WebSocket, written in batches with the cursor in the same transaction.

The database is opened only to write a batch (and read the cursor), then released for at least as long as
the write took (MIN_GAP at least), so other commands can read or write it while the watcher runs; a batch
that finds it busy stays in memory for the next try.
A batch of events and the stream's cursor (the largest time_us written) commit together, so after a crash
or kill -9 the watcher resumes from the last committed cursor: events after it are fetched again, events
before it are not, and ids (AT URIs) make any overlap insert nothing twice. Connection failures are retried
with exponential backoff.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pyarrow as pa

from tiewatch.errors import StoreBusy, TiewatchError
from tiewatch.ingest.loader import IngestResult, Reject, ingest_parts
from tiewatch.sources.files import InputFile
from tiewatch.sources.jetstream import OTHER_APP_SQL, STAGED, UNFOLLOW_TARGETS, stage_lines
from tiewatch.store import Store

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
MIN_GAP = 0.25  # seconds the database is left free after each batch (at least as long as the write took)
MAX_PENDING_BATCHES = 20  # beyond this many batches in memory, write without waiting for the gap
# Jetstream delivers slightly out of order (the real capture steps back up to 32 ms, 42 times in 152 events), so
# a resume from the largest time_us seen would miss events stamped just before it that had not arrived yet: every
# (re)connect asks from this much earlier, and event ids make the replayed overlap insert nothing twice.
REWIND_US = 5_000_000
# The largest time_us written so far (a rewound replay never moves it back), committed with the batch's rows.
CURSOR_SQL = f"""INSERT OR REPLACE INTO cursors
    SELECT $1, CAST(greatest(max(TRY_CAST(time_us AS BIGINT)),
                             coalesce((SELECT max(TRY_CAST(cursor AS BIGINT)) FROM cursors WHERE source = $1), 0))
                    AS VARCHAR), now()::TIMESTAMP FROM {STAGED}
    HAVING max(TRY_CAST(time_us AS BIGINT)) IS NOT NULL"""


class WriteGap:
    """When a fast stream's next batch may be written: after each write the file is left free at least as long
    as the write took (MIN_GAP at least), and the batches arriving meanwhile are written together, up to
    MAX_PENDING_BATCHES of them (a write costs about the same for 500 lines as for 10,000)."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size, self.until = batch_size, 0.0

    def waiting(self, pending: int) -> bool:
        return time.monotonic() < self.until and pending < MAX_PENDING_BATCHES * self.batch_size

    def wrote(self, began: float) -> None:
        now = time.monotonic()
        self.until = now + max(MIN_GAP, now - began)


@dataclass
class WatchStats:
    received: int = 0
    batches: int = 0
    reconnects: int = 0
    result: IngestResult = field(default_factory=IngestResult)


def stored_cursor(store: Store, key: str, rewind_us: int = 0) -> int | None:
    """Where to resume: the stored cursor, `rewind_us` earlier (see REWIND_US)."""
    value = store.scalar("SELECT cursor FROM cursors WHERE source = ?", [key])
    return max(int(value) - rewind_us, 0) if value is not None else None


def subscribe_url(url: str, collections: list[str], dids: list[str], cursor: int | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in [tuple(q.split("=", 1)) for q in parts.query.split("&") if "=" in q]]
    query += [("wantedCollections", c) for c in collections] + [("wantedDids", d) for d in dids]
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_TIME_US = re.compile(r'"time_us"\s*:\s*"?(\d{1,19})')


def stream_position(reject: Reject) -> int | None:
    """Where a poison message sits in the stream: its time_us (None when it has none), so the quarantine keeps
    every distinct bad message like a dead-letter queue, and a replayed one only once."""
    match = _TIME_US.search(reject.raw)
    return int(match.group(1)) if match else None


def write_batch(store: Store, key: str, lines: list[str], label: str, also: Sequence[str] = ()) -> IngestResult:
    """Ingest raw Jetstream lines and advance the cursor, all in one transaction. `also`: more statements over
    the staged batch (no parameters) in that transaction, before the cursor moves (the tracker's deletions)."""
    table = pa.table({"_rec": pa.array(range(1, len(lines) + 1), pa.int64()), "_raw": lines})
    store.con.register("tw_stream_lines", table)
    try:
        parts = stage_lines(store.con, "tw_stream_lines", label)
        inp = InputFile(Path(label), "jetstream", None)
        result = ingest_parts(store, inp, parts, after_load=[UNFOLLOW_TARGETS, *also, CURSOR_SQL],
                              after_params=[[], *([] for _ in also), [key]], hash_file=False,
                              reject_position=stream_position)
        result.set_aside = int(store.scalar(f"SELECT count(*) FROM {STAGED} WHERE {OTHER_APP_SQL}") or 0)
        return result
    finally:
        store.con.unregister("tw_stream_lines")
        store.con.execute(f"DROP TABLE IF EXISTS {STAGED}")


def watch_jetstream(store: Store, url: str = DEFAULT_URL, *, collections: list[str] | None = None,
                    dids: list[str] | None = None, batch_size: int = 500, flush_seconds: float = 1.0,
                    max_events: int | None = None, idle_exit: float | None = None,
                    on_batch: Callable[[WatchStats], None] | None = None,
                    on_retry: Callable[[str, float], None] | None = None,
                    on_busy: Callable[[str], None] | None = None) -> WatchStats:
    """Follow the stream until max_events, idle_exit seconds without a message, or Ctrl-C."""
    from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException
    from websockets.sync.client import connect

    key = f"jetstream:{url}"
    stats = WatchStats()
    backoff = 0.5
    pending: list[str] = []
    last_flush = time.monotonic()
    last_message = time.monotonic()

    gap = WriteGap(batch_size)  # after each write the file is left to other processes at least this long

    def flush(final: bool = False) -> None:
        nonlocal pending, last_flush
        if pending:
            if not final and gap.waiting(len(pending)):
                return  # the next write waits: readers polling for the lock get their turn (no starvation)
            began = time.monotonic()
            try:
                with store.holding():
                    stats.result.add(write_batch(store, key, pending, url))
            except StoreBusy as e:
                if final:
                    raise
                if on_busy:
                    on_busy(str(e))  # keep the batch; the next flush tries again
                last_flush = time.monotonic()
                return
            stats.batches += 1
            pending = []
            gap.wrote(began)
            if on_batch:
                on_batch(stats)
        last_flush = time.monotonic()

    try:
        while True:
            with store.holding():
                resume = stored_cursor(store, key, REWIND_US)
            target = subscribe_url(url, collections or [], dids or [], resume)
            try:
                with connect(target, open_timeout=10, max_size=2**24) as ws:
                    backoff = 0.5
                    while True:
                        try:
                            message = ws.recv(timeout=0.25)
                        except TimeoutError:
                            message = None
                        now = time.monotonic()
                        if message is not None:
                            pending.append(message if isinstance(message, str) else message.decode())
                            stats.received += 1
                            last_message = now
                        if len(pending) >= batch_size or (pending and now - last_flush >= flush_seconds):
                            flush()
                        if max_events is not None and stats.received >= max_events:
                            flush(final=True)
                            return stats
                        if idle_exit is not None and now - last_message >= idle_exit:
                            flush(final=True)
                            return stats
            except InvalidURI as e:
                raise TiewatchError(f"{url}: not a WebSocket URL ({e})") from None
            except (ConnectionClosed, WebSocketException, OSError) as e:
                flush()
                stats.reconnects += 1
                if idle_exit is not None and time.monotonic() - last_message >= idle_exit:
                    return stats
                if on_retry:
                    on_retry(f"{type(e).__name__}: {e}", backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
    except KeyboardInterrupt:
        flush(final=True)
        return stats
