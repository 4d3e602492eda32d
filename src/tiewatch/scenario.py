"""A synthetic scenario modelled on the seed story, with planted truth, for the demo and for tests.

Background: persons post at steady Poisson rates; each person likes friends' posts with a steady
per-pair probability and other persons' posts rarely; fans like their favourite stars' posts; follower
counts grow with Gaussian noise. Planted on top (all times relative to the scenario's start):
a star's long silence on a friend's posts ending in one like (silence + resumption), a couple's mutual
silence after a break-up, a dating report that costs one star followers for a few days (audience drop),
and the ex's cryptic story on the day of that report (coincidence). Names, dates and the random seed are
parameters so tests can check detectors on many variants, not one.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

DAY = 86400.0


@dataclass(frozen=True)
class Cast:
    """The four protagonists: (handle, display name)."""

    star: tuple[str, str] = ("songhyekyo", "Song Hye-kyo")  # goes silent on `friend`, then likes again
    friend: tuple[str, str] = ("xeesoxee", "Han So-hee")  # loses followers after the dating report
    actor: tuple[str, str] = ("ryu_junyeol", "Ryu Jun-yeol")  # dates `friend`, ex of `ex`
    ex: tuple[str, str] = ("hyeri_0609", "Hyeri")  # posts the cryptic story


@dataclass
class Scenario:
    accounts: list[dict[str, Any]]
    events: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    news: list[dict[str, Any]]
    truth: list[dict[str, Any]] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        """Write the scenario in tiewatch's generic format (the layout of shared/scenarios/seed)."""
        folder.mkdir(parents=True, exist_ok=True)
        _jsonl(folder / "accounts.jsonl", self.accounts)
        _jsonl(folder / "news.jsonl", self.news)
        _jsonl(folder / "events.jsonl.gz", self.events)
        _jsonl(folder / "metrics.jsonl.gz", self.metrics)
        (folder / "truth.json").write_text(json.dumps({"variant": "generated", "truth": self.truth}, indent=1))
        return folder


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode(), compresslevel=5))
    else:
        path.write_text(text)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(seed: int = 1, start: datetime = datetime(2023, 1, 1), cast: Cast | None = None,
             n_celebs: int = 24, n_fans: int = 300, days: int = 545, platform: str = "instagram",
             plot: bool = True) -> Scenario:
    """Build a scenario; the plot unfolds at fixed fractions of `days` after `start`. With plot=False only
    the steady background is generated (and the truth is empty): a null scenario for false-alarm checks."""
    cast = cast or Cast()
    rng = np.random.default_rng(seed)
    t0 = (start - datetime(1970, 1, 1)).total_seconds()
    t_end = t0 + days * DAY
    star, friend, actor, ex = (c[0] for c in (cast.star, cast.friend, cast.actor, cast.ex))
    persons = [star, friend, actor, ex] + [f"celeb{i:02d}" for i in range(n_celebs)]
    names = dict([cast.star, cast.friend, cast.actor, cast.ex]) | {f"celeb{i:02d}": f"Celebrity {i}"
                                                                    for i in range(n_celebs)}
    fans = [f"fan{i:03d}" for i in range(n_fans)]
    n_p = len(persons)
    # The plot, as fractions of the span.
    t_silence = t0 + 0.541 * days * DAY  # star stops engaging with friend
    t_split = t0 + 0.521 * days * DAY  # actor and ex stop engaging (break-up)
    t_reveal = _at_hour(t0 + 0.806 * days * DAY, 0)  # dating report: friend loses followers, ex posts story
    t_resume = _at_hour(t0 + 0.925 * days * DAY, 2)  # star likes friend's post again

    events: list[dict[str, Any]] = []
    counter = [0]

    def add(t: float, actor_: str, kind: str, target: str | None = None, post: str | None = None,
            text: str | None = None) -> str:
        counter[0] += 1
        eid = f"ev{counter[0]:07d}"
        row = {"id": eid, "ts": _iso(t), "platform": platform, "actor": actor_, "kind": kind}
        if target:
            row["target"] = target
        if post:
            row["post"] = post
        if text:
            row["text"] = text
        events.append(row)
        return eid

    # Posts: steady Poisson rates per person.
    rates = rng.uniform(0.06, 0.35, n_p)
    rates[:4] = rng.uniform(0.15, 0.35, 4)  # the protagonists are stars who post every few days
    posts: dict[str, np.ndarray] = {}
    post_ids: dict[str, list[str]] = {}
    for i, who in enumerate(persons):
        n = rng.poisson(rates[i] * days)
        times = np.sort(rng.uniform(t0, t_end, n))
        posts[who] = times
        post_ids[who] = [add(float(t), who, "post") for t in times]
    # The friend posts just before the resumption like, so the like has something to land on.
    resume_post_t = t_resume - 3600 * 5
    resume_post = add(resume_post_t, friend, "post", text="Off to Cannes")
    posts[friend] = np.append(posts[friend], resume_post_t)
    post_ids[friend].append(resume_post)
    # Engagement probabilities between persons: a few friends each, rare likes otherwise.
    prob = np.where(rng.random((n_p, n_p)) < 0.2, rng.uniform(0.3, 0.8, (n_p, n_p)), rng.uniform(0, 0.03, (n_p, n_p)))
    np.fill_diagonal(prob, 0.0)
    idx = {p: i for i, p in enumerate(persons)}
    prob[idx[star], idx[friend]] = 0.85
    prob[idx[actor], idx[ex]] = 0.85
    prob[idx[ex], idx[actor]] = 0.85
    resumption_id = ""
    for i, a in enumerate(persons):
        for j, b in enumerate(persons):
            if prob[i, j] <= 0:
                continue
            times = posts[b]
            liked = rng.random(len(times)) < prob[i, j]
            if plot and (a, b) == (star, friend):
                liked &= ~((times >= t_silence) & (times < t_resume))
            if plot and {a, b} == {actor, ex}:
                liked &= times < t_split
            delay = rng.exponential(6 * 3600, len(times))
            for k in np.nonzero(liked)[0]:
                when = float(times[k] + delay[k])
                if plot and (a, b) == (star, friend) and t_silence <= when < t_resume + 60:
                    continue  # a like after the silence began would break it
                pid = post_ids[b][k]
                if when < t_end:
                    add(when, a, "like", b, pid)
                    if rng.random() < 0.08:
                        add(when + rng.exponential(600), a, "comment", b, pid, text="❤️")
    # The resumption: one like on the friend's post, 19-May-style.
    if plot:
        resumption_id = add(t_resume + 600, star, "like", friend, resume_post)
    # Fans: each likes three favourite persons' posts at steady probabilities.
    for f in fans:
        for j in rng.choice(n_p, 3, replace=False):
            b = persons[j]
            p = rng.uniform(0.1, 0.6)
            times = posts[b]
            liked = np.nonzero(rng.random(len(times)) < p)[0]
            delay = rng.exponential(12 * 3600, len(times))
            for k in liked:
                when = float(times[k] + delay[k])
                if when < t_end:
                    add(when, f, "like", b, post_ids[b][k])
    # The ex's stories: steady, one cryptic story right after the report.
    for t in np.sort(rng.uniform(t0, t_end, rng.poisson(days / 25))):
        if abs(t - t_reveal) > 3 * DAY:
            add(float(t), ex, "story", text=str(rng.choice(["coffee", "good day", ""])) or None)
    story_id = add(t_reveal + 2 * 3600 + 20 * 60, ex, "story", text="Interesting") if plot else ""
    # A handful of follows at the start.
    for i, a in enumerate(persons):
        for j in rng.choice(n_p, 5, replace=False):
            if j != i:
                add(t0 - rng.uniform(30, 700) * DAY, a, "follow", persons[j])
    events.sort(key=lambda e: e["ts"])

    metrics = _metrics(rng, persons, t0, days, platform, friend if plot else None, t_reveal)
    news = _news(cast, t_split, t_reveal, t_resume)
    accounts = ([{"platform": platform, "account": p, "name": names[p], "kind": "person"} for p in persons]
                + [{"platform": platform, "account": f, "name": f"Fan {f[3:]}", "kind": "fan"} for f in fans])
    truth = _truth(events, star, friend, actor, ex, t_silence, t_split, t_reveal, resumption_id,
                   story_id) if plot else []
    return Scenario(accounts, events, metrics, news, truth)


