"""X/Twitter archives ("Download an archive of your data"), zip or folder.

The archive's data/*.js files wrap a JSON array in `window.YTD.<name>.part0 = [...]`. Read here:
account.js (the owner), tweets.js / tweet.js (posts, replies and mentions, with created_at), like.js (likes:
the archive gives the liked tweet's id and text but no time and no author), follower.js and following.js
(edges, no time). Accounts are keyed by numeric account id; handles become their names, so they name
accounts everywhere. Events whose time the archive does not give are stored with ts, ts_lo and ts_hi all
null: counts and ties include them, but no detector or timeline places them in time.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import duckdb

from tiewatch.errors import TiewatchError
from tiewatch.ingest.loader import Part
from tiewatch.sources.archive import Archive
from tiewatch.sources.rows import rows_part

PLATFORM = "x"
WRAPPER = re.compile(r"^\s*window\.YTD\.[A-Za-z0-9_]+\.part\d+\s*=\s*", re.S)
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text", "time_unknown"]
ACCOUNT_COLUMNS = ["platform", "account", "name", "kind"]


def is_x_archive(archive: Archive) -> bool:
    names = archive.names()
    return any(n.endswith("data/account.js") or n == "account.js" for n in names) and any(
        n.endswith(("tweets.js", "tweet.js", "like.js", "follower.js", "following.js")) for n in names)


def read_ytd(archive: Archive, name: str) -> list[Any]:
    """The array inside a window.YTD file; a clear error naming the entry when it is not that shape."""
    text = archive.read_text(name)
    match = WRAPPER.match(text)
    if not match:
        raise TiewatchError(f"{archive.label(name)}: expected `window.YTD.<name>.part0 = [...]`")
    try:
        data = json.loads(text[match.end():].rstrip().rstrip(";"))
    except json.JSONDecodeError as e:
        raise TiewatchError(f"{archive.label(name)}:{e.lineno}: bad JSON after the window.YTD prefix: {e.msg}") \
            from None
    except RecursionError:
        raise TiewatchError(f"{archive.label(name)}: JSON nested too deeply to read") from None
    if not isinstance(data, list):
        raise TiewatchError(f"{archive.label(name)}: expected a JSON array after the window.YTD prefix")
    return data


def _entry(archive: Archive, *candidates: str) -> str | None:
    for c in candidates:
        found = [n for n in archive.names() if n.endswith("/" + c) or n == c]
        if found:
            return found[0]
    return None


def _created(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC).isoformat()
    except (ValueError, OverflowError, TypeError):
        return text  # left for the loader to quarantine as an unparseable time


def x_archive_parts(con: duckdb.DuckDBPyConnection, archive: Archive, registered: list[str]) -> list[Part]:
    account_name = _entry(archive, "account.js")
    if account_name is None:
        raise TiewatchError(f"{archive.path}: not an X archive (no data/account.js)")
    owner_rows = read_ytd(archive, account_name)
    try:
        owner = owner_rows[0]["account"]
        owner_id, owner_handle = str(owner["accountId"]), owner["username"]
    except (IndexError, KeyError, TypeError):
        raise TiewatchError(f"{archive.label(account_name)}: no account.accountId/username in it") from None
    accounts: dict[str, dict[str, Any]] = {owner_id: {"platform": PLATFORM, "account": owner_id,
                                                      "name": owner_handle, "kind": "owner"}}
    parts: list[Part] = []

    def fault(label: str, i: int, item: Any, why: str) -> dict[str, Any]:
        return {"_rec": i, "_raw": json.dumps(item)[:2000], "_fault": why}

    tweets_name = _entry(archive, "tweets.js", "tweet.js")
    if tweets_name:
        rows: list[dict[str, Any]] = []
        for i, item in enumerate(read_ytd(archive, tweets_name), 1):
            t = item.get("tweet") if isinstance(item, dict) else None
            if not isinstance(t, dict) or "id_str" not in t:
                rows.append(fault(tweets_name, i, item, "not a tweet object (expected {\"tweet\": {\"id_str\": ...}})"))
                continue
            ts = _created(t.get("created_at"))
            reply_to = t.get("in_reply_to_user_id_str")
            kind = "reply" if reply_to else "post"
            tweet_id = str(t["id_str"])
            post = str(t.get("in_reply_to_status_id_str") or tweet_id) if reply_to else tweet_id
            rows.append({"_rec": i, "id": f"x:tweet:{tweet_id}", "ts": ts, "platform": PLATFORM, "actor": owner_id,
                         "kind": kind, "target": reply_to, "post": post, "text": t.get("full_text")})
            if reply_to and t.get("in_reply_to_screen_name"):
                accounts.setdefault(str(reply_to), {"platform": PLATFORM, "account": str(reply_to),
                                                    "name": t["in_reply_to_screen_name"], "kind": None})
            entities = t.get("entities")
            mentions = entities.get("user_mentions") if isinstance(entities, dict) else None
            for m in mentions if isinstance(mentions, list) else []:
                if not isinstance(m, dict) or not m.get("id_str") or str(m["id_str"]) == str(reply_to):
                    continue
                rows.append({"_rec": i, "id": f"x:mention:{tweet_id}:{m['id_str']}", "ts": ts, "platform": PLATFORM,
                             "actor": owner_id, "kind": "mention", "target": str(m["id_str"]), "post": tweet_id})
                accounts.setdefault(str(m["id_str"]), {"platform": PLATFORM, "account": str(m["id_str"]),
                                                       "name": m.get("screen_name"), "kind": None})
        parts.append(rows_part(con, "events", rows, EVENT_COLUMNS, archive.label(tweets_name), registered))

    like_name = _entry(archive, "like.js")
    if like_name:
        rows = []
        for i, item in enumerate(read_ytd(archive, like_name), 1):
            lk = item.get("like") if isinstance(item, dict) else None
            if not isinstance(lk, dict) or not lk.get("tweetId"):
                rows.append(fault(like_name, i, item, "not a like object (expected {\"like\": {\"tweetId\": ...}})"))
                continue
            rows.append({"_rec": i, "id": f"x:like:{owner_id}:{lk['tweetId']}", "platform": PLATFORM,
                         "actor": owner_id, "kind": "like", "post": str(lk["tweetId"]), "text": lk.get("fullText"),
                         "time_unknown": "1"})
        parts.append(rows_part(con, "events", rows, EVENT_COLUMNS, archive.label(like_name), registered))

    for filename, key, outbound in (("follower.js", "follower", False), ("following.js", "following", True)):
        name = _entry(archive, filename)
        if not name:
            continue
        rows = []
        for i, item in enumerate(read_ytd(archive, name), 1):
            edge = item.get(key) if isinstance(item, dict) else None
            if not isinstance(edge, dict) or not edge.get("accountId"):
                rows.append(fault(name, i, item, f"not a {key} object (no {key}.accountId)"))
                continue
            other = str(edge["accountId"])
            actor, target = (owner_id, other) if outbound else (other, owner_id)
            rows.append({"_rec": i, "id": f"x:follow:{actor}:{target}", "platform": PLATFORM, "actor": actor,
                         "kind": "follow", "target": target, "time_unknown": "1"})
        parts.append(rows_part(con, "events", rows, EVENT_COLUMNS, archive.label(name), registered))

    parts.append(rows_part(con, "accounts", list(accounts.values()), ACCOUNT_COLUMNS,
                           archive.label(account_name), registered))
    return parts
