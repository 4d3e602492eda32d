"""The pictures for the seed story, rendered offline and read back: legends, years on the axis, grouped (not
stacked) bars, the silence as a band, labelled signals in lanes that never overprint, numbered news markers
with their headlines in the picture, the size of the audience drop; and plain messages where there is
nothing to draw."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli
from tiewatch.store import Store
from tiewatch.views.account import account_view
from tiewatch.views.charts import _lanes, account_chart, chart_svg, pair_chart
from tiewatch.views.pair import pair_view


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every leaf layer of a (layered, concatenated) Vega-Lite spec."""
    out: list[dict[str, Any]] = []
    for key in ("layer", "vconcat", "hconcat"):
        for child in spec.get(key, []):
            out += layers(child)
    if "mark" in spec:
        out.append(spec)
    return out


def mark(layer: dict[str, Any]) -> str:
    m = layer["mark"]
    return str(m["type"] if isinstance(m, dict) else m)


def values(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    data = layer.get("data") or spec.get("data") or {}
    if "values" in data:
        return list(data["values"])
    return list(spec.get("datasets", {}).get(data.get("name", ""), []))


@pytest.fixture(scope="module")
def seed_store(detected_db: Path) -> Any:
    with Store(detected_db, read_only=True) as store:
        yield store


def test_pair_chart_has_every_part(seed_store: Store) -> None:
    chart = pair_chart(pair_view(seed_store, "songhyekyo", "xeesoxee"))
    spec = chart.to_dict()
    svg = chart_svg(chart)
    # legend entries for both directions and what bars and lines mean
    assert "Song Hye-kyo → Han So-hee" in svg and "Han So-hee → Song Hye-kyo" in svg
    assert "bars: engagements; lines: relationship score" in svg and "relationship score" in svg
    # years on the time axis
    assert "Jan 2024" in svg and "Jul 2023" in svg
    # grouped bars: each period's two bars sit side by side from zero, never on top of each other
    rects = [lay for lay in layers(spec) if mark(lay) == "rect" and "direction" in json.dumps(lay["encoding"])]
    assert rects and rects[0]["encoding"]["y2"] == {"datum": 0}
    bars = values(spec, rects[0])
    by_period: dict[str, list[dict[str, Any]]] = {}
    for b in bars:
        by_period.setdefault(b["period"], []).append(b)
    for pair in by_period.values():
        first, second = sorted(pair, key=lambda b: b["x0"])
        assert first["x1"] <= second["x0"] and first["direction"] != second["direction"]
    # the silence as a shaded band from its start to the resumption, labelled
    bands = [v for lay in layers(spec) if mark(lay) == "rect" for v in values(spec, lay) if v.get("kind") == "silence"]
    assert bands and bands[0]["start"].startswith("2023-10-23") and bands[0]["end"].startswith("2024-05-19")
    assert "silence 2023-10-23 → 2024-05-19" in svg and "resumption 2024-05-19" in svg
    # numbered news markers, their headlines in the picture (not only in tooltips)
    assert "Han So-hee departs for the Cannes Film Festival" in svg and "News (numbered markers above)" in svg
    numbers = [v["n"] for lay in layers(spec) if mark(lay) == "text" for v in values(spec, lay) if "n" in v]
    assert numbers[:3] == ["1", "2", "3"]


def test_labels_that_would_collide_go_to_separate_lanes() -> None:
    lo, hi = datetime(2024, 1, 1), datetime(2024, 12, 31)
    items = [{"when": "2024-03-15T00:00:00Z", "label": "reported dating"},
             {"when": "2024-03-16T00:00:00Z", "label": "denies"},
             {"when": "2024-09-01T00:00:00Z", "label": "far away"},
             {"when": "2024-12-30T00:00:00Z", "label": "at the right edge"}]
    assert _lanes(items, lo, hi) == 2
    assert items[0]["lane"] != items[1]["lane"] and items[2]["lane"] == 0
    assert items[3]["right"] and not items[0]["right"]


def test_account_chart_states_the_drop(seed_store: Store) -> None:
    chart = account_chart(account_view(seed_store, "xeesoxee"))
    svg = chart_svg(chart)
    assert "drop 2024-03-15: -423,097 (-2.1%)" in svg
    assert "2024" in svg and "audience signals" in svg and "reported dating" in svg


def test_nothing_to_draw_says_so(tmp_path: Path) -> None:
    data = tmp_path / "two.jsonl"
    data.write_text('{"id": "p1", "ts": "2024-01-01T00:00:00Z", "platform": "x", "actor": "alice", "kind": "post"}\n'
                    '{"id": "p2", "ts": "2024-01-02T00:00:00Z", "platform": "x", "actor": "bob", "kind": "post"}\n')
    cli = Cli(tmp_path / "two.duckdb")
    cli("ingest", str(data))
    out = cli("pair", "alice", "bob", "--chart", str(tmp_path / "p.svg"))
    assert "Traceback" not in out.output
    assert "No engagement between alice and bob" in (tmp_path / "p.svg").read_text()
    cli("account", "alice", "--chart", str(tmp_path / "a.svg"))
    assert "No follower counts are stored for alice" in (tmp_path / "a.svg").read_text()


def test_charts_show_times_in_the_chosen_zone(seed_store: Store) -> None:
    """Asia/Seoul: the follower counts stored at 15:00 UTC are midnight in Seoul and fall on the next day, the
    audience drop's label carries the Seoul date, and the axis names the zone; UTC stays as stored."""
    from zoneinfo import ZoneInfo

    view = account_view(seed_store, "xeesoxee")
    utc, kst = account_chart(view), account_chart(view, ZoneInfo("Asia/Seoul"))
    base = next(x for x in layers(kst.to_dict()) if mark(x) == "line")
    first = values(kst.to_dict(), base)[0]
    assert view.followers[0]["ts"] == "2023-01-01T15:00:00Z" and first["ts"] == "2023-01-02T00:00:00Z"
    utc_svg, kst_svg = chart_svg(utc), chart_svg(kst)
    assert "times in UTC" in utc_svg and "times in Asia/Seoul, KST" in kst_svg
    assert "drop 2024-03-15" in utc_svg and "drop 2024-03-16" in kst_svg and "drop 2024-03-15" not in kst_svg
    pair = pair_chart(pair_view(seed_store, "songhyekyo", "xeesoxee"), ZoneInfo("Asia/Seoul"))
    svg = chart_svg(pair)
    assert "month (times in Asia/Seoul, KST)" in svg and "Jan 2024" in svg
    news = next(x for x in layers(pair.to_dict()) if mark(x) == "point" and "headline" in json.dumps(x))
    when = sorted(v["when"] for v in values(pair.to_dict(), news))
    assert when[-1] == "2024-05-19T09:30:00Z"  # the Cannes departure, 00:30 UTC, at 09:30 in Seoul


def test_cli_charts_take_the_time_zone(detected_db: Path, tmp_path: Path) -> None:
    """`account --chart --tz KST` and `pair --chart --tz` draw in the zone; an unknown zone is one clear line."""
    cli = Cli(detected_db)
    cli("account", "xeesoxee", "--chart", str(tmp_path / "a.svg"), "--tz", "KST")
    svg = (tmp_path / "a.svg").read_text()
    assert "times in Asia/Seoul, KST" in svg and "drop 2024-03-16" in svg
    cli("pair", "songhyekyo", "xeesoxee", "--chart", str(tmp_path / "p.svg"), "--tz", "Asia/Seoul")
    assert "month (times in Asia/Seoul, KST)" in (tmp_path / "p.svg").read_text()
    bad = cli("account", "xeesoxee", "--chart", str(tmp_path / "b.svg"), "--tz", "Mars/Olympus", ok=False)
    assert bad.exit_code != 0 and "not a time zone" in bad.output and "Traceback" not in bad.output
