"""Instagram "Download your information" exports in JSON, zip or folder.

Read (found by file name wherever the export's version put them): personal_information.json (the owner's
username), followers_N.json and following.json (`relationships_following`), liked_posts.json
(`likes_media_likes`), post_comments_N.json, posts_N.json and stories.json (`ig_stories`). Edge and like
entries carry `string_list_data: [{href, value, timestamp}]`. Followers and following also become a
snapshot taken when the export was made, so a second export of the same account turns the difference
into follow/unfollow events with the interval between the two exports as their time bounds.
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
from tiewatch.sources.snapshots import Snapshot

PLATFORM = "instagram"
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text"]
ACCOUNT_COLUMNS = ["platform", "account", "name"]
FOLLOWERS = re.compile(r"^followers(_\d+)?\.json$")


def is_instagram_export(archive: Archive) -> bool:
    names = [n.rsplit("/", 1)[-1] for n in archive.names()]
    return any(FOLLOWERS.match(n) or n in ("following.json", "liked_posts.json") for n in names) and not any(
        n.endswith(".js") for n in names)


def _load(archive: Archive, name: str) -> Any:
    text = archive.read_text(name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TiewatchError(f"{archive.label(name)}:{e.lineno}: bad JSON: {e.msg}") from None
    except RecursionError:
        raise TiewatchError(f"{archive.label(name)}: JSON nested too deeply to read") from None


def _list(archive: Archive, name: str, key: str | None) -> list[Any]:
    data = _load(archive, name)
    if key is not None and isinstance(data, dict):
        data = data.get(key)
    if not isinstance(data, list):
        shape = f'an object with "{key}": [...]' if key else "a JSON array"
        raise TiewatchError(f"{archive.label(name)}: wrong shape: expected {shape}")
    return data


def _owner(archive: Archive) -> str:
    for name in archive.find("personal_information.json"):
        data = _load(archive, name)
        try:
            return str(data["profile_user"][0]["string_map_data"]["Username"]["value"])
        except (KeyError, IndexError, TypeError):
            raise TiewatchError(f"{archive.label(name)}: no profile_user Username in it") from None
    match = re.search(r"instagram-([A-Za-z0-9._]+)-\d{4}-\d{2}-\d{2}", archive.path.name)
    if match:
        return match.group(1)
    raise TiewatchError(f"{archive.path}: cannot tell whose export this is (no personal_information.json and the "
                        "name is not instagram-USERNAME-DATE)")


def _export_time(archive: Archive) -> datetime | None:
    """When the export was made: the date Instagram puts in its name (instagram-USER-YYYY-MM-DD-...), else the
    zip's own entry times. A folder's file times are not trusted (a copy or checkout resets them)."""
    match = re.search(r"-(\d{4})-(\d{2})-(\d{2})", archive.path.name)
    if match:
        try:
            return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise TiewatchError(f"{archive.path}: the date in its name ({match.group(0)[1:]}) is not a real date; "
                                "rename it to the date the export was made (instagram-USER-YYYY-MM-DD-...)") from None
    if archive.path.is_file():
        stamp = archive.newest_entry_time()
        return datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None) if stamp else None
    return None


def _iso(ts: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(ts), UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None if ts is None else str(ts)


def _value(obj: Any, key: str) -> Any:
    """obj[key] when obj is an object, else None (exports change shape between versions)."""
    return obj.get(key) if isinstance(obj, dict) else None


def _string_list(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    data = item.get("string_list_data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    return {"title": item.get("title"), **data[0]}


def instagram_parts(con: duckdb.DuckDBPyConnection, archive: Archive,
                    registered: list[str]) -> tuple[list[Part], list[Snapshot]]:
    owner = _owner(archive)
    taken = _export_time(archive)
    parts: list[Part] = []
    snapshots: list[Snapshot] = []
    events_by_entry: dict[str, list[dict[str, Any]]] = {}

    def bad(i: int, item: Any, why: str) -> dict[str, Any]:
        return {"_rec": i, "_raw": json.dumps(item, ensure_ascii=False)[:2000], "_fault": why}

    def edges(names: list[str], key: str | None, direction: str) -> None:
        members: set[str] = set()
        for name in names:
            rows = events_by_entry.setdefault(name, [])
            for i, item in enumerate(_list(archive, name, key), 1):
                sld = _string_list(item)
                user = (sld or {}).get("value") or (sld or {}).get("title")
                if not sld or not user:
                    rows.append(bad(i, item, "wrong shape: expected string_list_data with value and timestamp"))
                    continue
                members.add(str(user))
                actor, target = (str(user), owner) if direction == "followers" else (owner, str(user))
                rows.append({"_rec": i, "id": f"ig:follow:{actor}:{target}", "ts": _iso(sld.get("timestamp")),
                             "platform": PLATFORM, "actor": actor, "kind": "follow", "target": target})
        if names and taken is not None:
            snapshots.append(Snapshot(PLATFORM, owner, direction, frozenset(members), taken))

    edges([n for n in archive.names() if FOLLOWERS.match(n.rsplit("/", 1)[-1])], None, "followers")
    edges(archive.find("following.json"), "relationships_following", "following")

    for name in archive.find("liked_posts.json"):
        rows = events_by_entry.setdefault(name, [])
        for i, item in enumerate(_list(archive, name, "likes_media_likes"), 1):
            sld = _string_list(item)
            if not sld or not sld.get("href"):
                rows.append(bad(i, item, "wrong shape: expected title and string_list_data with href"))
                continue
            rows.append({"_rec": i, "id": f"ig:like:{owner}:{sld['href']}", "ts": _iso(sld.get("timestamp")),
                         "platform": PLATFORM, "actor": owner, "kind": "like", "target": sld.get("title"),
                         "post": sld["href"]})

    for name in archive.find_prefix("post_comments"):
        rows = events_by_entry.setdefault(name, [])
        data = _load(archive, name)
        items = data.get("comments_media_comments", data) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise TiewatchError(f"{archive.label(name)}: wrong shape: expected a JSON array of comments")
        for i, item in enumerate(items, 1):
            smd = item.get("string_map_data") if isinstance(item, dict) else None
            if not isinstance(smd, dict) or "Time" not in smd:
                rows.append(bad(i, item, "wrong shape: expected string_map_data with Comment, Media Owner, Time"))
                continue
            ts = _iso(_value(smd["Time"], "timestamp"))
            text = _value(smd.get("Comment"), "value")
            owner_of = _value(smd.get("Media Owner"), "value")
            rows.append({"_rec": i, "id": f"ig:comment:{owner}:{ts}:{owner_of}", "ts": ts, "platform": PLATFORM,
                         "actor": owner, "kind": "comment", "target": owner_of, "text": text})

    for name, key, kind in ([(n, None, "post") for n in archive.find_prefix("posts_")]
                            + [(n, "ig_stories", "story") for n in archive.find("stories.json")]):
        rows = events_by_entry.setdefault(name, [])
        for i, item in enumerate(_list(archive, name, key), 1):
            media = item.get("media") if isinstance(item, dict) and "media" in item else [item]
            first = media[0] if isinstance(media, list) and media and isinstance(media[0], dict) else None
            if first is None or not first.get("uri"):
                rows.append(bad(i, item, "wrong shape: expected media with uri and creation_timestamp"))
                continue
            ts = _iso(item.get("creation_timestamp") or first.get("creation_timestamp"))
            rows.append({"_rec": i, "id": f"ig:{kind}:{first['uri']}", "ts": ts, "platform": PLATFORM, "actor": owner,
                         "kind": kind, "post": first["uri"], "text": item.get("title") or first.get("title") or None})

    for name, rows in events_by_entry.items():
        parts.append(rows_part(con, "events", rows, EVENT_COLUMNS, archive.label(name), registered))
    parts.append(rows_part(con, "accounts", [{"platform": PLATFORM, "account": owner, "name": None}],
                           ACCOUNT_COLUMNS, str(archive.path), registered))
    return parts, snapshots
