"""Follower-list snapshots: who followed an account (or whom it followed) at a time, diffed into events.

A snapshot is (platform, account, direction = followers | following, members, taken). Ingesting one stores
its members and compares them with the latest earlier snapshot of the same list: members that vanished
become unfollow events and new members follow events, each known only to lie between the two snapshots
(ts_lo = the earlier snapshot, ts_hi = this one; ts = ts_hi, when it was seen). A first snapshot yields no
events. Generic snapshot files are JSON Lines with fields ts, platform, account, direction and members.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from tiewatch.errors import TiewatchError
from tiewatch.sources.generic import sql_str

_counter = itertools.count()


@dataclass(frozen=True)
class Snapshot:
    platform: str
    account: str
    direction: str  # "followers" or "following"
    members: frozenset[str]
    taken: datetime


def snapshot_statements(con: duckdb.DuckDBPyConnection, snap: Snapshot, source: str,
                        registered: list[str], earlier: list[Snapshot] | None = None) -> list[str]:
    """SQL that stores the snapshot and adds its diff events, to run inside the ingest transaction."""
    if snap.direction not in ("followers", "following"):
        raise TiewatchError(f"{source}: snapshot direction must be followers or following, not {snap.direction!r}")
    name = f"tw_snap_{next(_counter)}"
    con.register(name, pa.table({"member": pa.array(sorted(snap.members), pa.string())}))
    registered.append(name)
    platform, account, direction = sql_str(snap.platform), sql_str(snap.account), sql_str(snap.direction)
    taken = f"TIMESTAMP '{snap.taken.isoformat(sep=' ')}'"
    key = f"platform = {platform} AND account = {account} AND direction = {direction}"
    prev_rows = con.execute(f"SELECT max(taken) FROM snapshots WHERE {key} AND taken < {taken}").fetchall()
    prev = prev_rows[0][0] if prev_rows else None
    for other in earlier or []:  # snapshots of the same ingest, stored earlier in the same transaction
        same = (other.platform, other.account, other.direction) == (snap.platform, snap.account, snap.direction)
        if same and other.taken < snap.taken and (prev is None or other.taken > prev):
            prev = other.taken
    statements = []
    if prev is not None:
        prev_sql = f"TIMESTAMP '{prev.isoformat(sep=' ')}'"
        before = f"SELECT member FROM snapshots WHERE {key} AND taken = {prev_sql}"
        now = f"SELECT member FROM {name}"
        # A followers list means member -> account; a following list means account -> member.
        actor, target = ("member", account) if snap.direction == "followers" else (account, "member")
        for kind, members in (("unfollow", f"{before} EXCEPT {now}"), ("follow", f"{now} EXCEPT {before}")):
            eid = (f"'snap:{kind}:' || {actor} || ':' || {target} || ':' || "
                   f"strftime({taken}, '%Y%m%dT%H%M%S')")
            statements.append(f"""
                INSERT INTO events (id, ts, ts_lo, ts_hi, platform, actor, kind, target, source)
                SELECT {eid}, {taken}, {prev_sql}, {taken}, {platform}, {actor}, '{kind}', {target},
                       {sql_str(source)}
                FROM ({members}) d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = {eid})
                  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.platform = {platform} AND e.kind = '{kind}'
                                  AND e.actor = {actor} AND e.target = {target}
                                  AND e.ts > {prev_sql} AND e.ts <= {taken})""")
    statements.append(f"""
        INSERT INTO snapshots SELECT {platform}, {account}, {direction}, n.member, {taken}, {sql_str(source)}
        FROM {name} n WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.{key.replace(' AND ', ' AND s.')}
                                        AND s.taken = {taken} AND s.member = n.member)""")
    return statements


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
