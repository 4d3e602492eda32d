"""The `serve` command (registered in tiewatch.cli). Imports the web stack only when run, so `--help` stays
cheap."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from tiewatch.errors import TiewatchError, exit_status


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Off loopback, reads need the token too.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--tz", default="UTC", show_default=True, help="Time zone for pages (e.g. Asia/Seoul or KST).")
@click.option("--token-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File holding the bearer token for writes (default: $TIEWATCH_TOKEN; none: read-only).")
@click.option("--db", "db", type=click.Path(path_type=Path), default=None,
              help="Database file (default: $TIEWATCH_DB, else ./tiewatch.duckdb).")
@click.option("--track", is_flag=True,
              help="Also run the watch-list tracker (as `track run`) in this process; new signals reach the feed live.")
@click.option("--every", default="15m", show_default=True, metavar="DURATION",
              help="With --track: the tracker's period (like 90s, 15m, 2h).")
@click.option("--alerts", "alerts_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="With --track: the alert file (channels and rules, as for `track run --alerts`).")
def serve(host: str, port: int, tz: str, token_file: Path | None, db: Path | None, track: bool, every: str,
          alerts_file: Path | None) -> None:
    """Serve the pages and the JSON API (/api, /openapi.json); one process owns the database.

    With --track the same process tracks the watch list; Ctrl-C stops both (the tracker at its next safe
    point: what it wrote is kept)."""
    try:
        _serve(host, port, tz, token_file, db, track=track, every=every, alerts_file=alerts_file)
    except TiewatchError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(exit_status(e))


def duration(text: str) -> float:
    """A period as typed (90s, 15m, 2h, 1d, or seconds) in seconds."""
    from tiewatch.errors import InvalidInput

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t[-1:] in units else float(t)
    except ValueError:
        raise InvalidInput(f"--every {text!r}: not a duration (like 90s, 15m, 2h)") from None
    if not value > 0 or value == float("inf"):
        raise InvalidInput(f"--every {text!r}: a duration must be positive")
    return value


def _serve(host: str, port: int, tz: str, token_file: Path | None, db: Path | None, *, track: bool = False,
           every: str = "15m", alerts_file: Path | None = None) -> None:
    import uvicorn

    from tiewatch.errors import InvalidInput
    from tiewatch.store.database import default_db_path
    from tiewatch.views.pages import zone
    from tiewatch.web.app import create_app, read_token

    ctx = click.get_current_context()
    path = db or ctx.find_root().params.get("db") or default_db_path()
    zone(tz)
    token = read_token(token_file, os.environ.get("TIEWATCH_TOKEN"))
    tracker = None
    if track:
        from tiewatch.web.tracking import Tracker

        tracker = Tracker(Path(path), period_s=duration(every), alerts_file=alerts_file,
                          say=lambda line: click.echo(f"track: {line}", err=True))
    elif alerts_file is not None or every != "15m":
        raise InvalidInput("--every and --alerts are for --track")
    app = create_app(path, tz=tz, token=token, host=host, tracker=tracker)
    writes = "writes need the bearer token" if token else "read-only (no token: set TIEWATCH_TOKEN or --token-file)"
    tracking = f", tracking the watch list every {every}" if track else ""
    click.echo(f"tiewatch serving {path} on http://{host}:{port}/ ({writes}{tracking}); Ctrl-C stops", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
