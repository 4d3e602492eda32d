"""False-discovery control across every test of a run: weighted Benjamini–Hochberg.

Each family of tests (silence, audience, coincidence) gets an equal share of the weight budget, and within a
family weights may carry prior information fixed before any p-value is seen (tie strength for coincidences).
Weights average 1 over all m tests, which is the condition under which weighted BH (Genovese, Roeder and
Wasserman, 2006) controls the FDR at level q for independent or positively dependent p-values. Tests whose
p-value was too large to be kept as candidates still count in m.
"""

from __future__ import annotations

import numpy as np

from tiewatch.detect.base import Context, Signal


def family_weights(tests: dict[str, int]) -> dict[str, float]:
    """Per-test weight for each family: the m tests share the budget m equally by family."""
    live = {f: n for f, n in tests.items() if n > 0}
    m = sum(live.values())
    return {f: m / (len(live) * n) for f, n in live.items()}


def weighted_bh(signals: list[Signal], tests: dict[str, int], q: float) -> list[Signal]:
    """Set q_value on every tested signal; returns the tested signals with q_value <= q."""
    tested = [s for s in signals if s.p_value is not None and s.family is not None]
    m = sum(n for n in tests.values() if n > 0)
    if not tested or m == 0:
        return []
    fam_w = family_weights(tests)
    w = np.array([fam_w.get(s.family or "", 1.0) * s.weight for s in tested], dtype=float)
    p = np.array([s.p_value for s in tested], dtype=float)
    adj = np.where(w > 0, p / np.maximum(w, 1e-300), np.inf)
    order = np.argsort(adj, kind="stable")
    ranks = np.arange(1, len(order) + 1)
    qv = adj[order] * m / ranks
    qv = np.minimum.accumulate(qv[::-1])[::-1]
    qv = np.minimum(qv, 1.0)
    out = np.empty_like(qv)
    out[order] = qv
    for s, value in zip(tested, out, strict=True):
        s.q_value = float(value)
    return [s for s in tested if s.q_value is not None and s.q_value <= q]


def p_threshold(signals: list[Signal], tests: dict[str, int], q: float, family: str) -> float:
    """The largest raw p-value in `family` that weighted BH rejects at unit weight (for 'became significant').

    Weighted BH with R rejections among m tests rejects p_i / w_i <= q R / m, so at unit test weight the
    cutoff is the family weight times q R / m (the largest rejected p-value itself can be much smaller).
    """
    kept = [s for s in signals if s.p_value is not None and s.family is not None and s.q_value is not None
            and s.q_value <= q]
    if not any(s.family == family for s in kept):
        return 0.0
    m = sum(n for n in tests.values() if n > 0)
    return min(family_weights(tests).get(family, 1.0) * q * len(kept) / m, 1.0)


def tarone_floor(p_min: np.ndarray, counts: np.ndarray, level: float) -> float:
    """Tarone's filter for discrete tests, in the Benjamini–Hochberg form of Gilbert (2005).

    A discrete test (a run of misses, a rank) has a smallest attainable p-value p_min that is known before
    its p-value is seen. Tests that could never pass only dilute m. K is the smallest integer with
    M(K) = #{tests with p_min <= level/K} <= K; the tests kept are those with p_min <= level/K, and only
    they enter false-discovery control (m = M(K)). Selection uses p_min alone, never the p-values, so BH on
    the kept tests controls the FDR as BH does. `counts[i]` tests share the value `p_min[i]`. Returns the
    floor level/K (0 when no test is given).
    """
    if len(p_min) == 0 or counts.sum() == 0:
        return 0.0

    def m_of(k: int) -> int:  # a pass over the values per step: cheaper than sorting millions of them
        return int(counts[p_min <= level / k].sum())

    lo, hi = 1, max(int(counts.sum()), 1)  # M(hi) <= hi always; M(k) - k decreases in k
    while lo < hi:
        mid = (lo + hi) // 2
        if m_of(mid) <= mid:
            hi = mid
        else:
            lo = mid + 1
    return level / lo


def live_families(ctx: Context, family: str) -> int:
    """Families sharing the run's level, seen from the detector that owns `family`: that one, those already run
    with tests, and those of the detectors still to run (the share each Tarone filter may spend)."""
    from tiewatch.detect.registry import REGISTRY

    names = [e.name for e in REGISTRY]
    later = {f for e in REGISTRY[names.index(family) + 1:] for f in e.families} if family in names else set()
    return 1 + sum(1 for f, n in ctx.other_tests.items() if n > 0 and f != family) + len(later)
