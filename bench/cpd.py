"""Change-point scoring as TCPDBench does it (F1 with a margin of 5, and cover), baselines, and tiewatch's
audience detector run on a series taken as a follower count.

Metrics follow van den Burg & Williams (2020), "An Evaluation of Change Point Detection Algorithms": every
annotator's set and the prediction include index 0; precision counts predictions within the margin of the
union of annotations, recall averages over annotators; cover is the weighted best Jaccard overlap of the
annotators' segments with the predicted ones, averaged over annotators.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tiewatch.detect import audience, segments
from tiewatch.detect.run import detect
from tiewatch.store import Store


# -- metrics (TCPDBench) --------------------------------------------------------------------------------
def _true_positives(truth: set[int], pred: set[int], margin: int) -> set[int]:
    x = set(pred)
    tp = set()
    for tau in sorted(truth):
        close = sorted((abs(tau - p), p) for p in x if abs(tau - p) <= margin)
        if close:
            tp.add(tau)
            x.remove(close[0][1])
    return tp


def f_measure(annotations: dict[str, list[int]], predictions: list[int], margin: int = 5) -> float:
    tks = [set(a) | {0} for a in annotations.values()]
    x = set(predictions) | {0}
    union: set[int] = set().union(*tks)
    precision = len(_true_positives(union, x, margin)) / len(x)
    recall = sum(len(_true_positives(tk, x, margin)) / len(tk) for tk in tks) / len(tks)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _partition(cps: list[int], n: int) -> list[set[int]]:
    bounds = sorted({c for c in cps if 0 < c < n})
    edges = [0, *bounds, n]
    return [set(range(a, b)) for a, b in itertools.pairwise(edges) if b > a]


def covering(annotations: dict[str, list[int]], predictions: list[int], n: int) -> float:
    pred = _partition(predictions, n)
    scores = []
    for a in annotations.values():
        truth = _partition(a, n)
        c = sum(len(r) * max(len(r & q) / len(r | q) for q in pred) for r in truth)
        scores.append(c / n)
    return float(np.mean(scores))


# -- data ---------------------------------------------------------------------------------------------
def load_tcpd(root: Path) -> list[tuple[str, np.ndarray, dict[str, list[int]]]]:
    """The univariate TCPD series found under root (a TCPD checkout): name, values, annotations."""
    ann = json.loads((root / "annotations.json").read_text())
    out = []
    for f in sorted(root.glob("datasets/*/*.json")):
        d = json.loads(f.read_text())
        if d.get("n_dim") != 1 or d["name"] not in ann:
            continue
        raw = d["series"][0]["raw"]
        x = np.array([np.nan if v is None else float(v) for v in raw])
        if np.isnan(x).any():  # TCPDBench's methods see missing values interpolated
            idx = np.arange(len(x))
            ok = ~np.isnan(x)
            x = np.interp(idx, idx[ok], x[ok])
        out.append((d["name"], x, ann[d["name"]]))
    return out


# -- methods ------------------------------------------------------------------------------------------
def zero(x: np.ndarray) -> list[int]:
    return [0]


def _ruptures(x: np.ndarray, algo: str, pen_per_log_n: float) -> list[int]:
    import ruptures as rpt  # a dev dependency: the baselines only

    z = (x - x.mean()) / (x.std() or 1.0)
    cls = rpt.Binseg if algo == "binseg" else rpt.Pelt
    bkps = cls(model="l2", min_size=2, jump=1).fit(z.reshape(-1, 1)).predict(pen=pen_per_log_n * math.log(len(x)))
    return [0, *[int(b) for b in bkps[:-1]]]


def binseg(x: np.ndarray) -> list[int]:
    return _ruptures(x, "binseg", 2.0)


def pelt(x: np.ndarray) -> list[int]:
    return _ruptures(x, "pelt", 3.0)


def as_counts(x: np.ndarray) -> np.ndarray:
    """A series as follower counts: shifted and scaled to integers between one and two million."""
    span = float(np.ptp(x)) or 1.0
    counts: np.ndarray = np.round((x - x.min()) / span * 1_000_000 + 1_000_000).astype(np.int64)
    return counts


T0 = datetime(2000, 1, 1)


@contextlib.contextmanager
def _series_store(x: np.ndarray) -> Iterator[Store]:
    """A store holding the series as one account's daily follower counts (scaled to integers)."""
    counts = as_counts(x)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.duckdb")
        try:
            tbl = pa.table({"ts": pa.array([T0 + timedelta(days=i) for i in range(len(x))], pa.timestamp("us")),
                            "platform": ["x"] * len(x), "account": ["series"] * len(x), "followers": counts})
            store.con.register("tw_series", tbl)
            store.con.execute("INSERT INTO metrics (ts, platform, account, followers) "
                              "SELECT ts, platform, account, followers FROM tw_series")
            store.con.unregister("tw_series")
            yield store
        finally:
            store.close()


def _change_points(store: Store) -> list[int]:
    """Every audience signal's first day is a change point (the index where the new level starts)."""
    rows = store.con.execute("SELECT start, \"end\" FROM signals WHERE kind LIKE 'audience_%'").fetchall()
    return sorted({0} | {round((start - T0).total_seconds() / 86400) + 1 for start, _end in rows})


