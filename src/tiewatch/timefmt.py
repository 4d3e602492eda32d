"""Times in and out: ISO 8601 UTC strings for output, user-given bounds for --since/--until."""

from __future__ import annotations

from datetime import UTC, datetime

from tiewatch.errors import InvalidInput


def iso(ts: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with Z."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="seconds") + "Z"


def parse_user_time(text: str | None, flag: str = "time") -> datetime | None:
    """A --since/--until value (ISO 8601 date or time, any offset; naive means UTC) as naive UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{flag} {text!r}: not an ISO 8601 date or time (e.g. 2024-05-19)") from None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise InvalidInput(f"{flag} {text!r}: out of range once converted to UTC") from None
    return value
