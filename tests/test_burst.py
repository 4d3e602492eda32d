"""The burst test: exact in SQL, calibrated on a real-data null, and able to find a planted surge."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.special import comb

from conftest import COLLEGEMSG, Cli
from tiewatch.detect.base import Context, Window
from tiewatch.detect.burst import MAX_SPACING, WINDOW, BurstDetector, all_tests_sql
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.run import detect
from tiewatch.nulls import write_null
from tiewatch.plant import plant_bursts
from tiewatch.store import Store
from tiewatch.views.sentences import render_signals


def _ingest_messages(cli: Cli, path: Path) -> None:
    cli("ingest", str(path), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
        "--set", "kind=message", "--set", "platform=collegemsg")


def _detect_bursts(db: Path) -> int:
    """The burst detector alone: its family gets the whole level (q = 5%), a harder test of the null than a
    run in which it shares the level with the other families."""
    with Store(db) as store:
        return detect(store, only=[BurstDetector()], sentences=render_signals).counts.get("burst", 0)


def _all_tests(db: Path) -> dict[str, np.ndarray]:
    with Store(db, read_only=True) as store:
        tbl = store.arrow(all_tests_sql(Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)))
    return {c: tbl[c].to_numpy().astype(float) for c in ("i", "v", "c_v", "c_max", "p", "p_below", "pmin")}


def test_collegemsg_days_null_raises_no_burst_and_pvalues_are_exact(tmp_path: Path) -> None:
    """Real CollegeMsg with each pair's days of contact moved to random days the sender was active: every
    burst would be false, the SQL p-values are the permutation law of the longest recent spacing, and they are
    conservative (exact, uniform once randomised, where the statistic is computed)."""
    path = write_null(tmp_path / "null.txt", COLLEGEMSG, "days", seed=3)
    cli = Cli(tmp_path / "null.duckdb")
    _ingest_messages(cli, path)
    assert _detect_bursts(tmp_path / "null.duckdb") == 0
    t = _all_tests(tmp_path / "null.duckdb")
    assert len(t["p"]) > 1000
    i, v, c = t["i"], t["v"], t["c_v"]
    exact = v <= MAX_SPACING  # longer runs are not bursts: p = 1
    np.testing.assert_allclose(t["p"][exact], comb(c[exact], WINDOW - 1) / comb(i[exact], WINDOW - 1), rtol=1e-9)
    assert (t["p"][~exact] == 1).all() and (t["pmin"] <= t["p"]).all()
    for alpha in (1e-3, 1e-2, 0.05, 0.2):  # conservative at every level
        assert np.mean(t["p"] <= alpha) <= alpha
    # exact where the statistic is computed: given V <= MAX_SPACING, randomised p / P(V <= MAX_SPACING) is uniform
    u = t["p_below"] + np.random.default_rng(0).random(len(i)) * (t["p"] - t["p_below"])
    u = np.sort(u[exact] / (comb(t["c_max"], WINDOW - 1) / comb(i, WINDOW - 1))[exact])
    k = np.arange(1, len(u) + 1)
    assert max((k / len(u) - u).max(), (u - (k - 1) / len(u)).max()) < 0.05


def test_bursts_planted_in_collegemsg_are_found_with_their_messages(tmp_path: Path) -> None:
    """Ten senders each message a new contact on every third of their active days (12 times), then on 7 of
    their active days in a row, in real CollegeMsg whose own changes were destroyed (the days null): the
    bursts pass false-discovery control among the real data's tests, each cites the planted messages, and
    no other (false) burst is reported."""
    null = write_null(tmp_path / "null.txt", COLLEGEMSG, "days", seed=4)
    planted = plant_bursts(tmp_path / "planted.txt", null, pairs=10, seed=1)
    assert len(planted) == 10
    cli = Cli(tmp_path / "p.duckdb")
    _ingest_messages(cli, tmp_path / "planted.txt")
    _detect_bursts(tmp_path / "p.duckdb")
    with Store(tmp_path / "p.duckdb", read_only=True) as store:
        rows = store.con.execute("SELECT subjects, ts, start, evidence, detail, summary FROM signals "
                                 "WHERE kind = 'burst'").fetchall()
        planted_ids = {(a, b): {r[0] for r in store.con.execute(
            "SELECT id FROM events WHERE actor = ? AND target = ? AND ts >= ?", [a, b, _ts(t)]).fetchall()}
                       for a, b, t in planted}
    found = {(s[0], s[1]): (ts, start, ev, json.loads(d), text) for s, ts, start, ev, d, text in rows}
    hits = [k for k in planted_ids if k in found]
    assert len(hits) >= 7, f"only {len(hits)} of 10 planted bursts found"
    assert len(found) - len(hits) <= 1, f"{len(found) - len(hits)} false bursts"
    for key in hits:
        ts, start, ev, detail, text = found[key]
        assert set(ev) & planted_ids[key], "the signal cites none of the planted messages"
        assert detail["contact_days"] == WINDOW and detail["ratio"] > 2
        assert detail["delay_days"] >= 0 and start <= ts
        assert key[0] in text and key[1] in text


def _ts(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def test_a_pair_is_tested_from_its_eighth_day_of_contact(tmp_path: Path) -> None:
    """The first test of a pair is on its (WINDOW + 1)-th day of contact, however many messages it holds: a
    pair with that many days has one test, one day fewer none, one more two (pairs with too few messages to
    reach it are dropped before the windows, so the boundary is checked on both sides)."""
    rows = ["id,ts,platform,actor,kind,target"]
    plans = {"eight": [1] * (WINDOW + 1), "seven_busy": [1] * (WINDOW - 1) + [3], "nine": [1] * (WINDOW + 2),
             "eight_busy": [2] * (WINDOW + 1)}
    for actor, per_day in plans.items():
        for d, n in enumerate(per_day):
            rows += [f"{actor}-{d}-{j},2024-03-{d + 1:02d}T{9 + j:02d}:00:00Z,generic,{actor},message,bea"
                     for j in range(n)]
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    cli = Cli(tmp_path / "b.duckdb")
    cli("ingest", str(tmp_path / "pairs.csv"))
    with Store(tmp_path / "b.duckdb", read_only=True) as store:
        tbl = store.arrow(all_tests_sql(Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)))
    tests = {a: tbl["a"].to_pylist().count(a) for a in plans}
    assert tests == {"eight": 1, "seven_busy": 0, "nine": 2, "eight_busy": 1}
