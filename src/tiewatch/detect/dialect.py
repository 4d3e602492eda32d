"""The few SQL functions that differ between engines, in one place.

Detector queries are written in portable SQL (CTEs, standard window functions, CASE, aggregates); where
DuckDB and Spark SQL spell a function differently, the query asks this module for the spelling.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str

    def epoch(self, ts: str) -> str:
        """Seconds since 1970 as DOUBLE."""
        if self.name == "spark":
            return f"CAST(unix_micros({ts}) AS DOUBLE) / 1e6"
        return f"CAST(epoch_us({ts}) AS DOUBLE) / 1e6"

    def days_between(self, later: str, earlier: str) -> str:
        return f"(({self.epoch(later)}) - ({self.epoch(earlier)})) / 86400.0"

    def minus_days(self, ts: str, days: float) -> str:
        if self.name == "spark":
            return f"({ts} - make_interval(0, 0, 0, 0, 0, 0, {days * 86400.0}))"
        return f"({ts} - to_microseconds(CAST({days * 86400e6} AS BIGINT)))"

    def plus_hours(self, ts: str, hours: float) -> str:
        if self.name == "spark":
            return f"({ts} + make_interval(0, 0, 0, 0, 0, 0, {hours * 3600.0}))"
        return f"({ts} + to_microseconds(CAST({hours * 3600e6} AS BIGINT)))"

    def day(self, ts: str) -> str:
        """The UTC calendar day of a timestamp (as a timestamp at midnight)."""
        return f"date_trunc('DAY', {ts})" if self.name == "spark" else f"date_trunc('day', {ts})"

    def arg_min(self, value: str, key: str) -> str:
        return f"min_by({value}, {key})"

    def median(self, expr: str) -> str:
        return f"percentile_approx({expr}, 0.5)" if self.name == "spark" else f"median({expr})"

    def quantile(self, expr: str, q: float) -> str:
        return f"percentile_approx({expr}, {q})" if self.name == "spark" else f"quantile_cont({expr}, {q})"

    def list_contains(self, lst: str, value: str) -> str:
        return f"array_contains({lst}, {value})" if self.name == "spark" else f"list_contains({lst}, {value})"

    def unnest_subjects(self, alias: str) -> str:
        return f"explode({alias}.subjects)" if self.name == "spark" else f"unnest({alias}.subjects)"


DUCKDB = Dialect("duckdb")