def _at_hour(t: float, hour: int) -> float:
    return t - (t % DAY) + hour * 3600


def _metrics(rng: np.random.Generator, persons: list[str], t0: float, days: int, platform: str,
             dropper: str | None, t_drop: float) -> list[dict[str, Any]]:
    rows = []
    snap = _at_hour(t0, 15)
    for who in persons:
        base = rng.uniform(2e5, 2e7)
        trend = base * rng.uniform(0.00005, 0.0003)
        changes = trend + rng.normal(0, trend * 0.5, days)
        times = snap + np.arange(days) * DAY
        if who == dropper:
            k = int((t_drop - snap) // DAY) + 1
            for offset, loss in enumerate((0.0075, 0.0069, 0.0047, 0.0021)):
                changes[k + offset] = -base * loss
        counts = (base + np.cumsum(changes)).astype(np.int64)
        rows += [{"ts": _iso(float(t)), "platform": platform, "account": who, "followers": int(c),
                  "following": 400, "posts": 0} for t, c in zip(times, counts, strict=True)]
    return rows


def _news(cast: Cast, t_split: float, t_reveal: float, t_resume: float) -> list[dict[str, Any]]:
    kst = timedelta(hours=9)

    def when(t: float) -> str:
        return (datetime.fromtimestamp(t, UTC) + kst).strftime("%Y-%m-%dT%H:%M:%S+09:00")

    s, f, a, e = cast.star, cast.friend, cast.actor, cast.ex
    return [
        {"id": "n-split", "ts": when(t_split + 21 * DAY), "title": f"{a[1]} and {e[1]} confirm break-up",
         "subjects": [a[0], e[0]], "kind": "breakup", "status": "confirmed", "url": "https://news.example/n-split"},
        {"id": "n-reveal", "ts": when(t_reveal), "title": f"{a[1]} and {f[1]} reported dating",
         "subjects": [a[0], f[0]], "kind": "dating", "status": "reported", "url": "https://news.example/n-reveal"},
        {"id": "n-denial", "ts": when(t_reveal + 1.2 * DAY), "title": f"{f[1]} denies overlap rumours",
         "subjects": [f[0]], "kind": "statement", "status": "denied", "url": "https://news.example/n-denial"},
        {"id": "n-trip", "ts": when(t_resume - 2 * 3600), "title": f"{f[1]} departs for a film festival",
         "subjects": [f[0]], "kind": "travel", "status": "confirmed", "url": "https://news.example/n-trip"},
        {"id": "n-award", "ts": when(t_split - 120 * DAY), "title": f"{s[1]} wins Best Actress",
         "subjects": [s[0]], "kind": "award", "status": "confirmed", "url": "https://news.example/n-award"},
    ]


def _truth(events: list[dict[str, Any]], star: str, friend: str, actor: str, ex: str, t_silence: float,
           t_split: float, t_reveal: float, resumption_id: str, story_id: str) -> list[dict[str, Any]]:
    def last_like(a: str, b: str, before: float) -> str:
        cutoff = _iso(before)
        return str(max(e["ts"] for e in events if e["actor"] == a and e.get("target") == b
                   and e["kind"] in ("like", "comment") and e["ts"] < cutoff))

    resumed = next(e for e in events if e["id"] == resumption_id)
    return [
        {"kind": "silence", "subjects": [star, friend], "ts": last_like(star, friend, t_silence), "tol_days": 10},
        {"kind": "resumption", "subjects": [star, friend], "ts": resumed["ts"], "tol_days": 1,
         "evidence": resumption_id},
        {"kind": "silence", "subjects": [actor, ex], "ts": last_like(actor, ex, t_split), "tol_days": 10},
        {"kind": "silence", "subjects": [ex, actor], "ts": last_like(ex, actor, t_split), "tol_days": 10},
        {"kind": "coincidence", "subjects": [ex], "ts": _iso(t_reveal + 2 * 3600 + 20 * 60), "tol_days": 1,
         "evidence": story_id, "news": "n-reveal"},
        {"kind": "audience_drop", "subjects": [friend], "ts": _iso(t_reveal), "tol_days": 3},
    ]
