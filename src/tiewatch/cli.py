"""The command line: a thin Click layer that parses options, calls the library and prints.

Known failures (TiewatchError) become one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import duckdb
from rich.console import Console
from rich.table import Table

from tiewatch import __version__
from tiewatch.errors import TiewatchError
from tiewatch.store import Store
from tiewatch.store.database import out_of_room

F = TypeVar("F", bound=Callable[..., Any])


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def user_errors(fn: F) -> F:
    """Turn foreseeable failures into a one-line message and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TiewatchError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; the store keeps every file completed before") from None
        except duckdb.Error as e:  # out of memory or temp-file space: one line, not a traceback
            if (message := out_of_room(e)) is None:
                raise
            raise click.ClickException(message) from None
    return wrapper  # type: ignore[return-value]


def db_option(fn: F) -> F:
    return click.option("--db", "db", type=click.Path(path_type=Path), default=None,
                        help="Database file (default: $TIEWATCH_DB, else ./tiewatch.duckdb).")(fn)  # type: ignore[return-value]


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(fn)  # type: ignore[return-value]


def open_store(db: Path | None, *, read_only: bool = False) -> Store:
    ctx = click.get_current_context(silent=True)
    root_db = ctx.find_root().params.get("db") if ctx else None
    return Store(db or root_db, read_only=read_only)


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tiewatch")
@db_option
def app(db: Path | None) -> None:
    """tiewatch: watch the ties between public accounts and report, with evidence, when one changes."""


