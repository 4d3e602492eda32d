"""`tiewatch gaps`: the longest unusual gaps between two accounts (message data), ranked and NOT tested.

Where the renewal silence test has no power (pairs with few days of contact, see detect/renewal.py), a
reader may still want to see which pairs paused far longer than usual. This lists each pair's longest gap
in the sender's active days, ranked by its length over the median of the pair's gaps; it carries no p-value
and is not a discovery.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from tiewatch.cli import console, db_option, json_option, open_store, print_json, user_errors


@click.command()
@click.option("--limit", default=30, show_default=True, help="At most this many pairs.")
@json_option
@db_option
@user_errors
def gaps(limit: int, as_json: bool, db: Path | None) -> None:
    """The longest unusual gaps between two accounts (messages, mentions), ranked; NOT tested."""
    from tiewatch.detect.base import Context, Window
    from tiewatch.detect.dialect import DUCKDB
    from tiewatch.detect.renewal import long_gaps, renewal_histogram

    with open_store(db) as store:
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        renewal_histogram(ctx)
        rows = long_gaps(ctx, limit=limit)
    if as_json:
        print_json(rows)
        return
    t = Table("pair", "from", "to", "gap (active days)", "median gap", "gaps", title="Longest gaps (not tested)")
    for r in rows:
        end = r["end"].isoformat()[:10] if r["end"] else "still open"
        t.add_row(" → ".join(r["subjects"]), r["start"].isoformat()[:10], end, str(r["gap_active_days"]),
                  f"{r['median_active_days']:g}", str(r["spacings"]))
    console().print(t)
    console().print("Not a test: these pauses are ranked by length over the pair's median, with no p-value.")
