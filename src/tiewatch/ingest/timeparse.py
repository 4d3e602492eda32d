"""One SQL expression that turns any supported time text into a UTC TIMESTAMP.

Accepted: ISO 8601 with `Z` or any offset (converted to UTC), naive ISO 8601 (taken as UTC; the store pins
the session time zone to UTC), and epoch numbers whose magnitude says the unit: below 1e11 seconds,
below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds. Anything else gives NULL.
"""

def parse_ts_sql(expr: str) -> str:
    """A SQL expression evaluating `expr` (VARCHAR) to TIMESTAMP in UTC, or NULL when it cannot.

    A value that casts to a finite number is an epoch (a cast is far cheaper than a pattern match, and no ISO
    8601 text casts to a number); anything else is tried as an ISO 8601 time.
    """
    num = f"TRY_CAST({expr} AS DOUBLE)"
    micros = (f"CASE WHEN abs({num}) < 1e11 THEN {num} * 1e6 WHEN abs({num}) < 1e14 THEN {num} * 1e3 "
              f"WHEN abs({num}) < 1e17 THEN {num} ELSE {num} / 1e3 END")
    return (f"(CASE WHEN isfinite({num}) THEN TRY(make_timestamp(CAST(round({micros}) AS BIGINT))) "
            f"ELSE NULLIF(NULLIF(TRY_CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP), "
            f"CAST('infinity' AS TIMESTAMP)), CAST('-infinity' AS TIMESTAMP)) END)")
