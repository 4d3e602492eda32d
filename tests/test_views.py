"""What a person sees: charts (rendered, content checked), briefs whose every sentence cites a stored record,
the HTML report, and the demo end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import SEED, Cli
from tiewatch.api import Tiewatch
from tiewatch.store import Store


@pytest.fixture(scope="module")
def seed_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("views") / "seed.duckdb")
    cli("ingest", str(SEED))
    cli("detect")
    return cli


def test_pair_chart_shows_silence_and_resumption(seed_cli: Cli, tmp_path: Path) -> None:
    svg = tmp_path / "t.svg"
    out = seed_cli.json("pair", "songhyekyo", "xeesoxee", "--chart", str(svg))
    text = svg.read_text()
    assert text.startswith("<svg") and "resumption 2024-05-19" in text and "silence 2023-10-23" in text
    assert "Song Hye-kyo → Han So-hee" in text and "relationship score" in text
    kinds = {s["kind"] for s in out["signals"]}
    assert {"silence", "resumption"} <= kinds
    months = {p["period"][:7]: p for p in out["periods"]}
    assert months["2023-12"]["a_to_b"] == 0 and months["2023-06"]["a_to_b"] > 0
    assert months["2023-06"]["tie_a_to_b"] > months["2024-04"]["tie_a_to_b"]


def test_pair_chart_html_is_self_contained(seed_cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "t.html"
    seed_cli("pair", "Song Hye-kyo", "Han So-hee", "--chart", str(page))
    text = page.read_text()
    assert "<html" in text and "vega" in text.lower()
    assert not re.search(r"<script[^>]+src=[\"']https?://", text)  # nothing fetched from the network


def test_account_chart_shows_the_march_drop(seed_cli: Cli, tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    out = seed_cli.json("account", "xeesoxee", "--chart", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    drops = [s for s in out["signals"] if s["kind"] == "audience_drop"]
    assert drops and drops[0]["ts"].startswith("2024-03-15")
    svg = tmp_path / "a.svg"
    seed_cli("account", "xeesoxee", "--chart", str(svg))
    assert "drop 2024-03-15" in svg.read_text()
    assert out["ties_now"] and out["ties_year_ago"]


def _resolves(store: Store, kind: str, ref: str) -> bool:
    """Does a footnote point at a stored record?"""
    if kind == "event":
        return bool(store.scalar("SELECT count(*) FROM events WHERE id = ?", [ref]))
    if kind == "news":
        return bool(store.scalar("SELECT count(*) FROM news WHERE url = ? OR id = ?", [ref, ref]))
    account, _, date = ref.rpartition(" ")
    return bool(store.scalar("SELECT count(*) FROM metrics WHERE account = ? AND CAST(ts AS DATE) = CAST(? AS DATE)",
                             [account, date]))


def test_brief_cites_evidence_that_resolves(seed_cli: Cli) -> None:
    text = seed_cli("brief", "songhyekyo", "xeesoxee").stdout
    assert "**19 May 2024.** Song Hye-kyo liked" in text and "(event ev0118508)" in text
    with Tiewatch(seed_cli.db, read_only=True) as tw:
        brief = tw.brief("songhyekyo", "xeesoxee")
        assert text == brief.markdown() + "\n"  # the CLI prints the brief the web page and its downloads show
        numbers = {f.n for f in brief.footnotes}
        assert brief.lede and brief.chronology and numbers
        for entry in [brief.lede, *brief.chronology]:
            assert entry.notes and set(entry.notes) <= numbers, f"uncited: {entry.text}"
        for note in brief.footnotes:
            assert _resolves(tw.store, note.kind, note.ref), note


def test_brief_in_a_time_zone(seed_cli: Cli) -> None:
    """The audience drop was stored at 15:00 UTC on 15 March: in Seoul, the CLI brief dates it, and says its
    sentence, a day later, as the web page does."""
    utc = seed_cli("brief", "xeesoxee").stdout
    kst = seed_cli("brief", "xeesoxee", "--tz", "KST").stdout
    assert "**15 March 2024.** Han So-hee lost 423,097 followers (2.1%) between 14 March 2024 and 18 March" in utc
    assert "**16 March 2024.** Han So-hee lost 423,097 followers (2.1%) between 15 March 2024 and 19 March" in kst
    assert "15 March 2024.** Han So-hee lost" not in kst
    result = seed_cli("brief", "xeesoxee", "--tz", "Mars/Olympus", ok=False)
    assert result.exit_code != 0 and "not a time zone" in result.stderr and "Traceback" not in result.output


def test_brief_html_and_file_output(seed_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    seed_cli("brief", "Hyeri", "--format", "html", "--out", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "Interesting" in page and "news.example/n-reveal" in page


def test_report_exports_the_pages(seed_cli: Cli, tmp_path: Path) -> None:
    out = seed_cli("report", "--out", str(tmp_path / "r"), "--limit", "20", "--tz", "Asia/Seoul").stdout
    assert "index.html" in out
    folder = tmp_path / "r"
    index = (folder / "index.html").read_text()
    assert "Resumption" in index and "Song Hye-kyo" in index and "Audience drop" in index
    hrefs = set(re.findall(r'href="([^"#]+)"', index))
    local = {h for h in hrefs if not h.startswith(("http://", "https://"))}
    assert local and all((folder / h).exists() for h in local), sorted(h for h in local if not (folder / h).exists())
    pages = {p.name.split("-")[0] for p in folder.glob("*.html")}
    assert pages >= {"index.html", "signal", "pair", "account", "brief"}
    for page in folder.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=[\"']https?://", text), page  # nothing fetched from the network
        assert "<link" not in text or "https://" not in text.split("<link")[1].split(">")[0]
    assert (folder / "static" / "vega.js").stat().st_size > 100_000
    md = next(folder.glob("brief-songhyekyo--xeesoxee-*.md")).read_text()
    assert md.startswith("# Song Hye-kyo and Han So-hee") and "[^1]:" in md


def test_report_for_one_account_since_a_date(seed_cli: Cli, tmp_path: Path) -> None:
    seed_cli("report", "--out", str(tmp_path / "r"), "--account", "hyeri_0609", "--since", "2024-01-01")
    index = (tmp_path / "r" / "index.html").read_text()
    assert "about hyeri_0609" in index and "since 2024-01-01" in index
    assert "Hyeri" in index


def test_demo_end_to_end(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "unused.duckdb")
    out = cli("demo", "--out", str(tmp_path / "demo")).stdout
    assert "Headline signals" in out and "resumption" in out and "Song Hye-kyo and Han So-hee" in out
    assert (tmp_path / "demo" / "index.html").exists()
    again = Cli(tmp_path / "demo" / "demo.duckdb").json("signals")
    from tiewatch.evaluate import evaluate, load_truth

    ev = evaluate(again, load_truth(tmp_path / "demo" / "truth.json"))
    assert not ev.missed
