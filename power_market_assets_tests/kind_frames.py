"""Hand-built long tables of the quantity kinds (load, fuel mix, forecast, renewable) and the
test specs they belong to, for the quality tests (test_quality_kinds.py, test_quality_by_day.py).

The specs are ERCOT's DA price spec with another kind and its own bounds, so the tests do not
depend on any ISO's real load or fuel-mix spec (those are written at the same time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

import polars as pl

from power_market_assets.registry.ercot import DA_PRICES
from power_market_assets.registry.kinds import (
    ACTUAL_MODEL,
    FORECAST,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    RENEWABLE,
)
from power_market_assets.registry.spec import DatasetSpec, PriceBound
from power_market_assets.transforms.time import expected_interval_frame

ERA = date(2000, 1, 1)

LOAD = replace(
    DA_PRICES,
    dataset="test_load",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=60,
    default_locations=(),
    price_bounds=(PriceBound(ERA, floor=0.0, cap=120_000.0),),
)
# ISO-NE-like five-minute zonal load, published in intraday snapshots.
SNAPSHOT_LOAD = replace(
    LOAD,
    iso="ISONE",
    dataset="test_snapshot_load",
    timezone="America/New_York",
    interval_minutes=5,
    intraday_snapshots=True,
)
ISONE_ZONES = ("ME", "NH", "VT", "CT", "RI", "SEMA", "WCMA", "NEMA")
FUELS = (
    ("Gas", "gas"),
    ("Nuclear", "nuclear"),
    ("Wind", "wind"),
    ("Solar", "solar"),
    ("Coal", "coal"),
    ("Storage", "storage"),
    ("Imports", "imports"),
)
FUEL_MIX = replace(
    LOAD,
    dataset="test_fuel_mix",
    table_kind=QUANTITY_BY_FUEL,
    interval_minutes=15,
    price_bounds=(),
    fuel_categories=FUELS,
    # imports and coal have no bounds of their own: imports no floor, coal floor 0.
    category_bounds=(
        ("gas", 0.0, 80_000.0),
        ("nuclear", 0.0, 5_500.0),
        ("wind", 0.0, 40_000.0),
        ("solar", -50.0, 30_000.0),
        ("storage", -8_000.0, 8_000.0),
    ),
)
LOAD_FORECAST = replace(
    LOAD, dataset="test_load_forecast", table_kind=FORECAST, market="DAM", price_bounds=()
)
RENEWABLES = replace(
    LOAD,
    dataset="test_renewables",
    table_kind=RENEWABLE,
    price_bounds=(PriceBound(ERA, floor=-50.0, cap=50_000.0),),
)
KIND_SPECS = (LOAD, SNAPSHOT_LOAD, FUEL_MIX, LOAD_FORECAST, RENEWABLES)


def finish(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The columns that follow from the spec and the interval start (operating_day only when
    the frame has none: forecast builders set their publication day), in the spec's schema."""
    derived = {
        "interval_end_utc": pl.col("interval_start_utc").dt.offset_by(f"{spec.interval_minutes}m"),
        "interval_start_local": pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone),
        "iso": pl.lit(spec.iso),
        "market": pl.lit(spec.market),
        "interval_minutes": pl.lit(spec.interval_minutes),
        "source_file": pl.lit(f"{spec.dataset}.csv"),
    }
    frame = frame.with_columns(**derived)
    if "operating_day" not in frame.columns:
        frame = frame.with_columns(
            operating_day=pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone).dt.date()
        )
    return frame.select([pl.col(n).cast(t) for n, t in spec.schema.items()])


def _grid(spec: DatasetSpec, days: Sequence[date]) -> pl.DataFrame:
    grid = expected_interval_frame(list(days), spec.timezone, spec.interval_minutes)
    return grid.with_row_index("_i").drop("operating_day")


def load_long(
    spec: DatasetSpec, days: Sequence[date], areas: Sequence[str] = ("NORTH", "SOUTH", "SYSTEM")
) -> pl.DataFrame:
    """Every interval of `days` per area, tens of GW with a daily shape."""
    grid = _grid(spec, days)
    hour = pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone).dt.hour()
    parts = [
        grid.with_columns(area=pl.lit(area), mw=(8_000.0 * (n + 1) + 150.0 * hour).cast(pl.Float64))
        for n, area in enumerate(areas)
    ]
    return finish(pl.concat(parts), spec).sort("interval_start_utc", "area")