@app.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--table", default=None, help="events, metrics, news or accounts (default: from the columns).")
@click.option("--format", "fmt", default=None, help="jsonl, json, csv, tsv, text or parquet (default: from "
                                                    "name and content).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="Read a field from a column.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Fill a field with a constant.")
@click.option("--strict", is_flag=True, help="Refuse a file whole at its first bad record.")
@json_option
@db_option
@user_errors
def ingest(paths: tuple[Path, ...], table: str | None, fmt: str | None, maps: tuple[str, ...],
           sets: tuple[str, ...], strict: bool, as_json: bool, db: Path | None) -> None:
    """Load files and folders: idempotent, all-or-nothing per file, bad records to quarantine."""
    from tiewatch.ingest.canonical import FieldMapping
    from tiewatch.ingest.run import ingest_paths

    mapping = FieldMapping.parse(list(maps), list(sets))
    with open_store(db) as store:
        report = ingest_paths(store, list(paths), mapping=mapping, table=table, fmt=fmt, strict=strict)
    for note in report.skipped:
        click.echo(f"skipped: {note}", err=True)
    for err in report.errors:
        click.echo(f"error: {err}", err=True)
    r = report.result
    if as_json:
        print_json(r.as_json())
    else:
        ins = ", ".join(f"{n:,} {k}" for k, n in r.inserted.items() if n) or "nothing"
        console().print(f"{r.files} file(s): inserted {ins}; {r.duplicates:,} duplicates; {r.rejected:,} "
                        "rejected" + (" (see `tiewatch quarantine`)" if r.rejected else ""))
    if report.errors:
        sys.exit(1)


@app.command()
@json_option
@db_option
@user_errors
def stats(as_json: bool, db: Path | None) -> None:
    """What the store holds: events by kind and platform, metrics, news, accounts, quarantine."""
    from tiewatch.stats import store_stats

    with open_store(db) as store:
        s = store_stats(store)
    if as_json:
        print_json(s)
        return
    ev: dict[str, Any] = s["events"]  # type: ignore[assignment]
    t = Table(title="tiewatch store", show_header=False)
    t.add_row("events", f"{ev['total']:,}  ({ev['first']} .. {ev['last']})")
    for k, n in ev["by_kind"].items():
        t.add_row(f"  {k}", f"{n:,}")
    for k in ("metrics", "news", "accounts", "signals", "quarantine"):
        t.add_row(k, f"{s[k]:,}")
    console().print(t)


@app.command("accounts")
@click.option("--search", default=None, help="Text in the handle or name.")
@click.option("--limit", default=100, show_default=True)
@json_option
@db_option
@user_errors
def accounts_cmd(search: str | None, limit: int, as_json: bool, db: Path | None) -> None:
    """List accounts, most active first."""
    from tiewatch.accounts import search as search_accounts

    with open_store(db) as store:
        rows = search_accounts(store, search, limit)
    if as_json:
        print_json(rows)
        return
    t = Table("platform", "account", "name", "kind", "events")
    for r in rows:
        t.add_row(*(str(r[k] or "") for k in ("platform", "account", "name", "kind")), f"{r['events']:,}")
    console().print(t)


@app.command()
@click.option("--limit", default=1000, show_default=True)
@json_option
@db_option
@user_errors
def quarantine(limit: int, as_json: bool, db: Path | None) -> None:
    """Records that could not be stored, with file, line and reason."""
    from tiewatch.stats import quarantine_rows

    with open_store(db) as store:
        rows = quarantine_rows(store, limit)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        click.echo(f"{r['file']}:{r['line']}: {r['reason']}")


def _time_option(name: str, help_text: str) -> Callable[[F], F]:
    return click.option(name, default=None, metavar="TIME", help=help_text)


@app.command()
@_time_option("--since", "Only data from this time on (ISO 8601; naive = UTC).")
@_time_option("--until", "Only data before this time.")
@click.option("--fdr", default=0.05, show_default=True, type=float, help="False-discovery rate to control.")
@json_option
@db_option
@user_errors
def detect(since: str | None, until: str | None, fdr: float, as_json: bool, db: Path | None) -> None:
    """Run every detector, control the false-discovery rate across all tests, store the signals."""
    from tiewatch.detect.run import detect as run_detect
    from tiewatch.timefmt import parse_user_time

    err = Console(stderr=True)
    with open_store(db) as store, err.status("running detectors…", spinner="dots") if err.is_terminal \
            else contextlib.nullcontext():
        report = run_detect(store, since=parse_user_time(since, "--since"), until=parse_user_time(until, "--until"),
                            fdr=fdr)
    if as_json:
        print_json(report.as_json())
        return
    t = Table("signal", "count", title=f"signals at FDR {fdr:g}")
    for kind, n in sorted(report.counts.items()):
        t.add_row(kind, f"{n:,}")
    t.add_row("total", f"{sum(report.counts.values()):,}")
    console().print(t)
    tests = ", ".join(f"{n:,} {k}" for k, n in report.tests.items())
    console().print(f"tests run: {tests or 'none'}")


@app.command()
@click.option("--kind", default=None, help="Only this kind (silence, resumption, follow, unfollow, audience_drop, "
                                            "audience_surge, coincidence).")
@click.option("--account", default=None, help="Only signals naming this account.")
@_time_option("--since", "Only signals from this time on.")
@_time_option("--until", "Only signals before this time.")
@click.option("--limit", default=None, type=int, help="At most this many.")
@json_option
@db_option
@user_errors
def signals(kind: str | None, account: str | None, since: str | None, until: str | None, limit: int | None,
            as_json: bool, db: Path | None) -> None:
    """List stored signals, the most significant first."""
    from tiewatch.signals import KINDS, list_signals
    from tiewatch.timefmt import parse_user_time

    if kind and kind not in KINDS:
        raise TiewatchError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    with open_store(db) as store:
        rows = list_signals(store, kind=kind, account=account, since=parse_user_time(since, "--since"),
                            until=parse_user_time(until, "--until"), limit=limit)
    if as_json:
        print_json(rows)
        return
    t = Table("kind", "when", "subjects", "q", "summary", show_lines=True)
    for r in rows:
        q = f"{r['q_value']:.2g}" if r["q_value"] is not None else "-"
        t.add_row(r["kind"], (r["ts"] or r["start"] or "")[:10], " → ".join(r["subjects"]), q, r["summary"])
    console().print(t)


@app.command()
@click.argument("account")
@_time_option("--at", "The time to measure at (default: the latest event).")
@click.option("--limit", default=20, show_default=True)
@json_option
@db_option
@user_errors
def ties(account: str, at: str | None, limit: int, as_json: bool, db: Path | None) -> None:
    """An account's strongest ties at a time, both directions."""
    from tiewatch.accounts import resolve
    from tiewatch.detect.ties import ties_of
    from tiewatch.timefmt import iso, parse_user_time

    with open_store(db) as store:
        acc = resolve(store, account)
        rows = ties_of(store, acc.platform, acc.account, parse_user_time(at, "--at"), limit)
    for r in rows:
        r["last"] = iso(r["last"])
    if as_json:
        print_json(rows)
        return
    t = Table("account", "name", "tie", "out", "in", "reciprocity", "last", title=f"ties of {acc}")
    for r in rows:
        t.add_row(r["account"], r["name"] or "", f"{r['tie']:.1f}", f"{r['out']:.1f}", f"{r['in']:.1f}",
                  f"{r['reciprocity']:.2f}", (r["last"] or "")[:10])
    console().print(t)


@app.command()
@click.argument("a")
@click.argument("b")
@click.option("--bucket", type=click.Choice(["week", "month"]), default="month", show_default=True)
@click.option("--chart", "chart_file", type=click.Path(path_type=Path), default=None,
              help="Also draw the relationship to FILE (.svg, .png or .html).")
@json_option
@db_option
@user_errors
def pair(a: str, b: str, bucket: str, chart_file: Path | None, as_json: bool, db: Path | None) -> None:
    """Both directions of a relationship over time, with its signals and news."""
    from tiewatch.views.pair import pair_view

    with open_store(db) as store:
        view = pair_view(store, a, b, bucket)
    if chart_file:
        from tiewatch.views.charts import pair_chart, save_chart

        save_chart(pair_chart(view), chart_file)
    if as_json:
        print_json(view.as_json())
        return
    t = Table(bucket, f"{view.a.label} → {view.b.label}", "share of posts", "tie",
              f"{view.b.label} → {view.a.label}", "share of posts", "tie", title=f"{view.a} and {view.b}")
    for p in view.periods:
        t.add_row(p["period"][:10], str(p["a_to_b"]), _pct(p["a_share_of_b_posts"]), f"{p['tie_a_to_b']:.1f}",
                  str(p["b_to_a"]), _pct(p["b_share_of_a_posts"]), f"{p['tie_b_to_a']:.1f}")
    console().print(t)
    for s in view.signals:
        console().print(f"[bold]{s['kind']}[/bold] {(s['ts'] or s['start'] or '')[:10]}: {s['summary']}")
    for n in view.news:
        console().print(f"news {n['ts'][:10]}: {n['title']} ({n['url']})")
    if chart_file:
        console().print(f"chart written to {chart_file}")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


@app.command()
@click.argument("name")
@click.option("--chart", "chart_file", type=click.Path(path_type=Path), default=None,
              help="Also draw followers with audience signals to FILE (.svg, .png or .html).")
@json_option
@db_option
@user_errors
def account(name: str, chart_file: Path | None, as_json: bool, db: Path | None) -> None:
    """An account: follower counts with audience signals, strongest ties now and a year earlier, signals."""
    from tiewatch.views.account import account_view

    with open_store(db) as store:
        view = account_view(store, name)
    if chart_file:
        from tiewatch.views.charts import account_chart, save_chart

        save_chart(account_chart(view), chart_file)
    if as_json:
        print_json(view.as_json())
        return
    c = console()
    c.print(f"[bold]{view.account}[/bold]")
    if view.followers:
        c.print(f"followers: {view.followers[0]['followers']:,} ({view.followers[0]['ts'][:10]}) -> "
                f"{view.followers[-1]['followers']:,} ({view.followers[-1]['ts'][:10]})")
    for title, rows in (("strongest ties now", view.ties_now), ("a year earlier", view.ties_year_ago)):
        t = Table("account", "tie", "out", "in", title=title)
        for r in rows:
            t.add_row(r["account"], f"{r['tie']:.1f}", f"{r['out']:.1f}", f"{r['in']:.1f}")
        c.print(t)
    for s in view.signals[:15]:
        c.print(f"[bold]{s['kind']}[/bold] {(s['ts'] or s['start'] or '')[:10]}: {s['summary']}")
    if chart_file:
        c.print(f"chart written to {chart_file}")


@app.command()
@click.argument("a")
@click.argument("b", required=False)
@_time_option("--since", "Only signals and news from this time on.")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout.")
@db_option
@user_errors
def brief(a: str, b: str | None, since: str | None, fmt: str, out: Path | None, db: Path | None) -> None:
    """An article-style brief from stored facts; every sentence cites its evidence."""
    from tiewatch.timefmt import parse_user_time
    from tiewatch.views.brief import build_brief

    with open_store(db) as store:
        doc = build_brief(store, a, b, parse_user_time(since, "--since"))
    text = doc.markdown() if fmt == "md" else doc.html()
    if out:
        out.write_text(text)
        click.echo(f"brief written to {out}")
    else:
        click.echo(text)


@app.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("tiewatch-report"),
              show_default=True, help="Folder for report.html.")
