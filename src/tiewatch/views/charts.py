"""Pictures of a pair and of an account, made with Altair (Vega-Lite) and rendered offline by vl-convert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.outfiles import write_bytes, write_text
from tiewatch.safetext import clean_tree, script_json
from tiewatch.views.account import AccountView
from tiewatch.views.pair import PairView

SIGNAL_COLORS = {"silence": "#d62728", "resumption": "#2ca02c", "coincidence": "#9467bd", "unfollow": "#8c564b",
                 "follow": "#17becf", "audience_drop": "#d62728", "audience_surge": "#2ca02c"}


def _signal_marks(signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    marks = []
    for s in signals:
        when = s["end"] if s["kind"] == "resumption" else (s["start"] if s["kind"] == "silence" else s["ts"])
        if when:
            marks.append({"when": when, "kind": s["kind"], "label": f"{s['kind']} {when[:10]}",
                          "end": s["end"] or None})
    return marks


def pair_chart(view: PairView) -> Any:
    import altair as alt

    rows = []
    for p in view.periods:
        rows.append({"period": p["period"], "direction": f"{view.a.label} → {view.b.label}",
                     "engagements": p["a_to_b"], "tie": p["tie_a_to_b"]})
        rows.append({"period": p["period"], "direction": f"{view.b.label} → {view.a.label}",
                     "engagements": p["b_to_a"], "tie": p["tie_b_to_a"]})
    data = alt.InlineData(values=rows)
    color = alt.Color("direction:N", title=None, legend=alt.Legend(orient="top"))
    bars = alt.Chart(data).mark_bar(opacity=0.35).encode(
        x=alt.X("period:T", title=None), y=alt.Y("engagements:Q", title=f"engagements per {view.bucket}"),
        color=color, xOffset="direction:N")
    tie = alt.Chart(data).mark_line(strokeWidth=2.5).encode(
        x="period:T", y=alt.Y("tie:Q", title="tie strength (decayed)"), color=color)
    layers = [alt.layer(bars, tie).resolve_scale(y="independent")]
    marks = _signal_marks(view.signals)
    if marks:
        sig = alt.InlineData(values=marks)
        for kind in sorted({m["kind"] for m in marks}):
            only = alt.InlineData(values=[m for m in marks if m["kind"] == kind])
            layers.append(alt.Chart(only).mark_rule(strokeDash=[4, 3], strokeWidth=2,
                                                    color=SIGNAL_COLORS.get(kind, "#444")).encode(x="when:T"))
        layers.append(alt.Chart(sig).mark_text(angle=270, align="left", dx=4, dy=-4, fontSize=11).encode(
            x="when:T", y=alt.value(8), text="label:N"))
    if view.news:
        news = alt.InlineData(values=[{"when": n["ts"], "title": n["title"][:48]} for n in view.news])
        layers.append(alt.Chart(news).mark_point(shape="triangle-down", size=90, color="black", filled=True).encode(
            x="when:T", y=alt.value(0), tooltip="title:N"))
    return alt.layer(*layers).properties(
        width=760, height=320, title=f"{view.a.label} and {view.b.label}: engagement, tie strength and signals")


def account_chart(view: AccountView) -> Any:
    import altair as alt

    base = alt.Chart(alt.InlineData(values=view.followers)).mark_line(color="#1f77b4").encode(
        x=alt.X("ts:T", title=None), y=alt.Y("followers:Q", title="followers", scale=alt.Scale(zero=False)))
    layers = [base]
    episodes = [{"start": s["start"], "end": s["end"], "kind": s["kind"],
                 "label": f"{s['kind'].replace('audience_', '')} {s['ts'][:10]}"}
                for s in view.signals if s["kind"].startswith("audience_")]
    if episodes:
        ep = alt.InlineData(values=episodes)
        layers.append(alt.Chart(ep).mark_rect(opacity=0.25, color="#d62728").encode(x="start:T", x2="end:T"))
        layers.append(alt.Chart(ep).mark_text(align="left", dx=6, dy=12, fontSize=12, color="#d62728").encode(
            x="start:T", y=alt.value(0), text="label:N"))
    return alt.layer(*layers).properties(width=760, height=300,
                                         title=f"{view.account.label}: followers, with audience signals")


def chart_spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite spec with every string made plain (control characters abort the renderer)."""
    spec: dict[str, Any] = clean_tree(chart.to_dict())
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
