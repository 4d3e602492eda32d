"""How the account burst's crowd part behaves on data drawn from its model and from departures from it:
`python bench/burst_account_model.py` (numpy only, a few minutes).

The model: a receiver's senders arrive (each sender's first message of the hour) as a Poisson process, at
rate r w_h m_d in hour h of day d, uniform within the hour; w_h a day-night profile (the platform's volume in
that hour is proportional to it: the exposure), m_d a day multiplier (1 under the model). Every hour with an
arrival is tested, as the detector does, against the receiver's active hours of the 28 days before: with
tau_h the first arrival's place in the hour, Y_h = X_h - 1 the senders after it, w_h (1 - tau_h) the
remaining exposure (the tested hour's at least a quarter hour), Y_t | S' ~ Binomial(S', q'),
S' = Y_t + sum Y_h, q' = w_t (1 - tau_t) / (that + sum over the reference of w_h (1 - tau_h)), or the same
share of the remaining time alone (unweighted), whichever is larger (as the detector does); where the
reference holds at least 7 hours at the tested hour's time of day, the larger of that p-value and the same
test against those hours alone (as the detector does).
Departures: the receiver's senders keep hours 9 h off the platform's (`shift 9h`); its days differ in
intensity (m_d ~ Gamma, mean 1); the platform's days differ in volume (Gamma(1)) while the receiver's senders
keep their own pace (a group that meets every day, on quiet days of the platform too); arrivals within the
hour bunched at its start (density 2 (1 - s)) or at its end (2 s); timestamps to the minute (ties at the first
arrival; tau floored); and replies: each of the receiver's own messages (at rate r / 2 an hour, the same
profile) draws answers from Poisson(1) further senders within the next few minutes (exponential, mean 3
minutes), counted as senders. The detector does not count them (a sender to whom B wrote in the 60 minutes
before is answering B): that row says why.
Printed: P(p <= alpha) for alpha = 1e-4, 1e-3, 1e-2, 0.05 (at or below alpha: conservative at that level).
"""

from __future__ import annotations

import numpy as np

from tiewatch.detect.burst_account import MIN_REMAINING, p_values

PROFILE = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 1.5, 2, 2, 2, 2, 2, 2, 2, 2, 2.5, 3, 3, 3, 2.5, 1.5, 0.8])
ALPHAS = (1e-4, 1e-3, 1e-2, 0.05)
DAYS, REFERENCE_HOURS = 90, 28 * 24
# (the receiver's day multiplier, its shape, shift in hours, arrivals within the hour, the platform's own day
# multiplier's shape: its days differ in volume, the receiver's do not)
CASES = (("none", None, 0, "uniform", None), ("none", None, 9, "uniform", None),
         ("Gamma(4)", 4.0, 0, "uniform", None), ("Gamma(1)", 1.0, 0, "uniform", None),
         ("none", None, 0, "early", None), ("none", None, 0, "late", None), ("none", None, 0, "minutes", None),
         ("none", None, 0, "replies", None), ("none", None, 0, "uniform", 1.0))


def _arrivals(rng: np.random.Generator, counts: np.ndarray, within: str) -> np.ndarray:
    """Places in the hour (0..1) of `counts[h]` arrivals in each hour h, flattened in hour order."""
    u = rng.random(int(counts.sum()))
    if within == "early":
        return 1 - np.sqrt(1 - u)
    if within == "late":
        return np.sqrt(u)
    if within == "minutes":
        return np.floor(u * 60) / 60
    return u


