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
def serve(host: str, port: int, tz: str, token_file: Path | None, db: Path | None) -> None:
    """Serve the pages and the JSON API (/api, /openapi.json); one process owns the database."""
    try:
        _serve(host, port, tz, token_file, db)
    except TiewatchError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(exit_status(e))


def _serve(host: str, port: int, tz: str, token_file: Path | None, db: Path | None) -> None:
    import uvicorn

    from tiewatch.store.database import default_db_path
    from tiewatch.views.pages import zone
    from tiewatch.web.app import create_app, read_token

    ctx = click.get_current_context()
    path = db or ctx.find_root().params.get("db") or default_db_path()
    zone(tz)
    token = read_token(token_file, os.environ.get("TIEWATCH_TOKEN"))
    app = create_app(path, tz=tz, token=token, host=host)
    writes = "writes need the bearer token" if token else "read-only (no token: set TIEWATCH_TOKEN or --token-file)"
    click.echo(f"tiewatch serving {path} on http://{host}:{port}/ ({writes}); Ctrl-C stops", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
