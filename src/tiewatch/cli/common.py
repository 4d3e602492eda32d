"""What every command shares: options, opening the database through the API, printing data as data, errors."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tiewatch.errors import TiewatchError, exit_status

if TYPE_CHECKING:  # imported where used: `tiewatch --help` must not pay for DuckDB, pyarrow, numpy or Rich
    from rich.console import Console
    from rich.table import Table

    from tiewatch.api import Tiewatch
    from tiewatch.progress import ProgressCallback, ProgressEvent

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, stderr=stderr)


def table(*columns: str, **options: Any) -> Table:
    from rich.table import Table

    return Table(*columns, **options)


def user_errors(fn: F) -> F:
    """Turn foreseeable failures into a one-line message and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TiewatchError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(exit_status(e))
        except KeyboardInterrupt:
            click.echo("Error: interrupted; the store keeps every file completed before", err=True)
            sys.exit(130)
    return wrapper  # type: ignore[return-value]


def db_option(fn: F) -> F:
    return click.option("--db", "db", type=click.Path(path_type=Path), default=None,
                        help="Database file (default: $TIEWATCH_DB, else ./tiewatch.duckdb).")(fn)  # type: ignore[return-value]


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(fn)  # type: ignore[return-value]


def open_db(db: Path | None, *, read_only: bool = False) -> Tiewatch:
    """The library object for --db (given to the command or to `tiewatch` itself)."""
    from tiewatch.api import Tiewatch

    ctx = click.get_current_context(silent=True)
    root_db = ctx.find_root().params.get("db") if ctx else None
    return Tiewatch(db or root_db, read_only=read_only)


def print_json(obj: object) -> None:
    from tiewatch.api import dumps

    sys.stdout.write(dumps(obj) + "\n")


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[ProgressCallback | None]:
    """A Rich progress bar on a terminal (stderr), fed by the library's progress events; None elsewhere."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=1.0)

        def update(event: ProgressEvent) -> None:
            bar.update(task, description=f"{event.stage} {event.item}", completed=event.fraction)

        yield update


def text(line: str) -> None:
    """Print a line of plain text: data is never read as markup."""
    console().print(line, markup=False)


def plain(value: object) -> Any:
    """A value shown as itself in a Rich table (never interpreted as markup)."""
    from rich.text import Text

    return Text(str(value))


def escaped(value: str) -> str:
    """A header or title that shows as itself (Rich reads those strings as markup)."""
    from rich.markup import escape

    return escape(value)


def time_option(name: str, help_text: str) -> Callable[[F], F]:
    return click.option(name, default=None, metavar="TIME", help=help_text)
