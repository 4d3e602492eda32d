"""The tracker's periodic work on one watch list: resolve, backfill, profile and follower snapshots.

Each step opens the store for its own write only (see watchlist.briefly) and commits what it learnt with
the state that says it was learnt (a repository's rows with its revision, a follower list with its time),
so a kill at any moment leaves either both or neither.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from tiewatch.errors import TiewatchError
from tiewatch.ingest.loader import ingest_parts
from tiewatch.ingest.snapshots import snapshot_statements
from tiewatch.sources.car import car_parts
from tiewatch.sources.files import InputFile
from tiewatch.sources.snapshots import Snapshot
from tiewatch.store import Store
from tiewatch.track.client import AtClient, CallFailed, handle_of, pds_of
from tiewatch.track.repo import Incomplete, Tree, changed_keys, kept_tree, partial_car, read_car, read_tree
from tiewatch.track.watchlist import briefly, utcnow

PLATFORM = "bluesky"
TRACKED_DELETES = ("app.bsky.feed.like", "app.bsky.feed.post")
NO_UNAUTHENTICATED = "!no-unauthenticated"


@dataclass
class PeriodReport:
    resolved: int = 0
    backfilled: int = 0
    unchanged: int = 0
    repo_events: int = 0
    repo_deletes: int = 0
    repo_bytes: int = 0  # repository bytes downloaded (whole exports and since-diffs)
    incremental: int = 0  # repositories read as a diff since their stored revision
    profiles: int = 0
    follower_lists: int = 0
    capped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def log(db: Path | None, what: str, message: str, account: str | None = None) -> None:
    with briefly(db) as store:
        store.con.execute("INSERT INTO track_log VALUES (?, ?, ?, ?)", [utcnow(), account, what, message])


def _rows(db: Path | None, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with briefly(db) as store:
        return store.con.execute(sql, params or []).fetchall()


def resolve(db: Path | None, client: AtClient, report: PeriodReport, every_seconds: float = 86400.0) -> None:
    """Each entry's DID (handles via the AppView), PDS and current handle (via its DID document): for new
    entries, entries that failed, and otherwise once every `every_seconds` (an account can move its PDS)."""
    since = utcnow() - timedelta(seconds=every_seconds)
    for entry, did in _rows(db, "SELECT entry, did FROM watchlist WHERE pds IS NULL OR error IS NOT NULL "
                                "OR resolved IS NULL OR resolved < ? ORDER BY entry", [since]):
        try:
            did = did or client.resolve_handle(entry)
            doc = client.did_document(did)
            pds, handle = pds_of(doc), handle_of(doc)
        except CallFailed as e:
            report.errors.append(f"{entry}: {e}")
            with briefly(db) as store:
                store.con.execute("UPDATE watchlist SET error = ? WHERE entry = ?", [str(e), entry])
            continue
        with briefly(db) as store, store.transaction() as con:
            con.execute("UPDATE watchlist SET did = ?, pds = ?, handle = ?, resolved = ?, error = NULL "
                        "WHERE entry = ?", [did, pds, handle, utcnow(), entry])
            if handle:
                con.execute("""INSERT INTO accounts (platform, account, name, source)
                               SELECT ?, ?, ?, 'track' WHERE NOT EXISTS (
                                   SELECT 1 FROM accounts WHERE platform = ? AND account = ?)""",
                            [PLATFORM, did, handle, PLATFORM, did])
        report.resolved += 1


@dataclass
class Fetched:
    data: bytes  # what the repository reader ingests: the whole export, or a CAR of the changed records
    tree: Tree  # the whole new tree (its keys decide the deletions; its nodes are kept for the next diff)
    how: str  # "full", "full (why the diff was not used)" or "since REV"
    nbytes: int  # bytes downloaded, a refused or unusable diff included


def _kept(db: Path | None, did: str) -> tuple[bytes, dict[bytes, bytes]] | None:
    rows = _rows(db, "SELECT cid, node, root FROM repo_nodes WHERE did = ?", [did])
    root = next((bytes(c) for c, _, r in rows if r), None)
    return None if root is None else (root, {bytes(c): bytes(n) for c, n, _ in rows})


def fetch_repo(db: Path | None, client: AtClient, pds: str, did: str, rev: str | None) -> Fetched:
    """Only what changed since the stored revision when the PDS answers `since` and the stored tree fills in
    what the diff leaves out; otherwise the whole repository (first time, diff refused or incomplete)."""
    label = f"{did} repository"
    nbytes, why = 0, "first download" if rev is None else ""
    kept = _kept(db, did) if rev is not None else None
    if rev is not None and kept is None:
        why = "no stored tree"
    if rev is not None and kept is not None:
        try:
            data = client.get_repo(pds, did, since=rev)
            nbytes += len(data)
            car = read_car(data, f"{label} since {rev}")
            new = read_tree(car, label, kept[1])
            old = kept_tree(did, kept[0], kept[1], label)
            keys = changed_keys(old, new, car)
            return Fetched(partial_car(new, keys, car), new, f"since {rev}", nbytes)
        except CallFailed as e:
            if e.status is None or e.status == 429 or e.status >= 500:
                raise  # the host is failing, not refusing the diff: try again next period
            why = f"since refused: HTTP {e.status}"
        except Incomplete as e:
            why = f"diff incomplete: {e}"
        except TiewatchError as e:
            why = f"diff unreadable: {e}"
    data = client.get_repo(pds, did)
    nbytes += len(data)
    car = read_car(data, label)
    try:
        tree = read_tree(car, label)
    except Incomplete:
        raise TiewatchError(f"{label}: a tree node is missing from the CAR (only part of a repository?); "
                            "refused") from None
    return Fetched(data, tree, "full" + (f" ({why})" if why else ""), nbytes)


def backfill(db: Path | None, client: AtClient, report: PeriodReport, every_seconds: float = 86400.0) -> None:
    """Every resolved account's repository: in full the first time, then at most once every `every_seconds`
    (Jetstream brings what happens in between), only when its revision moved since the stored one, and then
    only what changed since that revision (getRepo?since=REV; see track/repo.py).

    Records the stored data has but the new repository lacks were deleted in between: likes and posts among
    them become record_deletes known to lie between the two backfills (deletions Jetstream missed)."""
    since = utcnow() - timedelta(seconds=every_seconds)
    rows = _rows(db, "SELECT DISTINCT did, pds, rev, backfilled FROM watchlist WHERE did IS NOT NULL "
                     "AND pds IS NOT NULL AND (backfilled IS NULL OR backfilled < ?) ORDER BY did", [since])
    for did, pds, rev, backfilled in rows:
        try:
            latest = client.latest_rev(pds, did)
            if latest is not None and latest == rev:
                report.unchanged += 1
                with briefly(db) as store:
                    store.con.execute("UPDATE watchlist SET backfilled = ? WHERE did = ?", [utcnow(), did])
                continue
            fetched = fetch_repo(db, client, pds, did, rev)
            fetched.tree.rev = fetched.tree.rev or latest  # old (v2) repositories' commits carry no rev
        except CallFailed as e:
            report.errors.append(f"{did}: {e}")
            continue
        except TiewatchError as e:  # a PDS serving something that is not a whole repository CAR
            report.errors.append(f"{did}: {e}")
            continue
        report.repo_bytes += fetched.nbytes
        try:
            report.repo_events += _ingest_repo(db, did, backfilled, fetched, report)
        except TiewatchError as e:  # a repository the CAR reader refuses (too large, ...)
            report.errors.append(f"{did}: {e}")
            continue
        report.backfilled += 1
        report.incremental += fetched.how.startswith("since")


def _ingest_repo(db: Path | None, did: str, previous: datetime | None, fetched: Fetched,
                 report: PeriodReport) -> int:
    now = utcnow()
    tree = fetched.tree
    with tempfile.TemporaryDirectory(prefix="tiewatch-repo-") as tmp, briefly(db) as store:
        path = Path(tmp) / f"{did.replace(':', '_')}.car"
        path.write_bytes(fetched.data)
        registered: list[str] = []
        store.con.register("tw_repo_keys", pa.table({"key": pa.array(list(tree.entries), pa.string())}))
        registered.append("tw_repo_keys")
        store.con.register("tw_repo_nodes", pa.table({"cid": pa.array(list(tree.nodes), pa.binary()),
                                                      "node": pa.array(list(tree.nodes.values()), pa.binary())}))
        registered.append("tw_repo_nodes")
        try:
            parts = car_parts(path)
            # The tree is kept with the rows read from it, so the next diff is read against exactly this tree.
            after = ["UPDATE watchlist SET rev = ?, backfilled = ?, repo_bytes = coalesce(repo_bytes, 0) + ?, "
                     "last_fetch = ? WHERE did = ?",
                     "DELETE FROM repo_nodes WHERE did = ?",
                     "INSERT INTO repo_nodes SELECT ?, cid, node, cid = ? FROM tw_repo_nodes"]
            last = f"{fetched.how}: {fetched.nbytes:,} bytes"
            params: list[list[object]] = [[tree.rev, now, fetched.nbytes, last, did], [did], [did, tree.root]]
            if previous is not None:
                deletes = ", ".join(f"'{c}'" for c in TRACKED_DELETES)
                after.append(f"""
                    INSERT INTO record_deletes
                    SELECT e.id, ?, ?, e.actor, split_part(e.id, '/', 4), split_part(e.id, '/', 5), 'getRepo'
                    FROM events e
                    WHERE e.platform = '{PLATFORM}' AND e.actor = ? AND starts_with(e.id, 'at://' || ? || '/')
                      AND split_part(e.id, '/', 4) IN ({deletes}) AND NOT contains(e.id, '#')
                      AND split_part(e.id, '/', 4) || '/' || split_part(e.id, '/', 5)
                          NOT IN (SELECT key FROM tw_repo_keys)
                      AND NOT EXISTS (SELECT 1 FROM record_deletes d WHERE d.id = e.id)""")
                params.append([now, previous, did, did])
            before = store.count("record_deletes")
            result = ingest_parts(store, InputFile(Path(f"getRepo:{did}"), "car", None), parts,
                                  after_load=after, after_params=params, hash_file=False)
            report.repo_deletes += store.count("record_deletes") - before
            return sum(result.inserted.values())
        finally:
            for name in registered:
                store.con.unregister(name)


def snapshot_profiles(db: Path | None, client: AtClient, report: PeriodReport) -> None:
    """Follower, following and post counts (metrics) and the profile itself (profiles), for every DID."""
    dids = [r[0] for r in _rows(db, "SELECT DISTINCT did FROM watchlist WHERE did IS NOT NULL ORDER BY did")]
    if not dids:
        return
    try:
        answers = {p.get("did"): p for p in client.get_profiles(dids)}
    except CallFailed as e:
        report.errors.append(f"profiles: {e}")
        return
    now = utcnow()
    metrics, profiles = [], []
    for did in dids:
        p = answers.get(did)
        if p is None:  # getProfiles leaves out deactivated, suspended and deleted accounts
            profiles.append((now, did, None, None, None, None, "unavailable", "getProfiles"))
            continue
        labels = {lab.get("val") for lab in p.get("labels") or [] if isinstance(lab, dict)}
        status = "logged-in only" if NO_UNAUTHENTICATED in labels else "active"
        metrics.append((now, PLATFORM, did, p.get("followersCount"), p.get("followsCount"), p.get("postsCount"),
                        "getProfiles"))
        profiles.append((now, did, p.get("handle"), p.get("displayName"), p.get("description"), p.get("avatar"),
                         status, "getProfiles"))
    with briefly(db) as store, store.transaction() as con:
        if metrics:
            con.executemany("INSERT INTO metrics (ts, platform, account, followers, following, posts, source) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", metrics)
        con.executemany("INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", profiles)
        con.execute("UPDATE watchlist SET profiled = ? WHERE did IN (SELECT unnest(?))", [now, dids])
    report.profiles += len(metrics)


def snapshot_followers(db: Path | None, client: AtClient, report: PeriodReport, *, cap: int,
                       every_seconds: float) -> None:
    """Follower lists of accounts whose last list is older than `every_seconds`, diffed into follow/unfollow
    events by the snapshot machinery. A list cut by the cap is not diffed (members beyond the cap would look
    like unfollows); the cap is logged and shown by `track status`."""
    now = utcnow()
    rows = _rows(db, "SELECT DISTINCT did, followers_listed FROM watchlist WHERE did IS NOT NULL ORDER BY did")
    for did, listed in rows:
        if listed is not None and (now - listed).total_seconds() < every_seconds:
            continue
        try:
            members, capped = client.get_followers(did, cap)
        except CallFailed as e:
            report.errors.append(f"{did} followers: {e}")
            continue
        taken = utcnow()
        with briefly(db) as store:
            if capped:
                report.capped.append(did)
                with store.transaction() as con:
                    con.execute("UPDATE watchlist SET followers_listed = ?, followers_capped = TRUE WHERE did = ?",
                                [taken, did])
                    con.execute("INSERT INTO track_log VALUES (?, ?, 'cap', ?)",
                                [taken, did, f"more than {cap:,} followers: list not diffed (raise --follower-cap)"])
                continue
            registered: list[str] = []
            try:
                snap = Snapshot(PLATFORM, did, "followers", frozenset(members), taken)
                statements = snapshot_statements(store.con, snap, "getFollowers", registered)
                with store.transaction() as con:
                    for sql in statements:
                        con.execute(sql)
                    con.execute("UPDATE watchlist SET followers_listed = ?, followers_capped = FALSE WHERE did = ?",
                                [taken, did])
            finally:
                for name in registered:
                    store.con.unregister(name)
        report.follower_lists += 1


def status(db: Path | None) -> list[dict[str, Any]]:
    """Per account: last backfill, last snapshots, cursor lag, signals, alerts sent and failed, limits."""
    with briefly(db) as store:
        return store_status(store)


def store_status(store: Store) -> list[dict[str, Any]]:
    """`status` on an open store (its own connection: a read-only one works too)."""
    from tiewatch.timefmt import iso

    cursor = store.scalar("SELECT max(TRY_CAST(cursor AS BIGINT)) FROM cursors WHERE starts_with(source, "
                          "'track:')")
    rows = store.con.execute("""
        SELECT w.entry, w.did, w.handle, w.pds, w.rev, w.backfilled, w.last_fetch, w.repo_bytes,
               w.profiled, w.followers_listed,
               w.followers_capped, w.error,
               (SELECT count(*) FROM signals s WHERE list_contains(s.subjects, w.did)) AS signals,
               (SELECT count(*) FROM alerts a JOIN signals s ON s.id = a.signal
                WHERE list_contains(s.subjects, w.did) AND a.status = 'sent') AS sent,
               (SELECT count(*) FROM alerts a JOIN signals s ON s.id = a.signal
                WHERE list_contains(s.subjects, w.did) AND a.status = 'failed') AS failed,
               (SELECT max(ts) FROM events e WHERE e.platform = 'bluesky' AND e.actor = w.did) AS last_event,
               (SELECT followers FROM metrics m WHERE m.platform = 'bluesky' AND m.account = w.did
                ORDER BY ts DESC LIMIT 1) AS followers,
               (SELECT string_agg(DISTINCT what || ': ' || message, '; ') FROM track_log l
                WHERE (l.account = w.did OR l.account IS NULL) AND l.ts > now()::TIMESTAMP - INTERVAL 1 DAY)
                    AS held
        FROM watchlist w ORDER BY w.entry""").fetchall()
    cols = [c[0] for c in store.con.description or []]
    now = utcnow()
    out = []
    for r in rows:
        d = dict(zip(cols, r, strict=True))
        for k in ("backfilled", "profiled", "followers_listed", "last_event"):
            d[k] = iso(d[k])
        at = datetime.fromtimestamp(cursor / 1e6, UTC).replace(tzinfo=None) if cursor else None
        d["cursor"] = iso(at)
        d["cursor_lag_seconds"] = round((now - at).total_seconds(), 1) if at else None
        out.append(d)
    return out

