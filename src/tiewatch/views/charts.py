"""Pictures of a pair and of an account, made with Altair (Vega-Lite) and rendered offline by vl-convert.

The same specs serve the web pages (drawn by the vendored vega-embed, with zoom and hover), `pair --chart`,
`account --chart` and the static export (inlined SVG). Everything a reader needs is in the picture itself:
legends, years on the axis, labels that do not overprint, numbered news markers with their headlines listed
under the plot (not only in tooltips, which PNG and SVG lose).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.outfiles import write_bytes, write_text
from tiewatch.safetext import clean_tree, script_json
from tiewatch.views.account import AccountView
from tiewatch.views.pair import PairView

SIGNAL_COLORS = {"silence": "#d62728", "resumption": "#2ca02c", "coincidence": "#9467bd", "unfollow": "#8c564b",
                 "follow": "#17becf", "audience_drop": "#d62728", "audience_surge": "#2ca02c",
                 "audience_shift": "#9467bd", "platform_shift": "#7f7f7f"}
DIRECTION_COLORS = ["#1f77b4", "#ff7f0e"]
WIDTH = 760
AXIS_FORMAT = "%b %Y"  # months always with their year
LABEL_PX = 6.2  # approximate width of one character of an 11 px label, for lane assignment
HEADLINE_CHARS = 90


def _t(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "")) if text else None


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds") + "Z"


def _wall(text: str | None, tz: tzinfo | None) -> str | None:
    """A stored UTC time as the wall-clock time in `tz`, written as if it were UTC. Vega-Lite knows only UTC and
    the viewer's local zone, so the charts put wall-clock times on a UTC scale: every date and hour on the axis,
    in labels and tooltips is then the chosen zone's (and the axis title names the zone)."""
    if not text or tz is None:
        return text
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return t.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def zone_label(tz: tzinfo | None, at: str | None = None) -> str:
    """The zone as the axis names it: its IANA name and, when it differs, its abbreviation (Asia/Seoul, KST)."""
    if tz is None:
        return "UTC"
    name = str(tz)
    t = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else datetime.now(UTC)
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    abbr = t.astimezone(tz).tzname() or ""
    return name if abbr in ("", name) or abbr.startswith(("+", "-")) else f"{name}, {abbr}"


def _axis_title(what: str, tz: tzinfo | None, at: str | None) -> str:
    return f"{what} (times in {zone_label(tz, at)})"


def _local_signals(signals: list[dict[str, Any]], tz: tzinfo | None) -> list[dict[str, Any]]:
    return [{**s, "start": _wall(s.get("start"), tz), "end": _wall(s.get("end"), tz), "ts": _wall(s.get("ts"), tz)}
            for s in signals]


def _local_news(news: list[dict[str, Any]], tz: tzinfo | None) -> list[dict[str, Any]]:
    return [{**n, "ts": _wall(n["ts"], tz)} for n in news]


def _lanes(items: list[dict[str, Any]], lo: datetime, hi: datetime, width: int = WIDTH) -> int:
    """Give each label (`when`, `label`) a lane so that labels never overprint: a label goes into the first
    lane where the previous label has ended. Returns the number of lanes used."""
    span = max((hi - lo).total_seconds(), 1.0)
    ends: list[float] = []
    for it in sorted(items, key=lambda i: i["when"]):
        x = ((_t(it["when"]) or lo) - lo).total_seconds() / span * width
        size = 8 + LABEL_PX * len(it["label"])
        it["right"] = x + size > width  # would run off the plot: drawn leftwards from its time instead
        left, right = (x - size, x) if it["right"] else (x, x + size)
        for lane, end in enumerate(ends):
            if left > end:
                ends[lane] = right
                it["lane"] = lane
                break
        else:
            it["lane"] = len(ends)
            ends.append(right)
    return len(ends)


def message_chart(title: str, message: str) -> Any:
    """A picture that says plainly why there is nothing to draw (instead of an empty frame or a traceback)."""
    import altair as alt

    return alt.Chart(alt.InlineData(values=[{"message": message}])).mark_text(
        fontSize=14, color="#444", align="center").encode(text="message:N").properties(
        width=WIDTH, height=80, title=title)


