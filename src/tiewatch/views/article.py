"""A brief as an article: a lede with the most newsworthy finding, a chronology that ties signals and news
together, every sentence footnoted to the stored records it rests on. Markdown and HTML (printable) out.

Text comes from deterministic templates over stored facts; nothing is invented. The one brief: `tiewatch brief`,
the web page and its downloads, the static export and the demo all read it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from tiewatch.accounts import resolve
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views.explore import evidence
from tiewatch.views.sentences import in_zone_rows

NEWS_WINDOW_DAYS = 45  # a news item this close after a signal is mentioned beside it in the lede


@dataclass
class Footnote:
    n: int
    kind: str  # event, news, metrics
    ref: str
    label: str
    url: str | None


@dataclass
class Entry:
    when: str  # ISO date
    text: str
    notes: list[int]
    signal: str | None = None  # the signal id, when the sentence states one


@dataclass
class Article:
    title: str
    subjects: list[str]
    lede: Entry | None
    chronology: list[Entry]
    footnotes: list[Footnote] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def entry(e: Entry) -> dict[str, Any]:
            return {"when": e.when, "text": e.text, "notes": e.notes, "signal": e.signal}
        return {"title": self.title, "subjects": self.subjects, "lede": entry(self.lede) if self.lede else None,
                "chronology": [entry(e) for e in self.chronology],
                "footnotes": [vars(f) for f in self.footnotes]}

    def markdown(self) -> str:
        """Markdown with every stored string escaped (no raw HTML, links or emphasis from names or titles)."""
        from tiewatch.safetext import markdown as md

        out = [f"# {md(self.title)}", ""]
        if self.lede:
            out += [f"**{md(self.lede.text)}**{_md_notes(self.lede.notes)}", ""]
        else:
            out += ["_No signals or news are stored for this subject._", ""]
        if self.chronology:
            out += ["## Chronology", ""]
            out += [f"- **{_day(e.when)}.** {md(e.text)}{_md_notes(e.notes)}" for e in self.chronology]
            out.append("")
        if self.footnotes:
            out += ["## Evidence", ""]
            for f in self.footnotes:
                label = f"[{md(f.label)}](<{md(f.url)}>)" if f.url else md(f.label)
                out.append(f"[^{f.n}]: {label} ({md(f.kind)} {md(f.ref)})")
            out.append("")
        out.append("_Built from stored records only; every sentence cites its evidence._")
        return "\n".join(out) + "\n"

    def html(self) -> str:
        """A standalone printable page (the download); the web page renders the same parts in its layout."""
        from tiewatch.safetext import plain

        def e(value: object) -> str:
            return html.escape(plain(value))

        body = [f"<h1>{e(self.title)}</h1>"]
        if self.lede:
            body.append(f"<p class='lede'><strong>{e(self.lede.text)}</strong>{_html_notes(self.lede.notes)}</p>")
        if self.chronology:
            body.append("<h2>Chronology</h2><ol class='chronology'>")
            body += [f"<li><time datetime='{e(c.when)}'>{e(_day(c.when))}</time>. {e(c.text)}"
                     f"{_html_notes(c.notes)}</li>" for c in self.chronology]
            body.append("</ol>")
        if self.footnotes:
            body.append("<h2>Evidence</h2><ol class='footnotes'>")
            for f in self.footnotes:
                label = f"<a href='{e(f.url)}'>{e(f.label)}</a>" if f.url else e(f.label)
                body.append(f"<li id='fn{f.n}'>{label} <code>{e(f.kind)} {e(f.ref)}</code></li>")
            body.append("</ol>")
        return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{e(self.title)}</title><style>body{{font-family:Georgia,serif;max-width:42em;"
                "margin:2em auto;padding:0 1em;line-height:1.55;color:#1a1a1a}.lede{font-size:1.2em}"
                "code{font-size:.8em;color:#555}sup a{text-decoration:none}</style></head><body><article>"
                + "".join(body) + "</article></body></html>")


def _md_notes(notes: list[int]) -> str:
    return "".join(f"[^{n}]" for n in notes)


def _html_notes(notes: list[int]) -> str:
    return "".join(f"<sup><a href='#fn{n}'>{n}</a></sup>" for n in notes)


def _day(iso_text: str | None, tz: tzinfo | None = None) -> str:
    """A date as written (an ISO date), or a stored time's date in `tz` (default UTC)."""
    if not iso_text:
        return "undated"
    t = datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
    if tz is not None and len(iso_text) > 10:
        t = (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).astimezone(tz)
    return f"{t.day} {t:%B %Y}"


def _local_date(iso_text: str | None, tz: tzinfo | None) -> str:
    """A stored time's calendar date (ISO) in `tz`; the UTC date without one."""
    if not iso_text:
        return ""
    if tz is None or len(iso_text) <= 10:
        return iso_text[:10]
    t = datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).astimezone(tz).date().isoformat()


class _Notes:
    def __init__(self) -> None:
        self.items: list[Footnote] = []
        self.index: dict[tuple[str, str], int] = {}

    def add(self, kind: str, ref: str, label: str, url: str | None) -> int:
        key = (kind, ref)
        if key not in self.index:
            self.index[key] = len(self.items) + 1
            self.items.append(Footnote(len(self.items) + 1, kind, ref, label, url))
        return self.index[key]


