"""Facts between two accounts, ranked by their tie: follows and unfollows (detect/follows.py), and what the
watch-list tracker sees (detect/unlike.py, detect/post_deleted.py, detect/profile_change.py)."""

from __future__ import annotations

from datetime import datetime

from tiewatch.detect.naming import Names
from tiewatch.detect.profile_change import FIELDS as PROFILE_FIELDS  # in the order a change lists them
from tiewatch.views.sentences.common import Sentence, SignalLike, clock, day, label, when, zone_name

NAMED_FIELDS = ("display_name", "handle", "status")  # said from what to what; the others only "changed"
HOW = {"reply": "replying to", "mention": "mentioning", "quote": "quoting"}


def _on_or_between(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None or day(start) == day(end):
        return f"on {day(end or start)}"
    return f"between {day(start)} and {day(end)}"


def _engaged(who: str, whom: str, n: int) -> str:
    if not n:
        return f"{who} had never engaged with {whom}"
    times = {1: "once", 2: "twice"}.get(int(n), f"{int(n):,} times")
    return f"{who} had engaged with {whom} {times}"


def follow(s: SignalLike, names: Names) -> str:
    dt = s.detail
    la, lb = label(s, names, s.subjects[0]), label(s, names, s.subjects[1])
    if s.kind == "unfollow":
        did = f"unfollowed {lb}"
    else:
        did = f"followed {lb} again" if dt.get("refollow") else f"followed {lb}"
    return (f"{la} {did} {_on_or_between(s.start, s.end)}; before that {_engaged(la, lb, dt['engagements_out'])} "
            f"and {_engaged(lb, la, dt['engagements_in'])} (tie strength {s.score:.1f}).")


def unlike(s: SignalLike, names: Names) -> str:
    dt = s.detail
    la, lb = label(s, names, s.subjects[0]), label(s, names, s.subjects[1])
    posted, liked, after = when(dt.get("posted")), when(dt.get("liked")), when(dt.get("deleted_after"))
    post = f"{lb}'s post of {day(posted)}" if posted else f"a post by {lb}"
    deleted = f"on {day(s.ts)}" if after is None else f"between {day(after)} and {day(s.ts)}"
    was_liked = f" (liked {day(liked)})" if liked else ""
    return f"{la} unliked {post} {deleted}{was_liked}; tie strength {s.score:.1f}."


def post_deleted(s: SignalLike, names: Names) -> str:
    dt = s.detail
    la = label(s, names, s.subjects[0])
    n = int(dt["deleted"])
    posts = "a post" if n == 1 else f"{n} posts"
    if len(s.subjects) < 2:  # a burst of one account's deletions
        return f"{la} deleted {posts} {_on_or_between(s.start, s.end)} ({dt['known']} of them seen before)."
    lb = label(s, names, s.subjects[1])
    how = " and ".join(sorted(HOW[h] for h in dt["about"]))
    left = int(dt["remaining"])
    tail = f"every stored post with {lb}" if left == 0 else f"{left} other posts with {lb} remain"
    return f"{la} deleted {posts} {how} {lb} on {day(s.ts)} ({tail}; tie strength {s.score:.1f})."


def profile_change(s: SignalLike, names: Names) -> str:
    dt = s.detail
    who = label(s, names, s.subjects[0])
    start, end = s.start, s.end or s.ts
    if start is not None and end is not None and day(start) == day(end):
        span = f"on {day(end)} (between {clock(start)} and {clock(end)} {zone_name(end)})"
    else:
        span = f"between {day(start)} and {day(end)}"
    if dt.get("what") == "bio_mention":
        handle = str(dt["mention"])
        other = s.subjects[1] if len(s.subjects) > 1 else handle
        named = label(s, names, other) if other != handle else f"@{handle}"
        return (f"{who} {dt['change']} a mention of {named} in their bio {span} "
                f"(tie strength {float(dt['tie_strength']):.1f}).")
    if isinstance(dt.get("status"), str):  # the account became unavailable, or came back
        what = ("became unavailable (deactivated, suspended or deleted)" if dt["status"] == "unavailable"
                else "is available again")
        return f"{who} {what} {span}."
    phrases = []
    for field, name in PROFILE_FIELDS.items():
        change = dt.get(field)
        if not isinstance(change, dict):
            continue
        if field in NAMED_FIELDS:
            phrases.append(f"{name} from {change.get('from') or '(none)'!s} to {change.get('to') or '(none)'!s}")
        else:
            phrases.append(f"changed {name}")
    return f"{who} changed their profile {span}: {'; '.join(phrases)}."


SENTENCES: dict[str, Sentence] = {"follow": follow, "unfollow": follow, "unlike": unlike,
                                  "post_deleted": post_deleted, "profile_change": profile_change}
