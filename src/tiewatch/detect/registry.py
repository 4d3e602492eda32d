"""The detectors tiewatch runs, in their explicit order, described without importing them.

The registry is the one list a new detector is added to. It is light on purpose: the command line builds its
`--kind` choices and help from it without importing DuckDB, numpy or scipy. Each entry names the class that
implements it; `tests/test_detector_contract.py` checks that the class declares the same name, kinds and
families as its entry, and runs the detector check suite over every entry.

Order matters: silence runs last, since it screens its many tests with a bound that uses the other families'
test counts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tiewatch.detect.base import Detector


@dataclass(frozen=True)
class DetectorEntry:
    """One registered detector: its name, the signal kinds it stores, its test families and its class."""

    name: str
    kinds: tuple[str, ...]
    families: tuple[str, ...]
    implementation: str  # "module:Class"
    description: str

    def load(self) -> type[Detector]:
        module, _, cls = self.implementation.partition(":")
        loaded: type[Detector] = getattr(importlib.import_module(module), cls)
        return loaded


REGISTRY: tuple[DetectorEntry, ...] = (
    DetectorEntry("audience", ("audience_drop", "audience_surge", "audience_shift", "platform_shift"), ("audience",),
                  "tiewatch.detect.audience:AudienceDetector",
                  "an account's follower count moves far outside its own trend, or many accounts' move together"),
    DetectorEntry("coincidence", ("coincidence",), ("coincidence",),
                  "tiewatch.detect.coincidence:CoincidenceDetector",
                  "an account posts right after news about someone it is (or was) tied to"),
    DetectorEntry("follow", ("follow", "unfollow"), (),
                  "tiewatch.detect.follows:FollowDetector",
                  "a follow edge appeared or vanished, ranked by the tie between the accounts"),
    DetectorEntry("burst", ("burst",), ("burst",), "tiewatch.detect.burst:BurstDetector",
                  "A suddenly engages with B on many days in a row, unusual for the pair's own rhythm"),
    DetectorEntry("burst_account", ("burst_account",), ("burst_account",),
                  "tiewatch.detect.burst_account:AccountBurstDetector",
                  "a crowd (many accounts) or a flood (one account) reaches B in one hour, unusual for B's hours"),
    DetectorEntry("silence", ("silence", "resumption"), ("silence",),
                  "tiewatch.detect.silence:SilenceDetector",
                  "A stopped engaging with B far longer than A's own rhythm allows, and when A came back"),
    # Facts the watch-list tracker's tables make visible (deletions, profile snapshots); no tests.
    DetectorEntry("unlike", ("unlike",), (), "tiewatch.detect.unlike:UnlikeDetector",
                  "A removed a like from B's post, ranked by the tie"),
    DetectorEntry("post_deleted", ("post_deleted",), (), "tiewatch.detect.post_deleted:PostDeletedDetector",
                  "A deleted posts, above all those naming or replying to B, as one signal per burst"),
    DetectorEntry("profile_change", ("profile_change",), (), "tiewatch.detect.profile_change:ProfileChangeDetector",
                  "name, bio, avatar, status or handle changed; a bio gaining or losing a mention names that account"),
)


def entries() -> tuple[DetectorEntry, ...]:
    return REGISTRY


def signal_kinds() -> tuple[str, ...]:
    """Every kind of signal some registered detector can store, in registry order."""
    return tuple(k for e in REGISTRY for k in e.kinds)


def detectors(names: list[str] | None = None) -> list[Detector]:
    """Fresh instances of the registered detectors (all, or those named), in registry order."""
    wanted = set(names) if names is not None else None
    return [e.load()() for e in REGISTRY if wanted is None or e.name in wanted]
