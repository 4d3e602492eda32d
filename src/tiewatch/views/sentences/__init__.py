"""The one place a signal becomes a sentence: every front end (CLI, brief, report, web pages, alerts) reads it.

Detectors put figures in a signal's `detail` and never write prose. A renderer per signal kind turns the
signal (kind, subjects, times, score, p-value, detail) into its summary sentence, naming accounts by the
rules of `detect.naming.Names` (display names where the store knows them, handles or ids otherwise). The
sentence is stored with the signal (the `summary` column, filled by `render_signals`, which the callers of
`detect.run.detect` pass in), and can be rendered again from a stored signal anywhere (`render`).

Adding a signal kind means adding its renderer to one of the modules here and to its `SENTENCES`;
`tests/test_sentences.py` fails while a registered kind has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from types import SimpleNamespace
from typing import Any

from tiewatch.detect.naming import Names
from tiewatch.store import Store
from tiewatch.views.sentences import audience, burst, burst_account, coincidence, silence, ties
from tiewatch.views.sentences.common import Sentence, SignalLike, day, in_zone, when

SENTENCES: dict[str, Sentence] = {**audience.SENTENCES, **burst.SENTENCES, **burst_account.SENTENCES,
                                  **coincidence.SENTENCES, **silence.SENTENCES, **ties.SENTENCES}


class NoSentence(KeyError):
    """A signal kind without a renderer (a programming error: the sentence test catches it)."""


def render(signal: SignalLike, names: Names, *, strict: bool = False, tz: tzinfo | None = None) -> str:
    """The summary sentence of one signal (from a detector, or read back from the store).

    A signal whose detail lacks a figure its sentence needs (stored by an older version, or written by a
    detector that forgot it) gets a plain sentence naming its kind, accounts and day, unless `strict`.
    `tz`: the zone its days are given in (UTC by default, as stored)."""
    if tz is not None:
        with in_zone(tz):
            return render(signal, names, strict=strict)
    try:
        sentence = SENTENCES[signal.kind]
    except KeyError:
        if strict:
            raise NoSentence(f"no sentence for signal kind {signal.kind!r}") from None
        return plain(signal, names)
    try:
        return sentence(signal, names)
    except (KeyError, TypeError, ValueError, IndexError):
        if strict:
            raise
        return plain(signal, names)


def plain(signal: SignalLike, names: Names) -> str:
    """'silence: A and B, 3 May 2024.': what every signal can say of itself."""
    who = " and ".join(names.label(signal.platform or "", a) for a in signal.subjects[:3])
    more = f" and {len(signal.subjects) - 3} more" if len(signal.subjects) > 3 else ""
    return f"{signal.kind.replace('_', ' ')}: {who}{more}, {day(signal.ts or signal.start or signal.end)}."


def render_signals(store: Store, signals: Sequence[SignalLike]) -> list[str]:
    """The sentences of `signals`, naming accounts as `store` knows them (what `detect(sentences=...)` takes)."""
    if not signals:
        return []
    names = Names(store)
    return [render(s, names) for s in signals]


def in_zone_rows(store: Store, rows: list[dict[str, Any]], tz: tzinfo | None) -> list[dict[str, Any]]:
    """Signal rows as the views return them (JSON shape) with their `summary` said again with days in `tz`.

    Stored sentences date things in UTC; a page shown in another zone re-renders them (the figures are in
    `detail`), so a drop at 15:00 UTC on 15 March reads 16 March in Seoul, as the page's other dates do."""
    if tz is None or str(tz) == "UTC" or not rows:
        return rows
    names = Names(store)
    out = []
    for r in rows:
        signal = SimpleNamespace(kind=r["kind"], ts=when(r.get("ts")), start=when(r.get("start")),
                                 end=when(r.get("end")), subjects=list(r.get("subjects") or []),
                                 score=float(r.get("score") or 0.0), p_value=r.get("p_value"),
                                 detail=dict(r.get("detail") or {}), platform=r.get("platform"))
        out.append({**r, "summary": render(signal, names, tz=tz)})
    return out


__all__ = ["SENTENCES", "NoSentence", "Sentence", "SignalLike", "in_zone_rows", "plain", "render", "render_signals"]
