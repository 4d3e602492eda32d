"""The command line: a thin Click layer that parses options, calls the library API and prints.

One error boundary (cli.common.TiewatchGroup) turns every failure into one line on stderr, never a traceback:
known failures as `Error [code]: message` with their exit status, Ctrl-C as 130, anything unexpected as
`Error [internal]: ...` with 70. Data reaches the terminal as plain text, never as markup. Commands live
in this package, one module per group of commands (`followers.py`: followers and growth); the
helpers they share are in `common.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tiewatch import __version__
from tiewatch.cli.common import (
    TiewatchGroup,
    console,
    db_option,
    escaped,
    json_option,
    open_db,
    plain,
    print_json,
    progress_bar,
    table,
    text,
    time_option,
    user_errors,
)
from tiewatch.cli.lake import engine_options
from tiewatch.detect.registry import signal_kinds
from tiewatch.errors import TiewatchError
from tiewatch.safetext import plain as safe
from tiewatch.sources.registry import formats as source_formats


@click.group(cls=TiewatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tiewatch")
@db_option
def app(db: Path | None) -> None:
    """tiewatch: watch the ties between public accounts and report, with evidence, when one changes."""


@app.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--table", default=None, help="events, metrics, news or accounts (default: from the columns).")
@click.option("--format", "fmt", default=None, help=f"One of {', '.join(source_formats())} (default: from name, "
                                                    "layout and content).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="Read a field from a column.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Fill a field with a constant.")
@click.option("--strict", is_flag=True, help="Refuse a file whole at its first bad record.")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="When the export was made, for one export that does not say (dates its follower snapshots).")
@json_option
@db_option
@user_errors
def ingest(paths: tuple[Path, ...], table: str | None, fmt: str | None, maps: tuple[str, ...],
           sets: tuple[str, ...], strict: bool, as_of: str | None, as_json: bool, db: Path | None) -> None:
    """Load files and folders: idempotent, all-or-nothing per file, bad records to quarantine."""
    from tiewatch.ingest.canonical import FieldMapping
    from tiewatch.timefmt import parse_user_time

    mapping = FieldMapping.parse(list(maps), list(sets))
    if as_of and len(paths) > 1:
        raise TiewatchError("--as-of dates one export: ingest exports that need it one at a time")
    with open_db(db) as tw, progress_bar("ingest") as progress:
        summary = tw.ingest(list(paths), table=table, fmt=fmt, maps=mapping.renames, sets=mapping.constants,
                            strict=strict, as_of=parse_user_time(as_of, "--as-of"), progress=progress)
    for note in summary.skipped:
        click.echo(safe(f"skipped: {note}"), err=True)
    for err in summary.errors:
        click.echo(safe(f"error: {err}"), err=True)
    for warning in summary.warnings:
        click.echo(safe(f"WARNING: {warning}"), err=True)
    if as_json:
        print_json({k: v for k, v in summary.as_json().items()
                    if k in ("inserted", "duplicates", "rejected", "set_aside", "warnings")})
    else:
        ins = ", ".join(f"{n:,} {k}" for k, n in summary.inserted.items() if n) or "nothing"
        text(f"{summary.files} file(s): inserted {ins}; {summary.duplicates:,} duplicates; {summary.rejected:,} "
             "rejected" + (" (see `tiewatch quarantine`)" if summary.rejected else "")
             + (f"; {summary.set_aside:,} records of other apps set aside" if summary.set_aside else ""))
    if summary.errors or summary.warnings:
        sys.exit(1)


@app.command()
@json_option
@db_option
@user_errors
def stats(as_json: bool, db: Path | None) -> None:
    """What the store holds: events by kind and platform, metrics, news, accounts, quarantine."""
    with open_db(db, read_only=True) as tw:
        s = tw.stats()
    if as_json:
        print_json(s)
        return
    ev: dict[str, Any] = s["events"]
    t = table(title="tiewatch store", show_header=False)
    t.add_row("events", f"{ev['total']:,}  ({ev['first']} .. {ev['last']})")
    for k, n in ev["by_kind"].items():
        t.add_row(f"  {k}", f"{n:,}")
    for k in ("metrics", "news", "accounts", "signals", "quarantine"):
        t.add_row(k, f"{s[k]:,}")
    console().print(t)


@app.command("accounts")
@click.option("--search", default=None, help="Text in the handle or name.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=0))
@json_option
@db_option
@user_errors
def accounts_cmd(search: str | None, limit: int, as_json: bool, db: Path | None) -> None:
    """List accounts, most active first."""
    with open_db(db, read_only=True) as tw:
        rows = tw.accounts(search, limit)
    if as_json:
        print_json(rows)
        return
    t = table("platform", "account", "name", "kind", "events")
    for r in rows:
        t.add_row(*(plain(v or "") for v in (r.platform, r.account, r.name, r.kind)), f"{r.events:,}")
    console().print(t)


@app.command()
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(min=0))
@click.option("--clear", is_flag=True, help="Delete the quarantined records (of --file, else all).")
@click.option("--retry", is_flag=True, help="Ingest the quarantined files again (with --map/--set/--table/--format "
                                            "given now); a file that then loads drops its old quarantine rows.")
@click.option("--file", "files", multiple=True, metavar="FILE", help="Only this file's records (repeatable).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="With --retry: read a field from a column.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="With --retry: fill a field with a constant.")
@click.option("--table", default=None, help="With --retry: the table to load into.")
@click.option("--format", "fmt", default=None, help="With --retry: the files' format.")
@json_option
@db_option
@user_errors
def quarantine(limit: int, clear: bool, retry: bool, files: tuple[str, ...], maps: tuple[str, ...],
               sets: tuple[str, ...], table: str | None, fmt: str | None, as_json: bool, db: Path | None) -> None:
    """Records that could not be stored, with file, line and reason; clear them, or retry after a fix."""
    if clear and retry:
        raise TiewatchError("--clear and --retry: choose one (--retry already clears what then loads)")
    if clear or retry:
        from tiewatch.ingest.canonical import FieldMapping

        with open_db(db, create=False) as tw:
            if clear:
                n = tw.clear_quarantine(list(files))
                print_json({"cleared": n}) if as_json else click.echo(f"cleared {n:,} quarantined record(s)")
                return
            mapping = FieldMapping.parse(list(maps), list(sets))
            report = tw.retry_quarantine(maps=mapping.renames, sets=mapping.constants, table=table, fmt=fmt,
                                         files=list(files))
        for note in report.skipped:
            click.echo(safe(f"skipped: {note}"), err=True)
        for err in report.errors:
            click.echo(safe(f"error: {err}"), err=True)
        r = report.result
        if as_json:
            print_json({**r.as_json(), "cleared": report.cleared})
        else:
            ins = ", ".join(f"{n:,} {k}" for k, n in r.inserted.items() if n) or "nothing"
            click.echo(f"retried {r.files} file(s): inserted {ins}; {r.rejected:,} still rejected; "
                       f"{report.cleared:,} old quarantine rows cleared")
        if report.errors:
            sys.exit(1)
        return
    with open_db(db, read_only=True) as tw:
        rows = tw.quarantine(limit)
    if files:
        wanted = {str(Path(f)) for f in files}
        rows = [row for row in rows if str(row.file).split("!", 1)[0] in wanted]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(safe(f"{row.file}:{row.line if row.line is not None else '?'}: {row.reason}"))


@app.command()
@time_option("--since", "Only data from this time on (ISO 8601; naive = UTC).")
@time_option("--until", "Only data before this time.")
@click.option("--fdr", default=0.05, show_default=True, type=float, help="False-discovery rate to control.")
@engine_options
@json_option
@db_option
@user_errors
def detect(since: str | None, until: str | None, fdr: float, engine: str, master: str | None, remote: str | None,
           lake: Path | None, as_json: bool, db: Path | None) -> None:
    """Run every detector, control the false-discovery rate across all tests, store the signals."""
    from tiewatch.timefmt import parse_user_time

    window = parse_user_time(since, "--since"), parse_user_time(until, "--until")
    with open_db(db, create=False) as tw, progress_bar("detect") as progress:
        report = tw.detect(since=window[0], until=window[1], fdr=fdr, progress=progress, engine=engine,
                           master=master, remote=remote, lake=lake)
    if as_json:
        print_json(report.as_json())
        return
    t = table("signal", "count", title=f"signals at FDR {fdr:g}")
    for kind, n in sorted(report.counts.items()):
        t.add_row(kind, f"{n:,}")
    t.add_row("total", f"{report.total:,}")
    console().print(t)
    tests = ", ".join(f"{n:,} {k}" for k, n in report.tests.items())
    text(f"tests run: {tests or 'none'}")
    if any(report.untestable.values()):  # tests that could never be significant (Tarone)
        untestable = ", ".join(f"{n:,} {k}" for k, n in report.untestable.items())
        text(f"untestable (no power): {untestable}")


@app.command()
@click.option("--kind", default=None, type=click.Choice(signal_kinds()), help="Only this kind.")
@click.option("--account", default=None, help="Only signals naming this account.")
@time_option("--since", "Only signals from this time on.")
@time_option("--until", "Only signals before this time.")
@click.option("--limit", default=None, type=int, help="At most this many.")
@json_option
@db_option
@user_errors
def signals(kind: str | None, account: str | None, since: str | None, until: str | None, limit: int | None,
            as_json: bool, db: Path | None) -> None:
    """List stored signals, the most significant first."""
    from tiewatch.timefmt import parse_user_time

    with open_db(db, read_only=True) as tw:
        rows = tw.signals(kind=kind, account=account, since=parse_user_time(since, "--since"),
                          until=parse_user_time(until, "--until"), limit=limit)
    if as_json:
        print_json(rows)
        return
    t = table("kind", "when", "subjects", "q", "summary", show_lines=True)
    for r in rows:
        q = f"{r.q_value:.2g}" if r.q_value is not None else "-"
        when = r.ts or r.start
        t.add_row(r.kind, f"{when:%Y-%m-%d}" if when else "", plain(" → ".join(r.subjects)), q, plain(r.summary))
    console().print(t)


@app.command()
@click.argument("account")
@time_option("--at", "The time to measure at (default: the latest event).")
@click.option("--limit", default=20, show_default=True)
@json_option
@db_option
@user_errors
def ties(account: str, at: str | None, limit: int, as_json: bool, db: Path | None) -> None:
    """An account's strongest ties at a time, both directions."""
    from tiewatch.timefmt import parse_user_time

    with open_db(db, read_only=True) as tw:
        acc = tw.resolve(account)
        rows = tw.ties(f"{acc.platform}:{acc.account}", at=parse_user_time(at, "--at"), limit=limit)
    if as_json:
        print_json(rows)
        return
    t = table("account", "name", "tie", "out", "in", "reciprocity", "last", title=escaped(f"ties of {acc}"))
    for r in rows:
        t.add_row(plain(r.account), plain(r.name or ""), f"{r.tie:.1f}", f"{r.out:.1f}", f"{r.in_:.1f}",
                  f"{r.reciprocity:.2f}", f"{r.last:%Y-%m-%d}" if r.last else "")
    console().print(t)