def _news_layers(news: list[dict[str, Any]], y: int) -> tuple[list[Any], Any | None]:
    """Numbered triangles on the time axis, and a list of the numbered headlines to put under the plot."""
    import altair as alt

    if not news:
        return [], None
    rows = [{"when": n["ts"], "n": str(i), "label": "000", "headline": f"{i}  {n['ts'][:10]}  "
             f"{n['title'][:HEADLINE_CHARS]}"} for i, n in enumerate(news, 1)]
    times = [t for t in (_t(r["when"]) for r in rows) if t is not None]
    _lanes(rows, min(times), max(times) + timedelta(days=1))  # markers close in time are stacked, not overprinted
    for r in rows:
        r["y"] = y - 16 * r["lane"]
    data = alt.InlineData(values=rows)
    ypos = alt.Y("y:Q", scale=None, axis=None)
    marker = alt.Chart(data).mark_point(shape="triangle-down", size=120, color="#111", filled=True).encode(
        x="when:T", y=ypos, tooltip=[alt.Tooltip("headline:N", title="news")])
    number = alt.Chart(data).mark_text(dx=9, align="left", fontSize=11, fontWeight="bold", color="#111").encode(
        x="when:T", y=ypos, text="n:N")
    listing = alt.Chart(data).mark_text(align="left", baseline="top", fontSize=11, color="#111").encode(
        y=alt.Y("n:O", axis=None, sort=None), text="headline:N", x=alt.value(0)).properties(
        width=WIDTH, height=16 * len(rows), title=alt.TitleParams("News (numbered markers above)", fontSize=12,
                                                                 anchor="start"))
    return [marker, number], listing


def _signal_layers(signals: list[dict[str, Any]], lo: datetime, hi: datetime) -> list[Any]:
    """Silences as shaded bands; resumptions, unfollows, follows and coincidences as dashed rules; every one
    labelled in lanes above the plot so labels never overprint."""
    import altair as alt

    bands, rules = [], []
    for s in signals:
        if s["kind"] == "silence" and s["start"]:
            end = s["end"] or _iso(hi)
            bands.append({"start": s["start"], "end": end, "when": s["start"], "kind": "silence",
                          "label": f"silence {s['start'][:10]} → {(s['end'] or 'ongoing')[:10]}"})
        elif not s["kind"].startswith("audience_"):
            when = s["end"] if s["kind"] == "resumption" and s["end"] else (s["ts"] or s["start"])
            if when:
                rules.append({"when": when, "kind": s["kind"], "label": f"{s['kind']} {when[:10]}"})
    labels = bands + rules
    if not labels:
        return []
    lanes = _lanes(labels, lo, hi)
    layers: list[Any] = []
    kinds = sorted({x["kind"] for x in labels})
    color = alt.Color("kind:N", title="signals",
                      legend=alt.Legend(orient="bottom", symbolOpacity=1, symbolType="square"),
                      scale=alt.Scale(domain=kinds, range=[SIGNAL_COLORS.get(k, "#444") for k in kinds]))
    if bands:
        layers.append(alt.Chart(alt.InlineData(values=bands)).mark_rect(opacity=0.15).encode(
            x="start:T", x2="end:T", color=color, tooltip=[alt.Tooltip("label:N", title="signal")]))
    if rules:
        layers.append(alt.Chart(alt.InlineData(values=rules)).mark_rule(strokeDash=[5, 3], strokeWidth=2).encode(
            x="when:T", color=color, tooltip=[alt.Tooltip("label:N", title="signal")]))
    for x in labels:
        x["y"] = 10 + 14 * x["lane"]
    for right in (False, True):
        side = [x for x in labels if x["right"] == right]
        if side:
            layers.append(alt.Chart(alt.InlineData(values=side)).mark_text(
                align="right" if right else "left", dx=-4 if right else 4, fontSize=11, fontWeight="bold").encode(
                x="when:T", y=alt.Y("y:Q", scale=None, axis=None), text="label:N", color=color))
    _ = lanes
    return [alt.layer(*layers)]


def _unchecked() -> Any:
    """Altair without validating each part as it is made (its "debug mode"; a third of the cost of building a
    chart). The whole spec is still checked where it matters: `to_dict()` validates, as the picture tests do."""
    from altair.utils.schemapi import debug_mode

    return debug_mode(False)


def pair_chart(view: PairView, tz: tzinfo | None = None) -> Any:
    """The pair's picture, times shown in `tz` (default UTC). Periods are the store's calendar buckets and keep
    their place; signals and news are instants, drawn at their wall-clock time in the zone."""
    with _unchecked():
        return _pair_chart(view, tz)


