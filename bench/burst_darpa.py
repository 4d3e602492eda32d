"""The burst test on MIDAS's DARPA benchmark: `python bench/burst_darpa.py DARPA_CSV`.

DARPA_CSV: darpa_original.csv from the MIDAS repository (Stream-AD/MIDAS, data/DARPA/darpa_original.zip;
4.5M IP-to-IP connections, June-July 1998, each labelled '-' or with an attack name). MIDAS-R's published
ROC AUC on it is about 0.95 (per-edge anomaly scores). The file's dates run past month ends (07/32/1998),
so day d of month m is read as day 32 (m - 6) + d of a calendar that keeps their order. Every connection
is scored by the burst test of its (source, destination, day): -log10 p, and 0 where that day is no test.
The AUC is the Mann-Whitney probability that an attack outscores a normal connection (ties count half).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from tiewatch.detect.base import Context, Window
from tiewatch.detect.burst import all_tests_sql
from tiewatch.detect.dialect import DUCKDB
from tiewatch.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "darpa.duckdb") as store:
        con = store.con
        con.execute("""CREATE TEMP TABLE darpa AS SELECT row_number() OVER () AS n, src, dst,
                       TIMESTAMP '1998-01-01' + to_days(CAST(32 * (CAST(t[1:2] AS INT) - 6) + CAST(t[4:5] AS INT)
                                                              AS INT))
                           + to_minutes(CAST(60 * CAST(t[12:13] AS INT) + CAST(t[15:16] AS INT) AS BIGINT)) AS ts,
                       label <> '-' AS attack
                       FROM read_csv(?, header=false, columns={'src': 'VARCHAR', 'dst': 'VARCHAR', 't': 'VARCHAR',
                                                               'label': 'VARCHAR'})""", [str(args.csv)])
        con.execute("INSERT INTO events (id, ts, platform, actor, kind, target) "
                    "SELECT 'd' || n, ts, 'darpa', src, 'message', dst FROM darpa")
        t0 = time.perf_counter()
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        con.execute(f"CREATE TEMP TABLE bt AS {all_tests_sql(ctx)}")
        secs = time.perf_counter() - t0
        scored = con.execute("""SELECT d.attack, coalesce(-log10(greatest(b.p, 1e-300)), 0) AS score FROM darpa d
                                LEFT JOIN bt b ON b.a = d.src AND b.b = d.dst AND b.cday = date_trunc('day', d.ts)""")
        rows = scored.fetchnumpy()
        tests = con.execute("SELECT count(*) FROM bt").fetchall()[0][0]
    attack, score = rows["attack"].astype(bool), rows["score"].astype(float)
    ranks = rankdata(score)
    n1, n0 = int(attack.sum()), int((~attack).sum())
    auc = (ranks[attack].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    print(f"DARPA: {len(score):,} connections ({n1:,} attack), {tests:,} burst tests in {secs:.1f} s; "
          f"connections on a tested day {np.mean(score > 0):.3f}; ROC AUC of the burst score {auc:.3f} "
          "(MIDAS-R published: about 0.95)")


if __name__ == "__main__":
    main()