@db_option
@user_errors
def report(out_dir: Path, db: Path | None) -> None:
    """One self-contained HTML file: signals feed, timelines of the top pairs, account charts."""
    from tiewatch.views.report import write_report

    with open_store(db) as store:
        path = write_report(store, out_dir)
    click.echo(f"report written to {path}")


@app.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("tiewatch-demo"), show_default=True,
              help="Folder for the demo database and report.")
@user_errors
def demo(out_dir: Path) -> None:
    """The seed story end to end: generate, ingest, detect, headline signals, brief, report."""
    import time

    from tiewatch.demo import run_demo

    start = time.perf_counter()
    c = console()
    c.print("Generating the seed-story scenario (synthetic, in-package), ingesting and detecting...")
    result = run_demo(out_dir)
    t = Table("kind", "when", "subjects", "q", "summary", title="Headline signals", show_lines=True)
    for s in result.headlines:
        q = f"{s['q_value']:.2g}" if s["q_value"] is not None else "-"
        t.add_row(str(s["kind"]), str(s["ts"] or s["start"] or "")[:10], " → ".join(s["subjects"]), q,  # type: ignore[arg-type]
                  str(s["summary"]))
    c.print(t)
    c.print(result.brief.markdown(), markup=False)
    c.print(f"database: {result.db}\nreport:   {result.report}  (open it in a browser; it works offline)\n"
            f"done in {time.perf_counter() - start:.1f} s")


