"""Instagram "Download your information" exports in JSON, zip or folder.

Read, by their known paths (a file elsewhere that merely shares a prefix, such as
ads_information/ads_and_topics/posts_viewed.json, is not the owner's and is never read):
personal_information.json (the owner's username); followers_N.json / followers.json and following.json
(`relationships_following`); recently_unfollowed_profiles.json (`relationships_unfollowed_users`: the
owner's unfollows with exact times, 2024+); liked_posts.json, both layouts (until 2024
`{"likes_media_likes": [{title, string_list_data}]}`, from 2025 a top-level list of `{timestamp,
label_values: [{label: "URL", ...}, {title: "Owner", dict: [{dict: [{label: "Username", value}]}]}], fbid}`);
comments/post_comments_N.json; content/posts_N.json and content/stories.json (`ig_stories`), in
media/ instead of content/ from about 2025. Edge entries
carry `string_list_data: [{href, value, timestamp}]`; newer exports leave `value` out and put the name in
`title` or only in an `https://www.instagram.com/_u/NAME` href. Text from older exports (UTF-8 written as
Latin-1 escapes) is repaired where the repair round-trips.

Followers and following also become a snapshot dated when the export was made (the date in the export's
name, else a zip's entry times, else `--as-of`), so a second export turns the difference into follow/unfollow
events whose time is the interval between the two exports. A known file whose records cannot be read is
reported as format drift (see sources/exports.py) and then gives no snapshot.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.sources.archive import Archive
from tiewatch.sources.base import Part, ReadOptions
from tiewatch.sources.exports import ArchiveSource, ExportNotes, repair_tree
from tiewatch.sources.rows import rows_part
from tiewatch.sources.snapshots import Snapshot

PLATFORM = "instagram"
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text"]
ACCOUNT_COLUMNS = ["platform", "account", "name"]
FOLLOWERS = re.compile(r"^followers(_\d+)?\.json$")
POSTS = re.compile(r"^posts_\d+\.json$")
COMMENTS = re.compile(r"^post_comments(_\d+)?\.json$")
EDGE_LAYOUT = "entries with string_list_data: [{href, value, timestamp}] (or title and an /_u/NAME href)"
LIKES_LAYOUT = ('{"likes_media_likes": [{title, string_list_data: [{href, timestamp}]}]} (until 2024) or a list '
                'of {timestamp, label_values: [{label: "URL"}, {title: "Owner", dict: [...Username...]}]} (2025+)')


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _parent(name: str) -> str:
    parts = PurePosixPath(name).parts
    return parts[-2] if len(parts) > 1 else ""


def is_instagram_export(archive: Archive) -> bool:
    names = [_base(n) for n in archive.names()]
    return any(FOLLOWERS.match(n) or n in ("following.json", "liked_posts.json", "recently_unfollowed_profiles.json")
               for n in names) and not any(n.endswith(".js") for n in names)


def _load(archive: Archive, name: str) -> Any:
    text = archive.read_text(name)
    try:
        return repair_tree(json.loads(text))
    except json.JSONDecodeError as e:
        raise TiewatchError(f"{archive.label(name)}:{e.lineno}: bad JSON: {e.msg}") from None
    except RecursionError:
        raise TiewatchError(f"{archive.label(name)}: JSON nested too deeply to read") from None


def _list(archive: Archive, name: str, key: str | None, notes: ExportNotes, layout: str) -> list[Any] | None:
    """The file's records, or None (noted as format drift) when the file is not the shape expected."""
    data = _load(archive, name)
    if key is not None and isinstance(data, dict):
        data = data.get(key)
    if not isinstance(data, list):
        shape = f'an object with "{key}": [...]' if key else "a JSON array"
        notes.wrong_shape(archive.label(name), f"{shape} of {layout}")
        return None
    return data


def _owner(archive: Archive) -> str:
    """The owner's username: personal_information.json, else the export's name (instagram-USERNAME-DATE-...)."""
    unreadable = []
    for name in archive.find("personal_information.json"):
        data = _load(archive, name)
        try:
            return str(data["profile_user"][0]["string_map_data"]["Username"]["value"])
        except (KeyError, IndexError, TypeError):
            unreadable.append(archive.label(name))
    match = re.search(r"instagram-([A-Za-z0-9._]+)-\d{4}-\d{2}-\d{2}", archive.path.name)
    if match:
        return match.group(1)
    found = f"no profile_user Username in {', '.join(unreadable)}" if unreadable else "no personal_information.json"
    raise TiewatchError(f"{archive.path}: cannot tell whose export this is ({found}, and the name is not "
                        "instagram-USERNAME-YYYY-MM-DD-...): ingest the whole export as Instagram named it, or put "
                        "these files in a folder named that way")


