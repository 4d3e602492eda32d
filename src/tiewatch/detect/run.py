"""Running every detector, controlling the false-discovery rate across all their tests, storing signals."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from tiewatch.detect.base import Context, Detector, Signal, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.fdr import p_threshold, weighted_bh
from tiewatch.detect.registry import detectors
from tiewatch.engines.base import Engine
from tiewatch.errors import InvalidInput
from tiewatch.progress import ProgressCallback, ProgressEvent
from tiewatch.store import Store

# What turns signals into their summary sentences (views.sentences.render_signals): passed in from above, since
# the data flows one way and detectors write no prose.
Sentences = Callable[[Store, Sequence[Signal]], list[str]]


@dataclass
class DetectReport:
    counts: dict[str, int]
    tests: dict[str, int]
    fdr: float
    untestable: dict[str, int] = field(default_factory=dict)  # tests dropped by Tarone's filter: never passable

    def as_json(self) -> dict[str, object]:
        return {"signals": dict(self.counts), "total": sum(self.counts.values()), "tests": dict(self.tests),
                "fdr": self.fdr, "untestable": dict(self.untestable)}


def signal_id(s: Signal) -> str:
    key = "|".join([s.kind, s.platform or "", *s.subjects, s.start.isoformat() if s.start else "",
                    s.evidence[0] if s.evidence else ""])
    return "s-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def detect(store: Store, *, since: datetime | None = None, until: datetime | None = None,
           fdr: float = 0.05, only: list[Detector] | None = None,
           progress: ProgressCallback | None = None, engine: Engine | None = None,
           sentences: Sentences | None = None) -> DetectReport:
    """Run the registered detectors (or `only` these) over the store and replace its signals with what passes
    false-discovery control at `fdr` across every test of the run. `engine`: where their SQL runs (default:
    DuckDB over the store); the signals are stored in the store whatever the engine. `sentences` writes each
    signal's summary (views.sentences.render_signals; without it the summaries are stored empty)."""
    if not 0 < fdr < 1:
        raise InvalidInput(f"--fdr {fdr}: must be between 0 and 1")
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"--since {since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}: "
                           "an empty window")
    ctx = Context(store=store, dialect=DUCKDB, window=Window(since, until), keep_p=fdr, engine=engine)  # type: ignore[arg-type]
    runners = only if only is not None else detectors()
    found: list[list[Signal]] = []
    tests: Counter[str] = Counter()
    untestable: Counter[str] = Counter()
    for i, det in enumerate(runners):
        if progress is not None:
            progress(ProgressEvent("detect", det.name, i, len(runners)))
        ctx.other_tests = dict(tests)
        out = det.run(ctx)
        found.append(out.signals)
        tests.update(out.tests)
        untestable.update(out.untestable)
    candidates = [s for mine in found for s in mine]
    # Some detectors' first p-values are lower bounds that an expensive refinement can only raise. BH is
    # monotone (larger p-values never add rejections), so refining just the first pass's rejections and
    # running BH again gives exactly the result of refining everything.
    first = {id(s) for s in weighted_bh(candidates, dict(tests), fdr)}
    for det, mine in zip(runners, found, strict=True):
        det.refine(ctx, [s for s in mine if id(s) in first])
    kept = {id(s) for s in weighted_bh(candidates, dict(tests), fdr)}
    final: list[Signal] = []
    for det, mine in zip(runners, found, strict=True):
        passed = [s for s in mine if id(s) in kept]
        p_star = max((p_threshold(candidates, dict(tests), fdr, f) for f in det.families), default=0.0)
        final += det.finalize(ctx, passed, p_star)
        final += [s for s in mine if s.p_value is None]  # facts, not tests: stored as they are
    if sentences is not None:
        for s, text in zip(final, sentences(store, final), strict=True):
            s.summary = text
    _store_signals(store, final, since, until)
    if progress is not None:
        progress(ProgressEvent("detect", "done", len(runners), len(runners)))
    return DetectReport(dict(Counter(s.kind for s in final)), dict(tests), fdr, dict(untestable))


def _store_signals(store: Store, signals: list[Signal], since: datetime | None = None,
                   until: datetime | None = None) -> None:
    """Replace the stored signals that lie in the window detected (all of them without one); signals outside
    it, from earlier runs over other windows, are kept."""
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
        con.register("tw_new_signals", table)
        con.execute('DELETE FROM signals WHERE (?::TIMESTAMP IS NULL OR coalesce(ts, start, "end") >= ?) '
                    'AND (?::TIMESTAMP IS NULL OR coalesce(ts, start, "end") < ?) '
                    "OR id IN (SELECT id FROM tw_new_signals)", [since, since, until, until])
        con.execute('INSERT INTO signals SELECT id, kind, ts, start, "end", subjects, score, p_value, q_value, '
                    "evidence, summary, detail, platform FROM tw_new_signals")
        con.unregister("tw_new_signals")
