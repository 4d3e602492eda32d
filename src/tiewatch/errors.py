"""Errors a user can cause and fix: front ends print them as one line, never as a traceback.

Every error carries a machine-readable `code` (shown in brackets by the command line, in problem+json by the
HTTP API); the command line maps it to an exit status and the HTTP API to a status (`EXIT_STATUS`,
`HTTP_STATUS`), so the same failure reads the same everywhere. A raise site may give a more specific code
(`TiewatchError("...", code="bad_output")`).
"""

from __future__ import annotations


class TiewatchError(Exception):
    """A foreseeable failure with a message that names the input and, where possible, the fix."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self._exit_code = exit_code

    @property
    def exit_code(self) -> int:
        return self._exit_code if self._exit_code is not None else EXIT_STATUS.get(self.code, 1)


class InvalidInput(TiewatchError):
    """An option or argument that cannot be used as given (a bad time, a negative limit, an unknown kind)."""

    code = "invalid_input"


class NotFound(TiewatchError):
    """Something named does not exist: an account, a signal, a file."""

    code = "not_found"


class NoDatabase(NotFound):
    """The database named does not exist (read commands never create one)."""

    code = "no_database"


class Ambiguous(TiewatchError):
    """A name that matches several things; the message lists them and how to name one."""

    code = "ambiguous"


class RejectedRecord(TiewatchError):
    """A record refused under --strict; the message reads `file:line: reason`."""

    code = "rejected_record"


class NotATable(TiewatchError):
    """A readable file that holds none of the canonical tables (skipped when found inside a folder)."""

    code = "not_a_table"


class StoreBusy(TiewatchError):
    """Another tiewatch process holds the database for longer than --wait allowed."""

    code = "busy"


class Interrupted(TiewatchError):
    """Ctrl-C: what was in progress was rolled back."""

    code = "interrupted"


EXIT_STATUS: dict[str, int] = {"busy": 75, "interrupted": 130, "internal": 70}  # EX_TEMPFAIL, SIGINT, EX_SOFTWARE
HTTP_STATUS: dict[str, int] = {"error": 500, "invalid_input": 400, "not_found": 404, "no_database": 404,
                               "ambiguous": 409, "rejected_record": 422, "not_a_table": 422, "busy": 503,
                               "interrupted": 503, "bad_output": 400, "not_a_database": 400, "memory": 507,
                               "nothing_to_draw": 404, "internal": 500, "os_error": 500}


def exit_status(error: TiewatchError) -> int:
    return error.exit_code


def http_status(error: TiewatchError) -> int:
    return HTTP_STATUS.get(error.code, 500)
