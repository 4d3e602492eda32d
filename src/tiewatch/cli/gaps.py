"""`tiewatch gaps`: the longest unusual gaps between two accounts (message data), ranked and NOT tested.

Where the renewal silence test has no power (pairs with few days of contact, see detect/renewal.py), a
reader may still want to see which pairs paused far longer than usual. This lists each pair's longest gap
in the sender's active days, ranked by its length over the median of the pair's gaps; it carries no p-value
and is not a discovery.
"""

from __future__ import annotations

from pathlib import Path

import click

from tiewatch.cli.common import db_option, json_option, open_db, plain, print_json, table, text, user_errors


@click.command()
@click.option("--limit", default=30, show_default=True, help="At most this many pairs.")
@json_option
@db_option
@user_errors
def gaps(limit: int, as_json: bool, db: Path | None) -> None:
    """The longest unusual gaps between two accounts (messages, mentions), ranked; NOT tested."""
    with open_db(db) as tw:
        rows = tw.gaps(limit=limit)
    if as_json:
        print_json(rows)
        return
    t = table("pair", "from", "to", "gap (active days)", "median gap", "gaps", title="Longest gaps (not tested)")
    for r in rows:
        end = r["end"].isoformat()[:10] if r["end"] else "still open"
        t.add_row(plain(" → ".join(r["subjects"])), r["start"].isoformat()[:10], end, str(r["gap_active_days"]),
                  f"{r['median_active_days']:g}", str(r["spacings"]))
    from tiewatch.cli.common import console

    console().print(t)
    text("Not a test: these pauses are ranked by length over the pair's median, with no p-value.")
