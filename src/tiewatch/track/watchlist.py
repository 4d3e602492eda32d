"""The watch list in the store: entries as typed (a handle or a DID), with what the tracker resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.store import Store
from tiewatch.timefmt import iso

DID_RE = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[A-Za-z0-9.%-]+(:[A-Za-z0-9.%-]+)*|plc:[a-z0-9]{3,64})$")
HANDLE_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
LIST_COLUMNS = ("entry", "did", "handle", "pds", "added", "resolved", "rev", "backfilled", "profiled",
                "followers_listed", "followers_capped", "error")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalise(entry: str) -> str:
    """A DID as given; a handle lower-cased without its @. Anything else is refused with the reason."""
    value = entry.strip()
    if value.startswith("did:"):
        if not DID_RE.match(value):
            raise TiewatchError(f"{entry!r}: not a did:plc or did:web identifier")
        return value
    value = value.removeprefix("@").lower()
    if value.startswith(("http://", "https://")) and "/profile/" in value:  # a bsky.app profile link
        value = value.split("/profile/", 1)[1].split("/")[0]
        return normalise(value)
    if not HANDLE_RE.match(value) or len(value) > 253:
        raise TiewatchError(f"{entry!r}: not a Bluesky handle (like alice.bsky.social) or DID")
    return value


def open_waiting(path: Path | str | None, wait: float = 60.0) -> Store:
    """The store, waiting (up to `wait` seconds) while another process holds it (Store waits itself)."""
    return Store(path, wait=wait)


@contextmanager
def briefly(path: Path | str | None, wait: float = 60.0) -> Iterator[Store]:
    """The store opened for one unit of work and closed after it, so the long-running tracker never locks
    other commands out for its life."""
    store = open_waiting(path, wait)
    try:
        yield store
    finally:
        store.close()


def add(store: Store, entries: list[str]) -> list[str]:
    """Add entries; returns those that were new."""
    values = [normalise(e) for e in entries]
    added = []
    with store.transaction() as con:
        for v in dict.fromkeys(values):
            existing = con.execute("SELECT 1 FROM watchlist WHERE entry = ? OR did = ? OR handle = ?",
                                   [v, v, v]).fetchall()
            if not existing:
                con.execute("INSERT INTO watchlist (entry, did, added) VALUES (?, ?, ?)",
                            [v, v if v.startswith("did:") else None, utcnow()])
                added.append(v)
    return added


def remove(store: Store, entries: list[str]) -> list[str]:
    """Remove entries (by what was typed, the DID or the handle); returns those removed. Data stays; the kept
    repository tree of an account no longer watched goes."""
    removed = []
    with store.transaction() as con:
        for e in entries:
            v = normalise(e)
            rows = con.execute("DELETE FROM watchlist WHERE entry = ? OR did = ? OR handle = ? RETURNING entry",
                               [v, v, v]).fetchall()
            removed += [r[0] for r in rows]
        # The kept repository trees (tracker state for incremental backfill, not data) go with the last entry.
        con.execute("DELETE FROM repo_nodes WHERE did NOT IN (SELECT did FROM watchlist WHERE did IS NOT NULL)")
    if not removed:
        raise TiewatchError(f"not on the watch list: {', '.join(entries)}")
    return removed


def listing(store: Store) -> list[dict[str, Any]]:
    rows = store.con.execute(f"SELECT {', '.join(LIST_COLUMNS)} FROM watchlist ORDER BY added, entry").fetchall()
    out = []
    for r in rows:
        d = dict(zip(LIST_COLUMNS, r, strict=True))
        for k in ("added", "resolved", "backfilled", "profiled", "followers_listed"):
            d[k] = iso(d[k])
        out.append(d)
    return out


def watched_dids(store: Store) -> list[str]:
    return [r[0] for r in store.con.execute(
        "SELECT DISTINCT did FROM watchlist WHERE did IS NOT NULL ORDER BY did").fetchall()]
