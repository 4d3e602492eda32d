"""What each page shows, gathered from the library API only (no SQL here): shared by the server and the static
export so both render the same pages from the same facts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tiewatch.api import Tiewatch
from tiewatch.views.charts import account_chart, pair_chart
from tiewatch.views.pages import KIND_LABELS, Renderer


def chart_data(chart: Any, chart_id: str, *, svg: bool) -> dict[str, Any]:
    """A chart for a page: its Vega-Lite spec (drawn in the browser) or, for the export, rendered SVG."""
    if svg:
        from tiewatch.views.charts import chart_svg

        return {"id": chart_id, "spec": None, "svg": chart_svg(chart)}
    return {"id": chart_id, "spec": chart.to_dict(), "svg": None}


def account_page(tw: Tiewatch, name: str, *, svg: bool = False) -> dict[str, Any]:
    view = tw.account(name)
    signals, _ = tw.feed(account=f"{view.account.platform}:{view.account.account}", sort="newest", limit=100)
    return {"v": view, "g": tw.growth(f"{view.account.platform}:{view.account.account}"),
            "follows": tw.follows(f"{view.account.platform}:{view.account.account}", limit=100),
            "signals": signals, "chart_data": chart_data(account_chart(view), "account-chart", svg=svg)}


def pair_page(tw: Tiewatch, a: str, b: str, *, bucket: str = "month", svg: bool = False) -> dict[str, Any]:
    view = tw.pair(a, b, bucket=bucket)
    ids = [s["id"] for s in view.signals]
    signals = tw.signals_by_id(ids)
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for sid in ids:
        for e in tw.evidence(sid)["events"]:
            if e["id"] not in seen:
                seen.add(e["id"])
                rows.append(e)
    rows.sort(key=lambda e: e["ts"] or "")
    return {"v": view, "signals": signals, "evidence": rows,
            "chart_data": chart_data(pair_chart(view), "pair-chart", svg=svg)}


def signal_page(tw: Tiewatch, signal_id: str) -> dict[str, Any]:
    s = tw.signals_by_id([tw.signal(signal_id).id])[0]
    return {"s": s, "ev": tw.evidence(signal_id), "detail_json": json.dumps(s["detail"], indent=2,
                                                                                ensure_ascii=False)}


def brief_page(tw: Tiewatch, a: str, b: str | None, since: datetime | None = None) -> dict[str, Any]:
    return {"art": tw.article(a, b, since=since), "a": a, "b": b}


def live_signal(r: Renderer, s: dict[str, Any]) -> dict[str, Any]:
    """A signal as the live feed sends it: its JSON plus the labels and links the page shows."""
    when = (f"{r.day(s['start'])} → {r.day(s['end']) if s['end'] else 'ongoing'}" if s["kind"] == "silence"
            else r.when(s["ts"] or s["start"]))
    return {**s, "kind_label": KIND_LABELS.get(s["kind"], s["kind"]), "when_label": when,
            "link": r.links.signal(s["id"]), "account_links": [r.links.account(h) for h in s["subjects"]]}
