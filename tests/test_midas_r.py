"""bench/midas_r.py, the MIDAS-R reference of the burst benchmarks: the set-based scores equal an
edge-by-edge transcription of the authors' RelationalCore (with exact counts for its sketches)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from midas_r import chi2_p, midas_r, midas_r_parts


def relational_core(src: list[int], dst: list[int], tick: list[int], factor: float = 0.5) -> np.ndarray:
    """Their src/RelationalCore.hpp operator(), one edge at a time, dicts instead of count-min sketches."""
    now = 1
    current: list[dict[object, float]] = [{}, {}, {}]
    total: list[dict[object, float]] = [{}, {}, {}]
    out = []
    for u, v, t in zip(src, dst, tick, strict=True):
        if now < t:  # one decay per change of tick, however many ticks are skipped
            current = [{k: x * factor for k, x in c.items()} for c in current]
            now = t
        scores = []
        for i, key in enumerate(((u, v), u, v)):
            current[i][key] = current[i].get(key, 0.0) + 1
            total[i][key] = total[i].get(key, 0.0) + 1
            a, s = current[i][key], total[i][key]
            scores.append(0.0 if t - 1 == 0 else ((a - s / t) * t) ** 2 / (s * (t - 1)))
        out.append(scores)
    return np.array(out).T


def test_scores_equal_the_authors_core_edge_by_edge() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    src = rng.zipf(1.6, n) % 40
    dst = rng.zipf(1.6, n) % 30
    tick = np.cumsum(rng.choice([0, 0, 0, 1, 2, 7], n)) + 1  # repeated ticks and skipped ones
    expected = relational_core(src.tolist(), dst.tolist(), tick.tolist())
    got = midas_r_parts(src, dst, tick)
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert np.allclose(midas_r(src.astype(str), dst.astype(str), tick), expected.max(axis=0))


def test_a_sudden_surge_on_an_edge_passes_the_chi_square_threshold_and_steady_traffic_does_not() -> None:
    src = [1] * 100 + [1] * 20
    dst = [2] * 100 + [2] * 20
    tick = list(range(1, 101)) + [101] * 20  # once per tick, then 20 times in one tick
    p = chi2_p(midas_r(np.array(src), np.array(dst), np.array(tick)))
    assert p[10:100].min() > 0.05
    assert p[-1] < 1e-4


def test_edges_out_of_time_order_are_refused() -> None:
    with pytest.raises(ValueError, match="time order"):
        midas_r(np.array([1, 2]), np.array([2, 1]), np.array([5, 4]))
