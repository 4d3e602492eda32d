"""Scoring a set of signals against a scenario's truth.json: precision and recall per kind, with tolerance.

A truth entry is matched by a signal of the same kind whose subjects start with the entry's subjects (in
order), whose time is within tol_days (silences are matched on `start`, everything else on `ts`), and whose
evidence includes the entry's evidence (and news id) when the entry names them. Each signal matches at most
one entry and vice versa.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


@dataclass
class KindScore:
    truth: int = 0
    reported: int = 0
    matched: int = 0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.reported if self.reported else 1.0


@dataclass
class Evaluation:
    by_kind: dict[str, KindScore] = field(default_factory=dict)
    missed: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    matches: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def precision_of(self, kinds: tuple[str, ...]) -> float:
        rep = sum(self.by_kind[k].reported for k in kinds if k in self.by_kind)
        hit = sum(self.by_kind[k].matched for k in kinds if k in self.by_kind)
        return hit / rep if rep else 1.0

    def as_json(self) -> dict[str, Any]:
        return {k: {"truth": v.truth, "reported": v.reported, "matched": v.matched, "recall": round(v.recall, 3),
                    "precision": round(v.precision, 3)} for k, v in sorted(self.by_kind.items())}


def load_truth(path: str | Path) -> list[dict[str, Any]]:
    data = json.loads(Path(path).read_text())
    return list(data["truth"] if isinstance(data, dict) else data)


def matches(truth: dict[str, Any], signal: dict[str, Any]) -> bool:
    if signal["kind"] != truth["kind"]:
        return False
    subjects = list(truth.get("subjects") or [])
    if list(signal["subjects"][: len(subjects)]) != subjects:
        return False
    when = _time(signal["start"] if truth["kind"] == "silence" else signal["ts"])
    target = _time(truth.get("ts"))
    tolerance = float(truth.get("tol_days", 1)) * 86400
    if target is not None and (when is None or abs((when - target).total_seconds()) > tolerance):
        return False
    named = [truth[key] for key in ("evidence", "news") if truth.get(key)]
    return all(item in signal["evidence"] for item in named)


def evaluate(signals: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Evaluation:
    """Greedy one-to-one matching of truth entries to signals (strongest signals first)."""
    ev = Evaluation()
    for t in truth:
        ev.by_kind.setdefault(t["kind"], KindScore()).truth += 1
    for s in signals:
        ev.by_kind.setdefault(s["kind"], KindScore()).reported += 1
    used: set[str] = set()
    ordered = sorted(signals, key=lambda s: (s["q_value"] is None, s["q_value"] or 0.0, -(s["score"] or 0.0)))
    for t in truth:
        hit = next((s for s in ordered if s["id"] not in used and matches(t, s)), None)
        if hit is None:
            ev.missed.append(t)
            continue
        used.add(hit["id"])
        ev.by_kind[t["kind"]].matched += 1
        ev.matches.append((t, hit))
    ev.unmatched = [s for s in signals if s["id"] not in used]
    return ev
