"""What every renderer shares: the shape of a signal it reads, and how times in `detail` come back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from tiewatch.detect.naming import Names
from tiewatch.detect.naming import day as utc_day


class SignalLike(Protocol):
    """What a renderer reads: a detector's Signal or a stored one (api.SignalRecord) both have it."""

    @property
    def kind(self) -> str: ...
    @property
    def ts(self) -> datetime | None: ...
    @property
    def start(self) -> datetime | None: ...
    @property
    def end(self) -> datetime | None: ...
    @property
    def subjects(self) -> list[str]: ...
    @property
    def score(self) -> float: ...
    @property
    def p_value(self) -> float | None: ...
    @property
    def detail(self) -> Mapping[str, Any]: ...
    @property
    def platform(self) -> str | None: ...


Sentence = Callable[[SignalLike, Names], str]


def when(value: object) -> datetime | None:
    """A time from `detail`: a datetime as a detector put it, or its text as the store keeps it (JSON)."""
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    parsed = datetime.fromisoformat(text[:-1] if text.endswith("Z") else text)
    return parsed.replace(tzinfo=None)


def label(s: SignalLike, names: Names, account: str) -> str:
    return names.label(s.platform or "", account)



# The zone sentences date things in (UTC unless a front end chose one, e.g. `serve --tz Asia/Seoul`).
ZONE: ContextVar[tzinfo | None] = ContextVar("tiewatch_sentence_zone", default=None)


@contextmanager
def in_zone(tz: tzinfo | None) -> Iterator[None]:
    """Render the sentences inside the block with their days (and clock times) in `tz`."""
    token = ZONE.set(tz)
    try:
        yield
    finally:
        ZONE.reset(token)


def local(ts: datetime | None) -> datetime | None:
    """A stored time (UTC, naive) as the chosen zone's wall-clock time."""
    tz = ZONE.get()
    if ts is None or tz is None:
        return ts
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return aware.astimezone(tz)


def day(ts: datetime | None) -> str:
    """19 May 2024, in the chosen zone."""
    return utc_day(local(ts))


def clock(ts: datetime) -> str:
    """14:05, in the chosen zone."""
    t = local(ts) or ts
    return f"{t:%H:%M}"


def zone_name(ts: datetime) -> str:
    """The chosen zone's abbreviation at `ts` (UTC when none was chosen)."""
    t = local(ts)
    return (t.tzname() if t is not None and t.tzinfo is not None else None) or "UTC"


def _two_figures(x: float) -> str:
    r = float(f"{x:.2g}")
    return f"{r:,.0f}" if r >= 10 else f"{r:g}"


def chance(p: float) -> str:
    """How often a result at least this extreme comes by chance under the detector's model, in words a reader
    takes in: a percentage down to 0.1% ("by chance 1.2% of the time"), then odds ("by chance about once in
    38 million"), and "less than once in a trillion" below 1e-12."""
    if p >= 0.001:
        return f"by chance {100 * p:.2g}% of the time"
    odds = 1 / p if p > 0 else float("inf")
    if odds >= 1e12:
        return "by chance less than once in a trillion"
    for scale, word in ((1e9, " billion"), (1e6, " million"), (1.0, "")):
        if odds >= scale:
            return f"by chance about once in {_two_figures(odds / scale)}{word}"
    raise AssertionError("unreachable")  # odds > 1000 here
