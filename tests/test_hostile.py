"""Hostile names and texts through every output: terminal, HTML, SVG, PNG, Markdown and JSON.

A display name, news title or signal summary may hold `</script>`, `"><img onerror>`, control characters
(ESC sequences, NUL, BEL), RTL overrides and Rich markup. Every output must show it as data: no markup is
interpreted, no escape sequence reaches the terminal, no element or script is injected, no process aborts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Cli
from tiewatch.store import Store

HOSTILE = ('K</script><script>document.title="pwned"</script>"><img src=x onerror=alert(1)>'
           "\x1b[31mred\x1b]8;;http://evil\x07link\x1b]8;;\x07\x00\u202eevil[/][link=http://evil]click[/link][bold]")
A, B = "songhyekyo", "xeesoxee"
TERMINAL_BAD = ("\x1b", "\x00", "\x07", "\u202e")


@pytest.fixture(scope="module")
def hostile_db(seed_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "h.duckdb"
    shutil.copy(seed_db, db)
    Cli(db)("detect")
    with Store(db) as store:
        store.con.execute("UPDATE accounts SET name = ? || account WHERE account IN (?, ?)", [HOSTILE, A, B])
        store.con.execute("UPDATE news SET title = ? || title", [HOSTILE])
        store.con.execute("UPDATE signals SET summary = summary || ?", [HOSTILE])
        # a handle that is itself hostile, with activity so it is listed
        store.con.execute("INSERT INTO accounts (platform, account, name) SELECT platform, ?, ? FROM accounts "
                          "WHERE account = ?", ["[/]" + HOSTILE[:20], HOSTILE, A])
    return db


def _terminal_clean(text: str) -> None:
    for ch in TERMINAL_BAD:
        assert ch not in text, repr(ch)


def test_terminal_prints_names_as_data(hostile_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # wide enough that tables do not cut the names short
    cli = Cli(hostile_db)
    outputs = [cli("accounts", "--limit", "500").stdout, cli("signals").stdout, cli("pair", A, B).stdout,
               cli("account", A).stdout, cli("ties", A).stdout, cli("brief", A, B).stdout]
    for out in outputs:
        _terminal_clean(out)
    assert "[link=http://evil]click[/link]" in outputs[0]  # shown literally, not turned into a hyperlink
    assert "[/]" in outputs[0] and "[bold]" in outputs[1]


def test_charts_in_every_format(hostile_db: Path, tmp_path: Path) -> None:
    cli = Cli(hostile_db)
    for suffix in (".svg", ".png", ".html"):
        cli("pair", A, B, "--chart", str(tmp_path / f"p{suffix}"))
        cli("account", A, "--chart", str(tmp_path / f"a{suffix}"))
    for name in ("p", "a"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = (tmp_path / f"{name}.svg").read_text()
        assert "<script" not in svg and "<img" not in svg and "\x1b" not in svg
        page = (tmp_path / f"{name}.html").read_text()
        assert page.count("<script") == 2  # the bundled library and the embedding call, nothing injected
        assert "</script><script>document.title" not in page and "<img src=x" not in page
    assert "red" in (tmp_path / "p.svg").read_text()  # the text is kept, only made safe


def test_report_brief_and_markdown(hostile_db: Path, tmp_path: Path) -> None:
    cli = Cli(hostile_db)
    cli("report", "--out", str(tmp_path / "r"))
    pages = sorted((tmp_path / "r").glob("*.html"))
    assert len(pages) > 1  # the feed and the pages it links to (the report is a static export of the web pages)
    for path in pages:
        page = path.read_text()
        assert "<img" not in page and "\x1b" not in page and "\u202e" not in page, path.name
        assert "</script><script>document.title" not in page, path.name
        tags = [tag.split(">", 1)[0] for tag in page.split("<script")[1:]]
        assert all('src="static/' in t or 'type="application/json"' in t for t in tags), (path.name, tags)
    md = cli("brief", A, B).stdout
    assert "<img" not in md and "<script" not in md and "</script>" not in md
    assert "\\[link=http://evil\\]" in md  # Markdown syntax escaped, not a link
    cli("brief", A, B, "--format", "html", "--out", str(tmp_path / "b.html"))
    html = (tmp_path / "b.html").read_text()
    assert "<script" not in html and "<img" not in html and "\x1b" not in html


def test_json_keeps_the_data_exactly(hostile_db: Path) -> None:
    cli = Cli(hostile_db)
    rows = cli.json("accounts", "--limit", "500")
    assert any(r["name"] == HOSTILE + A for r in rows)
    pair = cli.json("pair", A, B)
    assert pair["a_name"] == HOSTILE + A
    raw = cli("signals", "--json").stdout
    assert "\x1b" not in raw and "\\u001b" in raw  # escaped by JSON, data intact
    assert "\u202e" not in raw and "\\u202e" in raw
    assert any(s["summary"].endswith(HOSTILE) for s in json.loads(raw))


@pytest.mark.slow
def test_html_chart_runs_no_injected_script_in_a_browser(hostile_db: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is not installed; `make test` installs it (Debian package chromium)")
    page = tmp_path / "p.html"
    Cli(hostile_db)("pair", A, B, "--chart", str(page))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--proxy-server=127.0.0.1:9",
             "--proxy-bypass-list=<-loopback>", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=8000", "--dump-dom", page.as_uri()]
    dom = subprocess.run([chromium, *flags], capture_output=True, text=True, timeout=120).stdout
    assert "<svg" in dom  # the chart drew itself
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title is None or "pwned" not in title.group(1)
    assert "<img src=\"x\"" not in dom and "onerror=\"alert" not in dom