@app.command()
@click.argument("a")
@click.argument("b")
@click.option("--bucket", type=click.Choice(["week", "month"]), default="month", show_default=True)
@click.option("--chart", "chart_file", type=click.Path(path_type=Path), default=None,
              help="Also draw the relationship to FILE (.svg, .png or .html).")
@click.option("--tz", default="UTC", show_default=True, help="Time zone of the chart's axis (e.g. Asia/Seoul, KST).")
@json_option
@db_option
@user_errors
def pair(a: str, b: str, bucket: str, chart_file: Path | None, tz: str, as_json: bool, db: Path | None) -> None:
    """Both directions of a relationship over time, with its signals and news."""
    with open_db(db, read_only=True) as tw:
        view = tw.pair(a, b, bucket=bucket)
        if chart_file:
            tw.chart(view, chart_file, tz=tz)
    if as_json:
        print_json(view.as_json())
        return
    t = table(bucket, escaped(f"{view.a.label} → {view.b.label}"), "share of posts", "tie",
              escaped(f"{view.b.label} → {view.a.label}"), "share of posts", "tie",
              title=escaped(f"{view.a} and {view.b}"))
    for p in view.periods:
        t.add_row(p["period"][:10], str(p["a_to_b"]), _pct(p["a_share_of_b_posts"]), f"{p['tie_a_to_b']:.1f}",
                  str(p["b_to_a"]), _pct(p["b_share_of_a_posts"]), f"{p['tie_b_to_a']:.1f}")
    console().print(t)
    for s in view.signals:
        text(f"{s['kind']} {(s['ts'] or s['start'] or '')[:10]}: {s['summary']}")
    for n in view.news:
        text(f"news {n['ts'][:10]}: {n['title']} ({n['url']})")
    if chart_file:
        text(f"chart written to {chart_file}")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


