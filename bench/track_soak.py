"""Soak: the kill -9 test of `tiewatch track run` with many more random kills than `make test` uses.

    python bench/track_soak.py [--kills 50]

Passes when the store and the alerts after all the kills equal those of an uninterrupted run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=50)
    args = ap.parse_args()
    env = {**os.environ, "TIEWATCH_KILLS": str(args.kills)}
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", str(ROOT / "tests" / "test_track_kill.py")],
                             env=env, cwd=ROOT))


if __name__ == "__main__":
    main()
