"""Every signal's sentence comes from views.sentences: each kind a detector can store has one, and the words
are those users read before sentences moved out of the detectors (or a deliberate improvement, kept beside
the old words in the fixture as "was")."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tiewatch.api import SignalRecord
from tiewatch.detect.base import Signal
from tiewatch.detect.naming import Names
from tiewatch.detect.registry import signal_kinds
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.sentences import SENTENCES, NoSentence, render, render_signals

BEFORE = Path(__file__).parent / "fixtures" / "sentences" / "before.json"


def _t(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.removesuffix("Z")) if text else None


@pytest.fixture(scope="module")
def before() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BEFORE.read_text())
    return data


@pytest.fixture(scope="module")
def names(before: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Names:
    with Store(tmp_path_factory.mktemp("names") / "n.duckdb") as store:
        store.con.executemany("INSERT INTO accounts (platform, account, name) VALUES (?, ?, ?)", before["names"])
        store.con.execute("INSERT INTO accounts (platform, account, name) VALUES "
                          "('x', 'ann', 'Ann Lee'), ('x', 'bo', 'Bo Kim'), ('x', 'cy', 'Cy'), "
                          "('bluesky', 'did:plc:a', 'a.test'), ('bluesky', 'did:plc:b', 'b.test')")
        return Names(store)


def test_every_kind_a_detector_can_store_has_a_sentence() -> None:
    assert set(signal_kinds()) <= set(SENTENCES), sorted(set(signal_kinds()) - set(SENTENCES))


def test_a_kind_without_a_sentence_is_refused_when_strict_and_plain_otherwise(names: Names) -> None:
    s = Signal("no_such_kind", datetime(2024, 5, 3), None, None, ["ann", "bo"], 1.0, None, [], platform="x")
    with pytest.raises(NoSentence):
        render(s, names, strict=True)
    assert render(s, names) == "no such kind: Ann Lee and Bo Kim, 3 May 2024."


def test_seed_and_tracker_signals_read_as_before(before: dict[str, Any], names: Names) -> None:
    """The signals the seed scenario and the detector check rows gave, as stored (detail read back from JSON)."""
    kinds = set()
    for item in before["signals"]:
        rec = SignalRecord(item["id"], item["kind"], _t(item["ts"]), _t(item["start"]), _t(item["end"]),
                           item["subjects"], item["score"], item["p_value"], None, [], "", item["detail"],
                           item["platform"])
        assert render(rec, names, strict=True) == item["sentence"], item.get("was")
        kinds.add(item["kind"])
    assert kinds >= {"silence", "resumption", "audience_drop", "coincidence", "follow", "unfollow", "unlike",
                     "post_deleted", "profile_change"}


def _sig(kind: str, subjects: list[str], detail: dict[str, Any], *, ts: datetime | None = None,
         start: datetime | None = None, end: datetime | None = None, score: float = 0.0,
         p: float | None = None, platform: str = "x") -> Signal:
    return Signal(kind, ts, start, end, subjects, score, p, [], detail=detail, platform=platform)


D1, D2, D3 = datetime(2024, 3, 1, 9), datetime(2024, 5, 3, 8, 15), datetime(2024, 5, 3, 17, 40)
# Kinds and branches the scenarios above do not reach, with the words the detectors used to write.
CASES = [
    (_sig("silence", ["ann", "bo"], {"model": "renewal", "gap_days": 40.26, "gap_active_days": 31,
                                     "typical_gap_active_days": 2.4, "earlier_gaps": 57, "at_least_as_long": 0,
                                     "open": True}, start=D1),
     "Ann Lee did not interact with Bo Kim for 40 days (since 1 March 2024), 31 of Ann Lee's active days: longer "
     "than all 57 earlier gaps, typically 2 active days."),
    (_sig("silence", ["ann", "bo"], {"model": "renewal", "gap_days": 63.0, "gap_active_days": 31,
                                     "typical_gap_active_days": 2.4, "earlier_gaps": 57, "at_least_as_long": 2,
                                     "open": False}, start=D1, end=D2),
     "Ann Lee did not interact with Bo Kim for 63 days (from 1 March 2024 until 3 May 2024), 31 of Ann Lee's "
     "active days: matched or exceeded by only 2 of the 57 earlier gaps, typically 2 active days."),
    (_sig("resumption", ["ann", "bo"], {"model": "renewal", "resumed_kind": "message", "gap_active_days": 31,
                                        "typical_gap_active_days": 2.44}, ts=D2, start=D1, end=D2),
     "Ann Lee messaged Bo Kim on 3 May 2024, the first time in 63 days (31 of Ann Lee's active days; the "
     "typical gap was 2.4)."),
    (_sig("resumption", ["ann", "bo"], {"model": "posts", "resumed_kind": "mention", "engaged_before": 9,
                                        "posts_before": 12}, ts=D2, start=D1, end=D2),
     "Ann Lee mentioned Bo Kim on 3 May 2024, the first in 63 days; before that Ann Lee had engaged with 9 of "
     "Bo Kim's 12 posts."),
    (_sig("audience_surge", ["ann"], {"days": 1, "change": 5200, "change_pct": 12.34, "usual_daily_change": -3.0,
                                      "change_in_spreads": 48.2, "cohort": ["bo", "cy"],
                                      "platform_shift": "3 May 2024"},
          ts=D2, start=D1, end=D2),
     "Ann Lee gained 5,200 followers (12.3%) on 3 May 2024, against a usual change of -3 a day; that is 48 times "
     "the usual daily spread. It moved the same day as 2 other accounts (a platform-wide shift)."),
    (_sig("audience_shift", ["ann"], {"trend_before_per_day": 12.4, "trend_after_per_day": -30.0, "step": -1500.0},
          ts=D2),
     "Ann Lee's follower count changed course around 3 May 2024: from +12 a day to -30 a day, with a step of "
     "-1,500 (segmentation, not a statistical test)."),
    (_sig("platform_shift", ["ann", "bo", "cy"], {"direction": "down", "accounts_moved": 3, "accounts_observed": 40,
                                                  "expected_by_chance": 0.4, "cohort": ["ann", "bo", "cy"]},
          ts=D2, start=D2),
     "On 3 May 2024, 3 of the 40 accounts followed on x lost followers far outside their own trend at once "
     "(about 0.4 would by chance): a platform-wide shift, not 3 personal changes. Accounts: Ann Lee, Bo Kim, Cy."),
    (_sig("coincidence", ["ann", "bo"], {"via": "bo", "content_kind": "post", "caption": None, "items_last_year": 50,
                                         "span_days": 365.0, "shared_news": False, "tie_was": 12.4,
                                         "news_title": "Bo Kim quits", "hours_after": 0.75},
          ts=datetime(2024, 5, 3, 9, 0), start=datetime(2024, 5, 3, 8, 15), p=0.0123),
     "Ann Lee posted a post (no caption) 45 minutes after the news \"Bo Kim quits\" (3 May 2024); Ann Lee and Bo "
     "Kim were close (tie 12 in the two years before); Ann Lee publishes a post about every 7 days, so one that "
     "soon happens by chance 1.2% of the time."),
    (_sig("unfollow", ["ann", "bo"], {"engagements_out": 1, "engagements_in": 0}, ts=D3, start=D1, end=D3,
          score=0.44),
     "Ann Lee unfollowed Bo Kim between 1 March 2024 and 3 May 2024; before that Ann Lee had engaged with Bo Kim "
     "once and Bo Kim had never engaged with Ann Lee (tie strength 0.4)."),
    (_sig("unlike", ["did:plc:a", "did:plc:b"], {"posted": None, "liked": "2024-03-01 09:00:00",
                                                 "deleted_after": "2024-05-01 00:00:00"},
          ts=D2, score=3.0, platform="bluesky"),
     "a.test unliked a post by b.test between 1 May 2024 and 3 May 2024 (liked 1 March 2024); tie strength 3.0."),
    (_sig("post_deleted", ["did:plc:a", "did:plc:b"], {"deleted": 1, "about": ["mention", "quote"], "remaining": 0},
          ts=D2, start=D2, end=D2, score=2.25, platform="bluesky"),
     "a.test deleted a post mentioning and quoting b.test on 3 May 2024 (every stored post with b.test; "
     "tie strength 2.2)."),
    (_sig("post_deleted", ["did:plc:a"], {"deleted": 7, "known": 5}, ts=D2, start=D1, end=D2, platform="bluesky"),
     "a.test deleted 7 posts between 1 March 2024 and 3 May 2024 (5 of them seen before)."),
    (_sig("profile_change", ["did:plc:a"], {"what": "profile", "status": "unavailable"}, ts=D3, start=D2, end=D3,
          platform="bluesky"),
     "a.test became unavailable (deactivated, suspended or deleted) on 3 May 2024 (between 08:15 and 17:40 UTC)."),
    (_sig("profile_change", ["did:plc:a"], {"what": "profile", "display_name": {"from": "A", "to": None},
                                            "avatar": {"from": "x", "to": "y"},
                                            "handle": {"from": "a.test", "to": "a2.test"}},
          ts=D3, start=D1, end=D3, platform="bluesky"),
     "a.test changed their profile between 1 March 2024 and 3 May 2024: display name from A to (none); changed "
     "avatar; handle from a.test to a2.test."),
    (_sig("profile_change", ["did:plc:a", "zed.test"], {"what": "bio_mention", "mention": "zed.test",
                                                        "change": "added", "tie_strength": 0.0},
          ts=D3, start=D2, end=D3, platform="bluesky"),
     "a.test added a mention of @zed.test in their bio on 3 May 2024 (between 08:15 and 17:40 UTC) "
     "(tie strength 0.0)."),
]


@pytest.mark.parametrize(("signal", "sentence"), CASES, ids=[f"{i}-{c[0].kind}" for i, c in enumerate(CASES)])
def test_other_branches_read_as_before(signal: Signal, sentence: str, names: Names) -> None:
    assert render(signal, names, strict=True) == sentence


def test_stored_sentences_are_what_the_renderer_says_of_the_stored_signal(detected_db: Path,
                                                                          tmp_path: Path) -> None:
    """What `detect` stores is what any front end re-renders from the stored row (detail read back from JSON)."""
    path = tmp_path / "s.duckdb"
    shutil.copy(detected_db, path)
    with Store(path) as store:
        rows = list_signals(store)
        names = Names(store)
        assert rows
        for row in rows:
            assert row["summary"], row["kind"]
            assert render(SignalRecord.from_json(row), names, strict=True) == row["summary"]
        assert render_signals(store, []) == []


def test_small_p_values_read_as_odds_not_as_tiny_percentages() -> None:
    from tiewatch.views.sentences.common import chance

    assert chance(0.012) == "by chance 1.2% of the time"
    assert chance(0.001) == "by chance 0.1% of the time"
    assert chance(0.0004) == "by chance about once in 2,500"
    assert chance(2.6e-8) == "by chance about once in 38 million"
    assert chance(3e-10) == "by chance about once in 3.3 billion"
    assert chance(1e-13) == chance(0.0) == "by chance less than once in a trillion"
    assert "e-" not in "".join(chance(10.0 ** -k) for k in range(1, 15))
