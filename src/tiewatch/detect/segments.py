"""Piecewise-linear segmentation of a follower series: where its level or trend changed.

A follower count is modelled as a sequence of straight-line segments (each its own level and trend) plus
noise. Binary segmentation adds, one at a time, the change point that most reduces the residual sum of
squares, while the reduction exceeds a penalty of 2 ln n on the series standardised to unit variance (a
BIC-type penalty; BIC itself, three parameters per change point, would be 3 ln n: the factor 2 was chosen by
cross-validation on annotated series, see PENALTY_PER_LOG_N). The standardisation uses the whole series'
spread, which includes the changes themselves: the penalty is conservative on purpose (annotated change
points are the obvious ones).

Each segment's least-squares line comes from prefix sums of 1, t, t², y, ty, y², so scoring every possible
split of a segment is one vectorised step: O(n) per change point found.

This is a model choice, not a calibrated test: the change points carry no p-value (measured against
human annotations in bench/quality.py, TCPD-style).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

MIN_SEGMENT = 3
# 2 ln n, not BIC's 3 ln n: chosen by 5-fold cross-validation on TCPD's annotated series (every fold chose 2
# among 1.5, 2, 3, 4, 6; held-out figures in docs/quality.md, bench/cpd.py cross_validate).
PENALTY_PER_LOG_N = 2.0


@dataclass(frozen=True)
class Segment:
    start: int  # first index
    stop: int  # one past the last index
    level: float  # fitted value at the first point (original units)
    slope: float  # per unit of t (original units)


class _Prefix:
    def __init__(self, t: np.ndarray, y: np.ndarray) -> None:
        z = np.zeros(1)
        self.n = np.concatenate([z, np.cumsum(np.ones_like(t))])
        self.t = np.concatenate([z, np.cumsum(t)])
        self.tt = np.concatenate([z, np.cumsum(t * t)])
        self.y = np.concatenate([z, np.cumsum(y)])
        self.ty = np.concatenate([z, np.cumsum(t * y)])
        self.yy = np.concatenate([z, np.cumsum(y * y)])

    def sse(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Residual sum of squares of the least-squares line over [a, b) (vectorised over a, b)."""
        n = self.n[b] - self.n[a]
        st, stt = self.t[b] - self.t[a], self.tt[b] - self.tt[a]
        sy, sty, syy = self.y[b] - self.y[a], self.ty[b] - self.ty[a], self.yy[b] - self.yy[a]
        vt = stt - st * st / n
        vy = syy - sy * sy / n
        cty = sty - st * sy / n
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(vt > 1e-12, cty * cty / np.where(vt > 1e-12, vt, 1.0), 0.0)
        result: np.ndarray = np.maximum(vy - fit, 0.0)
        return result


def change_points(t: np.ndarray, y: np.ndarray, penalty: float | None = None,
                  min_segment: int = MIN_SEGMENT, resolution: float = 1.0) -> list[int]:
    """Indices where a new segment starts (sorted; 0 is not included). The spread used to standardise is
    at least `resolution` (one follower): a nearly constant count must not turn rounding into changes."""
    n = len(y)
    if n < 2 * min_segment:
        return []
    sd = max(float(np.std(y)), resolution)
    z = (y - y.mean()) / sd
    tt = (t - t[0]) / max(float(t[-1] - t[0]), 1e-12)
    pre = _Prefix(tt, z)
    pen = PENALTY_PER_LOG_N * np.log(n) if penalty is None else penalty
    segments = [(0, n)]
    cps: list[int] = []
    while True:
        best = (0.0, -1, -1)  # gain, segment index, split
        for i, (a, b) in enumerate(segments):
            if b - a < 2 * min_segment:
                continue
            ks = np.arange(a + min_segment, b - min_segment + 1)
            gain = pre.sse(a, b) - (pre.sse(np.full_like(ks, a), ks) + pre.sse(ks, np.full_like(ks, b)))
            j = int(np.argmax(gain))
            if gain[j] > best[0]:
                best = (float(gain[j]), i, int(ks[j]))
        gain_, i, k = best
        if i < 0 or gain_ <= pen:
            return sorted(cps)
        a, b = segments.pop(i)
        segments += [(a, k), (k, b)]
        cps.append(k)


def fit_segments(t: np.ndarray, y: np.ndarray, cps: list[int]) -> list[Segment]:
    """The least-squares line of each segment, in the series' own units."""
    edges = [0, *cps, len(y)]
    out = []
    for a, b in itertools.pairwise(edges):
        ts, ys = t[a:b] - t[a], y[a:b]
        if b - a >= 2 and np.ptp(ts) > 0:
            slope, level = np.polyfit(ts, ys, 1)
        else:
            slope, level = 0.0, float(ys.mean())
        out.append(Segment(a, b, float(level), float(slope)))
    return out
