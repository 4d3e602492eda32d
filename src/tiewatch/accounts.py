"""Naming accounts: a handle, `platform:handle` or a display name, case-insensitive, never ambiguous."""

from __future__ import annotations

from dataclasses import dataclass

from tiewatch.errors import Ambiguous, InvalidInput, NotFound
from tiewatch.store import Store


@dataclass(frozen=True)
class Account:
    platform: str
    account: str
    name: str | None

    @property
    def label(self) -> str:
        """How prose names the account: its display name, else its handle."""
        return self.name or self.account

    def __str__(self) -> str:
        return f"{self.platform}:{self.account}" + (f" ({self.name})" if self.name else "")


def resolve(store: Store, text: str) -> Account:
    """The one account `text` names; a clear error when none or several match."""
    query = text.strip()
    if not query:
        raise InvalidInput("empty account name")
    platform, sep, handle = query.partition(":")
    rows: list[tuple[str, str, str | None]] = []
    if sep:
        rows = store.con.execute(
            "SELECT platform, account, name FROM accounts WHERE lower(platform) = lower(?) "
            "AND lower(account) = lower(?)", [platform, handle]).fetchall()
        if not rows:  # platform:name, where the platform keys accounts by id (X) and the handle is the name
            rows = store.con.execute(
                "SELECT platform, account, name FROM accounts WHERE lower(platform) = lower(?) "
                "AND lower(name) = lower(?) ORDER BY account", [platform, handle]).fetchall()
    if not rows:
        rows = store.con.execute(
            "SELECT platform, account, name FROM accounts WHERE lower(account) = lower(?) ORDER BY platform",
            [query]).fetchall()
    if not rows:
        rows = store.con.execute(
            "SELECT platform, account, name FROM accounts WHERE lower(name) = lower(?) ORDER BY platform, account",
            [query]).fetchall()
    if len(rows) == 1:
        return Account(*rows[0])
    if len(rows) > 1:
        listed = ", ".join(str(Account(*r)) for r in rows[:10])
        raise Ambiguous(f"{query!r} is ambiguous: {listed}; name one as platform:handle")
    near = store.con.execute(
        "SELECT platform, account, name FROM accounts WHERE account ILIKE ? OR name ILIKE ? "
        "ORDER BY jaro_winkler_similarity(lower(account), lower(?)) DESC LIMIT 5",
        [f"%{query}%", f"%{query}%", query]).fetchall()
    hint = f"; did you mean {', '.join(str(Account(*r)) for r in near)}?" if near else ""
    raise NotFound(f"no account named {query!r}{hint}")


def search(store: Store, text: str | None = None, limit: int = 100) -> list[dict[str, object]]:
    """Accounts whose handle or name contains `text`, with their event counts, most active first."""
    pattern = f"%{text}%" if text else "%"
    rows = store.con.execute("""
        SELECT a.platform, a.account, a.name, a.person, a.kind,
               (SELECT count(*) FROM events e WHERE e.platform = a.platform AND e.actor = a.account) AS acted
        FROM accounts a WHERE a.account ILIKE ? OR coalesce(a.name, '') ILIKE ?
        ORDER BY acted DESC, a.account LIMIT ?""", [pattern, pattern, limit]).fetchall()
    keys = ("platform", "account", "name", "person", "kind", "events")
    return [dict(zip(keys, r, strict=True)) for r in rows]
