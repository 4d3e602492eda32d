"""Follower-list snapshots: who followed an account (or whom it followed) at a time.

A snapshot is (platform, account, direction = followers | following, members, taken). Generic snapshot files
are JSON Lines with fields ts, platform, account, direction and members; this source reads them into
`Snapshot`s, and ingest diffs each against its stored neighbours into follow and unfollow events
(`ingest.snapshots`; exports ingested out of order are handled there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.sources.base import Reading, ReadOptions
from tiewatch.sources.files import InputFile, open_binary, recognise


@dataclass(frozen=True)
class Snapshot:
    platform: str
    account: str
    direction: str  # "followers" or "following"
    members: frozenset[str]
    taken: datetime


def parse_snapshot_lines(text: str, label: str) -> list[Snapshot]:
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
            taken = datetime.fromisoformat(str(obj["ts"]).replace("Z", "+00:00"))
            if taken.tzinfo is not None:
                taken = taken.astimezone(UTC).replace(tzinfo=None)
            members = obj["members"]
            if not isinstance(members, list):
                raise TypeError("members must be a list")
            out.append(Snapshot(str(obj.get("platform") or "generic"), str(obj["account"]), str(obj["direction"]),
                                frozenset(str(m) for m in members), taken))
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as e:
            raise TiewatchError(f"{label}:{lineno}: not a snapshot ({type(e).__name__}: {e})") from None
    return out


MAX_SNAPSHOT_BYTES = 1 << 30


class SnapshotsSource:
    """Generic follower-list snapshots (*.snapshots.jsonl): each diffed against its stored neighbours."""

    name = "snapshots"
    formats = ("snapshots",)
    container = False

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.name.lower().endswith(("snapshots.jsonl", ".snapshots.jsonl"))

    def read(self, path: Path, options: ReadOptions) -> Reading:
        inp = recognise(path, "jsonl")
        with open_binary(inp.path, inp.compression) as f:
            data = f.read(MAX_SNAPSHOT_BYTES + 1)
        if len(data) > MAX_SNAPSHOT_BYTES:
            raise TiewatchError(f"{path}: snapshot files are read whole; this one is over {MAX_SNAPSHOT_BYTES:,} "
                                "bytes (split it)")
        try:
            text = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            raise TiewatchError(f"{path}: not valid UTF-8 text (byte {e.start})") from None
        snaps = sorted(parse_snapshot_lines(text, str(path)), key=lambda s: s.taken)  # each diffed against the
        return Reading(InputFile(path, self.name, inp.compression), snapshots=snaps)  # one before it in time