@app.command()
@click.argument("source", type=click.Choice(["jetstream"]))
@click.option("--url", default=None, help="Jetstream subscribe URL (default: a public Bluesky instance).")
@click.option("--collections", multiple=True, help="Only these collections (repeatable), e.g. app.bsky.feed.like.")
@click.option("--dids", multiple=True, help="Only these accounts' events (repeatable).")
@click.option("--batch", "batch_size", default=500, show_default=True, help="Events per write.")
@click.option("--max-events", default=None, type=int, help="Stop after this many events.")
@click.option("--idle-exit", default=None, type=float, help="Stop after this many seconds without an event.")
@json_option
@db_option
@user_errors
def watch(source: str, url: str | None, collections: tuple[str, ...], dids: tuple[str, ...], batch_size: int,
          max_events: int | None, idle_exit: float | None, as_json: bool, db: Path | None) -> None:
    """Follow a live source, writing in batches; resumes from its stored cursor after a restart."""
    from tiewatch.stream import DEFAULT_URL, WatchStats, watch_jetstream

    def progress(stats: WatchStats) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{stats.received:,} events, {stats.batches:,} batches", err=True, nl=False)

    def retry(reason: str, wait: float) -> None:
        click.echo(f"connection lost or refused ({reason}); retrying in {wait:g} s", err=True)

    with open_store(db) as store:
        stats = watch_jetstream(store, url or DEFAULT_URL, collections=list(collections), dids=list(dids),
                                batch_size=batch_size, max_events=max_events, idle_exit=idle_exit,
                                on_batch=progress, on_retry=retry)
    summary = {"received": stats.received, "batches": stats.batches, "reconnects": stats.reconnects,
               **stats.result.as_json()}
    if as_json:
        print_json(summary)
    else:
        click.echo(f"{stats.received:,} events received in {stats.batches:,} batches; inserted "
                   f"{stats.result.inserted['events']:,} events; {stats.result.duplicates:,} duplicates; "
                   f"{stats.result.rejected:,} rejected; {stats.reconnects} reconnects")


def main() -> None:
    app(prog_name="tiewatch")
