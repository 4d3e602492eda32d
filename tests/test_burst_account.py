"""The account burst: a crowd reaching one account within an hour, tested exactly and calibrated on real data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import binom, hypergeom

from conftest import COLLEGEMSG, Cli
from tiewatch.detect.base import Context, Window
from tiewatch.detect.burst_account import AccountBurstDetector, all_tests_sql, p_value, p_values
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.run import detect
from tiewatch.nulls import write_null
from tiewatch.plant import plant_crowds
from tiewatch.store import Store
from tiewatch.views.sentences import render_signals


def _ingest_messages(cli: Cli, path: Path) -> None:
    cli("ingest", str(path), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
        "--set", "kind=message", "--set", "platform=collegemsg")


def _tests(db: Path) -> dict[str, np.ndarray]:
    with Store(db, read_only=True) as store:
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        tbl = store.arrow(f"{all_tests_sql(ctx)} SELECT x, xr, n, nr, c, ln_p_lower, pmin_bin FROM t")
    return {c: tbl[c].to_numpy().astype(float) for c in tbl.column_names}


def test_p_value_is_valid_under_its_model() -> None:
    """Hours drawn from the stated model (Binomial(S, q) given S, kept when at least one sender came): the
    crowd part is never below its level more often than the level says, and is nearly exact at coarse
    levels; the flood part, with the hour's sender-hours a random subset of S whose marks are exchangeable,
    is valid too, and so is their Bonferroni combination."""
    rng = np.random.default_rng(1)
    for s, q in ((3, 0.2), (12, 0.05), (40, 0.01), (200, 0.002)):
        x = rng.binomial(s, q, size=200_000)
        x = x[x >= 1]
        xr, n = s - x, 1000
        nr = round(n * (1 - q) / q)
        p = np.array([p_value(int(k), int(r), n, nr) for k, r in zip(x[:20_000], xr[:20_000], strict=True)])
        for alpha in (0.01, 0.05, 0.2, 0.5):
            assert np.mean(p <= alpha) <= alpha + 3 * np.sqrt(alpha / len(p)), (s, q, alpha)
    for s, x, heavy in ((50, 1, 3), (50, 4, 10), (400, 2, 1), (400, 9, 40)):
        # S sender-hours, `heavy` of them in the top bin; the hour holds a random x of them
        trials = 20_000
        top = np.array([np.sum(rng.choice(s, size=x, replace=False) < heavy) for _ in range(trials)])
        c = np.where(top > 0, heavy, s)  # the hour's heaviest bin: the top one if it drew one, else (at worst) all
        _, _, flood = p_values(np.full(trials, float(x)), np.full(trials, float(s - x)), np.full(trials, 10.0),
                               np.full(trials, 1e6), c.astype(float))
        for alpha in (0.01, 0.05, 0.2):
            assert np.mean(flood <= alpha) <= alpha + 3 * np.sqrt(alpha / trials), (s, x, heavy, alpha)
    assert p_value(3, 0, 10, 0) == 1.0  # no reference: not a test that can pass
    assert p_value(1, 5, 10, 90) > 0.4  # one sender in an hour is nothing unusual
    assert np.isclose(p_value(5, 5, 10, 90), binom.sf(4, 10, 0.1) / (1 - 0.9**10))
    assert np.isclose(p_value(1, 99, 10, 90, c=1), 2 * 0.01)  # the heaviest of 100 sender-hours: 1 / 100, doubled
    s_, x_ = rng.integers(2, 5000, size=300).astype(float), rng.integers(1, 30, size=300).astype(float)
    x_ = np.minimum(x_, s_ - 1)
    c_ = np.ceil(rng.random(300) * s_)
    _, _, flood = p_values(x_, s_ - x_, np.full(300, 10.0), np.full(300, 1e4), c_)
    assert np.allclose(flood, hypergeom.sf(0, s_, c_, x_), rtol=1e-7, atol=1e-12), "the closed form is the tail"


@pytest.mark.parametrize("null", ["days", "arrivals"])
def test_collegemsg_nulls_raise_at_most_one_and_pvalues_are_conservative(tmp_path: Path, null: str) -> None:
    """Real CollegeMsg with each pair's contact days moved to random active days of the sender (`days`) or to
    random days on which the receiver got anything (`arrivals`, which keeps each receiver's day rhythm):
    crowds are broken up, so every account burst would be false; the exact p-values are conservative at every
    level, and the SQL screen (a lower bound of p, the rounded-down smallest attainable p) never drops a
    test that could pass."""
    path = write_null(tmp_path / "null.txt", COLLEGEMSG, null, seed=3)
    cli = Cli(tmp_path / "null.duckdb")
    _ingest_messages(cli, path)
    with Store(tmp_path / "null.duckdb") as store:
        report = detect(store, only=[AccountBurstDetector()], sentences=render_signals)
    assert report.counts.get("burst_account", 0) <= 1
    assert report.tests["burst_account"] > 20_000
    t = _tests(tmp_path / "null.duckdb")
    p, crowd, flood = p_values(t["x"], t["xr"], t["n"], t["nr"], t["c"])
    for alpha in (1e-4, 1e-3, 1e-2, 0.05):
        assert np.mean(p <= alpha) <= alpha, alpha
        assert np.mean(crowd <= alpha) <= alpha and np.mean(flood <= alpha) <= alpha, alpha
    assert (np.exp(t["ln_p_lower"]) <= p * (1 + 1e-9)).all(), "the screen's bound is above p"
    assert (p[t["ln_p_lower"] > np.log(0.05)] > 0.05).all(), "the screen drops a test that could pass"
    s, q = t["x"] + t["xr"], t["n"] / (t["n"] + t["nr"])
    ok = t["nr"] > 0
    log10_pmin = np.zeros_like(p)  # in logs: the smallest attainable p-values go far below 1e-300
    crowd_min = (s[ok] * np.log(q[ok]) - np.log(-np.expm1(s[ok] * np.log1p(-q[ok])))) / np.log(10)
    log10_pmin[ok] = np.minimum(np.log10(2) + np.minimum(crowd_min, -np.log10(s[ok])), 0.0)
    assert (t["pmin_bin"] <= np.maximum(log10_pmin, -100) + 1e-9).all(), "Tarone's bins round p_min up"
    assert (log10_pmin[p > 0] <= np.log10(p[p > 0]) + 1e-9).all()


def test_crowds_planted_in_collegemsg_are_found_with_their_messages(tmp_path: Path) -> None:
    """Ten receivers each get 8 messages from new accounts within 16 minutes, in the days null of real
    CollegeMsg: the crowds at receivers with enough active hours before pass false-discovery control among
    ~40,000 receiver-hours (4 of these 10; a receiver with a few quiet hours in its 4 weeks gives a crowd of 8
    too little to stand out against), each signal cites the planted messages and says so in its sentence,
    and no other burst is reported."""
    null = write_null(tmp_path / "null.txt", COLLEGEMSG, "days", seed=4)
    planted = plant_crowds(tmp_path / "planted.txt", null, accounts=10, seed=1)
    assert len(planted) == 10
    cli = Cli(tmp_path / "p.duckdb")
    _ingest_messages(cli, tmp_path / "planted.txt")
    with Store(tmp_path / "p.duckdb") as store:
        detect(store, only=[AccountBurstDetector()], sentences=render_signals)
        rows = store.con.execute("SELECT subjects, ts, start, evidence, detail, summary FROM signals "
                                 "WHERE kind = 'burst_account'").fetchall()
        crowd_ids = {b: {r[0] for r in store.con.execute(
            "SELECT id FROM events WHERE target = ? AND actor LIKE 'crowd-%'", [b]).fetchall()} for b, _ in planted}
    first = {b: datetime.fromtimestamp(t, UTC).replace(tzinfo=None) for b, t in planted}
    found = {s[0]: (ts, start, ev, json.loads(d), text) for s, ts, start, ev, d, text in rows}
    hits = [b for b in first if b in found]
    assert len(hits) >= 3, f"only {len(hits)} of 10 planted crowds found"
    assert len(found) - len(hits) <= 1, f"{len(found) - len(hits)} false account bursts"
    for b in hits:
        ts, start, ev, detail, text = found[b]
        senders = detail.get("episode_senders", detail["senders"])  # a crowd across an hour's end: two hours
        assert len(crowd_ids[b] & set(ev)) >= 4, "the signal cites too few of the planted messages"
        assert senders >= 4 and detail["expected"] < 2
        assert start <= ts and first[b] <= ts and 0 <= detail["delay_minutes"] <= 60
        assert b in text and f"heard from {senders} accounts" in text


def test_a_flood_in_a_quiet_hour_of_a_busy_account_is_found_as_a_flood(tmp_path: Path) -> None:
    """An account that hears from 60 accounts every daytime hour (one message each) for four weeks gets 200
    messages from one account at 3 in the morning: reported as a flood (the crowd part sees one sender),
    dated when the flooder reached its bin's threshold, with the flooder's messages as evidence; the
    ordinary hours raise nothing."""
    rng = np.random.default_rng(5)
    t0 = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
    rows = [(f"s{a}", "hub", t0 + day * 86400 + hour * 3600 + int(rng.integers(0, 3600)))
            for day in range(30) for hour in range(8, 20) for a in rng.choice(400, size=60, replace=False)]
    flood_start = t0 + 29 * 86400 + 3 * 3600
    rows += [("flooder", "hub", flood_start + 10 * i) for i in range(200)]
    path = tmp_path / "hub.txt"
    path.write_text("src dst time\n" + "".join(f"{a} {b} {t}\n" for a, b, t in sorted(rows, key=lambda r: r[2])))
    cli = Cli(tmp_path / "hub.duckdb")
    _ingest_messages(cli, path)
    with Store(tmp_path / "hub.duckdb") as store:
        detect(store, only=[AccountBurstDetector()], sentences=render_signals)
        found = store.con.execute("SELECT ts, start, evidence, detail, summary FROM signals "
                                  "WHERE kind = 'burst_account'").fetchall()
        flood_ids = {r[0] for r in store.con.execute("SELECT id FROM events WHERE actor = 'flooder'").fetchall()}
    assert len(found) == 1, f"{len(found)} account bursts"
    ts, start, evidence, detail_text, summary = found[0]
    detail = json.loads(detail_text)
    assert detail["by"] == "flood" and detail["p_crowd"] == 1.0 and detail["heaviest_sender_events"] == 200
    assert set(evidence) == flood_ids
    first = datetime.fromtimestamp(flood_start, UTC).replace(tzinfo=None)
    assert start == first and ts == first + timedelta(seconds=10 * (detail["heavy_threshold"] - 1))
    assert "got 200 messages or mentions from one account" in summary


T0 = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())


def _write(path: Path, rows: list[tuple[str, str, int]], background_days: int = 0, seed: int = 0) -> Path:
    """Messages (sender, receiver, epoch seconds) plus a uniform platform background of 300 messages a day
    among 400 senders and 200 receivers, as a `src dst time` file."""
    rng = np.random.default_rng(seed)
    span = 86400 * background_days
    rows = rows + [(f"bgs{rng.integers(400)}", f"bgr{rng.integers(200)}", T0 + int(rng.integers(span)))
                   for _ in range(300 * background_days)]
    path.write_text("src dst time\n" + "".join(f"{a} {b} {t}\n" for a, b, t in sorted(rows, key=lambda r: r[2])))
    return path


def _account_signals(tmp_path: Path, path: Path) -> list[tuple[str, datetime, dict[str, Any], str]]:
    cli = Cli(tmp_path / "a.duckdb")
    _ingest_messages(cli, path)
    with Store(tmp_path / "a.duckdb") as store:
        detect(store, only=[AccountBurstDetector()], sentences=render_signals)
        return [(s[0], ts, json.loads(d), text) for s, ts, d, text in store.con.execute(
            "SELECT subjects, start, detail, summary FROM signals WHERE kind = 'burst_account'").fetchall()]


@pytest.mark.parametrize("crowd", ["same hour", "random hour"])
def test_a_crowd_that_comes_every_day_is_usual_for_its_account(tmp_path: Path, crowd: str) -> None:
    """An account whose friends write together every day (10 of them at 21:00, or 6 of 12 at a random hour
    of each day), amid a uniform platform background: nothing to report, since the account's own active hours
    hold such crowds. (Against its whole days at the platform's hourly rhythm, nearly every day was a burst.)"""
    rng = np.random.default_rng(3)
    rows: list[tuple[str, str, int]] = []
    for d in range(45):
        hour = 21 if crowd == "same hour" else int(rng.integers(24))
        friends = range(10) if crowd == "same hour" else rng.choice(12, size=6, replace=False)
        rows += [(f"f{f}", "groupB", T0 + d * 86400 + hour * 3600 + int(rng.integers(3000))) for f in friends]
    found = _account_signals(tmp_path, _write(tmp_path / "crowd.txt", rows, background_days=45))
    assert [s for s in found if s[0] == "groupB"] == []
    assert len(found) <= 1


def test_an_account_back_after_weeks_of_silence_has_nothing_to_be_compared_with(tmp_path: Path) -> None:
    """An account heard from 3 accounts on its first day, then nothing for 40 days, then from 8 within an
    hour: its active hours of the 4 weeks before are none, so the hour is not a test (like a new account's
    first hour), rather than a burst against "0 senders on its 0 days"."""
    rng = np.random.default_rng(4)
    rows = [(f"h{k}", "backB", T0 + 12 * 3600 + 600 * k) for k in range(3)]
    rows += [(f"r{k}", "backB", T0 + 40 * 86400 + 14 * 3600 + int(rng.integers(3600))) for k in range(8)]
    path = _write(tmp_path / "back.txt", rows, background_days=41)
    assert [s for s in _account_signals(tmp_path, path) if s[0] == "backB"] == []
    t = _tests(tmp_path / "a.duckdb")
    back = (t["x"] == 8)
    assert back.sum() == 1 and t["nr"][back][0] == 0 and t["pmin_bin"][back][0] == 0.0


def test_a_new_crowd_at_an_account_with_a_steady_history_is_found(tmp_path: Path) -> None:
    """An account that hears from 4 of its 30 friends a day at random hours for six weeks, amid a uniform
    platform background, then from 15 new accounts within 20 minutes: one signal, a crowd at that hour, citing
    the new accounts' messages; nothing else."""
    rng = np.random.default_rng(6)
    rows = [(f"f{f}", "steadyB", T0 + d * 86400 + int(rng.integers(86400)))
            for d in range(42) for f in rng.choice(30, size=4, replace=False)]
    crowd_start = T0 + 42 * 86400 + 15 * 3600
    rows += [(f"new{k}", "steadyB", crowd_start + 80 * k) for k in range(15)]
    found = _account_signals(tmp_path, _write(tmp_path / "steady.txt", rows, background_days=43))
    assert len(found) == 1, found
    b, start, detail, summary = found[0]
    assert b == "steadyB" and detail["by"] == "crowd" and detail["senders"] == 15
    assert start == datetime.fromtimestamp(crowd_start, UTC).replace(tzinfo=None)
    assert detail["reference_hours"] > 100 and "heard from 15 accounts within one hour" in summary
