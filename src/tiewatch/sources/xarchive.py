"""X/Twitter archives ("Download an archive of your data"), zip or folder.

The archive's data/*.js files wrap a JSON array in `window.YTD.<name>.part0 = [...]`. Read here:
account.js (the owner; when it is missing, as in many real archives, the owner comes from manifest.js
`userInfo`), manifest.js (`window.__THAR_CONFIG`: `archiveInfo.generationDate`, when the archive was made),
tweets.js / tweet.js and their -partN files (posts, replies and mentions, with created_at; a tweet whose
text starts `RT @name:` is a repost of that account, not a post plus a mention), like.js (likes: the
archive gives the liked tweet's id and text but no time and no author), follower.js and following.js
(edges, no time). Followers and following are also a snapshot dated by generationDate (else --as-of), so
successive archives of one account are diffed into follow/unfollow events bounded by the two dates.
Accounts are keyed by numeric account id; handles become their names, so they name
accounts everywhere. Events whose time the archive does not give are stored with ts, ts_lo and ts_hi all
null: counts and ties include them, but no detector or timeline places them in time.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.sources.archive import Archive
from tiewatch.sources.base import Part, ReadOptions
from tiewatch.sources.exports import ArchiveSource, ExportNotes
from tiewatch.sources.rows import rows_part
from tiewatch.sources.snapshots import Snapshot

PLATFORM = "x"
WRAPPER = re.compile(r"^\s*window\.YTD\.[A-Za-z0-9_]+\.part\d+\s*=\s*", re.S)
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text", "time_unknown"]
ACCOUNT_COLUMNS = ["platform", "account", "name", "kind"]
RETWEET = re.compile(r"^RT @([A-Za-z0-9_]+):")
MANIFEST = re.compile(r"^\s*window\.__THAR_CONFIG\s*=\s*", re.S)


def _data_files(archive: Archive, stem: str) -> list[str]:
    """`stem`.js and its -partN.js continuations, in part order."""
    pattern = re.compile(rf"^{re.escape(stem)}(-part(\d+))?\.js$")
    found = [(int(m.group(2) or 0), n) for n in archive.names() if (m := pattern.match(n.rsplit("/", 1)[-1]))]
    return [n for _, n in sorted(found)]


def is_x_archive(archive: Archive) -> bool:
    names = archive.names()
    return any(n.endswith(("data/account.js", "data/manifest.js")) or n in ("account.js", "manifest.js")
               for n in names) and any(
        n.endswith(("tweets.js", "tweet.js", "like.js", "follower.js", "following.js")) for n in names)


def read_manifest(archive: Archive) -> dict[str, Any] | None:
    name = _entry(archive, "manifest.js")
    if name is None:
        return None
    text = archive.read_text(name)
    match = MANIFEST.match(text)
    try:
        data = json.loads(text[match.end():].rstrip().rstrip(";")) if match else None
    except json.JSONDecodeError as e:
        raise TiewatchError(f"{archive.label(name)}:{e.lineno}: bad JSON after window.__THAR_CONFIG: {e.msg}") \
            from None
    if not isinstance(data, dict):
        raise TiewatchError(f"{archive.label(name)}: expected `window.__THAR_CONFIG = {{...}}`")
    return data


def generation_date(manifest: dict[str, Any] | None) -> datetime | None:
    """archiveInfo.generationDate as naive UTC, or None."""
    text = ((manifest or {}).get("archiveInfo") or {}).get("generationDate")
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


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


def _owner(archive: Archive, manifest: dict[str, Any] | None) -> tuple[str, str | None, str]:
    """(account id, handle, where it was read) from account.js, else manifest.js userInfo."""
    account_name = _entry(archive, "account.js")
    if account_name is not None:
        owner_rows = read_ytd(archive, account_name)
        try:
            owner = owner_rows[0]["account"]
            return str(owner["accountId"]), owner["username"], archive.label(account_name)
        except (IndexError, KeyError, TypeError):
            raise TiewatchError(f"{archive.label(account_name)}: no account.accountId/username in it") from None
    info = (manifest or {}).get("userInfo")
    if isinstance(info, dict) and info.get("accountId"):
        return str(info["accountId"]), info.get("userName"), archive.label(_entry(archive, "manifest.js") or "")
    raise TiewatchError(f"{archive.path}: not an X archive, or one that does not say whose it is (no "
                        "data/account.js, and no userInfo.accountId in data/manifest.js)")


def x_archive_parts(archive: Archive,
                    as_of: datetime | None = None) -> tuple[list[Part], list[Snapshot], list[str]]:
    """(parts, follower/following snapshots, warnings) for one archive."""
    manifest = read_manifest(archive)
    owner_id, owner_handle, account_name = _owner(archive, manifest)
    taken = generation_date(manifest) or as_of
    notes = ExportNotes()
    snapshots: list[Snapshot] = []
    accounts: dict[str, dict[str, Any]] = {owner_id: {"platform": PLATFORM, "account": owner_id,
                                                      "name": owner_handle, "kind": "owner"}}
    parts: list[Part] = []

    def fault(label: str, i: int, item: Any, why: str) -> dict[str, Any]:
        return {"_rec": i, "_raw": json.dumps(item)[:2000], "_fault": why}

    tweet_layout = '{"tweet": {"id_str", "created_at", "full_text", ...}}'
    for tweets_name in _data_files(archive, "tweets") or _data_files(archive, "tweet"):
        rows: list[dict[str, Any]] = []
        items = read_ytd(archive, tweets_name)
        for i, item in enumerate(items, 1):
            t = item.get("tweet") if isinstance(item, dict) else None
            if not isinstance(t, dict) or "id_str" not in t:
                rows.append(fault(tweets_name, i, item, "not a tweet object (expected {\"tweet\": {\"id_str\": ...}})"))
                continue
            ts = _created(t.get("created_at"))
            reply_to = t.get("in_reply_to_user_id_str")
            tweet_id = str(t["id_str"])
            entities = t.get("entities")
            listed = entities.get("user_mentions") if isinstance(entities, dict) else None
            mentions = ([m for m in listed if isinstance(m, dict) and m.get("id_str")]
                        if isinstance(listed, list) else [])
            retweet = RETWEET.match(str(t.get("full_text") or ""))
            if retweet and not reply_to:
                # A retweet: a repost of the account named after "RT @" (its id from the mentions); the other
                # mentions are the original author's, not the owner's.
                shown = retweet.group(1).lower()
                author = next((m for m in mentions if str(m.get("screen_name") or "").lower() == shown), None)
                rows.append({"_rec": i, "id": f"x:tweet:{tweet_id}", "ts": ts, "platform": PLATFORM,
                             "actor": owner_id, "kind": "repost", "target": str(author["id_str"]) if author else None,
                             "post": tweet_id, "text": t.get("full_text")})
                if author:
                    accounts.setdefault(str(author["id_str"]), {"platform": PLATFORM, "account": str(author["id_str"]),
                                                                "name": author.get("screen_name"), "kind": None})
                continue
            kind = "reply" if reply_to else "post"
            post = str(t.get("in_reply_to_status_id_str") or tweet_id) if reply_to else tweet_id
            rows.append({"_rec": i, "id": f"x:tweet:{tweet_id}", "ts": ts, "platform": PLATFORM, "actor": owner_id,
                         "kind": kind, "target": reply_to, "post": post, "text": t.get("full_text")})
            if reply_to and t.get("in_reply_to_screen_name"):
                accounts.setdefault(str(reply_to), {"platform": PLATFORM, "account": str(reply_to),
                                                    "name": t["in_reply_to_screen_name"], "kind": None})
            for m in mentions:
                if str(m["id_str"]) == str(reply_to):
                    continue
                rows.append({"_rec": i, "id": f"x:mention:{tweet_id}:{m['id_str']}", "ts": ts, "platform": PLATFORM,
                             "actor": owner_id, "kind": "mention", "target": str(m["id_str"]), "post": tweet_id})
                accounts.setdefault(str(m["id_str"]), {"platform": PLATFORM, "account": str(m["id_str"]),
                                                       "name": m.get("screen_name"), "kind": None})
        notes.check(archive.label(tweets_name), len(items), sum(1 for r in rows if r.get("_fault")), tweet_layout)
        parts.append(rows_part("events", rows, EVENT_COLUMNS, archive.label(tweets_name)))

    like_layout = '{"like": {"tweetId", "fullText"}}'
    for like_name in _data_files(archive, "like"):
        rows = []
        items = read_ytd(archive, like_name)
        for i, item in enumerate(items, 1):
            lk = item.get("like") if isinstance(item, dict) else None
            if not isinstance(lk, dict) or not lk.get("tweetId"):
                rows.append(fault(like_name, i, item, "not a like object (expected {\"like\": {\"tweetId\": ...}})"))
                continue
            rows.append({"_rec": i, "id": f"x:like:{owner_id}:{lk['tweetId']}", "platform": PLATFORM,
                         "actor": owner_id, "kind": "like", "post": str(lk["tweetId"]), "text": lk.get("fullText"),
                         "time_unknown": "1"})
        notes.check(archive.label(like_name), len(items), sum(1 for r in rows if r.get("_fault")), like_layout)
        parts.append(rows_part("events", rows, EVENT_COLUMNS, archive.label(like_name)))

    for stem, key, outbound in (("follower", "follower", False), ("following", "following", True)):
        names = _data_files(archive, stem)
        if not names:
            continue
        members: set[str] = set()
        complete = True
        for name in names:
            rows = []
            items = read_ytd(archive, name)
            for i, item in enumerate(items, 1):
                edge = item.get(key) if isinstance(item, dict) else None
                if not isinstance(edge, dict) or not edge.get("accountId"):
                    rows.append(fault(name, i, item, f"not a {key} object (no {key}.accountId)"))
                    continue
                other = str(edge["accountId"])
                members.add(other)
                actor, target = (owner_id, other) if outbound else (other, owner_id)
                rows.append({"_rec": i, "id": f"x:follow:{actor}:{target}", "platform": PLATFORM, "actor": actor,
                             "kind": "follow", "target": target, "time_unknown": "1"})
            faults = sum(1 for r in rows if r.get("_fault"))
            notes.check(archive.label(name), len(items), faults, f'{{"{key}": {{"accountId", "userLink"}}}}')
            complete = complete and faults == 0
            parts.append(rows_part("events", rows, EVENT_COLUMNS, archive.label(name)))
        direction = "following" if outbound else "followers"
        if not complete:
            notes.note(f"no {direction} snapshot taken from {archive.path}: some of its {key} records are "
                       "unreadable, and a partial list would look like unfollows")
        elif taken is None:
            notes.note(f"{archive.path}: no {direction} snapshot taken: no data/manifest.js generationDate says "
                       "when the archive was made; give it with --as-of YYYY-MM-DD so later archives can be "
                       "compared with this one")
        else:
            snapshots.append(Snapshot(PLATFORM, owner_id, direction, frozenset(members), taken))

    parts.append(rows_part("accounts", list(accounts.values()), ACCOUNT_COLUMNS, account_name))
    return parts, snapshots, notes.warnings


class XArchiveSource(ArchiveSource):
    """X/Twitter archives, zipped or unpacked."""

    name = "x"
    formats = ("x",)

    def recognises(self, archive: Archive) -> bool:
        return is_x_archive(archive)

    def take(self, archive: Archive, options: ReadOptions) -> tuple[list[Part], list[Snapshot], list[str]]:
        return x_archive_parts(archive, options.as_of)