def _signal_notes(store: Store, notes: _Notes, refs: list[str], limit: int = 6,
                  tz: tzinfo | None = None) -> list[int]:
    found = evidence(store, refs)
    out: list[int] = []
    for ev in found["events"][:limit]:
        what = {"like": "liked a post by", "comment": "commented on a post by", "reply": "replied to",
                "story": "posted a story", "post": "posted", "follow": "followed", "unfollow": "unfollowed"}.get(
            ev["kind"], ev["kind"])
        whom = f" {ev['target_name']}" if ev["target"] and ev["kind"] not in ("story", "post") else ""
        text = f": \u201c{ev['text']}\u201d" if ev["text"] else ""
        out.append(notes.add("event", ev["id"], f"{ev['actor_name']} {what}{whom}{text}, {_day(ev['ts'], tz)}",
                             ev["url"]))
    for n in found["news"]:
        out.append(notes.add("news", n["url"] or n["id"], f"{n['title']}, {_day(n['ts'], tz)}", n["url"]))
    for m in found["metrics"][:2]:
        out.append(notes.add("metrics", f"{m['account']} {m['ts'][:10]}",
                             f"{m['account']}: {m['followers']:,} followers on {_day(m['ts'], tz)}", None))
    return sorted(set(out))


def build_article(store: Store, a_name: str, b_name: str | None = None, since: datetime | None = None, *,
                  tz: tzinfo | None = None) -> Article:
    """The article; its dates are calendar dates in `tz` (default UTC)."""
    a = resolve(store, a_name)
    b = resolve(store, b_name) if b_name else None
    signals = list_signals(store, account=a.account, since=since)
    if b is not None:
        signals = [s for s in signals if b.account in s["subjects"]
                   or (s["kind"].startswith("audience_") and s["subjects"][:1] == [b.account])]
        signals += [s for s in list_signals(store, account=b.account, since=since)
                    if s["kind"].startswith("audience_") and s["subjects"][:1] == [b.account]
                    and s["id"] not in {x["id"] for x in signals}]
    signals = in_zone_rows(store, signals, tz)
    subjects = [a.account] + ([b.account] if b else [])
    notes = _Notes()
    entries: list[Entry] = []
    for s in signals:
        when = s["start"] if s["kind"] == "silence" else (s["ts"] or s["start"])
        entries.append(Entry(_local_date(when, tz), s["summary"], _signal_notes(store, notes, s["evidence"], tz=tz),
                             s["id"]))
    from tiewatch.views.explore import news as news_rows

    items = [n for acc in subjects for n in news_rows(store, account=acc, since=since, limit=1000)]
    seen: set[str] = set()
    news_entries: list[tuple[Entry, dict[str, Any]]] = []
    for n in sorted(items, key=lambda n: n["ts"]):
        if n["id"] in seen:
            continue
        seen.add(n["id"])
        state = {"reported": "was reported", "confirmed": "was confirmed", "denied": "was denied"}.get(
            n["status"] or "", "was in the news")
        note = notes.add("news", n["url"] or n["id"], f"{n['title']}, {_day(n['ts'], tz)}", n["url"])
        e = Entry(_local_date(n["ts"], tz), f"\u201c{n['title']}\u201d {state}.", [note])
        entries.append(e)
        news_entries.append((e, {**n, "state": state}))
    entries.sort(key=lambda e: e.when)
    lede = _lede(signals, entries, news_entries)
    title = f"{a.label} and {b.label}" if b else a.label
    # footnotes numbered in reading order
    order: dict[int, int] = {}
    for e in ([lede] if lede else []) + entries:
        for k in e.notes:
            order.setdefault(k, len(order) + 1)
    for e in ([lede] if lede else []) + entries:
        e.notes = sorted(order[k] for k in e.notes)
    footnotes = sorted((Footnote(order[f.n], f.kind, f.ref, f.label, f.url) for f in notes.items if f.n in order),
                       key=lambda f: f.n)
    return Article(f"{title}: what changed, with evidence", subjects, lede, entries, footnotes)


def _lede(signals: list[dict[str, Any]], entries: list[Entry],
          news_entries: list[tuple[Entry, dict[str, Any]]]) -> Entry | None:
    """The most newsworthy finding: the most significant tested signal (relationship signals before audience
    ones), with the nearest news that followed it."""
    tested = [s for s in signals if s["q_value"] is not None]
    ranked = sorted(tested, key=lambda s: (s["kind"].startswith("audience_"), s["q_value"], -(s["score"] or 0)))
    if not ranked:
        return Entry(news_entries[0][0].when, news_entries[0][0].text, list(news_entries[0][0].notes)) \
            if news_entries else None
    top = ranked[0]
    entry = next(e for e in entries if e.signal == top["id"])
    text, notes = entry.text, list(entry.notes)
    when = datetime.fromisoformat(entry.when) if entry.when else None
    if when is not None:
        after = [(e, n) for e, n in news_entries
                 if 0 <= (datetime.fromisoformat(e.when) - when).days <= NEWS_WINDOW_DAYS]
        if after:
            e, n = after[0]
            days = (datetime.fromisoformat(e.when) - when).days
            gap = "the same day" if days == 0 else f"{days} day{'s' if days != 1 else ''} later"
            text = f"{text.rstrip('.')}; {gap}, \u201c{n['title']}\u201d {n['state']}."
            notes += e.notes
    return Entry(entry.when, text, sorted(set(notes)), top["id"])
