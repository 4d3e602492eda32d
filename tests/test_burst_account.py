"""The account burst: a crowd reaching one account within an hour, tested exactly and calibrated on real data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import binom, hypergeom

from conftest import COLLEGEMSG, Cli
from tiewatch.detect.base import Context, Window
from tiewatch.detect.burst_account import (
    MIN_REMAINING,
    SAME_TIME_MIN,
    AccountBurstDetector,
    all_tests_sql,
    crowd_p_value,
    p_values,
    p_values_of,
)
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
        cols = "x, xr, n, nr, c, yr, wt, wr, wtf, wrf, tn, ty, tw, tau, ln_p_lower, pmin_bin"
        tbl = store.arrow(f"{all_tests_sql(ctx)} SELECT {cols} FROM t")
    return {c: tbl[c].to_numpy().astype(float) for c in tbl.column_names}


def _model_hours(rng: np.random.Generator, rate: float, hours: int, trials: int, reply: float = 0.0,
                 floor: float = MIN_REMAINING, tick: float = 0.0) -> dict[str, np.ndarray]:
    """`trials` receivers, each with `hours` hours of senders arriving as a Poisson process (`rate` senders an
    hour, exposure 1 + the hour's index modulo 3, uniform within the hour), the last hour tested against the
    active ones before it: x, xr, yr, wt, wr as the detector computes them. `reply`: out of the model, the
    probability that an hour's first arrival draws another sender within a minute (a message to a group, its
    members answering at once); `floor`: the tested hour's least remaining time; `tick`: the timestamps'
    resolution in hours (the first arrival's time floored to it; senders in its tick count after it)."""
    e = 1.0 + np.arange(hours) % 3
    n = rng.poisson(rate * e, size=(trials, hours))
    tau = 1 - rng.random((trials, hours)) ** (1 / np.maximum(n, 1))  # the first of n uniform arrivals
    n = n + ((n >= 1) & (rng.random((trials, hours)) < reply) & (tau < 1 - 1 / 60))
    if tick:
        tau = np.floor(tau / tick) * tick
    act = n[:, :-1] >= 1
    x, xr = n[:, -1].astype(float), (n[:, :-1] * act).sum(axis=1).astype(float)
    wr = (e[:-1] * (1 - tau[:, :-1]) * act).sum(axis=1)
    keep = x >= 1
    return {"x": x[keep], "xr": xr[keep], "yr": (xr - act.sum(axis=1))[keep],
            "wt": (e[-1] * np.maximum(1 - tau[:, -1], floor))[keep], "wr": wr[keep]}


def test_p_value_is_valid_under_its_model() -> None:
    """Hours drawn from the stated model (senders arrive as a Poisson process, uniform within an hour, at a
    rate proportional to the hour's exposure; only hours with an arrival are tested or kept as reference):
    the crowd part is never below its level more often than the level says; the flood part, with the hour's
    sender-hours a random subset of S whose marks are exchangeable, is valid too, and so is their Bonferroni
    combination."""
    rng = np.random.default_rng(1)
    for rate, hours in ((0.05, 400), (0.3, 200), (2.0, 100), (8.0, 40)):
        t = _model_hours(rng, rate, hours, 40_000)
        _, crowd, _ = p_values(t["x"], t["xr"], t["x"] + t["xr"], t["yr"], t["wt"], t["wr"])
        for alpha in (0.001, 0.01, 0.05, 0.2, 0.5):
            assert np.mean(crowd <= alpha) <= alpha + 3 * np.sqrt(alpha / len(crowd)), (rate, alpha)
    for s, x, heavy in ((50, 1, 3), (50, 4, 10), (400, 2, 1), (400, 9, 40)):
        # S sender-hours, `heavy` of them in the top bin; the hour holds a random x of them
        trials = 20_000
        top = np.array([np.sum(rng.choice(s, size=x, replace=False) < heavy) for _ in range(trials)])
        c = np.where(top > 0, heavy, s)  # the hour's heaviest bin: the top one if it drew one, else (at worst) all
        _, _, flood = p_values(np.full(trials, float(x)), np.full(trials, float(s - x)), c.astype(float),
                               np.zeros(trials), np.full(trials, 10.0), np.full(trials, 1e6))
        for alpha in (0.01, 0.05, 0.2):
            assert np.mean(flood <= alpha) <= alpha + 3 * np.sqrt(alpha / trials), (s, x, heavy, alpha)
    assert crowd_p_value(2, 0, 10.0, 0.0) == 1.0  # no reference: not a test that can pass
    assert crowd_p_value(0, 5, 10.0, 90.0) == 1.0  # one sender in an hour is nothing unusual
    assert np.isclose(crowd_p_value(4, 6, 10.0, 90.0), binom.sf(3, 10, 0.1))
    one = np.ones(1)
    assert np.isclose(p_values(one, 99 * one, one, 0 * one, one, 9 * one)[0][0], 2 * 0.01)  # heaviest of 100
    s_, x_ = rng.integers(2, 5000, size=300).astype(float), rng.integers(1, 30, size=300).astype(float)
    x_ = np.minimum(x_, s_ - 1)
    c_ = np.ceil(rng.random(300) * s_)
    _, _, flood = p_values(x_, s_ - x_, c_, np.zeros(300), np.full(300, 10.0), np.full(300, 1e4))
    assert np.allclose(flood, hypergeom.sf(0, s_, c_, x_), rtol=1e-7, atol=1e-12), "the closed form is the tail"


def test_senders_after_the_first_are_what_counts_so_a_crowd_at_a_sparse_account_stands_out() -> None:
    """A sparse account (one sender in each of its 12 active hours of the past 4 weeks) hears from 8 accounts
    within a quarter hour: after the first sender, 7 more where its own hours held none after theirs. Counted
    with the hour's first sender, against hours that were picked for holding one (a zero-truncated binomial),
    this was p = 8e-5, too weak to pass among thousands of tests; counted after the first, it is 3e-7 (and the
    hours in which only one sender came, nearly all of them, are no longer tests: alone, they cannot pass).
    One sender after the first, in an hour like the others, is nothing unusual."""
    yr, wt, wr = 0, 10.0 * 0.8, 12 * 10.0 * 0.5  # exposure 10 each hour; the crowd came at :12, the others at :30
    assert crowd_p_value(7, yr, wt, wr) < 5e-7
    q = 10.0 / (10.0 + 120.0)
    assert binom.sf(7, 20, q) / -np.expm1(20 * np.log1p(-q)) > 5e-5  # the old statistic on the same hour
    assert crowd_p_value(1, yr, wt, wr) > 0.05


def test_replies_right_after_an_hours_first_arrival_are_not_read_as_a_crowd() -> None:
    """Out of the model: an account whose hours' first arrival draws another sender within a minute (a message
    to a group, answered at once), half the time or always. Its own hours hold such replies, so its reference
    counts them too, and the test stays within its level. And the tested hour's remaining time is taken as at
    least a quarter hour (conservative under the model): two senders a second after a first one at 59:58 are
    not read as a crowd against an hour with two seconds left."""
    for rate in (0.1, 1.0):
        for reply in (0.5, 1.0):
            t = _model_hours(np.random.default_rng(2), rate, 200, 40_000, reply=reply)
            _, crowd, _ = p_values(t["x"], t["xr"], t["x"] + t["xr"], t["yr"], t["wt"], t["wr"])
            for alpha in (0.001, 0.01, 0.05):
                assert np.mean(crowd <= alpha) <= alpha, (rate, reply, alpha)
    hour = pa.table({"x": [3], "xr": [12], "yr": [2], "wt": [10.0 * MIN_REMAINING], "wr": [60.0]})
    _, crowd, _ = p_values(*(hour[c].to_numpy().astype(float) for c in ("x", "xr", "xr", "yr", "wt", "wr")))
    assert np.isclose(crowd[0], crowd_p_value(2, 2, 10.0 * MIN_REMAINING, 60.0)) and crowd[0] > 0.005
    assert crowd_p_value(2, 2, 10.0 * 2 / 3600, 60.0) < 1e-6  # what the two seconds left would have said


def test_coarse_timestamps_keep_the_level() -> None:
    """Timestamps to the minute or to ten minutes: the first arrival's time is floored (the rest of the hour
    read longer than it was) and senders in its tick count after it, as they came after it; the crowd part
    stays within its level."""
    for tick in (1 / 60, 1 / 6):
        for rate in (0.1, 2.0):
            t = _model_hours(np.random.default_rng(3), rate, 200, 40_000, tick=tick)
            _, crowd, _ = p_values(t["x"], t["xr"], t["x"] + t["xr"], t["yr"], t["wt"], t["wr"])
            for alpha in (0.001, 0.01, 0.05):
                assert np.mean(crowd <= alpha) <= alpha + 3 * np.sqrt(alpha / len(crowd)), (tick, rate, alpha)


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
    assert report.tests["burst_account"] > 3_000
    t = _tests(tmp_path / "null.duckdb")
    p, crowd, flood = p_values_of(t)
    for alpha in (1e-4, 1e-3, 1e-2, 0.05):
        assert np.mean(p <= alpha) <= alpha, alpha
        assert np.mean(crowd <= alpha) <= alpha and np.mean(flood <= alpha) <= alpha, alpha
    assert (np.exp(t["ln_p_lower"]) <= p * (1 + 1e-9)).all(), "the screen's bound is above p"
    assert (p[t["ln_p_lower"] > np.log(0.05)] > 0.05).all(), "the screen drops a test that could pass"
    ok = t["nr"] > 0
    s, s2 = t["x"] + t["xr"], t["x"] - 1 + t["yr"]
    q2 = np.maximum(t["wt"] / (t["wt"] + t["wr"]), t["wtf"] / (t["wtf"] + t["wrf"]))  # the larger share
    assert ((t["tau"] >= 0) & (t["tau"] < 1)).all() and (t["yr"][ok] >= 0).all() and (t["wr"][ok] > 0).all()
    log10_pmin = np.zeros_like(p)  # in logs: the smallest attainable p-values go far below 1e-300
    crowd_min = np.where(s2[ok] > 0, s2[ok] * np.log10(np.where(ok, q2, 0.5)[ok]), 0.0)
    s3, q3 = (t["x"] - 1 + t["ty"])[ok], (t["wt"] / (t["wt"] + t["tw"]))[ok]
    same = t["tn"][ok] >= SAME_TIME_MIN  # the larger of the two tests: its p_min is the larger one
    crowd_min = np.where(same, np.maximum(crowd_min, np.where(s3 > 0, s3 * np.log10(q3), 0.0)), crowd_min)
    log10_pmin[ok] = np.minimum(np.log10(2) + np.minimum(crowd_min, -np.log10(s[ok])), 0.0)
    assert (t["pmin_bin"] <= np.maximum(log10_pmin, -100) + 1e-9).all(), "Tarone's bins round p_min up"
    assert (log10_pmin[p > 0] <= np.log10(p[p > 0]) + 1e-9).all()
    assert np.mean(t["pmin_bin"] >= -2) > 0.5, "most hours (one sender after hours of one) cannot pass: not tests"


def test_crowds_planted_in_collegemsg_are_found_with_their_messages(tmp_path: Path) -> None:
    """Ten receivers each get 8 messages from new accounts within 16 minutes, in the days null of real
    CollegeMsg: 6 of the 10 crowds pass false-discovery control among ~40,000 receiver-hours (the senders after
    each hour's first arrival, against receivers' hours that mostly held one sender; counting the first too,
    against hours picked for holding one, found 4 of these 10; the platform's volume as the only exposure, 7),
    each signal cites the planted messages and says so in its sentence, and no other burst is reported."""
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
    assert len(hits) >= 6, f"only {len(hits)} of 10 planted crowds found"
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


def test_a_group_that_meets_every_day_whatever_the_platform_does_is_usual(tmp_path: Path) -> None:
    """Eight friends write to an account together once a day at a random hour, on a platform that alternates
    busy weeks (600 messages a day) and quiet ones (20 a day; CollegeMsg's own run from 8 to 2,678): with the
    platform's volume as the only exposure, a quiet day's meeting reads as a crowd against the busy days'
    (p < 1e-5); the account's hours are alike whatever the platform does, so the test takes the larger of the
    two shares and reports nothing."""
    rng = np.random.default_rng(5)
    rows: list[tuple[str, str, int]] = []
    for d in range(56):
        start = T0 + d * 86400 + int(rng.integers(86400 - 900))
        rows += [(f"f{f}", "groupB", start + int(rng.integers(600))) for f in range(8)]
        volume = 600 if (d // 7) % 2 == 0 else 20
        rows += [(f"bgs{rng.integers(400)}", f"bgr{rng.integers(200)}", T0 + d * 86400 + int(rng.integers(86400)))
                 for _ in range(volume)]
    found = _account_signals(tmp_path, _write(tmp_path / "weeks.txt", rows))
    assert [s for s in found if s[0] == "groupB"] == []
    t = _tests(tmp_path / "a.duckdb")
    group = t["x"] >= 8
    platform_only = p_values(*(t[c][group] for c in ("x", "xr", "c", "yr", "wt", "wr")))[1]
    assert platform_only.min() < 1e-5 and p_values_of({c: v[group] for c, v in t.items()})[1].min() > 1e-3


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


@pytest.mark.parametrize("asked", [False, True])
def test_answers_to_the_accounts_own_messages_are_not_a_crowd(tmp_path: Path, asked: bool) -> None:
    """A quiet account (one sender a day at a random hour for five weeks) hears from 8 accounts within 20
    minutes: a crowd when they come unasked (the senders after the hour's first stand far above its hours, in
    which no one came after the first), nothing when the account had written to each of them just before (it
    messaged them, they answered: a conversation it started, not a crowd seeking it out)."""
    rng = np.random.default_rng(8)
    rows = [(f"f{rng.integers(40)}", "quietB", T0 + d * 86400 + int(rng.integers(86400))) for d in range(35)]
    start = T0 + 35 * 86400 + 14 * 3600
    if asked:
        rows += [("quietB", f"pal{k}", start - 600 + 30 * k) for k in range(8)]
    rows += [(f"pal{k}", "quietB", start + 150 * k) for k in range(8)]
    found = [s for s in _account_signals(tmp_path, _write(tmp_path / "q.txt", rows, background_days=36))
             if s[0] == "quietB"]
    if asked:
        assert found == []
    else:
        assert len(found) == 1 and found[0][2]["senders"] == 8 and found[0][2]["further_senders_before"] <= 3
        assert found[0][1] == datetime.fromtimestamp(start, UTC).replace(tzinfo=None)


@pytest.mark.parametrize("lag", [0, 3600])
def test_an_answer_timed_with_the_accounts_message_or_an_hour_after_it_is_an_answer(tmp_path: Path,
                                                                                    lag: int) -> None:
    """Timestamps to the second or to the hour cannot say who wrote first when the account's message and the
    answer share one (lag 0), and an answer exactly 60 minutes later is still within the hour that makes it an
    answer: neither reads as a crowd seeking the account out (they did, with the message first, when the
    bounds were strict: one signal at p 2.6e-9 for the same data floored to the hour)."""
    rng = np.random.default_rng(8)
    rows = [(f"f{rng.integers(40)}", "quietB", T0 + d * 86400 + int(rng.integers(86400))) for d in range(35)]
    start = T0 + 35 * 86400 + 14 * 3600
    rows += [("quietB", f"pal{k}", start) for k in range(8)]
    rows += [(f"pal{k}", "quietB", start + lag) for k in range(8)]
    found = [s for s in _account_signals(tmp_path, _write(tmp_path / "q.txt", rows, background_days=36))
             if s[0] == "quietB"]
    assert found == []


def test_an_account_with_a_rhythm_of_its_own_is_compared_with_its_own_hours_at_that_time(tmp_path: Path) -> None:
    """A busy account (12 senders a day between 9:00 and 21:00) that hears from 15 of its 20 colleagues in
    the first half hour after 8:00 every morning, on a platform whose volume is flat over the day: against
    all its active hours, each morning looks like a crowd (its hours are mostly of one sender, and the
    platform's volume at 8:00 does not announce fifteen); against its own active hours at 8:00 of the four
    weeks before, it is the usual morning. The larger of the two p-values is taken where the account has at
    least SAME_TIME_MIN hours at that time, and from its eighth morning on nothing is reported (before, its
    few mornings are all the history it has, and its first ones do stand out)."""
    rng = np.random.default_rng(9)
    rows: list[tuple[str, str, int]] = []
    for d in range(45):
        day = T0 + d * 86400
        rows += [(f"c{c}", "deskB", day + 8 * 3600 + int(rng.integers(1800)))
                 for c in rng.choice(20, 15, replace=False)]
        rows += [(f"u{rng.integers(100)}", "deskB", day + 9 * 3600 + int(rng.integers(12 * 3600))) for _ in range(12)]
    found = _account_signals(tmp_path, _write(tmp_path / "desk.txt", rows, background_days=45))
    assert [s for s in found if s[0] == "deskB" and s[1] >= datetime.fromtimestamp(T0 + 7 * 86400, UTC)
            .replace(tzinfo=None)] == []
    t = _tests(tmp_path / "a.duckdb")
    mornings = (t["x"] >= 10) & (t["tn"] >= SAME_TIME_MIN)
    assert mornings.sum() > 10
    args = [t[c][mornings] for c in ("x", "xr", "c", "yr", "wt", "wr")]
    _, against_all, _ = p_values(*args, flat=(t["wtf"][mornings], t["wrf"][mornings]))
    _, crowd, _ = p_values_of({c: v[mornings] for c, v in t.items()})
    assert np.median(against_all) < 1e-4 and crowd.min() > 1e-3
