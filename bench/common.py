"""Helpers shared by the benchmarks: synthetic data written by DuckDB itself, timing, peak memory."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb


def synthetic_events_sql(n: int, *, accounts: int = 200_000, post_share: float = 0.05) -> str:
    """N events with ids: Zipf-like popular targets, bursty times, a share of posts (set-based, no Python loop)."""
    return f"""
        SELECT 'e' || i AS id,
               strftime(TIMESTAMP '2023-01-01' + to_microseconds(CAST(
                   (i * 600000.0 / {n}) * 1e6 * (1 + 0.5 * sin(i / 5000.0)) AS BIGINT)), '%Y-%m-%dT%H:%M:%SZ') AS ts,
               'instagram' AS platform,
               'u' || (hash(i) % {accounts}) AS actor,
               CASE WHEN hash(i * 31) % 1000 < {int(post_share * 1000)} THEN 'post' ELSE 'like' END AS kind,
               'u' || CAST(floor(pow(((hash(i * 7) % 1000000) + 1) / 1000000.0, 3) * {accounts}) AS BIGINT) AS target,
               'p' || (hash(i * 13) % ({n} // 20 + 1)) AS post
        FROM range({n}) t(i)"""


def write_events(n: int, folder: Path) -> dict[str, Path]:
    """The same N synthetic events as JSONL and Parquet (cached by size)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {"jsonl": folder / f"events_{n}.jsonl", "parquet": folder / f"events_{n}.parquet"}
    con = duckdb.connect()
    for fmt, path in out.items():
        if not path.exists():
            kind = "json" if fmt == "jsonl" else "parquet"
            con.execute(f"COPY ({synthetic_events_sql(n)}) TO '{path}' (FORMAT {kind})")
    return out


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run a command to the end; returns (seconds, its peak resident memory in MB)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr}")
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, rss_kb / 1024
