"""Account bursts (detect/burst_account.py): a crowd or a flood reached B within an hour, far above B's own hours."""

from __future__ import annotations

from tiewatch.detect.naming import Names
from tiewatch.views.sentences.common import Sentence, SignalLike, chance, clock, day, label, when, zone_name


def burst_account(s: SignalLike, names: Names) -> str:
    dt = s.detail
    lb = label(s, names, s.subjects[0])
    hour = when(dt["hour_start"])
    start = s.start or hour
    hours = int(dt.get("episode_hours") or 1)
    senders = int(dt.get("episode_senders") or dt["senders"])
    events = int(dt.get("episode_events") or dt["events"])
    span = "within one hour" if hours == 1 else f"over {hours} hours in a row"
    at = f"from {clock(start)} {zone_name(start)} on {day(start)}" if start is not None else ""
    p = float(s.p_value or 0.0)
    before = int(dt["senders_before"])
    ref = int(dt["reference_hours"])
    days = f"{ref} hour{'s' if ref != 1 else ''} with messages in the 4 weeks before"
    odds = f"{chance(p)}."
    if dt.get("by") == "flood":
        heavy = int(dt["heaviest_sender_events"])
        return (f"{lb} got {heavy} messages or mentions from one account within an hour {at} ({events} in all, "
                f"from {senders} account{'s' if senders != 1 else ''}); {int(dt['heavy_sender_hours'])} of the "
                f"{before + int(dt['senders'])} sender-hours of that hour and of its {days} held "
                f"{int(dt['heavy_threshold'])} or more; {odds}")
    history = (f"against {before} sender{'s' if before != 1 else ''} in its {days}; it could expect "
               f"{float(dt['expected']):.2g} (the larger of its usual rate and its share of that hour's volume)")
    return f"{lb} heard from {senders} accounts {span} {at} ({events} messages or mentions), {history}; {odds}"


SENTENCES: dict[str, Sentence] = {"burst_account": burst_account}
