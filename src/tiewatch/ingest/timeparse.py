"""One SQL expression that turns any supported time text into a UTC TIMESTAMP.

Accepted: ISO 8601 with `Z` or any offset (converted to UTC), naive ISO 8601 (taken as UTC; the store pins
the session time zone to UTC), and epoch numbers whose magnitude says the unit: below 1e11 seconds,
below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds. Anything else gives NULL.
"""

EPOCH_PATTERN = r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?"


def parse_ts_sql(expr: str) -> str:
    """A SQL expression evaluating `expr` (VARCHAR) to TIMESTAMP in UTC, or NULL when it cannot."""
    num = f"TRY_CAST({expr} AS DOUBLE)"
    micros = (f"CASE WHEN abs({num}) < 1e11 THEN {num} * 1e6 WHEN abs({num}) < 1e14 THEN {num} * 1e3 "
              f"WHEN abs({num}) < 1e17 THEN {num} ELSE {num} / 1e3 END")
    return (f"(CASE WHEN regexp_full_match({expr}, '{EPOCH_PATTERN}') "
            f"THEN TRY(make_timestamp(CAST(round({micros}) AS BIGINT))) "
            f"ELSE TRY_CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP) END)")
