"""Errors a user can cause and fix: front ends print them as one line, never as a traceback.

Each error carries a machine-readable `code` (shown in brackets and in `--json` error output) and the exit
status the command line uses for it.
"""


class TiewatchError(Exception):
    """A foreseeable failure with a message that names the input and, where possible, the fix."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code


class RejectedRecord(TiewatchError):
    """A record refused under --strict; the message reads `file:line: reason`."""

    code = "rejected"


class NotATable(TiewatchError):
    """A readable file that holds none of the canonical tables (skipped when found inside a folder)."""

    code = "not-a-table"


class StoreBusy(TiewatchError):
    """Another tiewatch process holds the database for longer than --wait allowed."""

    code = "busy"
    exit_code = 75  # EX_TEMPFAIL: try again later


class NoDatabase(TiewatchError):
    """The database named does not exist (read commands never create one)."""

    code = "no-database"


class Interrupted(TiewatchError):
    """Ctrl-C: what was in progress was rolled back."""

    code = "interrupted"
    exit_code = 130
