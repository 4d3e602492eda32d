"""`tiewatch export --parquet DIR` and the options that choose where `tiewatch detect` runs (DuckDB or Spark)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tiewatch.cli.common import db_option, json_option, open_db, print_json, text, user_errors

F = TypeVar("F", bound=Callable[..., Any])


def engine_options(fn: F) -> F:
    """--engine, --master, --remote, --lake (for `detect`)."""
    options = [
        click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
                     help="Where the detectors' SQL runs; signals are stored in --db either way."),
        click.option("--master", default=None, metavar="URL",
                     help="Spark master for --engine spark (default local[2]; e.g. spark://HOST:7077, yarn)."),
        click.option("--remote", default=None, metavar="sc://HOST:PORT",
                     help="A Spark Connect server for --engine spark, instead of --master."),
        click.option("--lake", default=None, type=click.Path(path_type=Path),
                     help="Parquet lake Spark reads (from `tiewatch export --parquet`; default: the store, "
                          "exported to <db>.lake)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command()
@click.option("--parquet", "parquet", required=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Folder of the Parquet lake (created, or brought up to date).")
@json_option
@db_option
@user_errors
def export(parquet: Path, as_json: bool, db: Path | None) -> None:
    """Write the canonical tables as a Parquet lake (events by platform and month) for Spark and other engines.

    Idempotent and resumable: a partition already exported with the same rows is not written again; each
    partition is written to a temporary folder and renamed into place. `tiewatch ingest DIR` reads it back.
    """
    with open_db(db, read_only=True) as tw:
        summary = tw.export_parquet(parquet)
    if as_json:
        print_json(summary.as_json())
        return
    text(f"{parquet}: wrote {len(summary.written):,} partition(s), {sum(summary.written.values()):,} rows; "
         f"{summary.unchanged:,} partition(s) already up to date")
