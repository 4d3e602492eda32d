"""Instaloader output folders (github.com/instaloader/instaloader): per-post metadata JSON and comment files.

Instaloader saves, per profile folder, `<date>_UTC.json` (or `.json.xz`, its default) for each post:
`{"node": {"shortcode", "taken_at_timestamp", "owner": {"id", "username"}, "edge_media_to_caption":
{"edges": [{"node": {"text"}}]}, ...}, "instaloader": {"node_type": "Post", "version"}}`; with --comments,
`<date>_UTC_comments.json`: `[{"id", "created_at", "text", "owner": {"username"}, "answers": [...]}]`; and
`<profile>_<id>.json(.xz)` with the profile (`username`, `full_name`). Posts become post events, comments
comment events on the post's owner, answers reply events to the comment's author.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.sources.archive import Archive, bounded_decompress
from tiewatch.sources.base import Part, ReadOptions
from tiewatch.sources.exports import ArchiveSource
from tiewatch.sources.instagram import _iso
from tiewatch.sources.rows import rows_part
from tiewatch.sources.snapshots import Snapshot

PLATFORM = "instagram"
POST_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC(_\d+)?\.json(\.xz)?$")
COMMENTS_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC)_comments\.json$")
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text"]
ACCOUNT_COLUMNS = ["platform", "account", "name"]


def is_instaloader_folder(archive: Archive) -> bool:
    return any(POST_FILE.match(PurePosixPath(n).name) for n in archive.names())


def _json(archive: Archive, name: str) -> Any:
    data = archive.read_bytes(name)
    if name.endswith(".xz"):
        data = bounded_decompress(data, "xz", archive.label(name))
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise TiewatchError(f"{archive.label(name)}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise TiewatchError(f"{archive.label(name)}:{e.lineno}: bad JSON: {e.msg}") from None
    except RecursionError:
        raise TiewatchError(f"{archive.label(name)}: JSON nested too deeply to read") from None


def _path(obj: Any, *steps: str | int) -> Any:
    """obj[step][step]... when every step exists with the expected shape, else None."""
    for step in steps:
        if isinstance(step, int):
            obj = obj[step] if isinstance(obj, list) and len(obj) > step else None
        else:
            obj = obj.get(step) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def instaloader_parts(archive: Archive) -> list[Part]:
    posts: list[dict[str, Any]] = []
    accounts: dict[str, dict[str, Any]] = {}
    owner_of: dict[str, tuple[str | None, str | None]] = {}  # post file stem -> (shortcode, owner)
    parts: list[Part] = []
    for name in archive.names():
        base = PurePosixPath(name).name
        if not POST_FILE.match(base):
            if re.match(r".+_\d+\.json(\.xz)?$", base) and "_UTC" not in base:
                data = _json(archive, name)
                node = data.get("node") if isinstance(data, dict) else None
                if isinstance(node, dict) and node.get("username"):
                    accounts[node["username"]] = {"platform": PLATFORM, "account": node["username"],
                                                  "name": node.get("full_name") or None}
            continue
        data = _json(archive, name)
        node = data.get("node") if isinstance(data, dict) else None
        rec = len(posts) + 1
        if not isinstance(node, dict) or not node.get("shortcode") or not isinstance(node.get("owner"), dict):
            posts.append({"_rec": rec, "_raw": json.dumps(data)[:2000],
                          "_fault": f"{archive.label(name)}: not an Instaloader post (node.shortcode, node.owner)"})
            continue
        owner = node["owner"].get("username") or str(node["owner"].get("id"))
        caption = _path(node, "edge_media_to_caption", "edges", 0, "node", "text")
        shortcode = str(node["shortcode"])
        posts.append({"_rec": rec, "id": f"ig:p:{shortcode}", "ts": _iso(node.get("taken_at_timestamp")),
                      "platform": PLATFORM, "actor": owner, "kind": "post", "post": shortcode, "text": caption})
        stem = base.split(".json")[0]
        owner_of[stem] = (shortcode, owner)
    if posts:
        parts.append(rows_part("events", posts, EVENT_COLUMNS, str(archive.path)))
    for name in archive.names():
        match = COMMENTS_FILE.match(PurePosixPath(name).name)
        if not match:
            continue
        post_code, post_owner = owner_of.get(match.group(1)) or (None, None)
        data = _json(archive, name)
        if not isinstance(data, list):
            raise TiewatchError(f"{archive.label(name)}: wrong shape: expected a JSON array of comments")
        rows: list[dict[str, Any]] = []
        for i, c in enumerate(data, 1):
            if not isinstance(c, dict) or not isinstance(c.get("owner"), dict) or "created_at" not in c:
                rows.append({"_rec": i, "_raw": json.dumps(c)[:2000],
                             "_fault": "not an Instaloader comment (owner, created_at)"})
                continue
            author = c["owner"].get("username") or str(c["owner"].get("id"))
            rows.append({"_rec": i, "id": f"ig:c:{c.get('id')}", "ts": _iso(c["created_at"]), "platform": PLATFORM,
                         "actor": author, "kind": "comment", "target": post_owner, "post": post_code,
                         "text": c.get("text")})
            answers = c.get("answers")
            for a in answers if isinstance(answers, list) else []:
                if isinstance(a, dict) and isinstance(a.get("owner"), dict) and "created_at" in a:
                    rows.append({"_rec": i, "id": f"ig:c:{a.get('id')}", "ts": _iso(a["created_at"]),
                                 "platform": PLATFORM, "actor": a["owner"].get("username"), "kind": "reply",
                                 "target": author, "post": post_code, "text": a.get("text")})
        parts.append(rows_part("events", rows, EVENT_COLUMNS, archive.label(name)))
    if accounts:
        parts.append(rows_part("accounts", list(accounts.values()), ACCOUNT_COLUMNS, str(archive.path)))
    return parts


class InstaloaderSource(ArchiveSource):
    """Folders (or zips) that Instaloader wrote: posts, comments, profiles."""

    name = "instaloader"
    formats = ("instaloader",)

    def recognises(self, archive: Archive) -> bool:
        return is_instaloader_folder(archive)

    def take(self, archive: Archive, options: ReadOptions) -> tuple[list[Part], list[Snapshot], list[str]]:
        return instaloader_parts(archive), [], []
