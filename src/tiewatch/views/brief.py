"""Article-style briefs built only from stored facts: every sentence cites the records it rests on.

Citations: `[event ID]` (an events row), `[news URL]` (a news row, by its url, else `[news ID]`),
`[metrics ACCOUNT DATE]` (a metrics row). Text comes from deterministic templates.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tiewatch import safetext
from tiewatch.accounts import Account, resolve
from tiewatch.signals import list_signals
from tiewatch.store import Store

CITATION = re.compile(r"\[(event|news|metrics) ([^\]]+)\]")


@dataclass
class Brief:
    title: str
    sections: list[tuple[str, list[str]]]  # (heading, sentences each ending in citations)

    def markdown(self) -> str:
        out = [f"# {safetext.markdown(self.title)}", "",
               "_Built from stored records only; every sentence cites its evidence._", ""]
        if not self.sections:
            out += ["_No signals, audience changes or news are stored for this subject._", ""]
        for heading, sentences in self.sections:
            out += [f"## {safetext.markdown(heading)}", ""] + [f"- {_cite_markdown(s)}" for s in sentences] + [""]
        return "\n".join(out)

    def html(self) -> str:
        body = [f"<h1>{_h(self.title)}</h1>",
                "<p><em>Built from stored records only; every sentence cites its evidence.</em></p>"]
        for heading, sentences in self.sections:
            body.append(f"<h2>{_h(heading)}</h2><ul>")
            body += [f"<li>{_cite_html(s)}</li>" for s in sentences]
            body.append("</ul>")
        return ("<!doctype html><html><head><meta charset='utf-8'><title>" + _h(self.title) +
                "</title><style>body{font-family:Georgia,serif;max-width:46em;margin:2em auto;line-height:1.5}"
                "code{font-size:.85em;color:#555}</style></head><body>" + "".join(body) + "</body></html>")


def _h(value: object) -> str:
    return html.escape(safetext.plain(value))


def _cite_markdown(sentence: str) -> str:
    """A sentence as Markdown: its prose escaped (names are data, not markup or HTML), citations kept as
    `[kind ref]` with only HTML-significant characters of the reference escaped."""
    out: list[str] = []
    at = 0
    for m in CITATION.finditer(sentence):
        out.append(safetext.markdown(sentence[at:m.start()]))
        ref = safetext.plain(m.group(2)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(f"[{m.group(1)} {ref}]")
        at = m.end()
    out.append(safetext.markdown(sentence[at:]))
    return "".join(out)


def _cite_html(sentence: str) -> str:
    def link(m: re.Match[str]) -> str:
        kind, ref = m.group(1), m.group(2)
        if kind == "news" and ref.startswith(("http://", "https://")):
            return f"<a href='{_h(ref)}'>[news]</a>"
        return f"<code>[{_h(kind)} {_h(ref)}]</code>"

    text = _h(CITATION.sub("", sentence).strip())
    cites = " ".join(link(m) for m in CITATION.finditer(sentence))
    return f"{text} {cites}"


def _day(ts: str | None) -> str:
    if not ts:
        return "?"
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return f"{t.day} {t:%B %Y}"


def _signal_citations(store: Store, s: dict[str, Any]) -> str:
    cites = []
    for ref in s["evidence"]:
        if ref.startswith("metrics:"):
            _, _platform, account, ts = ref.split(":", 3)
            cites.append(f"[metrics {account} {ts[:10]}]")
        elif store.scalar("SELECT count(*) FROM events WHERE id = ?", [ref]):
            cites.append(f"[event {ref}]")
        else:
            url = store.scalar("SELECT url FROM news WHERE id = ?", [ref])
            cites.append(f"[news {url or ref}]")
    return " ".join(dict.fromkeys(cites))


def _news_sentences(store: Store, accounts: list[Account], since: datetime | None) -> list[str]:
    about = " OR ".join(["list_contains(subjects, ?)"] * len(accounts))
    rows = store.con.execute(
        f"SELECT id, ts, title, status, url FROM news WHERE ({about}) AND (? IS NULL OR ts >= ?) ORDER BY ts",
        [a.account for a in accounts] + [since, since]).fetchall()
    out = []
    for nid, ts, title, status, url in rows:
        state = {"reported": "It was reported", "confirmed": "It was confirmed", "denied": "It was denied"}.get(
            status or "", "News")
        out.append(f"On {ts.day} {ts:%B %Y}: \"{title}\" ({state.lower() if state != 'News' else 'news'}). "
                   f"[news {url or nid}]")
    return out


def _audience_sentences(store: Store, signals: list[dict[str, Any]]) -> list[str]:
    names = dict(store.con.execute("SELECT account, name FROM accounts WHERE name IS NOT NULL").fetchall())
    out = []
    for s in signals:
        if not s["kind"].startswith("audience_"):
            continue
        dt = s["detail"]
        account = s["subjects"][0]
        first = s["start"][:10]
        last = s["end"][:10]
        out.append(f"{names.get(account, account)} had {dt['followers_before']:,} followers on {_day(s['start'])} and "
                   f"{dt['followers_after']:,} on {_day(s['end'])}, a change of {dt['change']:+,} "
                   f"({dt['change_pct']:+.1f}%). [metrics {account} {first}] [metrics {account} {last}]")
    return out


def build_brief(store: Store, a_name: str, b_name: str | None = None, since: datetime | None = None) -> Brief:
    a = resolve(store, a_name)
    b = resolve(store, b_name) if b_name else None
    signals = list_signals(store, account=a, since=since)
    if b is not None:
        signals = [s for s in signals if b.account in s["subjects"]]
    signals.sort(key=lambda s: s["ts"] or s["start"] or "")
    title = f"{a.label} and {b.label}" if b else a.label
    happened = [f"{s['summary']} {_signal_citations(store, s)}" for s in signals
                if not s["kind"].startswith("audience_")]
    sections: list[tuple[str, list[str]]] = []
    if happened:
        sections.append(("What the activity shows", happened))
    audience_for = [a] + ([b] if b else [])
    audience = _audience_sentences(store, [s for acc in audience_for
                                           for s in list_signals(store, account=acc, since=since)
                                           if s["kind"].startswith("audience_")])
    if audience:
        sections.append(("Audience", audience))
    news = _news_sentences(store, [a] + ([b] if b else []), since)
    if news:
        sections.append(("Context from the news", news))
    return Brief(f"{title}: what changed, with evidence", sections)


def citations(sentence: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in CITATION.finditer(sentence)]


def resolves(store: Store, kind: str, ref: str) -> bool:
    """Does a citation point at a stored record?"""
    if kind == "event":
        return bool(store.scalar("SELECT count(*) FROM events WHERE id = ?", [ref]))
    if kind == "news":
        return bool(store.scalar("SELECT count(*) FROM news WHERE url = ? OR id = ?", [ref, ref]))
    account, _, date = ref.rpartition(" ")
    return bool(store.scalar("SELECT count(*) FROM metrics WHERE account = ? AND CAST(ts AS DATE) = CAST(? AS DATE)",
                             [account, date]))