def fuel_long(spec: DatasetSpec, days: Sequence[date], with_total: bool = True) -> pl.DataFrame:
    """Every interval of `days` per fuel: storage charging at night (negative), solar zero at
    night, net imports negative in the afternoon; iso_total_mw the sum of the fuels."""
    grid = _grid(spec, days)
    hour = pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone).dt.hour()
    daylight = (hour >= 7) & (hour < 19)
    mw = {
        "Gas": 30_000.0 + 400.0 * hour,
        "Nuclear": pl.lit(5_000.0),
        "Wind": 9_000.0 + 100.0 * hour,
        "Solar": pl.when(daylight).then(1_500.0 * (hour - 6)).otherwise(0.0),
        "Coal": pl.lit(7_000.0),
        "Storage": pl.when(daylight).then(-2_000.0).otherwise(1_500.0),
        "Imports": pl.when(hour >= 14).then(-800.0).otherwise(600.0),
    }
    parts = [
        grid.with_columns(fuel=pl.lit(fuel), mw=value.cast(pl.Float64))
        for fuel, value in mw.items()
    ]
    frame = pl.concat(parts)
    total = pl.col("mw").sum().over("interval_start_utc") if with_total else pl.lit(None)
    frame = frame.with_columns(iso_total_mw=total.cast(pl.Float64), fuel_category=pl.lit("x"))
    categories = spec.fuel_category_map
    frame = frame.with_columns(
        fuel_category=pl.col("fuel").replace_strict(categories, default="other")
    )
    return finish(frame, spec).sort("interval_start_utc", "fuel")


def vintages(spec: DatasetSpec, published: Sequence[datetime], hours: int = 72) -> pl.DataFrame:
    """One forecast vintage per publication time: every interval of the next `hours` from the
    next whole hour, per area and model; operating_day the ISO-local publication day."""
    parts = []
    step = timedelta(minutes=spec.interval_minutes)
    for at in published:
        first = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        starts = pl.datetime_range(
            first, first + timedelta(hours=hours) - step, step, time_unit="us", eager=True
        )
        frame = pl.DataFrame({"interval_start_utc": starts}).with_columns(
            published_at_utc=pl.lit(at).dt.cast_time_unit("us")
        )
        parts.append(frame)
    grid = pl.concat(parts).with_columns(
        pl.col("interval_start_utc").dt.replace_time_zone("UTC"),
        pl.col("published_at_utc").dt.replace_time_zone("UTC"),
    )
    return grid.with_columns(
        operating_day=pl.col("published_at_utc").dt.convert_time_zone(spec.timezone).dt.date()
    )


def forecast_long(
    spec: DatasetSpec,
    published: Sequence[datetime],
    areas: Sequence[str] = ("NORTH", "SYSTEM"),
    models: Sequence[str] = ("E", "A3"),
) -> pl.DataFrame:
    grid = vintages(spec, published)
    hour = pl.col("interval_start_utc").dt.hour()
    parts = [
        grid.with_columns(
            area=pl.lit(area),
            model=pl.lit(model),
            mw=(9_000.0 * (a + 1) + 200.0 * hour + 10.0 * m).cast(pl.Float64),
        )
        for a, area in enumerate(areas)
        for m, model in enumerate(models)
    ]
    return finish(pl.concat(parts), spec).sort("published_at_utc", "interval_start_utc")


def renewable_long(spec: DatasetSpec, published: Sequence[datetime]) -> pl.DataFrame:
    """Wind and solar: a forecast vintage (STWPF) per publication time and the hour's actual
    (model ACTUAL, published at the end of its interval); solar zero at night."""
    grid = vintages(spec, published, hours=48)
    local_hour = pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone).dt.hour()
    solar = pl.when((local_hour >= 7) & (local_hour < 19)).then(2_000.0 * (local_hour - 6))
    forecasts = [
        grid.with_columns(
            technology=pl.lit(tech), area=pl.lit("SYSTEM"), model=pl.lit("STWPF"), mw=value
        )
        for tech, value in (("wind", 12_000.0 + 50.0 * local_hour), ("solar", solar.otherwise(0.0)))
    ]
    forecast = pl.concat(forecasts, how="vertical_relaxed")
    end = pl.col("interval_start_utc") + pl.duration(minutes=spec.interval_minutes)
    first_day = pl.col("interval_start_utc") < pl.col("interval_start_utc").min() + pl.duration(
        hours=24
    )
    actual = (
        forecast.filter(pl.col("published_at_utc") == pl.col("published_at_utc").min())
        .filter(first_day)
        .with_columns(model=pl.lit(ACTUAL_MODEL), published_at_utc=end)
        .with_columns(
            operating_day=pl.col("published_at_utc").dt.convert_time_zone(spec.timezone).dt.date()
        )
    )
    return finish(pl.concat([forecast, actual], how="vertical_relaxed"), spec)
