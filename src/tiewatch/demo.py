"""The seed-story demo: a fresh database from a scenario generated in-package, detection, headline signals,
the brief for the two actresses, and the HTML report."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tiewatch.detect.run import DetectReport, detect
from tiewatch.ingest.run import ingest_paths
from tiewatch.outfiles import output_dir
from tiewatch.scenario import Cast, generate
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.article import Article, build_article
from tiewatch.views.report import write_report
from tiewatch.views.sentences import render_signals


@dataclass
class DemoResult:
    db: Path
    report: Path  # the exported pages' index.html
    detect: DetectReport
    headlines: list[dict[str, object]]
    brief: Article


def run_demo(out_dir: Path, seed: int = 1) -> DemoResult:
    """Build everything under `out_dir` (replacing an earlier demo there)."""
    output_dir(out_dir)
    db = out_dir / "demo.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    cast = Cast()
    with tempfile.TemporaryDirectory() as tmp:
        folder = generate(seed=seed, cast=cast).write(Path(tmp) / "scenario")
        shutil.copy(folder / "truth.json", out_dir / "truth.json")
        with Store(db) as store:
            report = ingest_paths(store, [folder])
            if report.errors:
                raise RuntimeError(f"demo ingest failed: {report.errors}")
            result = detect(store, sentences=render_signals)
            headlines = [s for s in list_signals(store) if s["kind"] not in ("follow", "unfollow")]
            brief = build_article(store, cast.star[0], cast.friend[0])
            html_path = write_report(store, out_dir)
    return DemoResult(db, html_path, result, headlines, brief)