def tiewatch_audience(x: np.ndarray, fdr: float = 0.05) -> list[int]:
    """The series as one account's daily follower counts (scaled to integers), through the whole `detect`."""
    with _series_store(x) as store:
        detect(store, fdr=fdr)
        return _change_points(store)


# -- honest settings: cross-validation over disjoint folds ------------------------------------------------
PENALTIES = (1.5, 2.0, 3.0, 4.0, 6.0)  # penalty per ln n: the grid each method's penalty is chosen from
FOLDS = 5


TAILS = ((1, 2, 3, 4), (2, 3, 4))  # the degrees of freedom an account's tail is fitted among (audience.TAIL_DF)


@contextlib.contextmanager
def audience_settings(per_log_n: float, tails: tuple[int, ...]) -> Iterator[None]:
    """tiewatch's segmentation penalty and tail grid set for the duration (what `tiewatch detect` then reports)."""
    old = segments.PENALTY_PER_LOG_N, audience.TAIL_DF
    segments.PENALTY_PER_LOG_N, audience.TAIL_DF = per_log_n, tails
    try:
        yield
    finally:
        segments.PENALTY_PER_LOG_N, audience.TAIL_DF = old


def _tiewatch_all(x: np.ndarray, settings: list[Any]) -> list[list[int]]:
    """tiewatch_audience at each setting, on one store (ingested once; the audience detector alone, which on a
    store holding only this series reports what the whole `detect` reports)."""
    from tiewatch.detect.audience import AudienceDetector

    with _series_store(x) as store:
        out = []
        for setting in settings:
            with audience_settings(*setting):
                detect(store, only=[AudienceDetector()])
            out.append(_change_points(store))
    return out


def _label(setting: Any) -> str:
    if isinstance(setting, tuple):
        return f"{setting[0]:g} ln n, ν in {min(setting[1])}-{max(setting[1])}"
    return f"{setting:g} ln n"


def _each(fn: Callable[[np.ndarray, Any], list[int]]) -> Callable[[np.ndarray, list[Any]], list[list[int]]]:
    return lambda x, settings: [fn(x, st) for st in settings]


TUNED: dict[str, tuple[list[Any], Callable[[np.ndarray, list[Any]], list[list[int]]]]] = {
    "binseg (l2)": (list(PENALTIES), _each(lambda x, c: _ruptures(x, "binseg", c))),
    "pelt (l2)": (list(PENALTIES), _each(lambda x, c: _ruptures(x, "pelt", c))),
    "tiewatch audience": ([(c, t) for c in PENALTIES for t in TAILS], _tiewatch_all)}


def cross_validate(root: Path) -> tuple[dict[str, tuple[float, float]], dict[str, list[str]]]:
    """Held-out mean F1 and cover per method: the series are split into FOLDS disjoint folds (by sorted name,
    round robin); for each fold, the setting (penalty per ln n; for tiewatch also the tail grid) with the best
    mean (F1 + cover) / 2 on the other folds is chosen and scored on the fold. Every series is scored once, by
    a setting chosen without it. Also returns the setting chosen for each fold."""
    data = load_tcpd(root)
    fold = {name: i % FOLDS for i, (name, _, _) in enumerate(sorted(data, key=lambda d: d[0]))}
    means: dict[str, tuple[float, float]] = {}
    chosen: dict[str, list[str]] = {}
    for m, (settings, fn) in TUNED.items():
        per = {name: fn(x, settings) for name, x, _ in data}
        score = [{name: _scores(ann, per[name][i], len(x)) for name, x, ann in data} for i in range(len(settings))]
        held: list[tuple[float, float]] = []
        chosen[m] = []
        for k in range(FOLDS):
            train = [n for n in fold if fold[n] != k]
            best = max(range(len(settings)), key=lambda i: (float(np.mean([sum(score[i][n]) for n in train])), -i))
            chosen[m].append(_label(settings[best]))
            held += [score[best][n] for n in fold if fold[n] == k]
        means[m] = (float(np.mean([h[0] for h in held])), float(np.mean([h[1] for h in held])))
    return means, chosen


def _scores(ann: dict[str, list[int]], cps: list[int], n: int) -> tuple[float, float]:
    return f_measure(ann, cps), covering(ann, cps, n)


METHODS = {"zero": zero, "binseg (l2, 2 ln n)": binseg, "pelt (l2, 3 ln n)": pelt,
           "tiewatch audience": tiewatch_audience}


def evaluate(root: Path) -> tuple[dict[str, tuple[float, float]], int, dict[str, dict[str, tuple[float, float]]]]:
    """Mean F1 and cover per method over the univariate TCPD series under root, and per series."""
    data = load_tcpd(root)
    per: dict[str, dict[str, tuple[float, float]]] = {}
    for name, x, ann in data:
        per[name] = {}
        for m, fn in METHODS.items():
            cps = fn(x)
            per[name][m] = (f_measure(ann, cps), covering(ann, cps, len(x)))
    means = {m: (float(np.mean([per[s][m][0] for s in per])), float(np.mean([per[s][m][1] for s in per])))
             for m in METHODS}
    return means, len(data), per
