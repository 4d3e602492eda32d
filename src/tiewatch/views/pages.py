"""The HTML pages (feed, signal, accounts, account, pair, brief, upload, status), rendered from plain data with
Jinja2 and autoescaping on: handles, names, post texts and headlines are always text, never markup.

The same templates serve `tiewatch serve` (links are server paths, charts drawn by the vendored vega-embed)
and `tiewatch report` (links are files side by side, charts inlined as SVG so the export prints and opens
offline). Link-making is the `Links` object handed to every render.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tiewatch.errors import InvalidInput

HERE = Path(__file__).parent
STATIC = HERE / "static"
KIND_LABELS = {"silence": "Silence", "resumption": "Resumption", "coincidence": "Coincidence",
               "unfollow": "Unfollow", "follow": "Follow", "audience_drop": "Audience drop",
               "audience_surge": "Audience surge"}


def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name (UTC, Asia/Seoul, ...); KST and a few common abbreviations are accepted."""
    aliases = {"KST": "Asia/Seoul", "JST": "Asia/Tokyo", "CET": "Europe/Paris", "UTC": "UTC", "GMT": "UTC"}
    try:
        return ZoneInfo(aliases.get(name.upper(), name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"--tz {name!r}: not a time zone (try UTC, Asia/Seoul or KST)") from None


class Links:
    """Where pages live. The server's paths; `ExportLinks` gives file names for the static export."""

    static_prefix = "/static/"

    def feed(self, **params: Any) -> str:
        q = {k: v for k, v in params.items() if v not in (None, "")}
        return "/" + (f"?{urlencode(q)}" if q else "")

    def signal(self, sid: str) -> str:
        return f"/signals/{quote(sid, safe='')}"

    def account(self, handle: str) -> str:
        return f"/accounts/{quote(handle, safe='')}"

    def accounts(self) -> str:
        return "/accounts"

    def pair(self, a: str, b: str) -> str:
        return f"/pairs/{quote(a, safe='')}/{quote(b, safe='')}"

    def brief(self, a: str, b: str | None = None) -> str:
        return f"/briefs/{quote(a, safe='')}" + (f"?{urlencode({'b': b})}" if b else "")

    def brief_download(self, a: str, b: str | None, fmt: str) -> str:
        return f"/api/briefs/{quote(a, safe='')}?" + urlencode({**({"b": b} if b else {}), "format": fmt})

    def static(self, name: str) -> str:
        return self.static_prefix + name

    def page(self, name: str) -> str:
        return "/" + name

    live = True  # the server can stream new signals to the feed


def slug(*parts: str) -> str:
    """A file name for a page of the export: readable, safe on every file system, unique by a short hash."""
    text = "--".join(p for p in parts if p)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60].strip("._") or "x"
    return f"{safe}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


class ExportLinks(Links):
    """Links between the files of a static export (all in one folder), for pages that were exported;
    others point at nothing rather than at a missing file."""

    static_prefix = "static/"
    live = False

    def __init__(self) -> None:
        self.exported: set[str] = set()

    def _file(self, name: str) -> str:
        return name if name in self.exported else "#not-exported"

    def feed(self, **params: Any) -> str:
        return "index.html"

    def signal(self, sid: str) -> str:
        return self._file(f"signal-{slug(sid)}.html")

    def account(self, handle: str) -> str:
        return self._file(f"account-{slug(handle)}.html")

    def accounts(self) -> str:
        return "index.html"

    def pair(self, a: str, b: str) -> str:
        return self._file(f"pair-{slug(a, b)}.html")

    def brief(self, a: str, b: str | None = None) -> str:
        return self._file(f"brief-{slug(a, b or '')}.html")

    def brief_download(self, a: str, b: str | None, fmt: str) -> str:
        return self._file(f"brief-{slug(a, b or '')}" + (".md" if fmt == "md" else ".article.html"))

    def page(self, name: str) -> str:
        return "index.html"


@dataclass
class Renderer:
    tz: ZoneInfo
    links: Links

    def __post_init__(self) -> None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(["html"], default=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               finalize=_visible)
        self.env.filters["when"] = self.when
        self.env.filters["day"] = self.day
        self.env.filters["num"] = lambda n: "" if n is None else f"{n:,}"
        self.env.filters["signed"] = lambda n: "" if n is None else f"{n:+,}"
        self.env.filters["kindlabel"] = lambda k: KIND_LABELS.get(k, k.replace("_", " ").capitalize())
        self.env.filters["spec_json"] = spec_json
        self.env.filters["duration"] = duration
        self.env.globals["links"] = self.links
        self.env.globals["tzname"] = str(self.tz)

    def local(self, iso_text: str | None) -> datetime | None:
        if not iso_text:
            return None
        t = datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
        if len(iso_text) <= 10:  # a calendar date (a day's count, a brief's chronology) is already the zone's date
            return t.replace(tzinfo=self.tz)
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return t.astimezone(self.tz)

    def when(self, iso_text: str | None) -> str:
        t = self.local(iso_text)
        if t is None:
            return "—"
        if iso_text is not None and len(iso_text) <= 10:
            return f"{t.day} {t:%b %Y}"
        clock = "" if (t.hour, t.minute) == (0, 0) and str(self.tz) == "UTC" else f" {t:%H:%M}"
        return f"{t.day} {t:%b %Y}{clock} {t.tzname()}".strip()

    def day(self, iso_text: str | None) -> str:
        t = self.local(iso_text)
        return "—" if t is None else f"{t.day} {t:%b %Y}"

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)


def duration(seconds: float | None) -> str:
    """A length of time as people say it: 42 s, 15 min, 2 h 5 min, 3 days."""
    if seconds is None:
        return "—"
    s = round(float(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        h, m = divmod(s // 60, 60)
        return f"{h} h" + (f" {m} min" if m else "")
    return f"{s // 86400} days"


def spec_json(spec: dict[str, Any]) -> str:
    """A chart spec as JSON safe inside a <script type="application/json"> element: `<`, `>` and `&` are
    written as escapes, so a hostile title cannot end the element."""
    from markupsafe import Markup

    from tiewatch.safetext import clean_tree, script_json

    text = script_json(clean_tree(spec))  # no control or bidi characters either: the renderer draws text

    return Markup(text)  # every markup-significant character is escaped above


def _visible(value: object) -> object:
    """Every string a template prints, without control or bidi-override characters (then autoescaped)."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        from tiewatch.safetext import plain

        return plain(value)
    return value