def _pair_chart(view: PairView, tz: tzinfo | None) -> Any:
    import altair as alt

    view = replace(view, signals=_local_signals(view.signals, tz), news=_local_news(view.news, tz))
    title = f"{view.a.label} and {view.b.label}: engagement, relationship score and signals"
    if not view.periods or not (view.totals.get("a_to_b") or view.totals.get("b_to_a")):
        return message_chart(title, f"No engagement between {view.a.label} and {view.b.label} is stored "
                                    "in either direction, so there is nothing to draw.")
    ab, ba = f"{view.a.label} → {view.b.label}", f"{view.b.label} → {view.a.label}"
    step = timedelta(days=7) if view.bucket == "week" else timedelta(days=30)
    rows = []
    for p in view.periods:
        start = _t(p["period"])
        assert start is not None
        nxt = (start + timedelta(days=32)).replace(day=1) if view.bucket == "month" else start + step
        width = nxt - start
        # grouped, not stacked: each direction gets its own half of the period
        for i, (direction, n, tie) in enumerate(((ab, p["a_to_b"], p["tie_a_to_b"]),
                                                 (ba, p["b_to_a"], p["tie_b_to_a"]))):
            rows.append({"period": p["period"], "x0": _iso(start + width * (0.08 + 0.42 * i)),
                         "x1": _iso(start + width * (0.08 + 0.42 * (i + 1))), "mid": _iso(start + width / 2),
                         "direction": direction, "engagements": n, "tie": tie})
    lo, hi = _t(view.periods[0]["period"]), _t(view.periods[-1]["period"])
    assert lo is not None and hi is not None
    hi = hi + step
    data = alt.InlineData(values=rows)
    x = alt.X("x0:T", title=_axis_title(view.bucket, tz, view.periods[-1]["period"]),
              axis=alt.Axis(format=AXIS_FORMAT, labelAngle=0, labelOverlap=True),
              scale=alt.Scale(type="utc", domain=[_iso(lo), _iso(hi)]))
    color = alt.Color("direction:N", title="bars: engagements; lines: relationship score",
                      legend=alt.Legend(orient="top", symbolType="square", direction="horizontal",
                                        titleLimit=500, labelLimit=300),
                      scale=alt.Scale(domain=[ab, ba], range=DIRECTION_COLORS))
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    bars = alt.Chart(data).mark_rect(opacity=0.6).encode(
        x=x, x2="x1:T", y=alt.Y("engagements:Q", title=f"engagements per {view.bucket} (bars)"),
        y2=alt.datum(0), color=color,
        tooltip=[alt.Tooltip("period:T", format=AXIS_FORMAT, formatType="utc"), "direction:N", "engagements:Q"]
    ).add_params(zoom)
    score = alt.Chart(data).mark_line(strokeWidth=2.5, point=True).encode(
        x=alt.X("mid:T"), y=alt.Y("tie:Q", title="relationship score, decayed (lines)"),
        color=color,
        tooltip=[alt.Tooltip("period:T", format=AXIS_FORMAT, formatType="utc"), "direction:N",
                 alt.Tooltip("tie:Q", title="relationship score", format=".1f")])
    main = alt.layer(bars, score).resolve_scale(y="independent")
    signal_layers = _signal_layers(view.signals, lo, hi)
    news_marks, listing = _news_layers(view.news, 306)
    plot = alt.layer(main, *signal_layers, *news_marks).resolve_scale(color="independent").properties(
        width=WIDTH, height=320, title=title)
    return alt.vconcat(plot, listing) if listing is not None else plot


def account_chart(view: AccountView, tz: tzinfo | None = None) -> Any:
    """The account's follower picture, every time shown in `tz` (default UTC)."""
    with _unchecked():
        return _account_chart(view, tz)