@app.command()
@click.argument("name")
@click.option("--chart", "chart_file", type=click.Path(path_type=Path), default=None,
              help="Also draw followers with audience signals to FILE (.svg, .png or .html).")
@click.option("--tz", default="UTC", show_default=True, help="Time zone of the chart's axis (e.g. Asia/Seoul, KST).")
@json_option
@db_option
@user_errors
def account(name: str, chart_file: Path | None, tz: str, as_json: bool, db: Path | None) -> None:
    """An account: follower counts with audience signals, strongest ties now and a year earlier, signals."""
    with open_db(db, read_only=True) as tw:
        view = tw.account(name)
        if chart_file:
            tw.chart(view, chart_file, tz=tz)
    if as_json:
        print_json(view.as_json())
        return
    c = console()
    text(str(view.account))
    if view.followers:
        text(f"followers: {view.followers[0]['followers']:,} ({view.followers[0]['ts'][:10]}) -> "
             f"{view.followers[-1]['followers']:,} ({view.followers[-1]['ts'][:10]})")
    for title, rows in (("strongest ties now", view.ties_now), ("a year earlier", view.ties_year_ago)):
        t = table("account", "tie", "out", "in", title=title)
        for r in rows:
            t.add_row(plain(r["account"]), f"{r['tie']:.1f}", f"{r['out']:.1f}", f"{r['in']:.1f}")
        c.print(t)
    for s in view.signals[:15]:
        text(f"{s['kind']} {(s['ts'] or s['start'] or '')[:10]}: {s['summary']}")
    if chart_file:
        text(f"chart written to {chart_file}")


