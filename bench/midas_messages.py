"""MIDAS-R against tiewatch's account burst on real message data: `python bench/midas_messages.py`.

The other axis of the DARPA comparison (bench/burst_darpa.py ranks intrusions): false alarms where nothing
happens, and power at an equal number of alarms. Data: real CollegeMsg (as bench/quality.py reads it).

1. Nulls: CollegeMsg with each pair's contact days moved to the sender's active days ('days'), or to days the
   receiver got anything ('arrivals'), 5 draws each with bench/quality.py's seeds: every alarm is false.
   MIDAS-R (bench/midas_r.py, exact counts) scores every message with tick = 1 hour and tick = 1 minute (one
   tick per hour or minute that holds a message, as the authors' preprocessing numbers DARPA's minutes),
   read as chi-square with 1 dof as the paper does: the messages, and the receiver-hours holding one, whose
   p = P(chi2_1 > score) is at most 1e-4, 1e-3, 0.05, per run. tiewatch's burst_account on the same files:
   its tests (receiver-hours with a reference) with p at most the same levels, and its signals at FDR 5%.
2. Planted crowds (bench/quality.py's three runs: 10 receivers each, 8 new accounts message one receiver 2
   minutes apart): an alarm is a receiver-hour (MIDAS-R: the max score of the messages it received in that
   hour; tiewatch: its test's p-value, or a signal at FDR 5%), a hit a planted receiver alarmed in an hour that
   overlaps the hour after its crowd's first message (bench/quality.py's criterion). MIDAS-R's recall at the
   number of alarms tiewatch raises at FDR 5% (its top receiver-hours of each run), and tiewatch's recall at
   the number of receiver-hours MIDAS-R raises at its chi-square threshold p 1e-4 (tiewatch's smallest
   p-values of each run). Ties at a cut are split at random (expected hits).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
from midas_r import chi2_log10p, midas_r_parts
from quality import COLLEGEMSG, ingest_messages
from scipy.stats import hypergeom

from tiewatch.detect.base import Context, Window
from tiewatch.detect.burst_account import TEST_COLUMNS, AccountBurstDetector, all_tests_sql, p_values_of
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.run import detect
from tiewatch.nulls import load_messages, write_null
from tiewatch.plant import plant_crowds
from tiewatch.store import Store

ALPHAS = (1e-4, 1e-3, 0.05)
TICKS = {"MIDAS-R, tick 1 hour": 3600, "MIDAS-R, tick 1 minute": 60}
RUNS = 5
NULL_LABELS = {"days": "each pair's contact days moved to the sender's active days",
               "arrivals": "each pair's contact days moved to days the receiver got anything"}


def midas_on_file(path: Path, unit: int) -> dict[str, np.ndarray]:
    """MIDAS-R on a CollegeMsg-style file in time order (ticks: the occupied units, numbered 1, 2, ...): each
    message's log10 p-value (chi-square, 1 dof) of its score ('lp') and of its destination's score alone ('lp_dst'),
    receiver, hour, and whether it is its pair's first message."""
    con = duckdb.connect()
    try:
        load_messages(con, path)
        m = con.execute(f"""SELECT a, b, t // 3600 AS hour, dense_rank() OVER (ORDER BY t // {unit}) AS tick,
                            row_number() OVER (PARTITION BY a, b ORDER BY t) = 1 AS first
                            FROM msgs ORDER BY t, a, b""").fetchnumpy()
    finally:
        con.close()
    parts = midas_r_parts(m["a"], m["b"], m["tick"])
    return {"lp": chi2_log10p(parts.max(axis=0)), "lp_dst": chi2_log10p(parts[2]), "b": np.asarray(m["b"]),
            "hour": np.asarray(m["hour"]), "first": np.asarray(m["first"]).astype(bool)}


