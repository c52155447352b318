"""DST-aware interval grids for ISO operating days.

An operating day runs from local midnight to the next local midnight in the ISO's time zone, so
it lasts 23, 24 or 25 hours. Everything here derives offsets from the tz database (zoneinfo /
Polars time zones); no UTC offset is ever hard-coded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

UTC_DTYPE = pl.Datetime("us", "UTC")


def days_between(first: date, last: date) -> list[date]:
    """Every calendar day from `first` to `last`, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def next_month(day: date) -> date:
    """The first day of the month after the one holding `day`."""
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_end(day: date) -> date:
    """The last day of the month holding `day`."""
    return next_month(day) - timedelta(days=1)


def days_of_month(day: date) -> list[date]:
    """Every calendar day of the month holding `day`."""
    return days_between(day.replace(day=1), month_end(day))


def month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from the month of `first` to the month of `last`."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


def day_bounds_utc(operating_day: date, timezone: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting `operating_day` and of the next local midnight.

    Both are timezone-aware `datetime`s in UTC; `end - start` is 23, 24 or 25 hours on DST days.
    """
    tz = ZoneInfo(timezone)
    start = datetime.combine(operating_day, time(0), tzinfo=tz)
    end = datetime.combine(operating_day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def wall_clock_to_utc(naive: pl.Expr, timezone: str, repeated: pl.Expr) -> pl.Expr:
    """Expression: naive local wall-clock time -> UTC. `repeated` picks the second (standard
    time) reading of a fall-back time; a time skipped by spring-forward becomes null, so the
    caller can name the bad label."""
    ambiguous = pl.when(repeated).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    local = naive.dt.replace_time_zone(timezone, ambiguous=ambiguous, non_existent="null")
    return local.dt.convert_time_zone("UTC")


def local_midnight_utc(day: pl.Expr, timezone: str) -> pl.Expr:
    """Expression: a Date column -> the UTC instant (Datetime us UTC) of its local midnight."""
    return (
        day.cast(pl.Datetime("us"))
        .dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="raise")
        .dt.convert_time_zone("UTC")
    )


def day_bounds_frame(days: Iterable[date] | pl.Series, timezone: str) -> pl.DataFrame:
    """One row per distinct day: operating_day, day_start_utc, day_end_utc (sorted by day)."""
    series = pl.Series("operating_day", list(days) if not isinstance(days, pl.Series) else days)
    frame = pl.DataFrame({"operating_day": series.cast(pl.Date)}).unique().sort("operating_day")
    return frame.with_columns(
        day_start_utc=local_midnight_utc(pl.col("operating_day"), timezone),
        day_end_utc=local_midnight_utc(pl.col("operating_day").dt.offset_by("1d"), timezone),
    )


def expected_interval_frame(
    days: Iterable[date] | pl.Series, timezone: str, interval_minutes: int
) -> pl.DataFrame:
    """The complete grid: one row per (operating_day, interval_start_utc), sorted by time.

    Interval starts run from local midnight (inclusive) to the next local midnight (exclusive)
    in steps of `interval_minutes`, so a fall-back day gets 25 hours and spring-forward 23.
    """
    if interval_minutes <= 0:
        raise ValueError(f"interval_minutes must be positive, got {interval_minutes}")
    bounds = day_bounds_frame(days, timezone)
    grid = (
        bounds.select(
            "operating_day",
            interval_start_utc=pl.datetime_ranges(
                "day_start_utc",
                "day_end_utc",
                interval=f"{interval_minutes}m",
                closed="left",
                time_unit="us",
                time_zone="UTC",
            ),
        )
        .explode("interval_start_utc")
        .drop_nulls("interval_start_utc")
        .sort("interval_start_utc")
    )
    return grid.with_columns(pl.col("interval_start_utc").cast(UTC_DTYPE))


def expected_interval_starts(
    days: Iterable[date], timezone: str, interval_minutes: int
) -> pl.Series:
    """UTC interval starts (Datetime us UTC, sorted) covering every operating day in `days`."""
    return expected_interval_frame(days, timezone, interval_minutes)["interval_start_utc"]


def expected_interval_count(operating_day: date, timezone: str, interval_minutes: int) -> int:
    """Number of native intervals in one operating day (e.g. 23/24/25 hourly, 92/96/100 x 15m)."""
    start, end = day_bounds_utc(operating_day, timezone)
    return int((end - start) // timedelta(minutes=interval_minutes))
