"""How the account burst's crowd part behaves on data drawn from its model and from two departures:
`python bench/burst_account_model.py` (numpy only, about a minute).

A receiver's distinct senders in hour h ~ Poisson(rate w_h m_d), w_h a day-night profile (the platform's
volume in that hour is proportional to it: the exposure), m_d a day multiplier (1 under the model). Every
hour with an arrival is tested, as the detector does, against the receiver's active hours of the 28 days
before: X_t | S ~ Binomial(S, q), q = N_t / (N_t + sum of N_h over those hours), conditioned on X_t >= 1.
Those hours are picked because they had an arrival (zero-truncated counts: each holds at least one sender),
which the binomial ignores; the table says in which direction that errs. Departures: the receiver's senders
keep hours 9 h off the platform's (`shift 9h`), and its days differ in intensity (m_d ~ Gamma, mean 1).
Printed: P(p <= alpha) for alpha = 1e-4, 1e-3, 1e-2, 0.05 (at or below alpha: conservative at that level).
"""

from __future__ import annotations

import numpy as np

from tiewatch.detect.burst_account import p_values

PROFILE = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 1.5, 2, 2, 2, 2, 2, 2, 2, 2, 2.5, 3, 3, 3, 2.5, 1.5, 0.8])
ALPHAS = (1e-4, 1e-3, 1e-2, 0.05)
DAYS, REFERENCE_HOURS = 90, 28 * 24


def tests(per_day: float, shape: float | None, shift: int, receivers: int = 400,
          seed: int = 0) -> tuple[np.ndarray, ...]:
    """(x, xr, n, nr) of every active hour with a full 28 days before it, for `receivers` receivers."""
    rng = np.random.default_rng(seed)
    w = PROFILE / PROFILE.sum()
    exposure = np.tile(w, DAYS) * 100_000  # the platform's volume per hour (the receiver's share negligible)
    rate = per_day * np.tile(np.roll(w, shift), DAYS)
    out: list[list[np.ndarray]] = [[], [], [], []]
    for _ in range(receivers):
        m = np.repeat(rng.gamma(shape, 1 / shape, DAYS) if shape else np.ones(DAYS), 24)
        x = rng.poisson(rate * m)
        act = np.nonzero(x)[0]
        cx, cn = np.concatenate([[0], np.cumsum(x[act])]), np.concatenate([[0], np.cumsum(exposure[act])])
        lo, i = np.searchsorted(act, act - REFERENCE_HOURS), np.arange(len(act))
        keep = act >= REFERENCE_HOURS
        for o, v in zip(out, (x[act], cx[i] - cx[lo], exposure[act], cn[i] - cn[lo]), strict=True):
            o.append(v[keep])
    return tuple(np.concatenate(o).astype(float) for o in out)


def main() -> None:
    print("| senders / day | day multiplier | receiver's hours | tests | "
          + " | ".join(f"P(p ≤ {a:g})" for a in ALPHAS) + " |\n" + "|---" * (4 + len(ALPHAS)) + "|")
    for per_day in (0.5, 3.0, 24.0, 100.0):
        for shape, shift in ((None, 0), (None, 9), (4.0, 0), (1.0, 0)):
            x, xr, n, nr = tests(per_day, shape, shift)
            _, crowd, _ = p_values(x, xr, n, nr, x + xr)
            mult = "none (the model)" if shape is None else f"Gamma({shape:g})"
            hours = "the platform's" if shift == 0 else f"shifted {shift} h"
            print(f"| {per_day:g} | {mult} | {hours} | {len(x):,} | "
                  + " | ".join(f"{np.mean(crowd <= a):.2g}" for a in ALPHAS) + " |", flush=True)


if __name__ == "__main__":
    main()
