"""Statistical quality of tiewatch's signals, measured on real data: `python bench/quality.py [--write]`.

Sections (each prints a markdown table; --write puts them all in docs/quality.md):

1. Renewal silences on real CollegeMsg under two permutation nulls (each pair's gaps permuted, each pair's
   active days permuted), 5 draws each: false silences per run, testable tests, P(p <= alpha) and the KS
   distance of the (randomised) null p-values from uniform; the naive baseline (gap > 5x the pair's median)
   on the same nulls.
2. Planted silences in real CollegeMsg: ranking quality (average precision) of the rank p-value against the
   naive ratio, precision at the same number of alarms, and what passes false-discovery control.
3. Posts model: the clear silence (26 likes on 41 posts, then 14 posts passed over while active, then a like)
   planted in a synthetic null scenario with ~100,000 tests; the null scenarios alone.
4. Audience change points (see bench/quality_audience.py when present).

Everything is seeded; rerunning gives the same table. Run it with `nice`: it ingests CollegeMsg ~12 times.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
from click.testing import CliRunner

from tiewatch.cli import app
from tiewatch.detect.base import Context, Window
from tiewatch.detect.dialect import DUCKDB
from tiewatch.detect.renewal import all_pvalues_sql
from tiewatch.nulls import NULLS, write_null
from tiewatch.store import Store

REPO = Path(__file__).resolve().parents[1]
COLLEGEMSG = REPO.parent / "shared" / "data" / "collegemsg" / "CollegeMsg.txt"
ALPHAS = (1e-4, 1e-3, 1e-2, 0.05)
RUNS = 5


def cli(db: Path, *args: str) -> str:
    res = CliRunner().invoke(app, ["--db", str(db), *args], catch_exceptions=False)
    if res.exit_code != 0:
        raise SystemExit(f"tiewatch {' '.join(args)} failed: {res.output}")
    return res.stdout


def ingest_messages(db: Path, path: Path) -> None:
    cli(db, "ingest", str(path), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
        "--set", "kind=message", "--set", "platform=collegemsg")


def detect(db: Path) -> dict[str, object]:
    out: dict[str, object] = json.loads(cli(db, "detect", "--json"))
    return out


def spacing_stats(db: Path, seed: int) -> dict[str, np.ndarray]:
    """Every renewal test of the store: sequential rank p-value, randomised p-value, length, position,
    median of the gaps so far."""
    store = Store(db)
    try:
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        tbl = store.arrow(f"SELECT * FROM ({all_pvalues_sql(ctx)}) ORDER BY platform, a, b, pos")
    finally:
        store.close()
    rng = np.random.default_rng(seed)
    pos = tbl["pos"].to_numpy().astype(float)
    at_least = tbl["at_least"].to_numpy().astype(float)
    longer = tbl["longer"].to_numpy().astype(float)
    return {"p": at_least / pos, "p_rand": (longer + rng.random(len(pos)) * (at_least - longer)) / pos,
            "g": tbl["g"].to_numpy().astype(float), "n": pos, "med": tbl["med"].to_numpy().astype(float),
            "a": np.array(tbl["a"].to_pylist(), dtype=object), "b": np.array(tbl["b"].to_pylist(), dtype=object),
            "start": np.array(tbl["start_ts"].to_pylist(), dtype=object)}


def ks_uniform(p: np.ndarray) -> float:
    x = np.sort(p)
    n = len(x)
    if n == 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(max((i / n - x).max(), (x - (i - 1) / n).max()))


def naive_alarms(s: dict[str, np.ndarray]) -> np.ndarray:
    """The naive baseline: a gap longer than 5x the median of the pair's gaps so far (itself included),
    once the pair has at least 6 gaps."""
    alarms: np.ndarray = (s["n"] >= 6) & (s["g"] > 5 * s["med"])
    return alarms


def section_nulls(work: Path) -> str:
    rows = []
    for kind in NULLS:
        false_sil, false_res, tests, testable, naive, ks, ksr = [], [], [], [], [], [], []
        frac = {a: [] for a in ALPHAS}  # type: dict[float, list[float]]
        for run in range(RUNS):
            path = write_null(work / f"null_{kind}_{run}.txt", COLLEGEMSG, kind, seed=run + 1)
            db = work / f"null_{kind}_{run}.duckdb"
            ingest_messages(db, path)
            out = detect(db)
            sig = out["signals"]
            assert isinstance(sig, dict)
            false_sil.append(int(sig.get("silence", 0)))
            false_res.append(int(sig.get("resumption", 0)))
            t, u = out["tests"], out["untestable"]
            assert isinstance(t, dict) and isinstance(u, dict)
            testable.append(int(t.get("silence", 0)))
            tests.append(int(t.get("silence", 0)) + int(u.get("silence", 0)))
            s = spacing_stats(db, seed=run)
            naive.append(int(naive_alarms(s).sum()))
            ks.append(ks_uniform(s["p"]))
            ksr.append(ks_uniform(s["p_rand"]))
            for a in ALPHAS:
                frac[a].append(float(np.mean(s["p"] <= a)))
            db.unlink()
            path.unlink()
        label = {"gaps": "each pair's gaps permuted", "days": "each pair's active days permuted"}[kind]
        rows.append(
            f"| {label} | {np.mean(false_sil):.1f} (max {max(false_sil)}) | {np.mean(false_res):.1f} | "
            f"{np.mean(tests):,.0f} | {np.mean(testable):,.0f} | "
            + " | ".join(f"{np.mean(frac[a]):.2g}" for a in ALPHAS)
            + f" | {np.mean(ksr):.3f} | {np.mean(ks):.3f} | {np.mean(naive):.0f} "
              f"({1000 * np.mean(naive) / np.mean(tests):.1f}) |")
    head = ("| null (real CollegeMsg, 5 runs each) | false silences / run | false resumptions / run | tests | "
            "testable (Tarone) | " + " | ".join(f"P(p ≤ {a:g})" for a in ALPHAS)
            + " | KS D (randomised p) | KS D (raw p) | naive alarms / run (per 1,000 tests) |\n"
            "|---|---|---|---|---|" + "---|" * len(ALPHAS) + "---|---|---|")
    return head + "\n" + "\n".join(rows)


def plant_silences(source: Path, out: Path, n: int, seed: int, days: int) -> list[tuple[str, str, int]]:
    """Real CollegeMsg with n planted silences: for n random pairs with at least 10 days of contact, the
    pair's messages in the `days` days after one of its contact days (chosen in the middle of its
    history) are deleted. Returns (a, b, day of the last contact before the silence)."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE m AS SELECT CAST(src AS VARCHAR) a, CAST(dst AS VARCHAR) b, CAST(time AS BIGINT) t, "
                "CAST(time AS BIGINT) // 86400 AS day FROM read_csv(?, delim=' ', header=true)", [str(source)])
    con.execute(f"""
        CREATE TABLE plant AS
        WITH pd AS (SELECT DISTINCT a, b, day FROM m),
        r AS (SELECT a, b, day, row_number() OVER (PARTITION BY a, b ORDER BY day) AS i,
                     count(*) OVER (PARTITION BY a, b) AS k FROM pd),
        pairs AS (SELECT a, b, k FROM r WHERE i = 1 AND k >= 10 ORDER BY hash(a, b, {seed}) LIMIT {n}),
        pu AS (SELECT r.a, r.b, r.day, hash(r.a, r.b, r.day, {seed}) AS u
               FROM r JOIN pairs p ON p.a = r.a AND p.b = r.b WHERE r.i BETWEEN 3 AND r.k - 3),
        pick AS (SELECT *, row_number() OVER (PARTITION BY a, b ORDER BY u) AS z FROM pu)
        SELECT a, b, day FROM pick WHERE z = 1""")
    con.execute(f"""COPY (SELECT m.a AS src, m.b AS dst, m.t AS time FROM m LEFT JOIN plant p
                          ON p.a = m.a AND p.b = m.b AND m.day > p.day AND m.day <= p.day + {days}
                          WHERE p.a IS NULL ORDER BY m.t) TO '{out}' (DELIMITER ' ', HEADER true)""")
    planted = [(str(a), str(b), int(d)) for a, b, d in con.execute("SELECT * FROM plant").fetchall()]
    con.close()
    return planted


