"""The tracker's live phase: Jetstream with wantedDids = the watch list, written batch by batch.

Each batch opens the store, writes its events, the deletions of likes and posts (record_deletes, for
unlike and post_deleted) and the stream cursor in one transaction, and closes the store again, so other
commands are never locked out for long and a kill -9 loses nothing: the next run resumes from the stored
cursor, rewound by REWIND_US (Jetstream is slightly out of order), and ids make the replayed overlap insert
nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tiewatch.errors import TiewatchError
from tiewatch.ingest.loader import IngestResult, ingest_parts
from tiewatch.sources.files import InputFile
from tiewatch.sources.jetstream import STAGED, UNFOLLOW_TARGETS, stage_lines
from tiewatch.stream import CURSOR_SQL, REWIND_US, stored_cursor, subscribe_url
from tiewatch.track.watchlist import briefly

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


def write_live_batch(db: Path | None, key: str, lines: list[str], label: str) -> IngestResult:
    """One batch: events, deletions and cursor in one transaction, the store open only for it."""
    with briefly(db) as store:
        table = pa.table({"_rec": pa.array(range(1, len(lines) + 1), pa.int64()), "_raw": lines})
        store.con.register("tw_stream_lines", table)
        try:
            parts = stage_lines(store.con, "tw_stream_lines", label)
            inp = InputFile(Path(label), "jetstream", None)
            return ingest_parts(store, inp, parts, after_load=[UNFOLLOW_TARGETS, DELETES_SQL, CURSOR_SQL],
                                after_params=[[], [], [key]], hash_file=False)
        finally:
            store.con.unregister("tw_stream_lines")
            store.con.execute(f"DROP TABLE IF EXISTS {STAGED}")


def follow(db: Path | None, url: str, dids: list[str], *, until: float, idle_exit: float | None = None,
           batch_size: int = 500, flush_seconds: float = 1.0, rewind_us: int = REWIND_US,
           stop: Callable[[], bool] = lambda: False,
           on_retry: Callable[[str, float], None] | None = None) -> LiveStats:
    """Follow the stream until the monotonic time `until`, `idle_exit` seconds without a message, or stop()."""
    from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException
    from websockets.sync.client import connect

    key = cursor_key(url)
    stats = LiveStats()
    if not dids:
        return stats
    pending: list[str] = []
    backoff = 0.5
    last_flush = last_message = time.monotonic()

    def flush() -> None:
        nonlocal pending, last_flush
        if pending:
            stats.result.add(write_live_batch(db, key, pending, url))
            stats.batches += 1
            pending = []
        last_flush = time.monotonic()

    def over(now: float) -> bool:
        return now >= until or stop() or (idle_exit is not None and now - last_message >= idle_exit)

    while True:
        with briefly(db) as store:
            cursor = stored_cursor(store, key, rewind_us)
        target = subscribe_url(url, COLLECTIONS, dids, cursor)
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
                    if over(now):
                        flush()
                        return stats
        except InvalidURI as e:
            raise TiewatchError(f"{url}: not a WebSocket URL ({e})") from None
        except (ConnectionClosed, WebSocketException, OSError) as e:
            flush()
            stats.reconnects += 1
            if over(time.monotonic()):
                return stats
            if on_retry:
                on_retry(f"{type(e).__name__}: {e}", backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
