"""Long fuzzing runs over every source: mutated real samples, each ingested in a worker process with a time limit.

    python bench/fuzz.py --inputs 20000 --workers 2 [--sources jsonl,x,...] [--timeout 10] [--json out.json]

Counts per source: ok (stored and quarantined, every record accounted for), error (one clean TiewatchError, store
untouched), traceback (any other exception, also in a helper thread), silent-drop, partial (a refused file
changed the store), hang (over --timeout seconds: the worker is killed) and crash (the worker died, e.g. an
abort in native code). Prints the distinct failures with the (source, seed) that reproduces each:
`python bench/fuzz.py --replay SOURCE:SEED` re-runs one input in-process and shows the full outcome.
The inputs come from tests/fuzzing.py, the same generator the test suite's bounded fuzz tests use.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter, defaultdict
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fuzzing import SOURCES, Generator, run_one  # noqa: E402

FRESH_STORE_EVERY = 250


def worker(conn: Connection, workdir: str) -> None:
    from tiewatch.store import Store

    generator = Generator()
    root = Path(workdir)
    store: Store | None = None
    done = 0
    while True:
        job = conn.recv()
        if job is None:
            break
        source, seed = job
        if store is None or done % FRESH_STORE_EVERY == 0:
            if store is not None:
                store.close()
            db = root / "fuzz.duckdb"
            for stale in (db, db.with_name(db.name + ".wal")):
                stale.unlink(missing_ok=True)
            store = Store(db)
        case = generator.case(source, seed, root / "in")
        start = time.perf_counter()
        outcome = run_one(store, case)
        conn.send((outcome.kind, outcome.detail[:2000], time.perf_counter() - start))
        done += 1
    if store is not None:
        store.close()


class Worker:
    def __init__(self, ctx: mp.context.BaseContext) -> None:
        self.ctx = ctx
        self.tmp = tempfile.TemporaryDirectory(prefix="tw-fuzz-")
        self.conn, child = ctx.Pipe()  # type: ignore[attr-defined]
        self.proc = ctx.Process(target=worker, args=(child, self.tmp.name), daemon=True)  # type: ignore[attr-defined]
        self.proc.start()
        self.job: tuple[str, int] | None = None
        self.started = 0.0

    def submit(self, job: tuple[str, int]) -> None:
        self.job = job
        self.started = time.monotonic()
        self.conn.send(job)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.tmp.cleanup()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(timeout=10)
        except (BrokenPipeError, OSError):
            pass
        if self.proc.is_alive():
            self.proc.kill()
        self.tmp.cleanup()


def signature(kind: str, detail: str) -> str:
    """What makes two failures the same bug: the kind, the exception type and the innermost source line."""
    first = detail.splitlines()[0] if detail else ""
    frames = [ln.strip() for ln in detail.splitlines() if ln.strip().startswith('File "') and "/tiewatch/" in ln]
    where = frames[-1].split("/tiewatch/", 1)[1] if frames else ""
    return f"{kind}: {first.split(':', 1)[0]} {where}".strip()


def run(total: int, workers: int, sources: list[str], timeout: float, seed0: int) -> dict[str, object]:
    ctx = mp.get_context("spawn")
    jobs = [(sources[i % len(sources)], seed0 + i // len(sources)) for i in range(total)]
    pool = [Worker(ctx) for _ in range(workers)]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    failures: dict[str, list[str]] = defaultdict(list)
    slowest: tuple[float, str] = (0.0, "")
    start = time.monotonic()
    pending = list(reversed(jobs))
    finished = 0
    streak = 0
    try:
        while finished < total:
            for i, w in enumerate(pool):
                if w.job is None and pending:
                    w.submit(pending.pop())
                if w.job is None:
                    continue
                source, seed = w.job
                if w.conn.poll(0.02):
                    try:
                        kind, detail, seconds = w.conn.recv()
                    except (EOFError, ConnectionResetError):
                        kind, detail, seconds = "crash", f"worker died (exit {w.proc.exitcode})", 0.0
                        w.kill()
                        pool[i] = Worker(ctx)
                    if seconds > slowest[0]:
                        slowest = (seconds, f"{source}:{seed}")
                elif not w.proc.is_alive():
                    kind, detail, seconds = "crash", f"worker died (exit {w.proc.exitcode})", 0.0
                    w.kill()
                    pool[i] = Worker(ctx)
                elif time.monotonic() - w.started > timeout:
                    kind, detail, seconds = "hang", f"no result after {timeout:g} s", timeout
                    w.kill()
                    pool[i] = Worker(ctx)
                else:
                    continue
                w.job = None
                streak = streak + 1 if kind == "crash" else 0
                if streak > 5:
                    raise SystemExit(f"fuzz: workers keep dying ({detail}); is the setup broken? "
                                     "(set TIEWATCH_SHARED to the shared data folder)")
                counts[source][kind] += 1
                if kind not in ("ok", "error"):
                    failures[signature(kind, detail)].append(f"{source}:{seed}  {detail.splitlines()[0][:200]}")
                finished += 1
                if finished % 500 == 0:
                    rate = finished / (time.monotonic() - start)
                    print(f"  {finished:,}/{total:,} inputs, {rate:.1f}/s, "
                          f"{sum(len(v) for v in failures.values())} failures", file=sys.stderr, flush=True)
    finally:
        for w in pool:
            w.stop()
    elapsed = time.monotonic() - start
    totals: Counter[str] = Counter()
    for c in counts.values():
        totals.update(c)
    return {"inputs": total, "seconds": round(elapsed, 1), "totals": dict(totals),
            "by_source": {s: dict(c) for s, c in sorted(counts.items())},
            "slowest": {"seconds": round(slowest[0], 2), "input": slowest[1]},
            "failures": {sig: {"count": len(v), "examples": v[:3]} for sig, v in sorted(failures.items())}}


def replay(spec: str) -> None:
    from tiewatch.store import Store

    source, seed = spec.rsplit(":", 1)
    with tempfile.TemporaryDirectory() as tmp:
        case = Generator().case(source, int(seed), Path(tmp) / "in")
        print(f"input: {case.path}")
        with Store(Path(tmp) / "r.duckdb") as store:
            outcome = run_one(store, case)
        print(f"{outcome.kind}: {outcome.detail}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", type=int, default=20000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--sources", default=",".join(SOURCES))
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before an input counts as a hang")
    p.add_argument("--seed", type=int, default=100000, help="first seed (tests use 0..)")
    p.add_argument("--json", type=Path, default=None, help="also write the summary here")
    p.add_argument("--replay", default=None, metavar="SOURCE:SEED")
    args = p.parse_args()
    if args.replay:
        replay(args.replay)
        return
    summary = run(args.inputs, args.workers, args.sources.split(","), args.timeout, args.seed)
    totals: dict[str, int] = summary["totals"]  # type: ignore[assignment]
    print(f"fuzz: {summary['inputs']:,} inputs over {len(summary['by_source'])} sources in "  # type: ignore[arg-type]
          f"{summary['seconds']} s (workers={args.workers}, timeout={args.timeout:g} s)")
    for source, c in summary["by_source"].items():  # type: ignore[attr-defined]
        print(f"  {source:18} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    bad = {k: v for k, v in totals.items() if k not in ("ok", "error")}
    print(f"totals: ok {totals.get('ok', 0):,}, clean errors {totals.get('error', 0):,}; tracebacks "
          f"{totals.get('traceback', 0)}, silent drops {totals.get('silent-drop', 0)}, partial "
          f"{totals.get('partial', 0)}, hangs over {args.timeout:g} s {totals.get('hang', 0)}, crashes "
          f"{totals.get('crash', 0)}; slowest input {summary['slowest']}")
    for sig, info in summary["failures"].items():  # type: ignore[attr-defined]
        print(f"  [{info['count']}] {sig}")
        for ex in info["examples"]:
            print(f"       {ex}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
