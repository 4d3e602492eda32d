"""`tiewatch track ...`: the watch list and the tracker, as Click commands registered by tiewatch.cli."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from tiewatch.cli.common import console, db_option, json_option, open_store, print_json, table, user_errors
from tiewatch.errors import TiewatchError


def _db(db: Path | None) -> Path | None:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root().params.get("db") if ctx else None
    return db or root


@click.group()
def track() -> None:
    """Watch Bluesky accounts: the watch list, the tracker loop and its status."""


@track.command("add")
@click.argument("accounts", nargs=-1, required=True)
@json_option
@db_option
@user_errors
def add_cmd(accounts: tuple[str, ...], as_json: bool, db: Path | None) -> None:
    """Add handles or DIDs (or bsky.app profile links) to the watch list."""
    from tiewatch.track.watchlist import add

    with open_store(db) as store:
        added = add(store, list(accounts))
    if as_json:
        print_json({"added": added})
    else:
        console().print(f"added {len(added)}" + (f": {', '.join(added)}" if added else " (all already watched)"))


@track.command("remove")
@click.argument("accounts", nargs=-1, required=True)
@json_option
@db_option
@user_errors
def remove_cmd(accounts: tuple[str, ...], as_json: bool, db: Path | None) -> None:
    """Stop watching accounts (their data stays in the store)."""
    from tiewatch.track.watchlist import remove

    with open_store(db) as store:
        removed = remove(store, list(accounts))
    if as_json:
        print_json({"removed": removed})
    else:
        console().print(f"removed {len(removed)}: {', '.join(removed)}")


@track.command("list")
@json_option
@db_option
@user_errors
def list_cmd(as_json: bool, db: Path | None) -> None:
    """The watch list and what was resolved for each entry."""
    from tiewatch.track.watchlist import listing

    with open_store(db) as store:
        rows = listing(store)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("the watch list is empty (add accounts with `tiewatch track add HANDLE`)")
        return
    grid = table("entry", "did", "handle", "added", "backfilled")
    for r in rows:
        grid.add_row(r["entry"], r["did"] or "-", r["handle"] or "-", r["added"] or "-", r["backfilled"] or "-")
    console().print(grid)


@track.command("status")
@json_option
@db_option
@user_errors
def status_cmd(as_json: bool, db: Path | None) -> None:
    """Per account: last backfill and snapshots, stream cursor lag, signals, alerts sent and failed, limits."""
    from tiewatch.track.work import status

    rows = status(_db(db))
    if as_json:
        print_json(rows)
        return
    grid = table("account", "backfilled", "last repository fetch (total bytes)", "profiled", "followers",
                 "cursor lag", "signals", "alerts sent", "failed", "held back")
    for r in rows:
        lag = f"{r['cursor_lag_seconds']:.0f}s" if r["cursor_lag_seconds"] is not None else "-"
        fetched = f"{r['last_fetch']} ({r['repo_bytes']:,})" if r["last_fetch"] else "-"
        grid.add_row(r["handle"] or r["entry"], r["backfilled"] or "-", fetched, r["profiled"] or "-",
                      "-" if r["followers"] is None else f"{r['followers']:,}", lag, str(r["signals"]),
                      str(r["sent"]), str(r["failed"]), r["held"] or "")
    console().print(grid)


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
    except ValueError:
        raise TiewatchError(f"{text!r}: not a duration (like 90s, 15m, 2h)") from None
    if not math.isfinite(value) or value <= 0:
        raise TiewatchError(f"{text!r}: a duration must be a positive number of seconds, minutes, hours or days")
    return value


@track.command("run")
@click.option("--once", is_flag=True, help="Do one period and exit (for cron).")
@click.option("--every", default="15m", show_default=True, help="Period length (e.g. 90s, 15m, 1h).")
@click.option("--alerts", "alerts_file", type=click.Path(path_type=Path), default=None,
              help="TOML file of alert channels and rules (and optionally [endpoints]).")
@click.option("--followers-every", default="24h", show_default=True, help="How often to list followers.")
@click.option("--backfill-every", default="24h", show_default=True,
              help="How often to compare each repository with the stored revision (Jetstream covers the rest).")
@click.option("--follower-cap", default=10000, show_default=True, help="At most this many followers per account.")
@click.option("--alert-history", is_flag=True, help="Also alert the signals found before tracking began.")
@click.option("--idle-exit", default=3.0, show_default=True,
              help="With --once: stop listening to Jetstream after this many seconds without an event.")
@json_option
@db_option
@user_errors
def run_cmd(once: bool, every: str, alerts_file: Path | None, followers_every: str, backfill_every: str,
            follower_cap: int,
            alert_history: bool, idle_exit: float, as_json: bool, db: Path | None) -> None:
    """Resolve, backfill, snapshot, follow Jetstream live, detect and alert, one period after another.

    Ctrl-C or `kill` stop it at the next safe point; everything written before is kept."""
    from tiewatch.track.runner import RunOptions, run

    options = RunOptions(period=_duration(every), once=once, alerts_file=alerts_file,
                         followers_every=_duration(followers_every), backfill_every=_duration(backfill_every),
                         follower_cap=follower_cap,
                         alert_history=alert_history, idle_exit=idle_exit)

    def say(line: str) -> None:
        if not as_json:
            click.echo(line, err=True)

    reports = run(_db(db), options, say=say)
    if as_json:
        click.echo(json.dumps(reports[-1] if once and reports else reports, default=str))