def _export_time(archive: Archive, as_of: datetime | None) -> datetime | None:
    """When the export was made: the date Instagram puts in its name (instagram-USER-YYYY-MM-DD-...), else the zip's
    own entry times, else --as-of. A folder's file times are not trusted (a copy or checkout resets them)."""
    match = re.search(r"-(\d{4})-(\d{2})-(\d{2})", archive.path.name)
    if match:
        try:
            return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise TiewatchError(f"{archive.path}: the date in its name ({match.group(0)[1:]}) is not a real date; "
                                "rename it to the date the export was made (instagram-USER-YYYY-MM-DD-...)") from None
    if archive.path.is_file():
        stamp = archive.newest_entry_time()
        if stamp:
            return datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)
    return as_of


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


def _user(sld: dict[str, Any]) -> str | None:
    """The account an edge entry names: `value`, else `title` (2025+), else the href's last path part
    (`https://www.instagram.com/_u/NAME` or `https://www.instagram.com/NAME`)."""
    for key in ("value", "title"):
        if isinstance(sld.get(key), str) and sld[key].strip():
            return str(sld[key]).strip()
    href = sld.get("href")
    if isinstance(href, str):
        match = re.match(r"^https?://(?:www\.)?instagram\.com/(?:_u/)?([A-Za-z0-9._]+)/?$", href.strip())
        if match:
            return match.group(1)
    return None


def _find_label(node: Any, label: str) -> str | None:
    """The value of the first {"label": label, "value": ...} anywhere under node (2025+ label_values)."""
    if isinstance(node, dict):
        if node.get("label") == label and isinstance(node.get("value") or node.get("href"), str):
            return str(node.get("value") or node.get("href"))
        children: Any = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_label(child, label)
        if found:
            return found
    return None


def _like(item: Any) -> tuple[str, Any, str | None] | None:
    """(post URL, timestamp, post author) from a like in either layout, or None."""
    sld = _string_list(item)
    if sld and sld.get("href"):
        return str(sld["href"]), sld.get("timestamp"), sld.get("title") or None
    if isinstance(item, dict) and isinstance(item.get("label_values"), list):
        values = item["label_values"]
        url = next((_find_label(v, "URL") for v in values if isinstance(v, dict) and v.get("label") == "URL"), None)
        owner = next((_find_label(v, "Username") for v in values if isinstance(v, dict) and v.get("title") == "Owner"),
                     None)
        if url:
            return url, item.get("timestamp"), owner
    return None


