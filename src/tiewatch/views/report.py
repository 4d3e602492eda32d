"""One self-contained HTML report: the signals feed, timelines for the top pairs, account charts.

Charts are inlined as SVG, so the file opens offline with nothing fetched.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiewatch.outfiles import output_dir, write_text
from tiewatch.safetext import plain
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.account import account_view
from tiewatch.views.charts import account_chart, chart_svg, pair_chart
from tiewatch.views.pair import pair_view

STYLE = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border-bottom:1px solid #ddd;padding:.35em;
text-align:left;vertical-align:top}th{background:#f4f4f4}.kind{font-weight:600}.q{color:#666}
section{margin:2.5em 0}svg{max-width:100%;height:auto}"""


def _row(s: dict[str, Any]) -> str:
    q = "" if s["q_value"] is None else f"{s['q_value']:.2g}"
    when = (s["ts"] or s["start"] or "")[:10]
    if s["kind"] == "silence":  # a silence is a span: from the last engagement to the resumption (or open)
        when = f"{(s['start'] or '')[:10]} → {(s['end'] or 'ongoing')[:10]}"
    return (f"<tr><td class='kind'>{_h(s['kind'])}</td><td>{_h(when)}</td>"
            f"<td>{_h(' → '.join(s['subjects']))}</td><td class='q'>{q}</td>"
            f"<td>{_h(s['summary'])}</td></tr>")


def _h(value: object) -> str:
    """Data as HTML text: plain (no control or bidi-override characters), then escaped."""
    return html.escape(plain(value))


def write_report(store: Store, out_dir: Path, top_pairs: int = 3, top_accounts: int = 3) -> Path:
    output_dir(out_dir)
    signals = list_signals(store)
    rows = "".join(_row(s) for s in signals)

    def named(s: dict[str, Any], account: str) -> str:  # platform:account, never ambiguous across platforms
        return f"{s['platform']}:{account}" if s.get("platform") else account

    pairs: list[tuple[str, str]] = []
    for s in signals:
        if s["kind"] in ("silence", "resumption", "unfollow", "follow") and len(s["subjects"]) >= 2:
            key = (named(s, s["subjects"][0]), named(s, s["subjects"][1]))
            if key not in pairs and key[::-1] not in pairs:
                pairs.append(key)
    accounts: list[str] = []
    for s in signals:
        if s["kind"].startswith("audience_") and named(s, s["subjects"][0]) not in accounts:
            accounts.append(named(s, s["subjects"][0]))
    parts = [f"<h1>tiewatch report</h1><p>{len(signals)} signals; generated "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC from {_h(store.path)}.</p>",
             "<section><h2>Signals</h2><table><tr><th>kind</th><th>when</th><th>subjects</th><th>q</th>"
             f"<th>summary</th></tr>{rows}</table></section>"]
    for a, b in pairs[:top_pairs]:
        view = pair_view(store, a, b)
        parts.append(f"<section><h2>{_h(view.a.label)} and {_h(view.b.label)}</h2>"
                     f"{chart_svg(pair_chart(view))}</section>")
    for acc in accounts[:top_accounts]:
        aview = account_view(store, acc)
        parts.append(f"<section><h2>{_h(aview.account.label)}: followers</h2>"
                     f"{chart_svg(account_chart(aview))}</section>")
    path = out_dir / "report.html"
    write_text(path, "<!doctype html><html><head><meta charset='utf-8'><title>tiewatch report</title>"
                    f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    return path
