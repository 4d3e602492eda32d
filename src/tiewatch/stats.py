"""What is in the store, in one object."""

from __future__ import annotations

from tiewatch.store import Store
from tiewatch.timefmt import iso


def store_stats(store: Store) -> dict[str, object]:
    con = store.con
    total, first, last = con.execute("SELECT count(*), min(ts), max(ts) FROM events").fetchall()[0]
    by_kind = dict(con.execute("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY 2 DESC").fetchall())
    by_platform = dict(con.execute(
        "SELECT platform, count(*) FROM events GROUP BY platform ORDER BY 2 DESC").fetchall())
    return {
        "events": {"total": int(total), "by_kind": by_kind, "by_platform": by_platform,
                   "first": iso(first), "last": iso(last)},
        "metrics": store.count("metrics"),
        "news": store.count("news"),
        "accounts": store.count("accounts"),
        "signals": store.count("signals"),
        "quarantine": store.count("quarantine"),
        "ingests": store.count("ingests"),
    }


def quarantine_rows(store: Store, limit: int = 1000) -> list[dict[str, object]]:
    rows = store.con.execute(
        "SELECT file, line, reason, raw FROM quarantine ORDER BY file, line LIMIT ?", [limit]).fetchall()
    return [{"file": f, "line": ln, "reason": r, "raw": raw} for f, ln, r, raw in rows]