def average_precision(score: np.ndarray, label: np.ndarray) -> float:
    order = np.argsort(-score, kind="stable")
    hits = label[order].astype(float)
    if hits.sum() == 0:
        return float("nan")
    prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((prec * hits).sum() / hits.sum())


def section_planted(work: Path) -> str:
    rows = []
    for days in (21, 42):
        aps, apn, p_at, n_at, found, n_pl, missing_gaps = [], [], [], [], [], [], []
        for run in range(3):
            path = work / f"planted_{days}_{run}.txt"
            planted = plant_silences(COLLEGEMSG, path, 50, seed=run + 11, days=days)
            db = work / f"planted_{days}_{run}.duckdb"
            ingest_messages(db, path)
            out = detect(db)
            sig = json.loads(cli(db, "signals", "--kind", "silence", "--json"))
            truth = {(a, b, d) for a, b, d in planted}
            s = spacing_stats(db, seed=run)
            start_day = np.array([int(x.timestamp() // 86400) for x in s["start"]])
            label = np.array([(a, b, d) in truth for a, b, d in zip(s["a"], s["b"], start_day, strict=True)])
            missing_gaps.append(len(truth) - int(label.sum()))
            # tiewatch's ranking: the rank p-value, smaller first; among equal p-values, more gaps first.
            score_t = -s["p"] + 1e-6 * s["n"]
            ratio = s["g"] / np.maximum(s["med"], 1.0)
            score_n = np.where(s["n"] >= 6, ratio, 0.0)
            aps.append(average_precision(score_t, label))
            apn.append(average_precision(score_n, label))
            r = int(label.sum())
            p_at.append(float(label[np.argsort(-score_t, kind="stable")[:r]].mean()))
            n_at.append(float(label[np.argsort(-score_n, kind="stable")[:r]].mean()))
            hit = {(x["subjects"][0], x["subjects"][1], int(datetime.fromisoformat(
                x["start"].rstrip("Z")).timestamp() // 86400)) for x in sig}
            found.append(len(hit & truth))
            n_pl.append(len(truth))
            db.unlink()
            path.unlink()
            _ = out
        rows.append(f"| {days} days | {np.mean(n_pl):.0f} | {np.mean(found):.1f} | {np.mean(aps):.3f} | "
                    f"{np.mean(apn):.3f} | {np.mean(p_at):.2f} | {np.mean(n_at):.2f} |")
    head = ("| planted silence length (50 pairs with ≥ 10 contact days, 3 runs) | planted | tiewatch signals "
            "at FDR 5% that are planted | AP, tiewatch rank p-value | AP, naive gap/median | "
            "precision at R = #planted, tiewatch | same, naive |\n|---|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


SECTIONS: dict[str, Callable[[Path], str]] = {"nulls": section_nulls, "planted": section_planted}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write docs/quality.md")
    ap.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = ap.parse_args()
    if not COLLEGEMSG.exists():
        sys.exit(f"{COLLEGEMSG} not found")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in SECTIONS.items():
            if args.only and name not in args.only:
                continue
            t0 = time.perf_counter()
            out[name] = fn(Path(tmp))
            print(f"## {name} ({time.perf_counter() - t0:.0f} s)\n\n{out[name]}\n", flush=True)
    if args.write:
        from quality_doc import write_doc  # type: ignore[import-not-found]

        write_doc(out)


if __name__ == "__main__":
    main()
