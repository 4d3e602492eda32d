"""Cold start of the command line against Python's own, in one run.

    python bench/startup.py [--repeat 20]

Times `tiewatch --help`, `tiewatch --version` and `python -c pass` as fresh processes (the median of
--repeat runs each, interleaved so machine load hits all alike) and prints each ratio to `python -c pass`
(target: at most 8 for --help).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def cold(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "tiewatch --help": [sys.executable, "-m", "tiewatch", "--help"],
                "tiewatch --version": [sys.executable, "-m", "tiewatch", "--version"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            times[name].append(cold(cmd))
    floor = statistics.median(times["python -c pass"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:20s} median {med * 1000:7.1f} ms   ratio {med / floor:5.2f}x")


if __name__ == "__main__":
    main()
