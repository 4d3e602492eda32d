"""Errors a user can cause and fix: front ends print them as one line, never as a traceback."""


class TiewatchError(Exception):
    """A foreseeable failure with a message that names the input and, where possible, the fix."""


class RejectedRecord(TiewatchError):
    """A record refused under --strict; the message reads `file:line: reason`."""


class NotATable(TiewatchError):
    """A readable file that holds none of the canonical tables (skipped when found inside a folder)."""
