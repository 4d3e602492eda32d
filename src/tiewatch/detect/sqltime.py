"""Time arithmetic in detector SQL, spelled in DuckDB's dialect (engines.sql compiles it for other engines)."""

from __future__ import annotations

DAY_US = 86_400_000_000


def epoch_days(ts: str) -> str:
    """Days since 1970 as DOUBLE."""
    return f"(CAST(epoch_us({ts}) AS DOUBLE) / {DAY_US}.0)"


def days_between(later: str, earlier: str) -> str:
    """(later - earlier) in days, as DOUBLE."""
    return f"(CAST(epoch_us({later}) - epoch_us({earlier}) AS DOUBLE) / {DAY_US}.0)"


def minus_days(ts: str, days: float) -> str:
    return f"({ts} - to_microseconds(CAST({round(days * DAY_US)} AS BIGINT)))"


def plus_hours(ts: str, hours: float) -> str:
    return f"({ts} + to_microseconds(CAST({round(hours * 3_600_000_000)} AS BIGINT)))"


def day(ts: str) -> str:
    """The UTC calendar day of a timestamp (as a timestamp at midnight)."""
    return f"date_trunc('day', {ts})"
