"""Coincidences (detect/coincidence.py): an account posted soon after news about someone it was tied to."""

from __future__ import annotations

from tiewatch.detect.naming import Names
from tiewatch.views.sentences.common import Sentence, SignalLike, chance, day, label


def hours(h: float) -> str:
    """2 hours 20 minutes; 45 minutes."""
    if h < 1:
        return f"{h * 60:.0f} minutes"
    whole, minutes = int(h), round((h - int(h)) * 60)
    return f"{whole} hour{'s' if whole != 1 else ''}" + (f" {minutes} minutes" if minutes else "")


def coincidence(s: SignalLike, names: Names) -> str:
    dt = s.detail
    lx, lv = label(s, names, s.subjects[0]), label(s, names, str(dt["via"]))
    delta_h = ((s.ts - s.start).total_seconds() / 3600 if s.ts is not None and s.start is not None
               else float(dt["hours_after"]))
    what = "a story" if dt["content_kind"] == "story" else "a post"
    caption = f' ("{dt["caption"]}")' if dt.get("caption") else " (no caption)"
    rate = (float(dt["items_last_year"]) / max(float(dt["span_days"]), 1.0) if "span_days" in dt
            else float(dt["rate_per_day"]))  # stored before the span was kept: the rounded rate
    every = 1 / rate if rate > 0 else float("inf")
    tie = (f"{lx} and {lv} appeared together in earlier news" if dt["shared_news"]
           else f"{lx} and {lv} were close (tie {float(dt['tie_was']):.0f} in the two years before)")
    p = s.p_value if s.p_value is not None else 1.0
    return (f"{lx} posted {what}{caption} {hours(delta_h)} after the news \"{dt['news_title']}\" "
            f"({day(s.start)}); {tie}; {lx} publishes {what} about every {every:.0f} days, "
            f"so one that soon happens {chance(p)}.")


SENTENCES: dict[str, Sentence] = {"coincidence": coincidence}
