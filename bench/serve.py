"""Latency of `tiewatch serve` under 50 concurrent clients, beside a static file served by the same server.

    python bench/serve.py [--events 10000000] [--clients 50] [--requests 1000]

Builds a store of N synthetic events (Zipf-popular authors and targets, as bench/detect.py) plus the seed
story (so there are signals and a real pair to show), runs detect, starts `tiewatch serve` on loopback in
its own process, and sends --requests requests per endpoint from --clients concurrent httpx clients:
GET /api/signals, the pair page (/pairs/songhyekyo/xeesoxee) and /static/style.css (the reference: the same
server doing almost nothing). Prints p50 and p99 per endpoint and their ratio to the static file's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SEED = Path(os.environ.get("TIEWATCH_SHARED", HERE.parents[1] / "shared")) / "scenarios" / "seed"
ENDPOINTS = {"static file": "/static/style.css", "/api/signals": "/api/signals?_size=50",
             "pair page": "/pairs/songhyekyo/xeesoxee"}


def tiewatch(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tiewatch", *args], check=True, stdout=subprocess.DEVNULL)


def build(db: Path, events: int, accounts: int, work: Path) -> None:
    from detect import write_events

    if events:
        parquet = work / f"events_{events}.parquet"
        start = time.perf_counter()
        write_events(events, accounts, parquet)
        tiewatch("--db", str(db), "ingest", str(parquet))
        print(f"ingested {events:,} synthetic events in {time.perf_counter() - start:.1f} s", flush=True)
    tiewatch("--db", str(db), "ingest", str(SEED))
    start = time.perf_counter()
    tiewatch("--db", str(db), "detect")
    print(f"detect in {time.perf_counter() - start:.1f} s", flush=True)


async def load(url: str, path: str, clients: int, requests: int) -> list[float]:
    """`requests` GETs of one path from `clients` concurrent connections; each latency in ms."""
    latencies: list[float] = []
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        async def worker() -> None:
            for _ in todo:
                start = time.perf_counter()
                res = await client.get(path)
                latencies.append((time.perf_counter() - start) * 1000)
                if res.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {res.status_code}: {res.text[:200]}")
        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def cold_charts(db: Path, repeat: int = 3) -> dict[str, tuple[float, float]]:
    """Building the pair and account chart specs from their views (a page's cold cost; the server memoises
    them): with Altair checking every part as it is made and the whole spec (as before), and as the server
    builds them now (`pair_chart`, `account_chart`, `to_dict(validate=False)`). Best of `repeat`, seconds."""
    from altair.utils.schemapi import debug_mode

    from tiewatch.store import Store
    from tiewatch.views import charts
    from tiewatch.views.account import account_view
    from tiewatch.views.pair import pair_view

    with Store(db, read_only=True) as store:
        views = {"pair chart": (charts._pair_chart, charts.pair_chart, pair_view(store, "songhyekyo", "xeesoxee")),
                 "account chart": (charts._account_chart, charts.account_chart, account_view(store, "xeesoxee"))}
    out = {}
    for name, (checked, fast, view) in views.items():
        best = {"checked": 1e9, "fast": 1e9}
        for _ in range(repeat):
            start = time.perf_counter()
            with debug_mode(True):
                checked(view, None).to_dict()
            best["checked"] = min(best["checked"], time.perf_counter() - start)
            start = time.perf_counter()
            fast(view).to_dict(validate=False)
            best["fast"] = min(best["fast"], time.perf_counter() - start)
        out[name] = (best["checked"], best["fast"])
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=1000, help="per endpoint")
    ap.add_argument("--db", type=Path, default=None, help="reuse (or keep) this store")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = args.db or work / "serve.duckdb"
        if not db.exists():
            build(db, args.events, args.accounts, work)
        charts = cold_charts(db)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server = subprocess.Popen([sys.executable, "-m", "tiewatch", "--db", str(db), "serve", "--port", str(port)],
                                  stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(url + "/static/style.css", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            results = {}
            load_before = os.getloadavg()[0]
            for name, path in ENDPOINTS.items():
                asyncio.run(load(url, path, args.clients, min(args.clients * 2, args.requests)))  # warm up
                start = time.perf_counter()
                lat = asyncio.run(load(url, path, args.clients, args.requests))
                results[name] = (pct(lat, 50), pct(lat, 99), args.requests / (time.perf_counter() - start))
        finally:
            server.terminate()
            server.wait(timeout=30)
    base50, base99, _ = results["static file"]
    print(f"\n{args.events:,} synthetic events + the seed story; {args.clients} concurrent clients, "
          f"{args.requests} requests per endpoint; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"{'endpoint':<14} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>8} {'p50 ratio':>10} {'p99 ratio':>10}")
    for name, (p50, p99, rate) in results.items():
        print(f"{name:<14} {p50:>9.1f} {p99:>9.1f} {rate:>8.0f} {p50 / base50:>10.1f} {p99 / base99:>10.1f}")
    print("\ncold chart specs (best of 3, Altair): every part validated -> as the server builds them now")
    for name, (slow, fast) in charts.items():
        print(f"{name:<14} {slow * 1000:>7.0f} ms -> {fast * 1000:>5.0f} ms ({slow / fast:.2f}x)")


if __name__ == "__main__":
    main()
