"""`tiewatch report`: a static export of the same pages `tiewatch serve` shows, as files side by side in one
folder: index.html (the feed), one page per signal, per pair, per account and per brief (with its Markdown and
HTML downloads), and the vendored chart library. It opens offline from disk; nothing is fetched.

The export is bounded by the signals it includes (`limit`, `account`, `since`), not by the size of the store:
each page is built from the same read models as the server's, set-based underneath.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tiewatch.accounts import resolve
from tiewatch.errors import TiewatchError
from tiewatch.outfiles import output_dir, write_text
from tiewatch.progress import ProgressEvent
from tiewatch.signals import list_signals
from tiewatch.store import Store
from tiewatch.views import context, explore
from tiewatch.views.pages import STATIC, ExportLinks, Renderer, slug, zone
from tiewatch.views.sentences import in_zone_rows

PAIR_KINDS = ("silence", "resumption", "unfollow", "follow")
MAX_ACCOUNTS = 50


def write_report(store: Store, out_dir: Path, *, account: str | None = None, since: datetime | None = None,
                 limit: int | None = 200, tz: str = "UTC",
                 progress: Callable[[ProgressEvent], None] | None = None) -> Path:
    """Write the export into `out_dir`; returns the path of its index.html."""
    signals = list_signals(store, account=account, since=since, limit=limit)
    explore.name_subjects(store, signals)
    pairs: list[tuple[str, str]] = []
    accounts: list[str] = []
    for s in signals:
        if s["kind"] in PAIR_KINDS and len(s["subjects"]) >= 2:
            key = (s["subjects"][0], s["subjects"][1])
            if key not in pairs and key[::-1] not in pairs:
                pairs.append(key)
        for h in s["subjects"][:2]:
            if h not in accounts and len(accounts) < MAX_ACCOUNTS:
                accounts.append(h)
    if account:
        acc = resolve(store, account).account
        accounts = [acc, *[a for a in accounts if a != acc]][:MAX_ACCOUNTS]

    links = ExportLinks()
    links.exported |= {f"signal-{slug(s['id'])}.html" for s in signals}
    links.exported |= {f"pair-{slug(a, b)}.html" for a, b in pairs}
    links.exported |= {f"brief-{slug(a, b)}{ext}" for a, b in pairs for ext in (".html", ".md", ".article.html")}
    links.exported |= {f"account-{slug(a)}.html" for a in accounts}
    links.exported |= {f"brief-{slug(a, '')}{ext}" for a in accounts for ext in (".html", ".md", ".article.html")}
    r = Renderer(zone(tz), links)

    output_dir(out_dir)
    try:
        (out_dir / "static").mkdir(exist_ok=True)
        for name in ("style.css", "app.js", "vega.js"):
            shutil.copyfile(STATIC / name, out_dir / "static" / name)
    except OSError as e:
        raise TiewatchError(f"{out_dir}: cannot write the report: {e.strerror}", code="bad_output") from None

    jobs: list[tuple[str, Callable[[], str]]] = []
    rows = [{"account": a, "name": (s_name or a)} for a, s_name in _names(store, accounts)]
    note = ", ".join(x for x in (f"about {account}" if account else "", f"since {since:%Y-%m-%d}" if since else "",
                                 f"at most {limit}" if limit is not None else "") if x)
    listed = in_zone_rows(store, signals, r.tz)
    jobs.append(("index.html", lambda: r.render("feed.html", signals=listed, next_url=None, kinds=(), f={},
                                                error=None, accounts=rows, note=note or None)))
    def page(template: str, build: Callable[..., dict[str, Any]], *args: Any, **kw: Any) -> Callable[[], str]:
        return lambda: r.render(template, **build(store, *args, **kw))

    for s in signals:
        jobs.append((f"signal-{slug(s['id'])}.html", page("signal.html", context.signal_page, s["id"], r.tz)))
    for a, b in pairs:
        jobs.append((f"pair-{slug(a, b)}.html", page("pair.html", context.pair_page, a, b, tz=r.tz)))
        jobs += _brief_jobs(store, r, a, b)
    for a in accounts:
        jobs.append((f"account-{slug(a)}.html", page("account.html", context.account_page, a, tz=r.tz)))
        jobs += _brief_jobs(store, r, a, None)

    for i, (name, render) in enumerate(jobs):
        if progress:
            progress(ProgressEvent("report", name, i, len(jobs)))
        write_text(out_dir / name, render())
    if progress:
        progress(ProgressEvent("report", "done", len(jobs), len(jobs)))
    return out_dir / "index.html"


def _names(store: Store, handles: list[str]) -> list[tuple[str, str | None]]:
    found = {h: n for h, n in zip(handles, explore.display_names(store, handles), strict=True)}
    return [(h, found[h]) for h in handles]


def _brief_jobs(store: Store, r: Renderer, a: str, b: str | None) -> list[tuple[str, Callable[[], str]]]:
    cache: dict[str, Any] = {}

    def ctx() -> dict[str, Any]:
        if "c" not in cache:
            cache["c"] = context.brief_page(store, a, b, tz=r.tz)
        out: dict[str, Any] = cache["c"]
        return out

    base = f"brief-{slug(a, b or '')}"
    return [(f"{base}.html", lambda: r.render("brief.html", **ctx())),
            (f"{base}.md", lambda: str(ctx()["art"].markdown())),
            (f"{base}.article.html", lambda: str(ctx()["art"].html()))]
