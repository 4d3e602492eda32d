"""Errors a user can cause and fix: front ends print them as one line, never as a traceback.

Every error carries a machine-readable `code`; the command line maps it to an exit status and an HTTP front
end to a status and a problem+json body (`EXIT_STATUS`, `HTTP_STATUS`), so the same failure reads the same
everywhere.
"""

from __future__ import annotations

from typing import ClassVar


class TiewatchError(Exception):
    """A foreseeable failure with a message that names the input and, where possible, the fix."""

    code: ClassVar[str] = "error"


class InvalidInput(TiewatchError):
    """An option or argument that cannot be used as given (a bad time, a negative limit, an unknown kind)."""

    code = "invalid_input"


class NotFound(TiewatchError):
    """Something named does not exist: an account, a database, a file."""

    code = "not_found"


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
    """Another process holds the database and did not let go in time."""

    code = "busy"


class Interrupted(TiewatchError):
    """Stopped by the user (Ctrl-C); what was completed before is kept."""

    code = "interrupted"


EXIT_STATUS: dict[str, int] = {"error": 1, "invalid_input": 2, "not_found": 1, "ambiguous": 1,
                               "rejected_record": 1, "not_a_table": 1, "busy": 75, "interrupted": 130}
HTTP_STATUS: dict[str, int] = {"error": 500, "invalid_input": 400, "not_found": 404, "ambiguous": 409,
                               "rejected_record": 422, "not_a_table": 422, "busy": 503, "interrupted": 503}


def exit_status(error: TiewatchError) -> int:
    return EXIT_STATUS.get(error.code, 1)


def http_status(error: TiewatchError) -> int:
    return HTTP_STATUS.get(error.code, 500)