def tests(per_day: float, shape: float | None, shift: int, within: str, platform_shape: float | None = None,
          receivers: int = 400, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(x, xr, yr, wt, wr, tn, ty, tw, wtf, wrf) of every active hour with a full 28 days before it, for
    `receivers` receivers (tn, ty, tw: the reference's hours at the tested hour's time of day, their senders
    after the first, their remaining exposure; wtf, wrf: the remaining time alone, the unweighted exposure).
    `platform_shape`: the platform's days differ in volume (Gamma), the receiver's senders keep theirs."""
    rng = np.random.default_rng(seed)
    w = PROFILE / PROFILE.sum()
    exposure = np.tile(w, DAYS) * 100_000  # the platform's volume per hour (the receiver's share negligible)
    if platform_shape:
        exposure = exposure * np.repeat(rng.gamma(platform_shape, 1 / platform_shape, DAYS), 24)
    hours = DAYS * 24
    rate = per_day * np.tile(np.roll(w, shift), DAYS)
    out: list[list[np.ndarray]] = [[] for _ in range(10)]
    for _ in range(receivers):
        m = np.repeat(rng.gamma(shape, 1 / shape, DAYS) if shape else np.ones(DAYS), 24)
        lam = rate * m / (1.5 if within == "replies" else 1.0)  # replies make up the rest of the volume
        n = rng.poisson(lam)
        hour = np.repeat(np.arange(hours), n)
        t = hour + _arrivals(rng, n, within)
        if within == "replies":  # the receiver's own messages, each answered by Poisson(1) senders soon after
            own = rng.poisson(lam)
            start = np.repeat(np.arange(hours), own) + rng.random(int(own.sum()))
            k = rng.poisson(1.0, size=len(start))
            t = np.concatenate([t, np.repeat(start, k) + rng.exponential(3 / 60, size=int(k.sum()))])
            t = t[t < hours]
        h = np.floor(t).astype(np.int64)
        x = np.bincount(h, minlength=hours)
        first = np.ones(hours)
        np.minimum.at(first, h, t - h)
        act = np.nonzero(x)[0]
        y, rem = x[act] - 1, exposure[act] * (1 - first[act])
        cx = np.concatenate([[0], np.cumsum(x[act])])
        cy, cw = np.concatenate([[0], np.cumsum(y)]), np.concatenate([[0.0], np.cumsum(rem)])
        cf = np.concatenate([[0.0], np.cumsum(1 - first[act])])
        lo, i = np.searchsorted(act, act - REFERENCE_HOURS), np.arange(len(act))
        keep = act >= REFERENCE_HOURS
        wt = exposure[act] * np.maximum(1 - first[act], MIN_REMAINING)
        tn, ty, tw = np.zeros(len(act)), np.zeros(len(act)), np.zeros(len(act))
        for hod in range(24):  # the same sums over the hours at one time of day
            g = np.nonzero(act % 24 == hod)[0]
            gy, gw = np.concatenate([[0], np.cumsum(y[g])]), np.concatenate([[0.0], np.cumsum(rem[g])])
            glo, gi = np.searchsorted(act[g], act[g] - REFERENCE_HOURS), np.arange(len(g))
            tn[g], ty[g], tw[g] = gi - glo, gy[gi] - gy[glo], gw[gi] - gw[glo]
        wtf = np.maximum(1 - first[act], MIN_REMAINING)
        for o, v in zip(out, (x[act], cx[i] - cx[lo], cy[i] - cy[lo], wt, cw[i] - cw[lo], tn, ty, tw, wtf,
                              cf[i] - cf[lo]), strict=True):
            o.append(v[keep])
    return tuple(np.concatenate(o).astype(float) for o in out)


def main() -> None:
    print("| senders / day | day multiplier | receiver's hours | within the hour | tests | "
          + " | ".join(f"P(p ≤ {a:g})" for a in ALPHAS) + " |\n" + "|---" * (5 + len(ALPHAS)) + "|")
    for per_day in (0.5, 3.0, 24.0, 100.0):
        for mult, shape, shift, within, platform_shape in CASES:
            x, xr, yr, wt, wr, tn, ty, tw, wtf, wrf = tests(per_day, shape, shift, within, platform_shape)
            _, crowd, _ = p_values(x, xr, x + xr, yr, wt, wr, tn, ty, tw, flat=(wtf, wrf))
            hours = "the platform's" if shift == 0 else f"shifted {shift} h"
            if platform_shape:
                hours += f"; the platform's days ~ Gamma({platform_shape:g}), its own alike"
            inner = {"uniform": "uniform (the model)", "early": "bunched early", "late": "bunched late",
                     "minutes": "timestamps to the minute",
                     "replies": "answers to its own messages, counted"}[within]
            print(f"| {per_day:g} | {mult} | {hours} | {inner} | {len(x):,} | "
                  + " | ".join(f"{np.mean(crowd <= a):.2g}" for a in ALPHAS) + " |", flush=True)


if __name__ == "__main__":
    main()
