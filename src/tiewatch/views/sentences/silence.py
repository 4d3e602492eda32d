"""Silences and resumptions (detect/silence.py): A stopped engaging with B, and when A came back."""

from __future__ import annotations

from tiewatch.detect.naming import Names
from tiewatch.views.sentences.common import Sentence, SignalLike, day, label

# How a resumption's first engagement reads, by event kind.
PAST_TENSE = {"like": "liked", "comment": "commented on", "reply": "replied to", "repost": "reposted",
              "mention": "mentioned", "message": "messaged"}


def _days(s: SignalLike, recorded: float) -> float:
    """The silence's length in days: exact from its times when it ended, as recorded when it is still open."""
    if s.start is not None and s.end is not None:
        return (s.end - s.start).total_seconds() / 86400
    return float(recorded)


def silence(s: SignalLike, names: Names) -> str:
    a, b = s.subjects[:2]
    la, lb = label(s, names, a), label(s, names, b)
    dt = s.detail
    if dt.get("model") == "posts":
        skipped = "" if dt["misses"] == dt["posts_in_gap"] else (
            f" ({dt['posts_in_gap'] - dt['misses']} more came while {la} was inactive)")
        if dt["open"]:
            return (f"{la} has not engaged with any of {lb}'s last {dt['misses']} posts{skipped} since "
                    f"{day(s.start)} ({dt['days']:.0f} days); before that {la} had "
                    f"engaged with {dt['engaged_before']} of {lb}'s {dt['posts_before']} posts.")
        return (f"{la} passed over {dt['misses']} of {lb}'s posts in a row{skipped} between {day(s.start)} and "
                f"{day(s.end)} ({dt['days']:.0f} days); before that {la} had engaged with {dt['engaged_before']} "
                f"of {lb}'s {dt['posts_before']} posts.")
    days = _days(s, dt["gap_days"])
    text = (f"{la} did not interact with {lb} for {days:.0f} days (since {day(s.start)}" if s.end is None else
            f"{la} did not interact with {lb} for {days:.0f} days (from {day(s.start)} until {day(s.end)}")
    longer = int(dt["at_least_as_long"])
    rank = "longer than all" if longer == 0 else f"matched or exceeded by only {longer} of the"
    return (text + f"), {int(dt['gap_active_days'])} of {la}'s active days: {rank} {int(dt['earlier_gaps'])} "
            f"earlier gaps, typically {float(dt['typical_gap_active_days']):.0f} active days.")


def resumption(s: SignalLike, names: Names) -> str:
    a, b = s.subjects[:2]
    la, lb = label(s, names, a), label(s, names, b)
    dt = s.detail
    days = (s.end - s.start).total_seconds() / 86400 if s.start and s.end else 0.0
    verb = PAST_TENSE.get(dt.get("resumed_kind") or "like", "engaged with")
    if dt.get("model") == "posts":
        what = f"{lb}'s post" if verb != "mentioned" else lb
        return (f"{la} {verb} {what} on {day(s.end)}, the first in {days:.0f} days; before that {la} had "
                f"engaged with {dt['engaged_before']} of {lb}'s {dt['posts_before']} posts.")
    return (f"{la} {verb} {lb} on {day(s.end)}, the first time in {days:.0f} days "
            f"({dt['gap_active_days']} of {la}'s active days; the typical gap was "
            f"{float(dt['typical_gap_active_days']):.1f}).")


SENTENCES: dict[str, Sentence] = {"silence": silence, "resumption": resumption}
