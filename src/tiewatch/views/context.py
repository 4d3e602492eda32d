"""What each page shows, assembled from the read models (`views.explore`, `views.pair`, `views.account`,
`views.article`): shared by the server and the static export, so both render the same pages from the same
facts. No SQL here either."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from tiewatch.accounts import resolve
from tiewatch.errors import NotFound
from tiewatch.signals import get_signal
from tiewatch.store import Store
from tiewatch.views import explore
from tiewatch.views.account import account_view
from tiewatch.views.article import build_article
from tiewatch.views.charts import account_chart, pair_chart
from tiewatch.views.pages import KIND_LABELS, Renderer
from tiewatch.views.pair import pair_view
from tiewatch.views.sentences import in_zone_rows

SPEC_CACHE_SIZE = 256
_specs: OrderedDict[str, dict[str, Any]] = OrderedDict()
_specs_lock = threading.Lock()


def _spec(view: Any, build: Callable[[Any, tzinfo | None], Any], tz: tzinfo | None) -> dict[str, Any]:
    """The chart's Vega-Lite spec, memoised on the view's data: building a chart with Altair costs about half a
    second of Python, while the data behind it (a few hundred rows) is cheap to fetch and to hash. Any change
    of the data gives another key, so a cached spec is never stale."""
    key = hashlib.sha256((build.__name__ + str(tz) + json.dumps(view.as_json(), sort_keys=True, default=str)
                          ).encode()).hexdigest()
    with _specs_lock:
        if key in _specs:
            _specs.move_to_end(key)
            return _specs[key]
    spec: dict[str, Any] = build(view, tz).to_dict(validate=False)  # validated by the picture tests
    with _specs_lock:
        _specs[key] = spec
        while len(_specs) > SPEC_CACHE_SIZE:
            _specs.popitem(last=False)
    return spec


def chart_data(view: Any, build: Callable[[Any, tzinfo | None], Any], chart_id: str, *, svg: bool,
               tz: tzinfo | None = None) -> dict[str, Any]:
    """A chart for a page, times in `tz`: its Vega-Lite spec (drawn in the browser) or, for the export, SVG."""
    if svg:
        from tiewatch.views.charts import chart_svg

        return {"id": chart_id, "spec": None, "svg": chart_svg(build(view, tz))}
    return {"id": chart_id, "spec": _spec(view, build, tz), "svg": None}


def account_page(store: Store, name: str, *, svg: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
    view = account_view(store, name)
    acc = resolve(store, f"{view.account.platform}:{view.account.account}")
    signals, _ = explore.feed(store, account=f"{acc.platform}:{acc.account}", sort="newest", limit=100)
    signals = in_zone_rows(store, signals, tz)
    return {"v": view, "g": explore.growth(store, acc), "follows": explore.follows(store, acc, 100),
            "signals": signals, "chart_data": chart_data(view, account_chart, "account-chart", svg=svg, tz=tz)}


def pair_page(store: Store, a: str, b: str, *, bucket: str = "month", svg: bool = False,
              tz: tzinfo | None = None) -> dict[str, Any]:
    view = pair_view(store, a, b, bucket)
    signals = in_zone_rows(store, explore.signals_by_id(store, [s["id"] for s in view.signals]), tz)
    refs = list(dict.fromkeys(ref for s in view.signals for ref in s["evidence"]))
    rows = explore.evidence(store, refs)["events"]
    return {"v": view, "signals": signals, "evidence": rows,
            "chart_data": chart_data(view, pair_chart, "pair-chart", svg=svg, tz=tz)}


def signal_page(store: Store, signal_id: str, tz: tzinfo | None = None) -> dict[str, Any]:
    if get_signal(store, signal_id) is None:
        raise NotFound(f"no signal {signal_id!r}")
    s = in_zone_rows(store, explore.signals_by_id(store, [signal_id]), tz)[0]
    return {"s": s, "ev": explore.evidence(store, s["evidence"]),
            "detail_json": json.dumps(s["detail"], indent=2, ensure_ascii=False)}


def brief_page(store: Store, a: str, b: str | None, since: datetime | None = None,
               tz: tzinfo | None = None) -> dict[str, Any]:
    return {"art": build_article(store, a, b, since, tz=tz), "a": a, "b": b}


def live_signal(r: Renderer, s: dict[str, Any]) -> dict[str, Any]:
    """A signal as the live feed sends it: its JSON plus the labels and links the page shows."""
    when = (f"{r.day(s['start'])} → {r.day(s['end']) if s['end'] else 'ongoing'}" if s["kind"] == "silence"
            else r.when(s["ts"] or s["start"]))
    return {**s, "kind_label": KIND_LABELS.get(s["kind"], s["kind"]), "when_label": when,
            "link": r.links.signal(s["id"]), "account_links": [r.links.account(h) for h in s["subjects"]]}
