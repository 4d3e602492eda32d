"""One SQL expression that turns any supported time text into a UTC TIMESTAMP, and one that says why not.

Accepted:
- ISO 8601 with `Z` or any offset (converted to UTC) and naive ISO 8601 (taken as UTC; the store pins the
  session time zone to UTC), in the extended form (2024-05-19T12:00:00+09:00) or the compact basic form
  (20240519T120000+0900, 20240519T1200Z);
- compact dates and date-times written as digits only: YYYYMMDD (20240519) and YYYYMMDDhhmmss
  (20240519120000), years 1900-2100, when they are valid calendar values;
- epoch numbers whose magnitude says the unit: below 1e11 seconds, below 1e14 milliseconds, below 1e17
  microseconds, else nanoseconds.

Refused, with a reason: twelve digits that read both as a compact YYYYMMDDhhmm and as epoch milliseconds
(202405191200 is 19 May 2024 12:00, or 28 May 1976 in milliseconds): nothing in the value says which.
Anything else that is not a time gives NULL and the loader's "unparseable time".
"""

COMPACT_YEARS = (1900, 2100)


def _compact(expr: str, fmt: str) -> str:
    """The value read as digits-only compact form `fmt`, when it is a valid date in the accepted years."""
    parsed = f"TRY_STRPTIME({expr}, '{fmt}')"
    lo, hi = COMPACT_YEARS
    return f"(CASE WHEN year({parsed}) BETWEEN {lo} AND {hi} THEN {parsed} END)"


def _digits_compact(expr: str) -> str:
    return (f"(CASE length({expr}) WHEN 8 THEN {_compact(expr, '%Y%m%d')} "
            f"WHEN 14 THEN {_compact(expr, '%Y%m%d%H%M%S')} END)")


def _ambiguous(expr: str) -> str:
    return f"(length({expr}) = 12 AND {_compact(expr, '%Y%m%d%H%M')} IS NOT NULL)"


def _iso(expr: str) -> str:
    """Extended ISO 8601 by DuckDB's cast; the compact basic form rewritten to extended first."""
    zone = r"(Z|[+-]\d{2}(?::?\d{2})?)?"
    basic_s = rf"^(\d{{4}})(\d{{2}})(\d{{2}})T(\d{{2}})(\d{{2}})(\d{{2}})(\.\d+)?{zone}$"
    basic_m = rf"^(\d{{4}})(\d{{2}})(\d{{2}})T(\d{{2}})(\d{{2}}){zone}$"
    rewritten = (f"regexp_replace(regexp_replace({expr}, '{basic_s}', '\\1-\\2-\\3T\\4:\\5:\\6\\7\\8'), "
                 f"'{basic_m}', '\\1-\\2-\\3T\\4:\\5:00\\6')")

    def cast(text: str) -> str:
        return (f"NULLIF(NULLIF(TRY_CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP), "
                f"CAST('infinity' AS TIMESTAMP)), CAST('-infinity' AS TIMESTAMP))")

    return f"coalesce({cast(expr)}, CASE WHEN contains({expr}, 'T') THEN {cast(rewritten)} END)"


def parse_ts_sql(expr: str) -> str:
    """A SQL expression evaluating `expr` (VARCHAR) to TIMESTAMP in UTC, or NULL when it cannot.

    A value that casts to a finite number is an epoch (a cast is far cheaper than a pattern match), unless its
    length (8, 12 or 14 digits) makes it a compact date first; anything else is tried as ISO 8601.
    """
    num = f"TRY_CAST({expr} AS DOUBLE)"
    micros = (f"CASE WHEN abs({num}) < 1e11 THEN {num} * 1e6 WHEN abs({num}) < 1e14 THEN {num} * 1e3 "
              f"WHEN abs({num}) < 1e17 THEN {num} ELSE {num} / 1e3 END")
    return (f"(CASE WHEN length({expr}) IN (8, 12, 14) AND {_digits_compact(expr)} IS NOT NULL "
            f"THEN {_digits_compact(expr)} "
            f"WHEN {_ambiguous(expr)} THEN NULL "
            f"WHEN isfinite({num}) THEN TRY(make_timestamp(CAST(round({micros}) AS BIGINT))) "
            f"ELSE {_iso(expr)} END)")


def ts_problem_sql(expr: str) -> str:
    """The quarantine reason for a time text that did not parse (VARCHAR)."""
    quoted = f"to_json({expr})::VARCHAR"
    ms = f"make_timestamp(CAST(TRY_CAST({expr} AS DOUBLE) * 1e3 AS BIGINT))"
    return (f"CASE WHEN {_ambiguous(expr)} THEN 'ambiguous time ' || {quoted} || ': a compact date-time (' || "
            f"strftime({_compact(expr, '%Y%m%d%H%M')}, '%Y-%m-%d %H:%M') || ') or epoch milliseconds (' || "
            f"strftime({ms}, '%Y-%m-%d %H:%M') || '); write it as ISO 8601, e.g. ' || "
            f"strftime({_compact(expr, '%Y%m%d%H%M')}, '%Y-%m-%dT%H:%MZ') "
            f"ELSE 'unparseable time ' || {quoted} END")
