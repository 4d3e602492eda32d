"""Episodes: a subject's consecutive significant tests reported as one signal (the burst detectors' finalize).

`episodes` groups kept tests by subject (in the order subjects first appear), sorts each group and cuts it
where the next test does not continue the last one; `merge_episode` turns one episode into one signal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from tiewatch.detect.base import Signal


def episodes(kept: list[Signal], key: Callable[[Signal], Hashable], order: Callable[[Signal], Any],
             continues: Callable[[Signal, Signal], bool]) -> list[list[Signal]]:
    """The episodes of `kept`: per `key`, tests sorted by `order`, a new episode wherever
    `continues(last, next)` is false."""
    groups: dict[Hashable, list[Signal]] = {}
    for s in kept:
        groups.setdefault(key(s), []).append(s)
    out: list[list[Signal]] = []
    for tests in groups.values():
        tests.sort(key=order)
        episode = [tests[0]]
        for s in tests[1:]:
            if continues(episode[-1], s):
                episode.append(s)
            else:
                out.append(episode)
                episode = [s]
        out.append(episode)
    return out


def merge_episode(episode: list[Signal], cap: int,
                  detail: Callable[[Signal, list[str]], dict[str, Any]]) -> Signal:
    """One signal for an episode: the first test's time and subjects, the best test's score and p-value, the
    union of the tests' evidence (the first `cap` ids), the episode's last end, its smallest q-value, and
    `detail(best, ids)` as detail. A single test stays as it is."""
    first = episode[0]
    if len(episode) == 1:
        return first
    best = min(episode, key=lambda s: s.p_value if s.p_value is not None else 1.0)
    ids = sorted({i for s in episode for i in s.evidence})
    return Signal(kind=first.kind, ts=first.ts, start=first.start, end=max(s.end for s in episode if s.end),
                  subjects=first.subjects, score=best.score, p_value=best.p_value, evidence=ids[:cap],
                  detail=detail(best, ids), platform=first.platform, family=first.family,
                  q_value=min(s.q_value for s in episode if s.q_value is not None))