def receiver_hours(p: np.ndarray, b: np.ndarray, hour: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (receiver, hour): the smallest (log) p-value of the messages it received then."""
    key = np.char.add(np.char.add(b.astype(str), "@"), hour.astype(str))
    uniq, inv = np.unique(key, return_inverse=True)
    best = np.full(len(uniq), np.inf)
    np.minimum.at(best, inv.ravel(), p)
    first_at = np.zeros(len(uniq), dtype=np.int64)
    first_at[inv.ravel()[::-1]] = np.arange(len(p))[::-1]
    return best, b[first_at], hour[first_at]


def tiewatch_run(db: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[str, datetime, datetime]]]:
    """tiewatch's account burst alone on `db`: every test's (receiver-hour's) p-value, receiver and hour, and
    the signals at FDR 5% (receiver, start, end)."""
    with Store(db) as store:
        detect(store, only=[AccountBurstDetector()])
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        t = store.arrow(f"{all_tests_sql(ctx)} SELECT b, u, {', '.join(TEST_COLUMNS)} FROM t").to_pydict()
        sig = store.con.execute('SELECT subjects[1], start, "end" FROM signals WHERE kind = \'burst_account\'')\
            .fetchall()
    p = p_values_of(t)[0]
    return p, np.array(t["b"], dtype=object).astype(str), np.asarray(t["u"], dtype=np.int64), \
        [(str(b), s, e) for b, s, e in sig]


def top_k_hits(p: np.ndarray, hit: np.ndarray, k: int) -> tuple[float, float]:
    """Among the k smallest p-values (ties at the cut split at random): the expected number of true alarms,
    and the cut."""
    if k <= 0:
        return 0.0, 0.0
    k = min(k, len(p))
    cut = np.sort(p)[k - 1]
    above, tied = p < cut, p == cut
    return float(hit[above].sum() + hit[tied].sum() * (k - above.sum()) / tied.sum()), float(cut)


def receivers_found(p: np.ndarray, b: np.ndarray, hour: np.ndarray, first: dict[str, int], k: int) -> float:
    """Expected number of planted receivers with an alarm in their window among the k smallest p-values."""
    if k <= 0:
        return 0.0
    k = min(k, len(p))
    cut = np.sort(p)[k - 1]
    n_above, n_tied = int((p < cut).sum()), int((p == cut).sum())
    found = 0.0
    for rx, t1 in first.items():
        window = (b == rx) & (hour >= t1 // 3600) & (hour <= (t1 + 3600) // 3600)
        if (p[window] < cut).any():
            found += 1
        elif (m := int((p[window] == cut).sum())) > 0:
            found += float(hypergeom.sf(0, n_tied, m, k - n_above))
    return found


def in_window(b: np.ndarray, hour: np.ndarray, first: dict[str, int]) -> np.ndarray:
    hit = np.zeros(len(b), dtype=bool)
    for rx, t1 in first.items():
        hit |= (b == rx) & (hour >= t1 // 3600) & (hour <= (t1 + 3600) // 3600)
    return hit


def section_nulls(work: Path) -> str:
    rows = []
    for kind in ("days", "arrivals"):
        res: dict[str, dict[str, list[float]]] = {}
        for run in range(RUNS):
            path = write_null(work / f"mnull_{kind}_{run}.txt", COLLEGEMSG, kind, seed=run + 1)
            for label, unit in TICKS.items():
                m = midas_on_file(path, unit)
                p, b, hour, first = m["lp"], m["b"], m["hour"], m["first"]
                r = res.setdefault(label, {})
                rh = receiver_hours(p, b, hour)[0]
                r.setdefault("units", []).append(len(p))
                for a in ALPHAS:
                    r.setdefault(f"n{a}", []).append(int((p <= np.log10(a)).sum()))
                    r.setdefault(f"rh{a}", []).append(int((rh <= np.log10(a)).sum()))
                r.setdefault("first", []).append(float(first[p <= np.log10(ALPHAS[0])].mean()))
            db = work / f"mnull_{kind}_{run}.duckdb"
            ingest_messages(db, path)
            p, _, _, sig = tiewatch_run(db)
            r = res.setdefault("tiewatch burst_account", {})
            r.setdefault("units", []).append(len(p))
            for a in ALPHAS:
                r.setdefault(f"n{a}", []).append(int((p <= a).sum()))
                r.setdefault(f"rh{a}", []).append(int((p <= a).sum()))
            r.setdefault("signals", []).append(len(sig))
            db.unlink()
            path.unlink()
        for label, r in res.items():
            unit = "receiver-hour tests" if label.startswith("tiewatch") else "messages"
            cells = []
            for a in ALPHAS:
                n = np.array(r[f"n{a}"])
                cells.append(f"{n.mean():,.0f} ({n.min():,}–{n.max():,}); {n.mean() / np.mean(r['units']):.4g}")
            rh = " / ".join(f"{np.mean(r[f'rh{a}']):,.0f}" for a in ALPHAS)
            extra = (f"{np.mean(r['first']):.2f} of them a pair's first message" if "first" in r
                     else f"signals at FDR 5%: {np.mean(r['signals']):.1f} / run")
            rows.append(f"| {NULL_LABELS[kind]} | {label} | {np.mean(r['units']):,.0f} {unit} | "
                        + " | ".join(cells) + f" | {rh} | {extra} |")
    head = ("| null (real CollegeMsg, 5 runs each) | scorer | scored per run | "
            + " | ".join(f"p ≤ {a:g}: per run, mean (min–max); P(p ≤ {a:g})" for a in ALPHAS)
            + " | receiver-hours alarmed per run at p ≤ 1e-4 / 1e-3 / 0.05 | note (at p ≤ 1e-4) |\n"
            + "|---" * (5 + len(ALPHAS)) + "|")
    return "\n".join([head, *rows])


def section_planted(work: Path) -> str:
    per_run = []
    for run in range(3):
        null = write_null(work / f"mplant_null_{run}.txt", COLLEGEMSG, "days", seed=200 + run)
        planted = plant_crowds(work / f"mplant_{run}.txt", null, accounts=10, seed=run + 1)
        first = {b: t for b, t in planted}
        db = work / f"mplant_{run}.duckdb"
        ingest_messages(db, work / f"mplant_{run}.txt")
        p_tw, b_tw, u_tw, sig = tiewatch_run(db)
        db.unlink()
        seen = set()
        for b, start, end in sig:
            t1 = datetime.utcfromtimestamp(first[b]) if b in first else None
            if t1 is not None and start <= t1 + timedelta(hours=1) and end >= t1:
                seen.add(b)
        with np.errstate(divide="ignore"):
            scorers = {"tiewatch burst_account (its p-values)": (np.log10(p_tw), b_tw, u_tw)}
        for label, unit in TICKS.items():
            m = midas_on_file(work / f"mplant_{run}.txt", unit)
            scorers[label] = receiver_hours(m["lp"], m["b"], m["hour"])
            scorers[f"{label}, destination score alone"] = receiver_hours(m["lp_dst"], m["b"], m["hour"])
        per_run.append({"first": first, "sig": len(sig), "sig_hits": len(seen), "scorers": scorers})
    planted_n = sum(len(r["first"]) for r in per_run)

    def recall(label: str, ks: list[int]) -> tuple[float, float, int]:
        """Recall, precision (alarms in a planted window) and alarms, at ks[i] alarms in run i."""
        found = true = 0.0
        alarms = 0
        for r, k in zip(per_run, ks, strict=True):
            p, b, hour = r["scorers"][label]
            k = min(k, len(p))
            found += receivers_found(p, b, hour, r["first"], k)
            true += top_k_hits(p, in_window(b, hour, r["first"]), k)[0]
            alarms += k
        return found / planted_n, true / max(alarms, 1), alarms

    at_fdr = [r["sig"] for r in per_run]
    at_chi = {label: [int((r["scorers"][label][0] <= -4).sum()) for r in per_run] for label in TICKS}
    grid = [10, 100, 1000]
    lines = [f"tiewatch burst_account at FDR 5%: {sum(at_fdr)} alarms (signals) in 3 runs, recall "
             f"{sum(r['sig_hits'] for r in per_run) / planted_n:.2f} ({planted_n} planted crowds). MIDAS-R at its "
             "chi-square threshold p ≤ 1e-4: "
             + "; ".join(f"{label.split(', ')[1]} {sum(at_chi[label]):,} receiver-hour alarms, recall "
                         f"{recall(label, at_chi[label])[0]:.2f}, precision {recall(label, at_chi[label])[1]:.5f}"
                         for label in TICKS) + ".", "",
             "| scorer (receiver-hours ranked; recall, ties split at random) | at tiewatch's FDR 5% count "
             f"({sum(at_fdr)}) | " + " | ".join(f"at {k:,} per run" for k in grid) + " | "
             + " | ".join(f"at MIDAS-R's p ≤ 1e-4 count, {label.split(', ')[1]} ({sum(at_chi[label]):,})"
                          for label in TICKS) + " |",
             "|---" * (2 + len(grid) + len(TICKS)) + "|"]
    for label in per_run[0]["scorers"]:
        cells = [recall(label, at_fdr)[0]] + [recall(label, [k] * len(per_run))[0] for k in grid] \
            + [recall(label, at_chi[t])[0] for t in TICKS]
        lines.append(f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        print(section_nulls(Path(tmp)), "\n", flush=True)
        print(section_planted(Path(tmp)))
        print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
