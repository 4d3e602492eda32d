"""Every page of `tiewatch serve` in a real Chromium (Debian's, driven by Playwright; no browser is
downloaded), at desktop and phone widths: it renders, charts draw, nothing overflows at 375 px, the keyboard
reaches the content, no console error, no request leaves 127.0.0.1; and the feed updates live when detect
stores new signals. Screenshots are kept as test artefacts (and written to docs/img when
TIEWATCH_SCREENSHOTS names a folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from conftest import HOSTILE_CAST, LiveServer

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
WIDTHS = {"desktop": (1280, 900), "phone": (375, 800)}
PAGES = {
    "feed": "/",
    "feed-filtered": "/?kind=silence&sort=significant",
    "signal": None,  # the resumption's page, found at run time
    "accounts": "/accounts?q=e",
    "account": "/accounts/xeesoxee",
    "pair": "/pairs/songhyekyo/xeesoxee",
    "brief": "/briefs/songhyekyo?b=xeesoxee",
    "upload": "/upload",
    "status": "/status",
    "watchlist": "/watchlist",
}


CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    const m = c.match(/[\\d.]+/g); if (m && (m.length < 4 || +m[3] > 0.5)) return c; } return "rgb(255,255,255)"; };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (el.closest("svg, script, style") || !own) continue;
    const s = getComputedStyle(el);
    if (s.display === "none" || s.visibility === "hidden") continue;
    const a = lum(s.color), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName} ${ratio.toFixed(2)} ${el.textContent.trim().slice(0, 40)}`);
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed; `make test` installs it (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A browser page whose console errors and off-loopback requests are recorded (and the latter refused)."""

    def __init__(self, browser: Any, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.dialogs: list[str] = []

        def route(r: Any) -> None:
            host = urlparse(r.request.url).hostname
            if r.request.url.startswith(("data:", "blob:", "about:")) or host == "127.0.0.1":
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def server(detected_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("served") / "seed.duckdb"
    shutil.copy(detected_db, db)
    with LiveServer(db) as s:
        watch = {"accounts": ["anna.bsky.social", "did:plc:ajk4c2tvhlrsbhw2ybyvtr6m"]}
        added = httpx.post(f"{s.url}/api/watchlist", json=watch, headers={"Authorization": f"Bearer {s.token}"})
        assert added.status_code == 200, added.text
        yield s


def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("TIEWATCH_SCREENSHOTS")
    return Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_renders_offline_accessibly(browser: Any, server: LiveServer, width: str,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    shots = shots_dir(tmp_path_factory)
    shots.mkdir(parents=True, exist_ok=True)
    resumption = httpx.get(f"{server.url}/api/signals", params={"kind": "resumption"}).json()["signals"][0]["id"]
    w, h = WIDTHS[width]
    for name, path in PAGES.items():
        tab = Watched(browser, w, h)
        page = tab.page
        res = page.goto(server.url + (path or f"/signals/{resumption}"), wait_until="networkidle")
        assert res is not None and res.status == 200, (name, res and res.status)
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("meta[name=viewport]").count() == 1
        assert page.locator("h1").count() == 1 and page.locator("h1").inner_text().strip()
        if name in ("pair", "account"):
            page.wait_for_selector("div.vega[data-drawn='1'] svg", timeout=20_000)
            svg = page.locator("div.vega svg").first.inner_html()
            assert "2024" in svg
            if name == "pair":
                assert "Han So-hee departs for the Cannes Film Festival" in svg
                assert page.locator("ol.news li").count() >= 5  # headlines listed under the chart too
        # nothing wider than the screen: readable at 375 px without sideways scrolling of the page
        low = page.evaluate(CONTRAST)  # WCAG AA: text at least 4.5:1 against its background
        assert not low, (name, low[:5])
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, (name, width, overflow)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=name != "account")
        # the keyboard reaches the skip link first, then the navigation
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "A"
        assert not tab.errors, (name, tab.errors)
        assert not tab.outside, (name, tab.outside)
        tab.close()


def test_feed_updates_live_when_signals_are_stored(browser: Any, seed_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    shutil.copy(seed_db, db)  # ingested, not yet detected: the feed starts empty
    with LiveServer(db, poll_s=0.2) as s:
        tab = Watched(browser, 1280, 900)
        tab.page.goto(s.url + "/", wait_until="domcontentloaded")
        assert tab.page.locator("li.signal").count() == 0
        tab.page.wait_for_timeout(500)  # the event stream is open
        res = httpx.post(f"{s.url}/api/detect", headers={"Authorization": f"Bearer {s.token}"}, timeout=120)
        assert res.status_code == 200 and res.json()["total"] >= 6
        tab.page.wait_for_selector("li.signal.new", timeout=15_000)
        tab.page.wait_for_function("document.querySelectorAll('li.signal').length >= 6", timeout=15_000)
        text = tab.page.locator("#feed").inner_text()
        assert "Song Hye-kyo" in text and "first in" in text  # names and sentences, not only handles
        assert "Live:" in tab.page.locator("#live-status").inner_text()
        assert not tab.errors and not tab.outside
        tab.close()


def test_hostile_names_stay_text_in_the_browser(browser: Any, hostile_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    shutil.copy(hostile_db, db)
    star, friend = HOSTILE_CAST["star"][0], HOSTILE_CAST["friend"][0]
    from urllib.parse import quote

    with LiveServer(db) as s:
        tab = Watched(browser, 1280, 900)
        qs, qf = quote(star, safe=""), quote(friend, safe="")
        for path in ("/", f"/pairs/{qs}/{qf}", f"/accounts/{qf}", f"/briefs/{qs}?b={qf}"):
            tab.page.goto(s.url + path, wait_until="networkidle")
            body = tab.page.locator("main").inner_text()
            assert "</script><script>alert('name')</script>" in body or "<b>Bold</b>" in body, path
            assert tab.page.locator("main script:not([type='application/json']), main img, main b, main style"
                                    ).count() == 0, path
        tab.page.wait_for_timeout(300)
        assert not tab.dialogs and not tab.errors and not tab.outside
        tab.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_watch_list_page_changes_the_list_with_the_token(browser: Any, seed_db: Path, tmp_path: Path,
                                                         width: str) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(seed_db, db)
    with LiveServer(db) as s:
        tab = Watched(browser, *WIDTHS[width])
        page = tab.page
        page.goto(s.url + "/watchlist", wait_until="domcontentloaded")
        assert "Nothing watched yet" in page.locator("main").inner_text()
        assert "does not track the watch list" in page.locator("main").inner_text()
        add = page.locator("#watch-add")
        add.locator("textarea").fill("anna.bsky.social, @Ben.bsky.social\ndid:plc:ajk4c2tvhlrsbhw2ybyvtr6m")
        add.locator("input[name=token]").fill("wrong")
        add.locator("button").click()
        assert "bearer token" in page.locator("p.error").inner_text()
        assert httpx.get(f"{s.url}/api/watchlist").json()["watchlist"] == []  # nothing written
        add = page.locator("#watch-add")
        add.locator("textarea").fill("anna.bsky.social, @Ben.bsky.social\ndid:plc:ajk4c2tvhlrsbhw2ybyvtr6m")
        add.locator("input[name=token]").fill(s.token or "")
        add.locator("button").click()
        assert "Added 3" in page.locator("p.result").inner_text()
        rows = page.locator("#watch-remove tbody tr")
        assert rows.count() == 3 and "ben.bsky.social" in page.locator("#watch-remove tbody").inner_text()
        page.wait_for_load_state("load")  # measured with the stylesheet applied (a loaded machine is slow to)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, overflow
        page.get_by_label("remove ben.bsky.social").check()
        page.locator("#watch-remove input[name=token]").fill(s.token or "")
        page.locator("#watch-remove button").click()
        assert "Removed 1: ben.bsky.social" in page.locator("p.result").inner_text()
        entries = [e["entry"] for e in httpx.get(f"{s.url}/api/watchlist").json()["watchlist"]]
        assert entries == ["anna.bsky.social", "did:plc:ajk4c2tvhlrsbhw2ybyvtr6m"]
        assert all("401" in e for e in tab.errors) and len(tab.errors) == 1  # only the refused write's answer
        assert not tab.outside
        tab.close()


def test_serve_track_puts_a_tracked_signal_on_an_open_feed(browser: Any, tmp_path: Path) -> None:
    """`tiewatch serve --track` (a real process) against the loopback Bluesky doubles: the tracker backfills
    the watch list, a silence arrives live on Jetstream, its detection stores the signal, and the feed page
    already open in Chromium shows it without a reload; Ctrl-C then stops the tracker and the server."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    from bsky_double import BskyDouble
    from track_scenario import HANDLES, A, B, C, Story

    db = tmp_path / "tracked.duckdb"
    story = Story()
    with BskyDouble() as double:
        story.install(double)
        env = {**os.environ, **double.env(), "TIEWATCH_TOKEN": "track-token"}
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "tiewatch", "--db", str(db), "serve", "--port", str(port),
                                 "--track", "--every", "3s"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(url + "/api/status", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            auth = {"Authorization": "Bearer track-token"}
            added = httpx.post(f"{url}/api/watchlist", json={"accounts": [HANDLES[A], HANDLES[B], C]}, headers=auth)
            assert added.status_code == 200 and len(added.json()["added"]) == 3

            def status() -> dict[str, Any]:
                return httpx.get(f"{url}/api/track/status", timeout=30).json()  # type: ignore[no-any-return]

            deadline = time.monotonic() + 90  # a period that saw the whole list: backfilled, detected (baseline)
            while not all(r["backfilled"] for r in status()["accounts"]) or status()["tracking"]["periods"] < 2:
                assert time.monotonic() < deadline and proc.poll() is None, status()
                time.sleep(0.5)
            assert status()["tracking"]["running"] and not status()["tracking"]["error"]
            tab = Watched(browser, 1280, 900)
            tab.page.goto(url + "/", wait_until="domcontentloaded")
            assert tab.page.locator("li.signal.kind-silence").count() == 0
            tab.page.wait_for_timeout(1500)  # the event stream is open
            double.jetstream.push(*story.silence_lines())  # B posts on; A likes none of it
            tab.page.wait_for_selector("li.signal.new.kind-silence", timeout=90_000)
            text = tab.page.locator("li.signal.kind-silence").first.inner_text()
            assert "Anna" in text and "Ben" in text, text  # names from the tracked profiles, not only DIDs
            anna = next(r for r in status()["accounts"] if r["did"] == A)
            assert anna["signals"] >= 1 and anna["cursor_lag_seconds"] is not None
            tab.page.goto(url + "/watchlist", wait_until="domcontentloaded")
            body = tab.page.locator("main").inner_text()
            assert "This server tracks the watch list every 3 s" in body and "anna.test" in body
            assert not tab.errors and not tab.outside
            tab.close()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert proc.returncode in (0, 130), err
        assert "Traceback" not in err and "the tracker stopped:" not in err, err
        assert "tracker stopped; everything written so far is kept" in err, err
