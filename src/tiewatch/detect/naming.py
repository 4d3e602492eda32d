"""How prose names accounts and days."""

from __future__ import annotations

from datetime import datetime

from tiewatch.store import Store


class Names:
    """Display names for accounts, loaded once per run."""

    def __init__(self, store: Store) -> None:
        rows = store.con.execute("SELECT platform, account, name FROM accounts WHERE name IS NOT NULL").fetchall()
        self._names = {(p, a): n for p, a, n in rows}

    def label(self, platform: str, account: str) -> str:
        return self._names.get((platform, account)) or account


def day(ts: datetime | None) -> str:
    """19 May 2024."""
    return f"{ts.day} {ts:%B %Y}" if ts else "?"
