"""Partitions on each ISO's own operating day, in its own time zone."""

from __future__ import annotations

from datetime import date
from functools import cache

import dagster as dg

from power_market_assets.registry.spec import DatasetSpec


@cache
def daily_partitions(timezone: str, start: date) -> dg.DailyPartitionsDefinition:
    # A daily partition normally exists once its day is over; end_offset=2 adds today (real-time
    # files arrive all day) and tomorrow (the day-ahead market publishes it today).
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone=timezone, end_offset=2
    )


@cache
def monthly_partitions(timezone: str, start: date) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(
        start_date=start.replace(day=1).isoformat(), timezone=timezone, end_offset=1
    )


def daily_for(spec: DatasetSpec) -> dg.DailyPartitionsDefinition:
    return daily_partitions(spec.timezone, spec.partition_start)


def monthly_for(spec: DatasetSpec) -> dg.MonthlyPartitionsDefinition:
    return monthly_partitions(spec.timezone, spec.partition_start)