def _account_chart(view: AccountView, tz: tzinfo | None) -> Any:
    import altair as alt

    view = replace(view, followers=[{**f, "ts": _wall(f["ts"], tz)} for f in view.followers],
                   signals=_local_signals(view.signals, tz), news=_local_news(view.news, tz))
    title = f"{view.account.label}: followers, with audience signals"
    if not view.followers:
        return message_chart(title, f"No follower counts are stored for {view.account.label}; ingest a metrics "
                                    "file (daily follower counts) to draw this picture.")
    lo, hi = _t(view.followers[0]["ts"]), _t(view.followers[-1]["ts"])
    assert lo is not None and hi is not None
    x = alt.X("ts:T", title=_axis_title("day", tz, view.followers[-1]["ts"]),
              axis=alt.Axis(format=AXIS_FORMAT, labelAngle=0, labelOverlap=True), scale=alt.Scale(type="utc"))
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    base = alt.Chart(alt.InlineData(values=view.followers)).mark_line(color="#1f77b4").encode(
        x=x, y=alt.Y("followers:Q", title="followers", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("ts:T", title="day", format="%d %b %Y", formatType="utc"),
                 alt.Tooltip("followers:Q", format=",")]
    ).add_params(zoom)
    layers: list[Any] = [base]
    episodes = []
    for s in view.signals:
        if not s["kind"].startswith("audience_") or not s["start"]:
            continue
        d = s["detail"]
        change = d.get("change")
        size = (f" {change:+,} ({d.get('change_pct', 0):+.1f}%)" if isinstance(change, int | float) else "")
        episodes.append({"start": s["start"], "end": s["end"] or s["start"], "when": s["start"],
                         "kind": s["kind"].replace("audience_", "audience "),
                         "label": f"{s['kind'].replace('audience_', '')} {(s['ts'] or s['start'])[:10]}:{size}"})
    if episodes:
        _lanes(episodes, lo, hi)
        for e in episodes:
            e["y"] = 10 + 14 * e["lane"]
        kinds = sorted({e["kind"] for e in episodes})
        color = alt.Color("kind:N", title="audience signals",
                          legend=alt.Legend(orient="bottom", symbolOpacity=1, symbolType="square"),
                          scale=alt.Scale(domain=kinds, range=[SIGNAL_COLORS.get(k.replace(" ", "_"), "#444")
                                                               for k in kinds]))
        ep = alt.InlineData(values=episodes)
        layers.append(alt.Chart(ep).mark_rect(opacity=0.2).encode(x="start:T", x2="end:T", color=color))
        for right in (False, True):
            side = [e for e in episodes if e["right"] == right]
            if side:
                layers.append(alt.Chart(alt.InlineData(values=side)).mark_text(
                    align="right" if right else "left", dx=-6 if right else 6, fontSize=12, fontWeight="bold"
                ).encode(x="start:T", y=alt.Y("y:Q", scale=None, axis=None), text="label:N", color=color))
    news_marks, listing = _news_layers(view.news, 286)
    plot = alt.layer(*layers, *news_marks).properties(width=WIDTH, height=300, title=title)
    return alt.vconcat(plot, listing) if listing is not None else plot




def chart_spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite spec with every string made plain (control characters abort the renderer).

    Not validated against the Vega-Lite schema here: that is a third of Altair's cost, and the picture tests
    validate every chart the code can build (`to_dict()` there validates)."""
    spec: dict[str, Any] = clean_tree(chart.to_dict(validate=False))
    return spec


def chart_html(chart: Any) -> str:
    """A standalone, offline HTML page for the chart; the spec is embedded as script-safe JSON (data with
    `</script>` in it stays data)."""
    import vl_convert as vlc

    bundle = vlc.javascript_bundle()  # type: ignore[call-arg]  # the default snippet sets window.vegaEmbed
    return ("<!doctype html><html><head><meta charset='utf-8'><title>tiewatch chart</title>"
            f"<script>{bundle}</script></head><body><div id='vega-chart'></div><script>"
            f"vegaEmbed('#vega-chart', {script_json(chart_spec(chart))}, {{\"renderer\": \"svg\"}})"
            ".catch(console.error);</script></body></html>")


def save_chart(chart: Any, path: Path) -> Path:
    """Render a chart to .svg, .png or .html, offline."""
    import vl_convert as vlc

    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png", ".html"):
        raise TiewatchError(f"{path}: chart files end in .svg, .png or .html")
    try:
        if suffix == ".svg":
            write_text(path, vlc.vegalite_to_svg(chart_spec(chart)))
        elif suffix == ".png":
            write_bytes(path, vlc.vegalite_to_png(chart_spec(chart), scale=2))
        else:
            write_text(path, chart_html(chart))
    except ValueError as e:  # vl-convert's own failures
        raise TiewatchError(f"{path}: cannot draw the chart: {str(e).strip()[:200]}") from None
    return path


def chart_svg(chart: Any) -> str:
    import vl_convert as vlc

    return str(vlc.vegalite_to_svg(chart_spec(chart)))
