"""The silence prior's arithmetic gives the same bits however it is run: fitted and evaluated with reused
scratch arrays, in blocks of any size, on several threads, as the earlier straightforward formulation did;
its histories are summed in the order SQL gave them; Tarone's floor is the one sorting gave."""

from __future__ import annotations

from itertools import pairwise

import duckdb
import numpy as np
import pyarrow as pa

from tiewatch.detect.engagement_prior import GRID, GridPrior, fit_grid_prior
from tiewatch.detect.fdr import tarone_floor
from tiewatch.detect.silence import _in_history_order, _map_blocks


def reference_fit(engaged: np.ndarray, seen: np.ndarray, counts: np.ndarray, iterations: int = 300) -> np.ndarray:
    """The EM fit as first written: fresh temporaries for every iteration."""
    loglik = np.outer(engaged, np.log(GRID)) + np.outer(seen - engaged, np.log1p(-GRID))
    loglik -= loglik.max(axis=1, keepdims=True)
    lik = np.exp(loglik)
    w = np.full(len(GRID), 1.0 / len(GRID))
    total = counts.sum()
    for _ in range(iterations):
        w_new = w * np.einsum("ij,i->j", lik, counts / np.einsum("ij,j->i", lik, w)) / total
        if np.abs(w_new - w).max() < 1e-7:
            return w_new
        w = w_new
    return w


def reference_mean_and_run(prior: GridPrior, engaged: np.ndarray, seen: np.ndarray,
                           misses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and run probability as first written: a new array for every step."""
    log_miss = np.log1p(-prior.rates)
    logl = np.outer(engaged, np.log(prior.rates))
    logl += np.outer(seen - engaged, log_miss)
    logl += np.log(np.maximum(prior.weights, 1e-300))
    logl -= logl.max(axis=1, keepdims=True)
    lik = np.exp(np.maximum(logl, -700.0))
    total = np.einsum("ij->i", lik)
    mean = np.einsum("ij,j->i", lik, prior.rates) / total
    logl += np.outer(misses, log_miss)
    np.maximum(logl, -700.0, out=logl)
    np.exp(logl, out=logl)
    return mean, np.einsum("ij->i", logl) / total


def histories(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skewed histories: mostly rare engagers of prolific authors, some close friends, runs short and long."""
    rng = np.random.default_rng(seed)
    seen = np.floor(np.exp(rng.uniform(1, 11, n)))
    engaged = np.minimum(rng.binomial(seen.astype(np.int64), np.where(rng.random(n) < 0.8, 0.002, 0.6)),
                         seen).astype(float)
    misses = np.floor(np.exp(rng.uniform(0, 12, n)))
    return engaged, seen, misses


def test_the_prior_fit_is_bit_for_bit_the_first_formulation() -> None:
    engaged, seen, _ = histories(30_000, 1)
    counts = np.random.default_rng(2).integers(1, 50, len(seen)).astype(float)
    prior = fit_grid_prior(engaged, seen, counts)
    assert np.array_equal(prior.weights, reference_fit(engaged, seen, counts))
    assert prior.weights[GRID < 0.01].sum() > 0.5  # the rare engagers are found, so the test is not vacuous


def test_mean_and_run_is_bit_for_bit_the_first_formulation_in_any_blocks_on_any_thread() -> None:
    engaged, seen, misses = histories(20_000, 3)
    prior = fit_grid_prior(engaged, seen)
    mean, run = reference_mean_and_run(prior, engaged, seen, misses)
    assert (run < 1e-300).any() and (run > 0.5).any()  # underflowing runs and ordinary ones
    # uneven blocks, larger then smaller (scratch arrays reused as views), on the pool's threads and this one
    edges = [0, 3000, 3001, 7000, 7100, 12_000, 20_000]
    blocks = [slice(a, b) for a, b in pairwise(edges)]
    for parts in (_map_blocks(lambda b: prior.mean_and_run(engaged[b], seen[b], misses[b]), blocks),
                  [prior.mean_and_run(engaged[b], seen[b], misses[b]) for b in blocks]):
        assert np.array_equal(np.concatenate([m for m, _ in parts]), mean)
        assert np.array_equal(np.concatenate([r for _, r in parts]), run)


def test_histories_are_put_in_the_order_sql_would_give() -> None:
    """Sorted in numpy (a combined key, or three keys when they are too large to combine), as ORDER BY e1, n1,
    kmax NULLS FIRST: the weights' average is summed in this order."""
    rng = np.random.default_rng(4)
    for top in (50, 3_000_000):  # the combined key, then the three-key sort
        keys = {(int(a), int(a) + int(b), int(c)) for a, b, c in rng.integers(0, top, (5000, 3))}
        e1, n1, kmax = (list(x) for x in zip(*keys, strict=True))
        h = pa.table({"e1": pa.array([None, *e1], pa.int64()), "n1": pa.array([None, *n1], pa.int64()),
                      "kmax": pa.array([None, *kmax], pa.int64()), "tests": pa.array(range(len(keys) + 1))})
        h = h.take(pa.array(rng.permutation(h.num_rows)))
        expected = duckdb.sql("SELECT * FROM h ORDER BY e1 NULLS FIRST, n1 NULLS FIRST, kmax NULLS FIRST").arrow()
        assert _in_history_order(h).equals(expected if isinstance(expected, pa.Table) else expected.read_all())


def reference_tarone_floor(p_min: np.ndarray, counts: np.ndarray, level: float) -> float:
    """Tarone's floor as first written: the values sorted once, M(k) read off cumulative counts."""
    if len(p_min) == 0 or counts.sum() == 0:
        return 0.0
    order = np.argsort(p_min)
    pm, cum = p_min[order], np.cumsum(counts[order])

    def m_of(k: int) -> int:
        i = int(np.searchsorted(pm, level / k, side="right"))
        return int(cum[i - 1]) if i else 0

    lo, hi = 1, max(int(cum[-1]), 1)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if m_of(mid) <= mid else (mid + 1, hi)
    return level / lo


def test_tarone_floor_is_the_sorted_formulation() -> None:
    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(1, 400))
        p_min = np.where(rng.random(n) < 0.3, 1.0, 10.0 ** -rng.uniform(0, 9, n))
        p_min[rng.random(n) < 0.2] = p_min[0]  # ties
        counts = rng.integers(0 if trial % 3 else 1, 5000, n)
        level = float(rng.choice([0.05, 0.01, 0.025]))
        assert tarone_floor(p_min, counts, level) == reference_tarone_floor(p_min, counts, level)
