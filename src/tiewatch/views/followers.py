"""Who followed, who left, who does not follow back: the answers people bring an export for.

From stored follower/following snapshots (exports, archives, generic snapshot files) and the follow/unfollow
events they were diffed into, plus events a platform dates exactly (Instagram's recently unfollowed
profiles, Bluesky follow deletes). A change seen only by diffing two snapshots is known to lie between them:
it keeps that interval (start = the earlier snapshot, end = the later one) and is said "between", never given
a made-up exact time. An account that left the followers and the following list in the same interval, with
no exact unfollow by the owner, is reported as vanished (deactivated, renamed, gone private or a block) rather
than as two unfollows: the data cannot tell those apart from a double unfollow, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tiewatch.accounts import Account, resolve
from tiewatch.store import Store
from tiewatch.timefmt import iso

CHANGES = ("new_follower", "lost_follower", "you_followed", "you_unfollowed", "vanished")
VANISHED_NOTE = ("left both your followers and your following list in the same interval: deactivated, renamed, "
                 "gone private or blocked (not necessarily an unfollow)")


def day(ts: datetime) -> str:
    return f"{ts.day} {ts:%B %Y}"


def interval_text(start: datetime | None, end: datetime | None, exact: datetime | None) -> str:
    """"on 3 March 2024 at 14:05 UTC" for an exact time, "between 1 March and 1 April 2024" for an interval."""
    if exact is not None:
        return f"on {day(exact)} at {exact:%H:%M} UTC"
    if start is None or end is None:
        return "at an unknown time"
    if start.date() == end.date():
        return f"on {day(end)}"
    if start.year == end.year:
        return f"between {start.day} {start:%B} and {day(end)}"
    return f"between {day(start)} and {day(end)}"


@dataclass
class Change:
    change: str  # one of CHANGES
    account: str
    name: str | None
    start: datetime | None  # the interval it lies in (equal to `exact` when exactly known)
    end: datetime | None
    exact: datetime | None
    note: str = ""

    @property
    def when(self) -> str:
        return interval_text(self.start, self.end, self.exact)

    def as_json(self) -> dict[str, Any]:
        return {"change": self.change, "account": self.account, "name": self.name, "start": iso(self.start),
                "end": iso(self.end), "exact": iso(self.exact), "when": self.when, "note": self.note}


@dataclass
class FollowersView:
    account: Account
    followers_taken: datetime | None  # the latest followers snapshot used for the lists below
    following_taken: datetime | None
    followers: int | None
    following: int | None
    changes: list[Change] = field(default_factory=list)
    # None when unknown: both a followers and a following snapshot are needed
    not_following_back: list[tuple[str, str | None]] | None = None
    mutuals: list[tuple[str, str | None]] | None = None

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.change == kind]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account": self.account.account, "platform": self.account.platform, "name": self.account.name,
            "followers_snapshot": iso(self.followers_taken), "following_snapshot": iso(self.following_taken),
            "followers": self.followers, "following": self.following}
        for kind in CHANGES:
            out[kind] = [c.as_json() for c in self.of(kind)]
        for key, members in (("not_following_back", self.not_following_back), ("mutuals", self.mutuals)):
            out[key] = None if members is None else [{"account": a, "name": n} for a, n in members]
        return out

    def csv_rows(self) -> list[dict[str, Any]]:
        rows = [c.as_json() for c in self.changes]
        taken = iso(self.followers_taken if self.following_taken is None else
                    max(t for t in (self.followers_taken, self.following_taken) if t is not None))
        for kind, members in (("not_following_back", self.not_following_back), ("mutual", self.mutuals)):
            rows += [{"change": kind, "account": a, "name": n, "start": None, "end": taken, "exact": None,
                      "when": f"as of {taken[:10]}" if taken else "", "note": ""} for a, n in members or []]
        return rows


def _rename_hints(changes: list[Change]) -> None:
    """A vanished account and a single account that joined both lists in the same interval: possibly a rename."""
    def inside(c: Change, lo: datetime, hi: datetime) -> bool:
        when = c.exact or c.end
        return when is not None and lo < when <= hi

    by_interval: dict[tuple[datetime, datetime], list[Change]] = {}
    for c in changes:
        if c.change == "vanished" and c.start is not None and c.end is not None:
            by_interval.setdefault((c.start, c.end), []).append(c)
    for (lo, hi), gone in by_interval.items():
        joined = ({c.account for c in changes if c.change == "new_follower" and inside(c, lo, hi)}
                  & {c.account for c in changes if c.change == "you_followed" and inside(c, lo, hi)})
        if len(gone) == 1 and len(joined) == 1:
            gone[0].note += f"; {next(iter(joined))} joined both lists in the same interval: possibly renamed"


def _latest(store: Store, acc: Account, direction: str, until: datetime | None) -> datetime | None:
    bound = "AND taken <= ?" if until else ""
    value = store.scalar(f"SELECT max(taken) FROM snapshots WHERE platform = ? AND account = ? AND direction = ? "
                         f"{bound}", [acc.platform, acc.account, direction, *([until] if until else [])])
    return value if isinstance(value, datetime) else None


def followers_view(store: Store, name: str, since: datetime | None = None,
                   until: datetime | None = None) -> FollowersView:
    """Changes to an account's followers and following, and its lists as of the latest snapshot (≤ until).

    Changes are those whose interval overlaps [since, until]. Without --since, new followers are the ones seen
    after the account's first snapshot (an export lists every follower with the time they followed; those before
    the first snapshot are its starting audience, not news); losses and unfollows are all listed."""
    acc = resolve(store, name)
    con = store.con
    first = store.scalar("SELECT min(taken) FROM snapshots WHERE platform = ? AND account = ?",
                         [acc.platform, acc.account])
    rows = con.execute("""
        WITH ev AS (
            SELECT e.kind, e.actor, e.target, e.ts, e.ts_lo, e.ts_hi,
                   CASE WHEN e.target = $account THEN e.actor ELSE e.target END AS other,
                   CASE WHEN e.kind = 'follow' AND e.target = $account THEN 'new_follower'
                        WHEN e.kind = 'unfollow' AND e.target = $account THEN 'lost_follower'
                        WHEN e.kind = 'follow' THEN 'you_followed' ELSE 'you_unfollowed' END AS change
            FROM events e
            WHERE e.platform = $platform AND e.kind IN ('follow', 'unfollow')
              AND ($account = e.target OR $account = e.actor) AND e.actor <> e.target
              AND (e.ts IS NOT NULL OR e.ts_lo IS NOT NULL)
              AND coalesce(e.ts_hi, e.ts) >= coalesce(CAST($since AS TIMESTAMP), TIMESTAMP '0001-01-01')
              -- a diffed change lies in (ts_lo, ts_hi]: it can be before `until` only if ts_lo < until
              AND CASE WHEN e.ts_lo IS NULL THEN e.ts <= coalesce(CAST($until AS TIMESTAMP), TIMESTAMP '9999-12-31')
                       ELSE e.ts_lo < coalesce(CAST($until AS TIMESTAMP), TIMESTAMP '9999-12-31') END
              AND NOT (e.kind = 'follow' AND CAST($since AS TIMESTAMP) IS NULL AND CAST($first AS TIMESTAMP) IS NOT NULL
                       AND coalesce(e.ts_hi, e.ts) <= CAST($first AS TIMESTAMP))
        )
        SELECT ev.change, ev.other, a.name, ev.ts_lo, ev.ts_hi, CASE WHEN ev.ts_lo IS NULL THEN ev.ts END AS exact,
               -- gone from both lists between the same two snapshots, with no exact unfollow by the owner
               ev.ts_lo IS NOT NULL AND ev.kind = 'unfollow' AND EXISTS (
                   SELECT 1 FROM ev o WHERE o.kind = 'unfollow' AND o.other = ev.other AND o.change <> ev.change
                     AND o.ts_lo = ev.ts_lo AND o.ts_hi = ev.ts_hi)
               AND NOT EXISTS (
                   SELECT 1 FROM ev x WHERE x.change = 'you_unfollowed' AND x.other = ev.other AND x.ts_lo IS NULL
                     AND x.ts > ev.ts_lo AND x.ts <= ev.ts_hi) AS vanished
        FROM ev LEFT JOIN accounts a ON a.platform = $platform AND a.account = ev.other
        ORDER BY coalesce(ev.ts_hi, ev.ts), ev.change, ev.other""",
                       {"platform": acc.platform, "account": acc.account, "since": since, "until": until,
                        "first": first}).fetchall()
    changes: list[Change] = []
    seen_vanished: set[tuple[str, datetime, datetime]] = set()
    for change, other, other_name, lo, hi, exact, vanished in rows:
        if vanished:
            key = (other, lo, hi)
            if key in seen_vanished:
                continue  # one entry for both lists
            seen_vanished.add(key)
            changes.append(Change("vanished", other, other_name, lo, hi, None, VANISHED_NOTE))
            continue
        changes.append(Change(change, other, other_name, lo if exact is None else exact,
                              hi if exact is None else exact, exact))

    _rename_hints(changes)
    followers_taken = _latest(store, acc, "followers", until)
    following_taken = _latest(store, acc, "following", until)
    view = FollowersView(acc, followers_taken, following_taken, None, None, changes)
    if followers_taken is not None:
        view.followers = int(store.scalar(
            "SELECT count(*) FROM snapshots WHERE platform = ? AND account = ? AND direction = 'followers' "
            "AND taken = ?", [acc.platform, acc.account, followers_taken]) or 0)
    if following_taken is not None:
        view.following = int(store.scalar(
            "SELECT count(*) FROM snapshots WHERE platform = ? AND account = ? AND direction = 'following' "
            "AND taken = ?", [acc.platform, acc.account, following_taken]) or 0)
    if followers_taken is not None and following_taken is not None:
        lists = con.execute("""
            WITH fr AS (SELECT member FROM snapshots WHERE platform = $p AND account = $a AND direction = 'followers'
                        AND taken = $tr),
                 fg AS (SELECT member FROM snapshots WHERE platform = $p AND account = $a AND direction = 'following'
                        AND taken = $tg)
            SELECT 'not_following_back' AS list, fg.member, x.name FROM fg
                LEFT JOIN accounts x ON x.platform = $p AND x.account = fg.member
                WHERE fg.member NOT IN (SELECT member FROM fr)
            UNION ALL
            SELECT 'mutual', fg.member, x.name FROM fg JOIN fr USING (member)
                LEFT JOIN accounts x ON x.platform = $p AND x.account = fg.member
            ORDER BY 1, 2""", {"p": acc.platform, "a": acc.account, "tr": followers_taken,
                               "tg": following_taken}).fetchall()
        view.not_following_back = [(m, n) for k, m, n in lists if k == "not_following_back"]
        view.mutuals = [(m, n) for k, m, n in lists if k == "mutual"]
    return view
