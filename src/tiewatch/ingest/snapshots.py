"""Storing follower-list snapshots (`sources.snapshots.Snapshot`) and diffing them into follow and unfollow events.

A snapshot stores its members and is compared with the latest earlier snapshot of the same list: members that
vanished become unfollow events and new members follow events, each known only to lie between the two
snapshots (ts_lo = the earlier snapshot, ts_hi = this one; ts = ts_hi, when it was seen). A snapshot older than
one already stored is also compared with that later one, and the changes once placed between its two
neighbours are replaced by the finer ones. Used by ingest (snapshot files) and the tracker (getFollowers).
"""

from __future__ import annotations

import itertools

import duckdb
import pyarrow as pa

from tiewatch.errors import TiewatchError
from tiewatch.sources.generic import sql_str
from tiewatch.sources.snapshots import Snapshot

_counter = itertools.count()


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
    next_rows = con.execute(f"SELECT min(taken) FROM snapshots WHERE {key} AND taken > {taken}").fetchall()
    nxt = next_rows[0][0] if next_rows else None
    now = f"SELECT member FROM {name}"
    # A followers list means member -> account; a following list means account -> member.
    actor, target = ("member", account) if snap.direction == "followers" else (account, "member")
    side = f"target = {account}" if snap.direction == "followers" else f"actor = {account}"

    def diff(before: str, after: str, lo: str, hi: str) -> list[str]:
        out = []
        for kind, members in (("unfollow", f"{before} EXCEPT {after}"), ("follow", f"{after} EXCEPT {before}")):
            eid = f"'snap:{kind}:' || {actor} || ':' || {target} || ':' || strftime({hi}, '%Y%m%dT%H%M%S')"
            out.append(f"""
                INSERT INTO events (id, ts, ts_lo, ts_hi, platform, actor, kind, target, source)
                SELECT {eid}, {hi}, {lo}, {hi}, {platform}, {actor}, '{kind}', {target}, {sql_str(source)}
                FROM ({members}) d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = {eid})
                  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.platform = {platform} AND e.kind = '{kind}'
                                  AND e.actor = {actor} AND e.target = {target}
                                  AND e.ts > {lo} AND e.ts <= {hi})""")
        return out

    statements = []
    prev_sql = f"TIMESTAMP '{prev.isoformat(sep=' ')}'" if prev is not None else None
    if nxt is not None:
        # Stored out of order (an older export ingested after a newer one): the changes once diffed between
        # the neighbours are now known more precisely, on either side of this snapshot.
        next_sql = f"TIMESTAMP '{nxt.isoformat(sep=' ')}'"
        if prev_sql is not None:
            statements.append(f"""
                DELETE FROM events WHERE starts_with(id, 'snap:') AND platform = {platform} AND {side}
                  AND kind IN ('follow', 'unfollow') AND ts_lo = {prev_sql} AND ts_hi = {next_sql}""")
        statements += diff(now, f"SELECT member FROM snapshots WHERE {key} AND taken = {next_sql}", taken, next_sql)
    if prev_sql is not None:
        statements += diff(f"SELECT member FROM snapshots WHERE {key} AND taken = {prev_sql}", now, prev_sql, taken)
    statements.append(f"""
        INSERT INTO snapshots SELECT {platform}, {account}, {direction}, n.member, {taken}, {sql_str(source)}
        FROM {name} n WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.{key.replace(' AND ', ' AND s.')}
                                        AND s.taken = {taken} AND s.member = n.member)""")
    return statements
