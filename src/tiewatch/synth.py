"""A synthetic account with a realistic audience, for the power of the silence test (tests, bench/quality.py).

One account B posts about twice a day for 300 days; six close friends engage with 30-80 % of its posts and
thousands of fans like 0.2-5 % of them. The friend `a` likes 26 of 41 of B's posts, then, when `silence`
is set, passes over the next 14 while staying active elsewhere (daily stories), then likes again and goes
on at its rate: the clear silence of issue 9.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DAY = 86400
T0 = 1_600_000_000


def account_with_fans(path: Path, seed: int, silence: bool, fans: int = 6_500) -> Path:
    """One account B posting about twice a day for 300 days, six close friends who engage with 30-80 % of
    its posts, and many fans who like 0.2-5 % of them (the usual audience: their history can never make a
    run of misses significant). The friend `a` likes 26 of B's posts 10-50 after its first like (the
    first like and 25 of the next 40), then, if `silence`, passes over the next 14 posts while staying
    active (daily stories) and likes again, continuing at its rate. Returns the JSONL path."""
    rng = np.random.default_rng(seed)
    post_t = np.sort(rng.uniform(T0, T0 + 300 * DAY, 600))
    rows: list[dict[str, object]] = [{"id": f"p{i}", "ts": int(t), "actor": "b", "kind": "post"}
                                     for i, t in enumerate(post_t)]
    liked_by: dict[str, np.ndarray] = {}
    for f in range(6):
        liked_by[f"friend{f}"] = rng.random(600) < rng.uniform(0.3, 0.8)
    a = rng.random(600) < 0.63
    a[:100] = False
    a[100] = True
    window = np.zeros(40, bool)
    window[rng.choice(39, 24, replace=False)] = True
    window[-1] = True  # the 41st post is liked; the next 14 are not
    a[101:141] = window
    if silence:
        a[141:155] = False
        a[155] = True
    liked_by["a"] = a
    rates = rng.uniform(0.002, 0.05, fans)
    fan_likes = rng.random((fans, 600)) < rates[:, None]
    for who, mask in liked_by.items():
        for i in np.nonzero(mask)[0]:
            rows.append({"id": f"{who}-{i}", "ts": int(post_t[i]) + 1800, "actor": who, "kind": "like",
                         "target": "b", "post": f"p{i}"})
    fi, pi = np.nonzero(fan_likes)
    delay = rng.exponential(6 * 3600, len(fi)).astype(int)
    rows += [{"id": f"f{f}-{i}", "ts": int(post_t[i]) + int(d), "actor": f"fan{f}", "kind": "like", "target": "b",
              "post": f"p{i}"} for f, i, d in zip(fi.tolist(), pi.tolist(), delay.tolist(), strict=True)]
    rows += [{"id": f"s{d}", "ts": T0 + d * DAY + 3600, "actor": "a", "kind": "story"} for d in range(301)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def clear_silence_in_scenario(folder: Path, seed: int, n_fans: int = 900) -> Path:
    """The same clear silence, planted on the most active poster of a null scenario from tiewatch.scenario,
    whose fans like 10-60 % of their favourites' posts (so many more tests can reach small p-values)."""
    from collections import Counter
    from datetime import datetime

    from tiewatch.scenario import _iso, generate

    sc = generate(seed=seed, start=datetime(2020, 1, 1), plot=False, n_fans=n_fans)
    star = Counter(e["actor"] for e in sc.events if e["kind"] == "post").most_common(1)[0][0]
    posts = sorted((e["ts"], e["id"]) for e in sc.events if e["kind"] == "post" and e["actor"] == star)
    rng = np.random.default_rng(seed)

    def ts(x: str) -> float:
        return datetime.strptime(x + "+0000", "%Y-%m-%dT%H:%M:%SZ%z").timestamp()

    s = 10
    liked = [s, *sorted((s + 1 + rng.choice(39, 24, replace=False)).tolist()), s + 40]
    liked += [s + 55] + [k for k in range(s + 56, len(posts)) if rng.random() < 0.63]
    for i, k in enumerate(liked):
        sc.events.append({"id": f"bx{i}", "ts": _iso(ts(posts[k][0]) + 3600), "platform": "instagram",
                          "actor": "bestie", "kind": "like", "target": star, "post": posts[k][1]})
    t0, t1 = ts(posts[0][0]), ts(posts[-1][0])
    for d in range(int((t1 - t0) / DAY)):
        sc.events.append({"id": f"bs{d}", "ts": _iso(t0 + d * DAY + 7200), "platform": "instagram",
                          "actor": "bestie", "kind": "story"})
    sc.events.sort(key=lambda e: str(e["ts"]))
    return sc.write(folder)
