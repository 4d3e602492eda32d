"""An empirical-Bayes prior for per-pair engagement rates: a discrete distribution on a grid (NPMLE).

Pairs mix very different kinds of ties (close friends who like most posts, acquaintances and fans who like
a few per cent), so one Beta distribution fits them badly: it lets a rare liker who happened to like two
posts in a row look like a close friend. Instead the prior is a discrete distribution on a grid of rates,
fitted by EM to every pair's counts (Kiefer–Wolfowitz nonparametric maximum likelihood). Each pair's count
is conditioned on its first engagement, which only marks the start of observation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# Rates from ~1e-6 to ~0.99, logit-spaced. The low end matters: a casual fan of an account with a hundred
# thousand posts likes one in ten thousand of them, and a grid that stopped at 0.001 (as it once did) put
# that fan's posterior at 0.001, so an ordinary run of tens of thousands of unliked posts read as a silence.
GRID = 1.0 / (1.0 + np.exp(-np.linspace(-13.8, 4.6, 64)))


_SCRATCH = threading.local()


def _scratch(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Two (rows × cols) arrays owned by the calling thread, reused by every call that fits in them.

    A fresh megabyte temporary per operation and block is mapped from the kernel and zeroed page by page
    when it is touched, then returned on free: on skewed 10M (2,600 blocks of 2,048 histories) those page
    faults were more than half the arithmetic's time. The values are the same: the same operations in the
    same order, written into these arrays instead of new ones."""
    arrays: tuple[np.ndarray, np.ndarray] | None = getattr(_SCRATCH, "arrays", None)
    if arrays is None or arrays[0].shape[0] < rows or arrays[0].shape[1] != cols:
        arrays = (np.empty((rows, cols)), np.empty((rows, cols)))
        _SCRATCH.arrays = arrays
    return arrays[0][:rows], arrays[1][:rows]


@dataclass(frozen=True)
class GridPrior:
    rates: np.ndarray  # grid of engagement rates
    weights: np.ndarray  # prior mass on each rate (sums to 1)

    def posterior(self, engaged: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """Posterior mass over the grid for each (engaged, seen) count pair: shape (len(engaged), grid)."""
        # in place, in the same order of operations: one (rows × grid) array instead of seven temporaries
        logl = np.outer(engaged, np.log(self.rates))
        logl += np.outer(seen - engaged, np.log1p(-self.rates))
        logl += np.log(np.maximum(self.weights, 1e-300))
        logl -= logl.max(axis=1, keepdims=True)
        np.exp(logl, out=logl)
        logl /= logl.sum(axis=1, keepdims=True)
        result: np.ndarray = logl
        return result

    def run_probability(self, post: np.ndarray, misses: np.ndarray) -> np.ndarray:
        """P(at least `misses` posts in a row without engagement) under each row's posterior."""
        result: np.ndarray = np.einsum("ij,ij->i", post, np.exp(np.outer(misses, np.log1p(-self.rates))))
        return result

    def mean_and_run(self, engaged: np.ndarray, seen: np.ndarray,
                     misses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean rate and P(at least `misses` in a row) for each row, without keeping the posterior:
        both are ratios of sums over the grid of the unnormalised posterior (two exponentials per
        (rows × grid) block, where posterior() then run_probability() take two and a normalisation).
        Log terms below -700 are raised to -700 first: numpy's exp is ten times slower where it underflows
        (below about -708), and a term of e^-700 (1e-304) cannot change a sum that holds a term of 1 (the
        posterior's mode), nor move a smallest attainable p-value across any threshold the filter uses.
        Rows in blocks of a few thousand, so the (rows × grid) arrays stay in the processor's cache; the two
        arrays are this thread's scratch, reused from block to block (see `_scratch`)."""
        log_miss = np.log1p(-self.rates)
        logl, tmp = _scratch(len(engaged), len(self.rates))
        np.multiply(engaged[:, None], np.log(self.rates)[None, :], out=logl)  # the same products as np.outer
        np.multiply((seen - engaged)[:, None], log_miss[None, :], out=tmp)
        logl += tmp
        logl += np.log(np.maximum(self.weights, 1e-300))
        logl -= logl.max(axis=1, keepdims=True)
        lik = np.exp(np.maximum(logl, -700.0, out=tmp), out=tmp)
        total = np.einsum("ij->i", lik)
        mean: np.ndarray = np.einsum("ij,j->i", lik, self.rates) / total
        logl += np.multiply(misses[:, None], log_miss[None, :], out=tmp)
        np.maximum(logl, -700.0, out=logl)
        np.exp(logl, out=logl)
        run: np.ndarray = np.einsum("ij->i", logl) / total
        return mean, run

    def mean(self, post: np.ndarray) -> np.ndarray:
        result: np.ndarray = post @ self.rates
        return result

    def as_list(self) -> list[list[float]]:
        keep = self.weights > 1e-4
        return [[round(float(r), 4), round(float(w), 4)] for r, w in zip(self.rates[keep], self.weights[keep],
                                                                         strict=True)]


def fit_grid_prior(engaged: np.ndarray, seen: np.ndarray, counts: np.ndarray | None = None,
                   iterations: int = 300) -> GridPrior:
    """NPMLE of the rate distribution from per-pair counts; `counts` says how many pairs share each row."""
    if len(engaged) == 0:
        return GridPrior(GRID, np.full(len(GRID), 1.0 / len(GRID)))
    counts = np.ones(len(engaged)) if counts is None else np.asarray(counts, dtype=float)
    e, n = np.asarray(engaged, dtype=float), np.asarray(seen, dtype=float)
    loglik = np.outer(e, np.log(GRID)) + np.outer(n - e, np.log1p(-GRID))
    loglik -= loglik.max(axis=1, keepdims=True)
    lik = np.exp(loglik)
    del loglik
    w = np.full(len(GRID), 1.0 / len(GRID))
    total = counts.sum()
    den = np.empty(len(e))  # one per-pair vector for every iteration (fresh ones were mapped page by page)
    for _ in range(iterations):
        # EM step as two matrix-vector products: w_j · Σ_i counts_i · lik_ij / Σ_j' lik_ij' w_j', over the total
        # (the same update as normalising the responsibilities row by row, without the rows × grid temporaries;
        # einsum's own loop, as a threaded BLAS call spends more on its threads than on these thin products)
        np.divide(counts, np.einsum("ij,j->i", lik, w, out=den), out=den)
        w_new = w * np.einsum("ij,i->j", lik, den) / total
        if np.abs(w_new - w).max() < 1e-7:
            w = w_new
            break
        w = w_new
    return GridPrior(GRID, w)
