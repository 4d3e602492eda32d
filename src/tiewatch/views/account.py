"""An account's page: follower counts with audience signals, strongest ties now and a year earlier, latest
signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tiewatch.accounts import Account, resolve
from tiewatch.detect.ties import ties_of
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.timefmt import iso


@dataclass
class AccountView:
    account: Account
    followers: list[dict[str, Any]]
    ties_now: list[dict[str, Any]]
    ties_year_ago: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    news: list[dict[str, Any]] = field(default_factory=list)  # news naming the account, oldest first

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account.account, "platform": self.account.platform, "name": self.account.label,
                "followers": self.followers, "ties_now": self.ties_now, "ties_year_ago": self.ties_year_ago,
                "signals": self.signals, "news": self.news}


def account_view(store: Store, name: str, limit: int = 10) -> AccountView:
    acc = resolve(store, name)
    followers = [{"ts": iso(ts), "followers": f} for ts, f in store.con.execute(
        "SELECT ts, followers FROM metrics WHERE platform = ? AND account = ? AND followers IS NOT NULL ORDER BY ts",
        [acc.platform, acc.account]).fetchall()]
    last = store.scalar("SELECT max(ts) FROM events WHERE platform = ? AND (actor = ? OR target = ?)",
                        [acc.platform, acc.account, acc.account])
    now = ties_of(store, acc.platform, acc.account, last, limit) if last else []
    before = ties_of(store, acc.platform, acc.account, last - timedelta(days=365), limit) if last else []
    for t in now + before:
        t["last"] = iso(t["last"])
    from tiewatch.views.explore import news

    return AccountView(acc, followers, now, before, list_signals(store, account=acc, limit=50),
                       news(store, account=f"{acc.platform}:{acc.account}", limit=1000)[::-1])
