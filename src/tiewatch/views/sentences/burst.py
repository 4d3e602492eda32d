"""Bursts (detect/burst.py): A suddenly engaged with B on many more of A's active days than before."""

from __future__ import annotations

from tiewatch.detect.naming import Names
from tiewatch.views.sentences.common import Sentence, SignalLike, chance, label
from tiewatch.views.sentences.silence import PAST_TENSE


def burst(s: SignalLike, names: Names) -> str:
    a, b = s.subjects[:2]
    la, lb = label(s, names, a), label(s, names, b)
    dt = s.detail
    verb = PAST_TENSE.get(str(dt.get("kind") or ""), "engaged with")
    p = float(s.p_value or 0.0)
    return (f"{la} {verb} {lb} on {dt['contact_days']} days within {dt['window_active_days']} of {la}'s active "
            f"days up to {dt['window_end']} ({dt['events']} interactions), against {dt['contact_days_before']} of "
            f"the {dt['active_days_before']} active days before ({100 * float(dt['baseline_rate']):.0f}%); "
            f"{chance(p)}.")


SENTENCES: dict[str, Sentence] = {"burst": burst}
