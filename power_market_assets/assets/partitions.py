"""Partitions on each ISO's own operating day, in its own time zone."""

from __future__ import annotations

from datetime import date
from functools import cache

import dagster as dg

from power_market_assets.registry.spec import DatasetSpec


@cache
def daily_partitions(timezone: str, start: date) -> dg.DailyPartitionsDefinition:
    # end_offset=1: the day-ahead market publishes tomorrow's operating day today.
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone=timezone, end_offset=1
    )


@cache
def monthly_partitions(timezone: str, start: date) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(
        start_date=start.replace(day=1).isoformat(), timezone=timezone, end_offset=1
    )


def market_start(spec: DatasetSpec) -> date:
    """All datasets of one ISO share partitions starting at that ISO's market start."""
    from power_market_assets.registry import ercot

    starts = {"ERCOT": ercot.MARKET_START}
    return starts.get(spec.iso, spec.first_available)


def daily_for(spec: DatasetSpec) -> dg.DailyPartitionsDefinition:
    return daily_partitions(spec.timezone, market_start(spec))


def monthly_for(spec: DatasetSpec) -> dg.MonthlyPartitionsDefinition:
    return monthly_partitions(spec.timezone, market_start(spec))
