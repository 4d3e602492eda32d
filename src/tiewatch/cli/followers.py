"""`tiewatch followers` and `tiewatch growth`: the follower answers people bring an export for."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click

from tiewatch.cli.common import (
    console,
    db_option,
    escaped,
    json_option,
    open_db,
    plain,
    print_json,
    table,
    text,
    user_errors,
)

LABELS = {"new_follower": "new followers", "lost_follower": "lost followers", "vanished": "vanished",
          "you_followed": "you followed", "you_unfollowed": "you unfollowed"}


def _write_csv(rows: list[dict[str, Any]], columns: list[str]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in columns})


@click.command()
@click.argument("account")
@click.option("--since", default=None, metavar="TIME", help="Only changes from this time on (ISO 8601).")
@click.option("--until", default=None, metavar="TIME", help="Only changes up to this time; lists as of then.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output: one row per change or list member.")
@json_option
@db_option
@user_errors
def followers(account: str, since: str | None, until: str | None, as_csv: bool, as_json: bool,
              db: Path | None) -> None:
    """New and lost followers, unfollows, not following back and mutuals, from stored snapshots.

    A change seen only by comparing two exports is shown with the interval it happened in ("between 1 March
    and 1 April 2024"); a time the platform gives exactly is shown as such."""
    from tiewatch.timefmt import parse_user_time
    from tiewatch.views.followers import VANISHED_NOTE

    with open_db(db, read_only=True) as tw:
        view = tw.followers(account, since=parse_user_time(since, "--since"), until=parse_user_time(until, "--until"))
    if as_json:
        print_json(view.as_json())
        return
    if as_csv:
        _write_csv(view.csv_rows(), ["change", "account", "name", "start", "end", "exact", "when", "note"])
        return
    c = console()
    if view.followers_taken is None and view.following_taken is None:
        text(f"{view.account}: no follower or following snapshot stored (ingest an export or archive); "
             "changes below come from dated events only")
    else:
        def count(n: int | None, taken: Any) -> str:
            return f"{n:,} (snapshot {str(taken)[:10]})" if n is not None else "? (no snapshot)"

        text(f"{view.account}: {count(view.followers, view.followers_taken)} followers, "
             f"{count(view.following, view.following_taken)} following")
    for kind, label in LABELS.items():
        changes = view.of(kind)
        if not changes:
            continue
        t = table("account", "name", "when", title=f"{label} ({len(changes)})", title_justify="left")
        for ch in changes:
            t.add_row(plain(ch.account), plain(ch.name or ""), ch.when)
        c.print(t)
        if kind == "vanished":
            text(f"  vanished: {VANISHED_NOTE}")
            for ch in changes:
                if ch.note != VANISHED_NOTE:
                    text(f"  {ch.account}: {ch.note.removeprefix(VANISHED_NOTE + '; ')}")
    for label, members in (("not following back", view.not_following_back), ("mutuals", view.mutuals)):
        if members is None:
            text(f"{label}: unknown (needs a followers and a following snapshot)")
            continue
        text(f"{label} ({len(members)}): " + ", ".join(a for a, _ in members[:200])
             + (" ..." if len(members) > 200 else ""))


@click.command()
@click.argument("accounts", nargs=-1, required=True)
@click.option("--since", default=None, metavar="TIME", help="Only observations from this time on.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output: one row per account and observation.")
@click.option("--chart", "chart_file", type=click.Path(path_type=Path), default=None,
              help="Also draw every account on one chart to FILE (.svg, .png or .html).")
@json_option
@db_option
@user_errors
def growth(accounts: tuple[str, ...], since: str | None, as_csv: bool, chart_file: Path | None, as_json: bool,
           db: Path | None) -> None:
    """Follower growth side by side: deltas per day, week and month, averages, last 30 days, projection.

    Irregularly spaced counts are handled: each change is divided by the days it spans."""
    from tiewatch.timefmt import parse_user_time

    with open_db(db, read_only=True) as tw:
        views = tw.growth(list(accounts), since=parse_user_time(since, "--since"))
        if chart_file:
            tw.growth_chart(views, chart_file)
    if as_json:
        print_json([g.as_json() for g in views])
        return
    if as_csv:
        rows = [{"account": g.account.account, "platform": g.account.platform, **r, "ts": r["ts"].isoformat()}
                for g in views for r in g.rows]
        _write_csv(rows, ["platform", "account", "ts", "followers", "change", "days", "per_day", "per_week",
                          "per_month"])
        return
    c = console()
    for g in views:
        t = table("date", "followers", "change", "days", "per day", "per week", "per month",
                  title=escaped(f"{g.account} (from {g.source})"), title_justify="left")
        for r in g.rows:
            t.add_row(str(r["ts"])[:10], f"{r['followers']:,}", _num(r["change"], "+,.0f"), _num(r["days"], ".1f"),
                      _num(r["per_day"], "+,.1f"), _num(r["per_week"], "+,.0f"), _num(r["per_month"], "+,.0f"))
        c.print(t)
    side = table("", *(escaped(g.account.label) for g in views), title="side by side", title_justify="left")
    keys = [("followers", "followers", ",.0f"), ("last", "latest observation", ""), ("change", "change", "+,.0f"),
            ("avg_per_day", "average per day", "+,.1f"), ("avg_per_week", "average per week", "+,.0f"),
            ("avg_per_month", "average per month", "+,.0f"), ("last_30_days", "last 30 days", "+,.0f")]
    for key, label, fmt in keys:
        side.add_row(label, *(_num(g.summary.get(key), fmt) if fmt else str(g.summary.get(key, ""))[:10]
                              for g in views))
    for i, h in enumerate((30, 90, 365)):
        side.add_row(f"in {h} days (95%)", *(
            f"{g.projection[i]['followers']:,} ({g.projection[i]['low']:,} to {g.projection[i]['high']:,})"
            if len(g.projection) > i else "-" for g in views))
    c.print(side)
    if chart_file:
        text(f"chart written to {chart_file}")


def _num(value: Any, fmt: str) -> str:
    return "" if value is None else format(value, fmt)