def instagram_parts(archive: Archive,
                    as_of: datetime | None = None) -> tuple[list[Part], list[Snapshot], list[str]]:
    """(parts, snapshots, warnings) for one export."""
    owner = _owner(archive)
    taken = _export_time(archive, as_of)
    notes = ExportNotes()
    parts: list[Part] = []
    snapshots: list[Snapshot] = []
    events_by_entry: dict[str, list[dict[str, Any]]] = {}

    def bad(i: int, item: Any, why: str) -> dict[str, Any]:
        return {"_rec": i, "_raw": json.dumps(item, ensure_ascii=False)[:2000], "_fault": why}

    def edges(names: list[str], key: str | None, direction: str) -> None:
        members: set[str] = set()
        complete = bool(names)
        for name in names:
            rows = events_by_entry.setdefault(name, [])
            items = _list(archive, name, key, notes, EDGE_LAYOUT)
            if items is None:
                complete = False
                continue
            faults = 0
            for i, item in enumerate(items, 1):
                sld = _string_list(item)
                user = _user(sld) if sld else None
                if not sld or not user:
                    faults += 1
                    rows.append(bad(i, item, f"wrong shape: expected {EDGE_LAYOUT}"))
                    continue
                members.add(user)
                actor, target = (user, owner) if direction == "followers" else (owner, user)
                rows.append({"_rec": i, "id": f"ig:follow:{actor}:{target}", "ts": _iso(sld.get("timestamp")),
                             "platform": PLATFORM, "actor": actor, "kind": "follow", "target": target})
            notes.check(archive.label(name), len(items), faults, EDGE_LAYOUT)
            complete = complete and faults == 0
        if not names:
            return
        if not complete:
            notes.note(f"no {direction} snapshot taken from {archive.path}: some of its {direction} records are "
                       "unreadable, and a partial list would look like unfollows")
        elif taken is None:
            notes.note(f"{archive.path}: no {direction} snapshot taken: the export's date is not in its name "
                       "(instagram-USER-YYYY-MM-DD-...) nor in its files; give it with --as-of YYYY-MM-DD so later "
                       "exports can be compared with this one")
        else:
            snapshots.append(Snapshot(PLATFORM, owner, direction, frozenset(members), taken))

    edges([n for n in archive.names() if FOLLOWERS.match(_base(n))], None, "followers")
    edges(archive.find("following.json"), "relationships_following", "following")

    for name in archive.find("recently_unfollowed_profiles.json"):
        rows = events_by_entry.setdefault(name, [])
        items = _list(archive, name, "relationships_unfollowed_users", notes, EDGE_LAYOUT)
        faults = 0
        for i, item in enumerate(items or [], 1):
            sld = _string_list(item)
            user = _user(sld) if sld else None
            ts = _iso(sld.get("timestamp")) if sld else None
            if not sld or not user or ts is None:
                faults += 1
                rows.append(bad(i, item, f"wrong shape: expected {EDGE_LAYOUT}"))
                continue
            rows.append({"_rec": i, "id": f"ig:unfollow:{owner}:{user}:{sld.get('timestamp')}", "ts": ts,
                         "platform": PLATFORM, "actor": owner, "kind": "unfollow", "target": user})
        if items is not None:
            notes.check(archive.label(name), len(items), faults, EDGE_LAYOUT)

    for name in archive.find("liked_posts.json"):
        rows = events_by_entry.setdefault(name, [])
        items = _list(archive, name, "likes_media_likes", notes, LIKES_LAYOUT)
        faults = 0
        for i, item in enumerate(items or [], 1):
            like = _like(item)
            if like is None:
                faults += 1
                rows.append(bad(i, item, f"wrong shape: expected {LIKES_LAYOUT}"))
                continue
            href, ts, author = like
            rows.append({"_rec": i, "id": f"ig:like:{owner}:{href}", "ts": _iso(ts), "platform": PLATFORM,
                         "actor": owner, "kind": "like", "target": author, "post": href})
        if items is not None:
            notes.check(archive.label(name), len(items), faults, LIKES_LAYOUT)

    comment_layout = "string_map_data with Comment, Media Owner and Time"
    for name in [n for n in archive.names() if COMMENTS.match(_base(n))]:
        rows = events_by_entry.setdefault(name, [])
        data = _load(archive, name)
        items = data.get("comments_media_comments", data) if isinstance(data, dict) else data
        if not isinstance(items, list):
            notes.wrong_shape(archive.label(name), f"a JSON array of {comment_layout}")
            continue
        faults = 0
        for i, item in enumerate(items, 1):
            smd = item.get("string_map_data") if isinstance(item, dict) else None
            if not isinstance(smd, dict) or not isinstance(smd.get("Time"), dict):
                faults += 1
                rows.append(bad(i, item, f"wrong shape: expected {comment_layout}"))
                continue
            ts = _iso(_value(smd["Time"], "timestamp"))
            text = _value(smd.get("Comment"), "value")
            owner_of = _value(smd.get("Media Owner"), "value")
            rows.append({"_rec": i, "id": f"ig:comment:{owner}:{ts}:{owner_of}", "ts": ts, "platform": PLATFORM,
                         "actor": owner, "kind": "comment", "target": owner_of, "text": text})
        notes.check(archive.label(name), len(items), faults, comment_layout)

    media_layout = "media: [{uri, creation_timestamp, title}]"
    content = [n for n in archive.names() if _parent(n) in ("content", "media")]  # media/ from about 2025
    for name, key, kind in ([(n, None, "post") for n in content if POSTS.match(_base(n))]
                            + [(n, "ig_stories", "story") for n in content if _base(n) == "stories.json"]):
        rows = events_by_entry.setdefault(name, [])
        items = _list(archive, name, key, notes, media_layout)
        faults = 0
        for i, item in enumerate(items or [], 1):
            media = item.get("media") if isinstance(item, dict) and "media" in item else [item]
            first = media[0] if isinstance(media, list) and media and isinstance(media[0], dict) else None
            if first is None or not first.get("uri"):
                faults += 1
                rows.append(bad(i, item, f"wrong shape: expected {media_layout}"))
                continue
            ts = _iso(item.get("creation_timestamp") or first.get("creation_timestamp"))
            rows.append({"_rec": i, "id": f"ig:{kind}:{first['uri']}", "ts": ts, "platform": PLATFORM, "actor": owner,
                         "kind": kind, "post": first["uri"], "text": item.get("title") or first.get("title") or None})
        if items is not None:
            notes.check(archive.label(name), len(items), faults, media_layout)

    for name, rows in events_by_entry.items():
        if rows:
            parts.append(rows_part("events", rows, EVENT_COLUMNS, archive.label(name)))
    parts.append(rows_part("accounts", [{"platform": PLATFORM, "account": owner, "name": None}],
                           ACCOUNT_COLUMNS, str(archive.path)))
    return parts, snapshots, notes.warnings


class InstagramSource(ArchiveSource):
    """Instagram "Download your information" exports in JSON, zipped or unpacked."""

    name = "instagram"
    formats = ("instagram",)

    def recognises(self, archive: Archive) -> bool:
        return is_instagram_export(archive)

    def take(self, archive: Archive, options: ReadOptions) -> tuple[list[Part], list[Snapshot], list[str]]:
        return instagram_parts(archive, options.as_of)
