"""Read models for browsing a store: a paged signal feed, a signal's evidence resolved to rows, news, an
account's growth table and its follows. Front ends (the web server, the static export) only render these.

Everything here is set-based SQL; Python touches only the rows of one page.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta
from typing import Any

from tiewatch.accounts import Account, resolve
from tiewatch.errors import InvalidInput
from tiewatch.signals import SIGNAL_KEYS, to_json
from tiewatch.store import Store
from tiewatch.timefmt import iso

SORTS = ("newest", "significant")
_WHEN = "coalesce(ts, start)"


# -- the feed -----------------------------------------------------------------------------------------
def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(token: str, width: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"_next {token[:40]!r}: not a cursor this server gave out") from None
    if not isinstance(values, list) or len(values) != width:
        raise InvalidInput(f"_next {token[:40]!r}: not a cursor this server gave out")
    return values


def _sort_keys(sort: str) -> list[tuple[str, str]]:
    """(SQL expression, direction) per sort key; the last key (id) makes the order total."""
    if sort == "newest":
        return [(f"epoch_us({_WHEN})", "DESC"), ("id", "DESC")]
    if sort == "significant":
        return [("CAST(q_value IS NULL AS INTEGER)", "ASC"), ("coalesce(q_value, 0.0)", "ASC"),
                ("coalesce(score, 0.0)", "DESC"), ("id", "ASC")]
    raise InvalidInput(f"sort {sort!r}: choose one of {', '.join(SORTS)}")


def feed(store: Store, *, kind: str | None = None, account: str | None = None, since: datetime | None = None,
         until: datetime | None = None, q: str | None = None, sort: str = "newest", limit: int = 50,
         after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of signals and the cursor of the next page (None at the end). Keyset pagination: a cursor
    stays valid while signals are added or replaced (the order is total: ties broken by id)."""
    if limit < 1 or limit > 1000:
        raise InvalidInput(f"limit {limit}: choose 1 to 1000")
    keys = _sort_keys(sort)
    where, params = ["TRUE"], []  # type: tuple[list[str], list[Any]]
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if account:
        acc = resolve(store, account)
        where.append("list_contains(subjects, ?) AND (platform = ? OR platform IS NULL)")
        params += [acc.account, acc.platform]
    if since:
        where.append(f"{_WHEN} >= ?")
        params.append(since)
    if until:
        where.append(f"{_WHEN} < ?")
        params.append(until)
    if q:
        where.append("(summary ILIKE ? OR array_to_string(subjects, ' ') ILIKE ?)")
        params += [f"%{q}%", f"%{q}%"]
    if after:
        last = _decode(after, len(keys))
        # lexicographic "comes after": (k1 beyond) OR (k1 = AND k2 beyond) OR ...
        ors = []
        for i, (expr, direction) in enumerate(keys):
            op = "<" if direction == "DESC" else ">"
            eqs = [f"{keys[j][0]} IS NOT DISTINCT FROM ?" for j in range(i)]
            ors.append("(" + " AND ".join([*eqs, f"{expr} {op} ?"]) + ")")
            params += [*last[:i], last[i]]
        where.append("(" + " OR ".join(ors) + ")")
    order = ", ".join(f"{e} {d}" for e, d in keys)
    cols = ", ".join(f'"{k}"' if k == "end" else k for k in SIGNAL_KEYS)
    key_cols = ", ".join(e for e, _ in keys)
    rows = store.con.execute(f"SELECT {cols}, {key_cols} FROM signals WHERE {' AND '.join(where)} "
                             f"ORDER BY {order} LIMIT {int(limit) + 1}", params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [to_json(dict(zip(SIGNAL_KEYS, r[:len(SIGNAL_KEYS)], strict=True))) for r in rows]
    name_subjects(store, out)
    token = _encode(list(rows[-1][len(SIGNAL_KEYS):])) if more and rows else None
    return out, token


def display_names(store: Store, handles: list[str]) -> list[str | None]:
    """Each handle's display name, or None when none is stored."""
    wanted = sorted(set(handles))
    names: dict[str, str] = {}
    if wanted:
        names = dict(store.con.execute("SELECT account, any_value(name) FROM accounts WHERE account IN "
                                       f"({', '.join('?' * len(wanted))}) AND name IS NOT NULL GROUP BY account",
                                       wanted).fetchall())
    return [names.get(h) for h in handles]


def name_subjects(store: Store, signals: list[dict[str, Any]]) -> None:
    """Add `names`: each subject's display name (or its handle), so pages never show handles alone."""
    handles = sorted({h for s in signals for h in s["subjects"]})
    names = dict(zip(handles, display_names(store, handles), strict=True))
    for s in signals:
        s["names"] = [names.get(h) or h for h in s["subjects"]]


def feed_state(store: Store) -> tuple[int, int]:
    """A cheap fingerprint of the stored signals (count and an xor of id hashes): it changes when any
    signal is added, removed or replaced by one with another id."""
    n, h = store.con.execute("SELECT count(*), coalesce(bit_xor(hash(id)), 0) FROM signals").fetchone() or (0, 0)
    return int(n), int(h)


def signal_ids(store: Store) -> set[str]:
    return {r[0] for r in store.con.execute("SELECT id FROM signals").fetchall()}


def signals_by_id(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    cols = ", ".join(f'"{k}"' if k == "end" else k for k in SIGNAL_KEYS)
    rows = store.con.execute(f"SELECT {cols} FROM signals WHERE id IN ({', '.join('?' * len(ids))}) "
                             f"ORDER BY {_WHEN} DESC, id DESC", ids).fetchall()
    out = [to_json(dict(zip(SIGNAL_KEYS, r, strict=True))) for r in rows]
    name_subjects(store, out)
    return out


# -- evidence -----------------------------------------------------------------------------------------
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{5,40}$")


def post_url(platform: str | None, actor: str | None, post: str | None) -> str | None:
    """The public web address of a post on its platform, when the identifiers allow one."""
    if not post:
        return None
    if post.startswith("at://"):
        parts = post[5:].split("/")
        if len(parts) == 3 and parts[1] == "app.bsky.feed.post":
            return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"
        return None
    if platform in ("x", "twitter") and post.isdigit():
        return f"https://x.com/{actor or 'i'}/status/{post}"
    if platform == "instagram" and _SHORTCODE.match(post):
        return f"https://www.instagram.com/p/{post}/"
    return None


def evidence(store: Store, refs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The rows a signal's evidence names: events (with the post they touch and its link), news, metrics."""
    metric_refs = [r.split(":", 3) for r in refs if r.startswith("metrics:") and r.count(":") >= 3]
    plain = [r for r in refs if not r.startswith("metrics:")]
    events: list[dict[str, Any]] = []
    news: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    if plain:
        marks = ", ".join("?" * len(plain))
        ev = store.con.execute(
            "SELECT id, ts, ts_lo, ts_hi, platform, actor, kind, target, post, text FROM events "
            f"WHERE id IN ({marks}) ORDER BY ts", plain).fetchall()
        handles = sorted({h for r in ev for h in (r[5], r[7]) if h})
        names = dict(zip(handles, display_names(store, handles), strict=True))
        for i, ts, lo, hi, platform, actor, kind, target, post, text in ev:
            events.append({"id": i, "ts": iso(ts), "ts_lo": iso(lo), "ts_hi": iso(hi), "platform": platform,
                           "actor": actor, "actor_name": names.get(actor) or actor, "kind": kind,
                           "target": target, "target_name": names.get(target) or target, "post": post,
                           "text": text,
                           "url": None if kind == "story" else  # stories expire: no lasting address
                           post_url(platform, actor if kind == "post" else target, post)})
        news = [{"id": i, "ts": iso(ts), "title": t, "status": st, "url": u} for i, ts, t, st, u in
                store.con.execute(f"SELECT id, ts, title, status, url FROM news WHERE id IN ({marks}) "
                                  f"OR url IN ({marks}) ORDER BY ts", plain + plain).fetchall()]
    for _, platform, account, ts in metric_refs:
        row = store.con.execute(
            "SELECT ts, followers, following, posts FROM metrics WHERE platform = ? AND account = ? "
            "AND ts = CAST(? AS TIMESTAMP) LIMIT 1", [platform, account, ts.rstrip("Z")]).fetchone()
        if row:
            metrics.append({"platform": platform, "account": account, "ts": iso(row[0]), "followers": row[1],
                            "following": row[2], "posts": row[3]})
    return {"events": events, "news": news, "metrics": metrics}


# -- news ---------------------------------------------------------------------------------------------
def news(store: Store, *, account: str | None = None, since: datetime | None = None,
         until: datetime | None = None, q: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Stored news items, newest first."""
    if limit < 1 or limit > 1000:
        raise InvalidInput(f"limit {limit}: choose 1 to 1000")
    where, params = ["TRUE"], []  # type: tuple[list[str], list[Any]]
    if account:
        where.append("list_contains(subjects, ?)")
        params.append(resolve(store, account).account)
    if since:
        where.append("ts >= ?")
        params.append(since)
    if until:
        where.append("ts < ?")
        params.append(until)
    if q:
        where.append("title ILIKE ?")
        params.append(f"%{q}%")
    rows = store.con.execute(f"SELECT id, ts, title, subjects, kind, status, url FROM news "
                             f"WHERE {' AND '.join(where)} ORDER BY ts DESC, id LIMIT {int(limit)}",
                             params).fetchall()
    return [{"id": i, "ts": iso(ts), "title": t, "subjects": list(s or []), "kind": k, "status": st, "url": u}
            for i, ts, t, s, k, st, u in rows]


# -- an account: growth and follows -----------------------------------------------------------------------
def growth(store: Store, acc: Account, days: int = 30) -> dict[str, Any]:
    """A Social Blade-style table from the one growth model (views/growth.py: per-day rates, irregular spacing
    handled): the last `days` observations with their changes; changes over the last day, week and month;
    the average daily change; projections with their 95% intervals."""
    from tiewatch.errors import TiewatchError
    from tiewatch.views.growth import growth_of

    try:
        g = growth_of(store, f"{acc.platform}:{acc.account}")
    except TiewatchError:
        return {"daily": [], "summary": None}
    rows = g.rows
    last = rows[-1]

    def change_since(n: int) -> int | None:
        earlier = [r for r in rows if r["ts"] <= last["ts"] - timedelta(days=n)]
        return int(last["followers"]) - int(earlier[-1]["followers"]) if earlier else None

    avg = g.summary.get("avg_per_day")
    summary = {"as_of": last["ts"].date().isoformat(), "followers": int(last["followers"]), "day": change_since(1),
               "week": change_since(7), "month": change_since(30),
               "average_per_day": None if avg is None else round(avg, 1),
               "average_per_week": None if avg is None else round(7 * avg),
               "projection": {f"{p['days']}d": p["followers"] for p in g.projection},
               "projection_interval": {f"{p['days']}d": [p["low"], p["high"]] for p in g.projection}}
    daily = [{"day": r["ts"].date().isoformat(), "followers": int(r["followers"]),
              "change": None if r["change"] is None else int(r["change"])} for r in rows[-days:]]
    return {"daily": daily[::-1], "summary": summary}


def follows(store: Store, acc: Account, limit: int = 200) -> list[dict[str, Any]]:
    """Follows and unfollows by or of the account, newest first, with the interval each is known to lie in
    (snapshot diffs know only 'between two snapshots') and, for an unfollow, how long the follow had lasted."""
    rows = store.con.execute(f"""
        WITH f AS (SELECT id, ts, ts_lo, ts_hi, actor, target, kind FROM events
                   WHERE platform = ? AND kind IN ('follow', 'unfollow') AND (actor = ? OR target = ?)),
        paired AS (SELECT f.*, (SELECT max(g.ts) FROM f g WHERE g.kind = 'follow' AND g.actor = f.actor
                                 AND g.target = f.target AND g.ts < f.ts) AS followed FROM f)
        SELECT p.id, p.ts, p.ts_lo, p.ts_hi, p.actor, p.target, p.kind, p.followed, a.name, t.name FROM paired p
        LEFT JOIN (SELECT account, any_value(name) AS name FROM accounts WHERE platform = ? GROUP BY ALL) a
          ON a.account = p.actor
        LEFT JOIN (SELECT account, any_value(name) AS name FROM accounts WHERE platform = ? GROUP BY ALL) t
          ON t.account = p.target
        ORDER BY p.ts DESC NULLS LAST, p.id LIMIT {int(limit)}""",
        [acc.platform, acc.account, acc.account, acc.platform, acc.platform]).fetchall()
    out = []
    for i, ts, lo, hi, actor, target, kind, followed, aname, tname in rows:
        lasted = (ts - followed).days if kind == "unfollow" and ts and followed else None
        out.append({"id": i, "ts": iso(ts), "ts_lo": iso(lo), "ts_hi": iso(hi), "kind": kind, "actor": actor,
                    "actor_name": aname or actor, "target": target, "target_name": tname or target,
                    "direction": "out" if actor == acc.account else "in", "followed_days": lasted})
    return out
