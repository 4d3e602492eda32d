"""The HTTP API and the pages, in-process (FastAPI's test client over the real app and a real DuckDB file):
filters, cursors, evidence, errors as problem+json with the library's codes, the token on writes, streamed
progress, and hostile names shown as text on every page."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from conftest import HOSTILE_CAST, SEED
from tiewatch.web.app import create_app

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(detected_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(detected_db, token=TOKEN, tz="Asia/Seoul")) as c:
        yield c


def test_signals_filter_and_page_with_a_cursor(client: TestClient) -> None:
    everything = client.get("/api/signals", params={"_size": 1000}).json()["signals"]
    assert len(everything) >= 6 and all(s["names"] for s in everything)
    seen, url = [], "/api/signals?_size=2"
    while url:
        page = client.get(url).json()
        seen += [s["id"] for s in page["signals"]]
        url = page["next_url"]
    assert seen == [s["id"] for s in everything] and len(set(seen)) == len(seen)
    times = [s["ts"] or s["start"] for s in everything]
    assert times == sorted(times, reverse=True)  # newest first
    best = client.get("/api/signals", params={"_sort": "significant", "kind": "resumption"}).json()["signals"]
    assert [s["kind"] for s in best] == ["resumption"] and best[0]["names"] == ["Song Hye-kyo", "Han So-hee"]
    found = client.get("/api/signals", params={"q": "first in", "account": "Han So-hee"}).json()["signals"]
    assert found and all("first in" in s["summary"] for s in found)
    assert client.get("/api/signals", params={"since": "2024-05-01", "until": "2024-05-31"}).json()["signals"]


def test_one_signal_with_its_evidence_resolved(client: TestClient) -> None:
    sid = client.get("/api/signals", params={"kind": "resumption"}).json()["signals"][0]["id"]
    body = client.get(f"/api/signals/{sid}").json()
    events = body["evidence"]["events"]
    assert body["signal"]["id"] == sid and events
    like = next(e for e in events if e["id"] == "ev0118508")
    assert like["actor_name"] == "Song Hye-kyo" and like["kind"] == "like" and like["url"].startswith("https://")
    drop = client.get("/api/signals", params={"kind": "audience_drop"}).json()["signals"][0]
    assert client.get(f"/api/signals/{drop['id']}").json()["evidence"]["metrics"]


def test_accounts_account_pair_news_and_briefs(client: TestClient) -> None:
    assert [a["account"] for a in client.get("/api/accounts", params={"q": "hyeri"}).json()["accounts"]] == [
        "hyeri_0609"]
    acc = client.get("/api/accounts/Han So-hee").json()
    assert acc["name"] == "Han So-hee" and acc["followers"] and acc["ties_now"] and acc["ties_year_ago"]
    assert acc["growth"]["summary"]["followers"] == acc["followers"][-1]["followers"]
    assert set(acc["growth"]["summary"]) >= {"day", "week", "month", "average_per_day", "projection"}
    assert any(s["kind"] == "audience_drop" for s in acc["signals"]) and acc["news"]
    pair = client.get("/api/pairs/songhyekyo/xeesoxee").json()
    assert pair["periods"] and {s["kind"] for s in pair["signals"]} >= {"silence", "resumption"} and pair["news"]
    news = client.get("/api/news", params={"account": "xeesoxee"}).json()["news"]
    assert news and news == sorted(news, key=lambda n: n["ts"], reverse=True)
    md = client.get("/api/briefs/songhyekyo", params={"b": "xeesoxee", "format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "attachment" in md.headers[
        "content-disposition"]
    assert md.text.startswith("# Song Hye-kyo and Han So-hee") and "[^1]:" in md.text
    page = client.get("/api/briefs/hyeri_0609", params={"format": "html"}).text
    assert page.startswith("<!doctype html>") and "Interesting" in page
    parts = client.get("/api/briefs/songhyekyo", params={"b": "xeesoxee"}).json()
    assert parts["lede"]["text"] and parts["chronology"] and parts["footnotes"]


@pytest.mark.parametrize(("url", "status", "code"), [
    ("/api/accounts/nobody_at_all", 404, "not_found"),
    ("/api/signals?kind=sneeze", 400, "invalid_input"),
    ("/api/signals?since=yesterday", 400, "invalid_input"),
    ("/api/signals?_next=garbage", 400, "invalid_input"),
    ("/api/signals?_size=0", 400, "invalid_input"),
    ("/api/signals/s-nothing", 404, "not_found"),
    ("/api/no/such/thing", 404, "not_found"),
])
def test_errors_are_problem_json_with_the_library_code(client: TestClient, url: str, status: int,
                                                       code: str) -> None:
    res = client.get(url)
    assert res.status_code == status and res.headers["content-type"] == "application/problem+json"
    body = res.json()
    assert body["code"] == code and body["status"] == status and body["detail"] and "Traceback" not in res.text


def test_pages_answer_errors_in_html(client: TestClient) -> None:
    res = client.get("/accounts/nobody_at_all")
    assert res.status_code == 404 and "no account named" in res.text and "<html lang=\"en\">" in res.text


def test_writes_need_the_token(client: TestClient, detected_db: Path) -> None:
    before = client.get("/api/status").json()["stats"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        res = client.post("/api/detect", headers=headers)
        assert res.status_code == 401 and res.json()["code"] == "unauthorized"
        res = client.post("/api/ingest", headers=headers, files=[("files", ("x.jsonl", b"{}\n"))])
        assert res.status_code == 401
    assert client.post("/upload", data={"token": "wrong"}, files=[("files", ("x.jsonl", b"{}"))]).status_code == 401
    assert client.get("/api/status").json()["stats"] == before
    with TestClient(create_app(detected_db, token=None)) as readonly:
        res = readonly.post("/api/detect", headers=AUTH)
        assert res.status_code == 403 and "TIEWATCH_TOKEN" in res.json()["detail"]


def test_upload_and_detect_stream_progress(tmp_path: Path, seed_db: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(seed_db, db)
    with TestClient(create_app(db, token=TOKEN)) as c:
        res = c.post("/api/ingest", params={"stream": "true"}, headers=AUTH,
                     files=[("files", ("news.jsonl", (SEED / "news.jsonl").read_bytes())),
                            ("files", ("bad.jsonl", b'{"id": "n9", "title": "no time"}\n'))],
                     data={"table": "news"})
        lines = [json.loads(x) for x in res.text.splitlines()]
        assert res.headers["content-type"].startswith("application/x-ndjson")
        assert lines[0]["event"] == "progress" and lines[-1]["event"] == "done"
        assert lines[-1]["result"]["duplicates"] == 7 and lines[-1]["result"]["rejected"] == 1
        res = c.post("/api/detect", params={"stream": "true"}, headers=AUTH)
        lines = [json.loads(x) for x in res.text.splitlines()]
        assert {x["item"] for x in lines if x["event"] == "progress"} >= {"silence", "audience"}
        assert lines[-1]["event"] == "done" and lines[-1]["result"]["signals"]["resumption"] == 1
        assert c.get("/api/signals", params={"kind": "resumption"}).json()["signals"]
        bad = c.post("/api/ingest", params={"stream": "true"}, headers=AUTH, data={"strict": "true"},
                     files=[("files", ("bad.jsonl", b'{"id": "n9", "title": "no time"}\n'))])
        last = json.loads(bad.text.splitlines()[-1])
        assert last["event"] in ("error", "done")
        assert last["event"] == "error" or last["result"]["errors"]


def test_times_shown_in_the_chosen_zone(client: TestClient) -> None:
    page = client.get("/signals/" + client.get("/api/signals", params={"kind": "resumption"}).json()[
        "signals"][0]["id"]).text
    assert "KST" in page and "Times in Asia/Seoul" in page
    # The audience drop stored at 15:00 UTC on 15 March is 16 March in Seoul: the brief, its downloads and the
    # charts say so, and the charts name the zone on their axis.
    md = client.get("/api/briefs/xeesoxee", params={"format": "md"}).text
    assert "**16 March 2024.** Han So-hee lost" in md and "**15 March 2024.** Han So-hee lost" not in md
    assert "16 Mar 2024</time>. <a" in client.get("/briefs/xeesoxee").text.replace("\n", "")
    # The sentences too (stored in UTC, said again in the page's zone): the drop's own sentence, in the brief,
    # the feed and the signal page, dates it 16 March.
    drop = client.get("/api/signals", params={"kind": "audience_drop"}).json()["signals"][0]
    utc = "between 14 March 2024 and 18 March 2024"
    assert utc in drop["summary"]  # the API keeps the stored (UTC) sentence
    kst = "between 15 March 2024 and 19 March 2024"  # both days' counts were taken at 15:00 UTC
    assert kst in md and utc not in md
    for path in ("/?kind=audience_drop", f"/signals/{drop['id']}"):
        text = client.get(path).text
        assert kst in text and utc not in text, path
    for path in ("/pairs/songhyekyo/xeesoxee", "/accounts/xeesoxee"):
        assert "times in Asia/Seoul, KST" in client.get(path).text, path
    spec = client.get("/accounts/xeesoxee").text
    assert "2023-01-02T00:00:00Z" in spec  # the first follower count (15:00 UTC) at midnight Seoul time


PAGES = ["/", "/accounts", "/upload", "/status", "/watchlist", "/?q=alert"]


def test_hostile_names_are_text_on_every_page(hostile_db: Path) -> None:
    star, friend = HOSTILE_CAST["star"][0], HOSTILE_CAST["friend"][0]
    with TestClient(create_app(hostile_db, token=TOKEN)) as c:
        signals = c.get("/api/signals", params={"_size": 100}).json()["signals"]
        assert signals
        urls = [*PAGES, *(f"/signals/{quote(s['id'])}" for s in signals),
                f"/accounts/{quote(star, safe='')}", f"/accounts/{quote(friend, safe='')}",
                f"/pairs/{quote(star, safe='')}/{quote(friend, safe='')}",
                f"/briefs/{quote(star, safe='')}?b={quote(friend, safe='')}",
                f"/api/briefs/{quote(star, safe='')}?b={quote(friend, safe='')}&format=html"]
        shown = 0
        for url in urls:
            res = c.get(url)
            assert res.status_code == 200, (url, res.text[:300])
            html = res.text
            for bad in ("<script>alert", "<img src=x", "<svg onload", "<style>body{display:none}", "<b>Bold</b>",
                        "<!-- comment -->", "onerror=alert('h')>"):
                assert bad not in html, (url, bad)
            scripts = re.findall(r"<script[^>]*>", html)
            assert all(s in ("<script>", '<script src="/static/app.js">', '<script src="/static/app.js" defer>',
                             '<script src="/static/vega.js" defer>') or s.startswith('<script type="application/json"')
                       for s in scripts), (url, scripts)
            shown += html.count("&lt;/script&gt;&lt;script&gt;alert(") + html.count("&lt;img src=x")
        assert shown > 10


def test_hostile_names_are_text_in_the_export_and_the_pictures(hostile_db: Path, tmp_path: Path) -> None:
    from conftest import Cli
    from tiewatch.store import Store
    from tiewatch.views.charts import chart_svg, pair_chart
    from tiewatch.views.pair import pair_view

    Cli(hostile_db)("report", "--out", str(tmp_path / "r"))
    files = list((tmp_path / "r").glob("*.html"))
    assert len(files) > 5
    for page in files:
        html = page.read_text()
        for bad in ("<script>alert", "<img src=x", "<svg onload", "<style>body{display:none}", "<b>Bold</b>"):
            assert bad not in html, (page.name, bad)
    with Store(hostile_db, read_only=True) as store:
        svg = chart_svg(pair_chart(pair_view(store, HOSTILE_CAST["star"][0], HOSTILE_CAST["friend"][0])))
    assert "<script" not in svg and "<img" not in svg and "&lt;/script&gt;&lt;script&gt;alert" in svg


def test_watch_list_api_needs_the_token_and_reports_tracker_status(seed_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(seed_db, db)
    with TestClient(create_app(db, token=TOKEN)) as c:
        assert c.get("/api/watchlist").json() == {"watchlist": [], "tracking": None}
        refused = c.post("/api/watchlist", json={"accounts": ["anna.bsky.social"]})
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
        assert c.delete("/api/watchlist/anna.bsky.social").status_code == 401
        assert c.get("/api/watchlist").json()["watchlist"] == []
        added = c.post("/api/watchlist", json={"accounts": ["@Anna.bsky.social", "did:plc:ajk4c2tvhlrsbhw2ybyvtr6m"]},
                       headers=AUTH).json()
        assert added["added"] == ["anna.bsky.social", "did:plc:ajk4c2tvhlrsbhw2ybyvtr6m"]
        again = c.post("/api/watchlist", json={"accounts": ["anna.bsky.social"]}, headers=AUTH).json()
        assert again["added"] == [] and len(again["watchlist"]) == 2
        bad = c.post("/api/watchlist", json={"accounts": ["ok.bsky.social", "<script>"]}, headers=AUTH)
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_input" and "<script>" in bad.json()["detail"]
        assert len(c.get("/api/watchlist").json()["watchlist"]) == 2  # one bad entry refuses them all
        status = c.get("/api/track/status").json()
        assert status["tracking"] is None
        assert [r["entry"] for r in status["accounts"]] == ["anna.bsky.social", "did:plc:ajk4c2tvhlrsbhw2ybyvtr6m"]
        assert all(r["backfilled"] is None and r["signals"] == 0 and r["sent"] == 0 for r in status["accounts"])
        gone = c.delete("/api/watchlist/anna.bsky.social", headers=AUTH)
        assert gone.status_code == 200 and gone.json()["removed"] == ["anna.bsky.social"]
        missing = c.delete("/api/watchlist/anna.bsky.social", headers=AUTH)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_write_that_meets_the_trackers_write_is_tried_again_not_refused(seed_db: Path, tmp_path: Path) -> None:
    """In `serve --track` the tracker writes beside the API; DuckDB rolls back the second writer on the same rows.
    The API tries again after a pause, so a watch-list change made at that moment still succeeds."""
    db = tmp_path / "w.duckdb"
    shutil.copy(seed_db, db)
    app = create_app(db, token=TOKEN)
    with TestClient(app) as c:
        assert c.post("/api/watchlist", json={"accounts": ["anna.bsky.social"]}, headers=AUTH).status_code == 200
        tracker = app.state.server.owner.cursor()  # another writer on the same database, as the tracker is
        try:
            tracker.store.con.execute("BEGIN TRANSACTION")
            tracker.store.con.execute("DELETE FROM watchlist WHERE entry = 'anna.bsky.social'")
            released = threading.Timer(0.3, lambda: tracker.store.con.execute("ROLLBACK"))
            released.start()
            gone = c.delete("/api/watchlist/anna.bsky.social", headers=AUTH)
            released.join()
        finally:
            tracker.close()
        assert gone.status_code == 200, gone.text
        assert gone.json() == {"removed": ["anna.bsky.social"], "watchlist": []}
