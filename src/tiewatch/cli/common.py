"""What every command shares: options, opening the database through the API, printing data as data, errors."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tiewatch.errors import Interrupted, TiewatchError

if TYPE_CHECKING:  # imported where used: `tiewatch --help` must not pay for DuckDB, pyarrow, numpy or Rich
    from rich.console import Console
    from rich.table import Table

    from tiewatch.api import Tiewatch
    from tiewatch.progress import ProgressCallback, ProgressEvent
    from tiewatch.store import Store

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_WAIT = 10.0


def console(stderr: bool = False) -> Console:
    """The terminal, with Rich markup off: every string printed is data (pass data through `plain`)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, stderr=stderr, markup=False)


def table(*columns: str, **options: Any) -> Table:
    from rich.table import Table

    return Table(*columns, **options)


class Failure(click.ClickException):
    """One line on stderr (`Error [code]: message`) and the error's exit code."""

    def __init__(self, error: TiewatchError) -> None:
        from tiewatch.safetext import plain

        super().__init__(plain(str(error)))
        self.code = error.code
        self.exit_code = error.exit_code  # type: ignore[misc]  # per error, not per class

    def show(self, file: Any = None) -> None:
        click.echo(f"Error [{self.code}]: {self.message}", file=file, err=file is None)


def as_failure(e: BaseException) -> click.ClickException | None:
    """The one-line failure for an exception escaping a command (None: let Click handle it)."""
    if isinstance(e, click.exceptions.ClickException | click.exceptions.Exit | click.exceptions.Abort):
        return None
    if isinstance(e, TiewatchError):
        return Failure(e)
    if isinstance(e, KeyboardInterrupt) or _interrupted_query(e):
        return Failure(Interrupted("interrupted; the store keeps only what was completed before"))
    if isinstance(e, MemoryError):
        return Failure(TiewatchError("out of memory (set TIEWATCH_MEMORY_LIMIT lower, or split the input)",
                                     code="memory"))
    if "duckdb" in sys.modules:
        import duckdb

        from tiewatch.store.database import out_of_room

        if isinstance(e, duckdb.Error) and (message := out_of_room(e)) is not None:
            return Failure(TiewatchError(message, code="memory"))
    if isinstance(e, BrokenPipeError):
        return None  # the reader went away (`| head`): main() ends quietly
    if isinstance(e, OSError):
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        return Failure(TiewatchError(f"{where}{e.strerror or e}", code="os_error"))
    if isinstance(e, Exception):
        try:
            detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
        except Exception:
            detail = ""
        return Failure(TiewatchError(f"internal error ({type(e).__name__}: {detail[:300]}); please report it",
                                     code="internal", exit_code=70))
    return None


def _interrupted_query(e: BaseException) -> bool:
    """DuckDB turns Ctrl-C during a query into its own exception."""
    if "duckdb" not in sys.modules:
        return False
    import duckdb

    return isinstance(e, duckdb.InterruptException) or (
        isinstance(e, RuntimeError) and "interrupted" in str(e).lower())


class TiewatchGroup(click.Group):
    """The error boundary: whatever a command raises leaves as one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BaseException as e:
            failure = as_failure(e)
            if failure is None:
                raise
            raise failure from None


def user_errors(fn: F) -> F:
    """Turn failures into the error boundary's one line (also when a command is invoked on its own)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaseException as e:
            failure = as_failure(e)
            if failure is None:
                raise
            raise failure from None
    return wrapper  # type: ignore[return-value]


def _remember_wait(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
    if value is not None:
        ctx.meta["tiewatch_wait"] = value


def db_option(fn: F) -> F:
    fn = click.option("--wait", type=click.FloatRange(min=0), default=None, expose_value=False, is_eager=True,
                      callback=_remember_wait, metavar="SECONDS",
                      help="When another process is using the database, wait up to this long (default: "
                           "$TIEWATCH_WAIT, else 10).")(fn)
    return click.option("--db", "db", type=click.Path(path_type=Path), default=None,
                        help="Database file (default: $TIEWATCH_DB, else ./tiewatch.duckdb).")(fn)  # type: ignore[return-value]


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(fn)  # type: ignore[return-value]


def wait_seconds() -> float:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and "tiewatch_wait" in ctx.meta:
        return float(ctx.meta["tiewatch_wait"])
    raw = os.environ.get("TIEWATCH_WAIT")
    try:
        return float(raw) if raw else DEFAULT_WAIT
    except ValueError:
        raise TiewatchError(f"TIEWATCH_WAIT={raw!r}: expected a number of seconds") from None


def open_db(db: Path | None, *, read_only: bool = False, create: bool = True) -> Tiewatch:
    """The library object for --db (given to the command or to `tiewatch` itself): read-only commands open it
    read-only and never create it; a busy database is waited for (up to --wait), saying so on stderr."""
    from tiewatch.api import Tiewatch
    from tiewatch.safetext import plain

    ctx = click.get_current_context(silent=True)
    root_db = ctx.find_root().params.get("db") if ctx else None
    return Tiewatch(db or root_db, read_only=read_only, create=create, wait=wait_seconds(),
                    on_wait=lambda message: click.echo(plain(message), err=True))


def open_store(db: Path | None, *, read_only: bool = False, create: bool = True) -> Store:
    """The store itself, for commands whose work the API does not wrap yet (the tracker's)."""
    store: Store = open_db(db, read_only=read_only, create=create).store
    return store


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
    """Print a line of data as plain text: never markup, no control or bidi-override characters."""
    from tiewatch.safetext import plain

    console().print("\n".join(plain(part) for part in line.split("\n")))


def plain(value: object) -> Any:
    """A value shown as itself in a Rich table: never markup, no control or bidi-override characters."""
    from rich.text import Text

    from tiewatch.safetext import plain as plain_text

    return Text(plain_text(value))


def escaped(value: str) -> str:
    """A header or title that shows as itself (Rich reads those strings as markup)."""
    from rich.markup import escape

    from tiewatch.safetext import plain as plain_text

    return escape(plain_text(value))


def time_option(name: str, help_text: str) -> Callable[[F], F]:
    return click.option(name, default=None, metavar="TIME", help=help_text)
