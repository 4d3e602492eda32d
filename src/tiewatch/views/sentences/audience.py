"""Audience changes (detect/audience.py, detect/platform.py): follower counts far outside their own trend."""

from __future__ import annotations

from tiewatch.detect.naming import Names
from tiewatch.views.sentences.common import Sentence, SignalLike, day, label


def drop_or_surge(s: SignalLike, names: Names) -> str:
    dt = s.detail
    change = int(dt["change"])
    verb = "lost" if change < 0 else "gained"
    span = f"on {day(s.end)}" if int(dt["days"]) == 1 else f"between {day(s.start)} and {day(s.end)}"
    text = (f"{label(s, names, s.subjects[0])} {verb} {abs(change):,} followers ({abs(float(dt['change_pct'])):.1f}%) "
            f"{span}, against a usual change of {float(dt['usual_daily_change']):+,.0f} a day; that is "
            f"{abs(float(dt['change_in_spreads'])):,.0f} times the usual daily spread.")
    if "platform_shift" in dt:
        text += f" It moved the same day as {len(dt.get('cohort') or [])} other accounts (a platform-wide shift)."
    return text


def shift(s: SignalLike, names: Names) -> str:
    dt = s.detail
    return (f"{label(s, names, s.subjects[0])}'s follower count changed course around {day(s.ts)}: from "
            f"{float(dt['trend_before_per_day']):+,.0f} a day to {float(dt['trend_after_per_day']):+,.0f} a day, "
            f"with a step of {float(dt['step']):+,.0f} (segmentation, not a statistical test).")


def platform_shift(s: SignalLike, names: Names) -> str:
    dt = s.detail
    verb = "lost" if dt["direction"] == "down" else "gained"
    cohort = list(dt["cohort"])
    shown = ", ".join(label(s, names, a) for a in cohort[:8])
    more = f" and {len(cohort) - 8} more" if len(cohort) > 8 else ""
    return (f"On {day(s.start)}, {dt['accounts_moved']} of the {dt['accounts_observed']} accounts "
            f"followed on {s.platform} {verb} followers far outside their own trend at once "
            f"(about {float(dt['expected_by_chance']):g} would by chance): a platform-wide shift, not "
            f"{dt['accounts_moved']} personal changes. Accounts: {shown}{more}.")


SENTENCES: dict[str, Sentence] = {"audience_drop": drop_or_surge, "audience_surge": drop_or_surge,
                                  "audience_shift": shift, "platform_shift": platform_shift}