@app.command()
@click.argument("a")
@click.argument("b", required=False)
@time_option("--since", "Only signals and news from this time on.")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout.")
@click.option("--tz", default="UTC", show_default=True, help="Time zone of the brief's dates (e.g. Asia/Seoul, KST).")
@db_option
@user_errors
def brief(a: str, b: str | None, since: str | None, fmt: str, out: Path | None, tz: str, db: Path | None) -> None:
    """An article-style brief from stored facts; every sentence cites its evidence.

    The brief the web page and the report show: a lede, a chronology of signals and news, numbered footnotes
    naming the stored records."""
    from tiewatch.outfiles import write_text
    from tiewatch.timefmt import parse_user_time

    with open_db(db, read_only=True) as tw:
        doc = tw.brief(a, b, since=parse_user_time(since, "--since"), tz=tz)
    body = doc.markdown() if fmt == "md" else doc.html()
    if out:
        write_text(out, body)
        click.echo(safe(f"brief written to {out}"))
    else:
        click.echo(body)


@app.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("tiewatch-report"),
              show_default=True, help="Folder for the pages (index.html is the feed).")
@click.option("--account", default=None, help="Only signals naming this account.")
@time_option("--since", "Only signals from this time on.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(0), help="The most significant N signals.")
@click.option("--tz", default="UTC", show_default=True, help="Time zone for dates on the pages (e.g. Asia/Seoul).")
@db_option
@user_errors
def report(out_dir: Path, account: str | None, since: str | None, limit: int, tz: str, db: Path | None) -> None:
    """Export the web pages (feed, signals, pairs, accounts, briefs) as static files that open offline."""
    from tiewatch.timefmt import parse_user_time

    with open_db(db, read_only=True) as tw, progress_bar("report") as progress:
        path = tw.report(out_dir, account=account, since=parse_user_time(since, "--since"), limit=limit, tz=tz,
                         progress=progress)
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
    text("Generating the seed-story scenario (synthetic, in-package), ingesting and detecting...")
    result = run_demo(out_dir)
    t = table("kind", "when", "subjects", "q", "summary", title="Headline signals", show_lines=True)
    for s in result.headlines:
        q = f"{s['q_value']:.2g}" if s["q_value"] is not None else "-"
        t.add_row(str(s["kind"]), str(s["ts"] or s["start"] or "")[:10], plain(" → ".join(s["subjects"])), q,  # type: ignore[arg-type]
                  plain(s["summary"]))
    c.print(t)
    c.print(result.brief.markdown(), markup=False)
    text(f"database: {result.db}\nreport:   {result.report}  (open it in a browser; it works offline)\n"
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
    from tiewatch.stream import WatchStats

    def progress(stats: WatchStats) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{stats.received:,} events, {stats.batches:,} batches", err=True, nl=False)

    def retry(reason: str, wait: float) -> None:
        click.echo(safe(f"connection lost or refused ({reason}); retrying in {wait:g} s"), err=True)

    def busy(reason: str) -> None:
        click.echo(safe(f"{reason}; keeping the batch in memory and trying again"), err=True)

    with open_db(db) as tw:
        stats = tw.watch_jetstream(url, collections=list(collections), dids=list(dids), batch_size=batch_size,
                                   max_events=max_events, idle_exit=idle_exit, on_batch=progress, on_retry=retry,
                                   on_busy=busy)
    summary = {"received": stats.received, "batches": stats.batches, "reconnects": stats.reconnects,
               **stats.result.as_json()}
    if as_json:
        print_json(summary)
    else:
        click.echo(f"{stats.received:,} events received in {stats.batches:,} batches; inserted "
                   f"{stats.result.inserted['events']:,} events; {stats.result.duplicates:,} duplicates; "
                   f"{stats.result.rejected:,} rejected; {stats.reconnects} reconnects"
                   + (f"; {stats.result.set_aside:,} records of other apps set aside" if stats.result.set_aside
                      else ""))





from tiewatch.cli.followers import followers, growth  # noqa: E402  (registered after the core commands)
from tiewatch.cli.gaps import gaps  # noqa: E402
from tiewatch.cli.lake import export  # noqa: E402

app.add_command(followers)
app.add_command(growth)
app.add_command(gaps)
app.add_command(export)


def _register_track() -> None:
    from tiewatch.cli.track import track  # the tracker's commands live in their own module

    app.add_command(track)


_register_track()


from tiewatch.web.cli import serve  # noqa: E402  (the web command lives in its own module)

app.add_command(serve)


def main() -> None:
    """The console entry point: the error boundary covers Click itself too (Ctrl-C before a command starts,
    a reader such as `head` closing the pipe)."""
    import os

    try:
        app(prog_name="tiewatch")
    except KeyboardInterrupt:
        click.echo("Error [interrupted]: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        sys.exit(141)

