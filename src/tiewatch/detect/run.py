"""Running every detector, controlling the false-discovery rate across all their tests, storing signals."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from tiewatch.detect.audience import AudienceDetector
from tiewatch.detect.base import Context, Signal, Window
from tiewatch.detect.coincidence import CoincidenceDetector
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.fdr import p_threshold, weighted_bh
from tiewatch.detect.follows import FollowDetector
from tiewatch.detect.silence import SilenceDetector
from tiewatch.errors import TiewatchError
from tiewatch.store import Store


def detectors() -> list[object]:
    # Silence runs last: it screens its many tests with a bound that uses the other families' test counts.
    return [AudienceDetector(), CoincidenceDetector(), FollowDetector(), SilenceDetector(),
            *track_detectors()]


def track_detectors() -> list[object]:
    """Facts the watch-list tracker's tables make visible (deletions, profile snapshots); no tests."""
    from tiewatch.detect.post_deleted import PostDeletedDetector
    from tiewatch.detect.profile_change import ProfileChangeDetector
    from tiewatch.detect.unlike import UnlikeDetector

    return [UnlikeDetector(), PostDeletedDetector(), ProfileChangeDetector()]


@dataclass
class DetectReport:
    counts: dict[str, int]
    tests: dict[str, int]
    fdr: float

    def as_json(self) -> dict[str, object]:
        return {"signals": dict(self.counts), "total": sum(self.counts.values()), "tests": dict(self.tests),
                "fdr": self.fdr}


def signal_id(s: Signal) -> str:
    key = "|".join([s.kind, s.platform or "", *s.subjects, s.start.isoformat() if s.start else "",
                    s.evidence[0] if s.evidence else ""])
    return "s-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def detect(store: Store, *, since: datetime | None = None, until: datetime | None = None,
           fdr: float = 0.05) -> DetectReport:
    """Run all detectors over the store and replace its signals with what passes FDR control at `fdr`."""
    if not 0 < fdr < 1:
        raise TiewatchError(f"--fdr {fdr}: must be between 0 and 1")
    ctx = Context(store=store, dialect=DUCKDB, window=Window(since, until), keep_p=fdr)
    candidates: list[Signal] = []
    tests: Counter[str] = Counter()
    runners = detectors()
    for det in runners:
        ctx.other_tests = dict(tests)
        out = det.run(ctx)  # type: ignore[attr-defined]
        candidates.extend(out.signals)
        tests.update(out.tests)
    # Some detectors' first p-values are lower bounds that an expensive refinement can only raise. BH is
    # monotone (larger p-values never add rejections), so refining just the first pass's rejections and
    # running BH again gives exactly the result of refining everything.
    first = weighted_bh(candidates, dict(tests), fdr)
    for det in runners:
        refine = getattr(det, "refine", None)
        if refine is not None:
            refine(ctx, first)
    kept = weighted_bh(candidates, dict(tests), fdr)
    untested = [s for s in candidates if s.p_value is None]
    final: list[Signal] = kept
    for det in runners:
        finalize = getattr(det, "finalize", None)
        if finalize is not None:
            family = getattr(det, "name", "")
            final = finalize(ctx, final, p_threshold(candidates, dict(tests), fdr, family))
    final = final + untested
    _store_signals(store, final)
    return DetectReport(dict(Counter(s.kind for s in final)), dict(tests), fdr)


def _store_signals(store: Store, signals: list[Signal]) -> None:
    ids = [signal_id(s) for s in signals]
    seen: set[str] = set()
    rows = []
    for sid, s in zip(ids, signals, strict=True):
        if sid in seen:
            continue
        seen.add(sid)
        rows.append((sid, s))
    table = pa.table({
        "id": [sid for sid, _ in rows],
        "kind": [s.kind for _, s in rows],
        "ts": pa.array([s.ts for _, s in rows], pa.timestamp("us")),
        "start": pa.array([s.start for _, s in rows], pa.timestamp("us")),
        "end": pa.array([s.end for _, s in rows], pa.timestamp("us")),
        "subjects": pa.array([s.subjects for _, s in rows], pa.list_(pa.string())),
        "score": pa.array([s.score for _, s in rows], pa.float64()),
        "p_value": pa.array([s.p_value for _, s in rows], pa.float64()),
        "q_value": pa.array([s.q_value for _, s in rows], pa.float64()),
        "evidence": pa.array([s.evidence for _, s in rows], pa.list_(pa.string())),
        "summary": [s.summary for _, s in rows],
        "detail": [json.dumps(s.detail, default=str) for _, s in rows],
        "platform": [s.platform for _, s in rows],
    })
    with store.transaction() as con:
        con.execute("DELETE FROM signals")
        con.register("tw_new_signals", table)
        con.execute('INSERT INTO signals SELECT id, kind, ts, start, "end", subjects, score, p_value, q_value, '
                    "evidence, summary, detail, platform FROM tw_new_signals")
        con.unregister("tw_new_signals")
