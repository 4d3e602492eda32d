"""The pages a person opens, in a real headless Chromium: the offline report and an HTML chart render, with
the network off (nothing may be fetched)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SEED, Cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.slow


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed; `make test` installs it (Debian package chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # no network: any fetch fails
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=8000"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pages")
    cli = Cli(out / "seed.duckdb")
    cli("ingest", str(SEED))
    cli("detect")
    cli("report", "--out", str(out))
    cli("pair", "songhyekyo", "xeesoxee", "--chart", str(out / "pair.html"))
    return out


def test_report_renders_offline(pages: Path, tmp_path: Path) -> None:
    pair = next(pages.glob("pair-songhyekyo--xeesoxee-*.html"))
    dom = _chromium(tmp_path, "--dump-dom", pair.as_uri()).stdout
    assert 'data-drawn="1"' in dom and "<svg" in dom  # the vendored vega-embed drew the chart from disk
    assert "resumption 2024-05-19" in dom and "Han So-hee" in dom
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,1800", (pages / "index.html").as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_html_chart_draws_itself_without_the_network(pages: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", (pages / "pair.html").as_uri()).stdout
    # vega-embed, bundled in the file, replaces the empty container with the drawn chart
    assert "<svg" in dom or "<canvas" in dom, dom[:500]
    assert "marks" in dom or "role-mark" in dom
