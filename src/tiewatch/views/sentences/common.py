"""What every renderer shares: the shape of a signal it reads, and how times in `detail` come back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from tiewatch.detect.naming import Names


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

