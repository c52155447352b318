"""Synthetic specs and long tables of issue 13's kinds (load, fuel mix, forecast, renewable) for
the flatten, catalog and fundamentals tests, independent of any ISO's real datasets: ERCOT
specs with another kind (dataclasses.replace), rows through the readers' own `to_standard`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl

from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.ercot import DA_PRICES, RT_PRICES
from power_market_assets.registry.kinds import (
    FORECAST,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    RENEWABLE,
)
from power_market_assets.registry.spec import DatasetSpec, FundamentalsInputs
from power_market_assets.transforms.time import expected_interval_starts

FALL_BACK = date(2024, 11, 3)  # 25 hours in Texas
TIMEZONE = DA_PRICES.timezone
HUB = "HB_NORTH"
FUELS = (("Natural Gas", "gas"), ("Wind", "wind"), ("Solar", "solar"), ("Storage", "storage"))


def kind_spec(kind, dataset: str, minutes: int = 60, market: str = "RTM", **extra) -> DatasetSpec:
    """An ERCOT spec of another kind (its partitions, time zone and source)."""
    return replace(
        DA_PRICES,
        dataset=dataset,
        table_kind=kind,
        market=market,
        interval_minutes=minutes,
        default_locations=(),
        **extra,
    )


LOAD = kind_spec(QUANTITY_BY_AREA, "load", 15)
FUEL_MIX = kind_spec(QUANTITY_BY_FUEL, "fuel_mix", 15, fuel_categories=FUELS)
LOAD_FORECAST = kind_spec(FORECAST, "load_forecast", 60, market="DAM")
RENEWABLES = kind_spec(RENEWABLE, "wind_solar", 60)
INPUTS = FundamentalsInputs(
    da_prices=DA_PRICES,
    rt_prices=RT_PRICES,
    hub=HUB,
    load=LOAD,
    load_forecast=LOAD_FORECAST,
    fuel_mix=FUEL_MIX,
    renewables=(RENEWABLES,),
    load_area="SYSTEM",
    forecast_area="SYSTEM",
)


def starts(days: list[date], minutes: int) -> list[datetime]:
    """Every interval start of the operating days (DST-aware)."""
    return expected_interval_starts(days, TIMEZONE, minutes).to_list()


def standard(spec: DatasetSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """The long table of `spec` as a reader would produce it."""
    return to_standard(frame.with_columns(source_file=pl.lit("synthetic.csv")), spec)


def hour_of(moment: pl.Expr) -> pl.Expr:
    return moment.dt.hour().cast(pl.Float64)


def load_long(days: list[date], areas: tuple[str, ...] = ("SYSTEM", "NORTH")) -> pl.DataFrame:
    """15-minute load: SYSTEM = 40,000 + 100 x (UTC hour); NORTH a quarter of it."""
    base = pl.DataFrame({"interval_start_utc": starts(days, 15)})
    frames = [
        base.with_columns(
            area=pl.lit(area),
            mw=(40_000.0 + 100 * hour_of(pl.col("interval_start_utc"))) * (1.0 if n == 0 else 0.25),
        )
        for n, area in enumerate(areas)
    ]
    return standard(LOAD, pl.concat(frames))


def fuel_mix_long(days: list[date]) -> pl.DataFrame:
    """15-minute generation: gas 30,000, wind 8,000, solar 2,000, storage -500 (charging)."""
    base = pl.DataFrame({"interval_start_utc": starts(days, 15)})
    mw = {"Natural Gas": 30_000.0, "Wind": 8_000.0, "Solar": 2_000.0, "Storage": -500.0}
    frames = [base.with_columns(fuel=pl.lit(f), mw=pl.lit(v)) for f, v in mw.items()]
    return standard(FUEL_MIX, pl.concat(frames))


def forecast_long(days: list[date], vintages: list[datetime], models=("E",)) -> pl.DataFrame:
    """Hourly SYSTEM forecasts of the days, one set per vintage and model: mw = 50,000 +
    the vintage's UTC hour + its minute / 100 (+ 0.5 for a second model), so a value names its
    vintage."""
    base = pl.DataFrame({"interval_start_utc": starts(days, 60)})
    frames = [
        base.with_columns(
            published_at_utc=pl.lit(vintage, pl.Datetime("us", "UTC")),
            area=pl.lit("SYSTEM"),
            model=pl.lit(model),
            mw=pl.lit(50_000.0 + vintage.hour + vintage.minute / 100 + 0.5 * n),
        )
        for vintage in vintages
        for n, model in enumerate(models)
    ]
    return standard(LOAD_FORECAST, pl.concat(frames))


def renewables_long(days: list[date], published: datetime) -> pl.DataFrame:
    """Hourly wind and solar, ACTUAL (published at the interval end) and an STWPF forecast:
    actual wind 9,000, solar 1,000 (0 at night is not needed here); forecasts 7,777."""
    base = pl.DataFrame({"interval_start_utc": starts(days, 60)})
    actual_at = pl.col("interval_start_utc").dt.offset_by("1h")
    frames = []
    for technology, mw in (("wind", 9_000.0), ("solar", 1_000.0)):
        frames.append(
            base.with_columns(
                published_at_utc=actual_at,
                technology=pl.lit(technology),
                area=pl.lit("SYSTEM"),
                model=pl.lit("ACTUAL"),
                mw=pl.lit(mw),
            )
        )
        frames.append(
            base.with_columns(
                published_at_utc=pl.lit(published, pl.Datetime("us", "UTC")),
                technology=pl.lit(technology),
                area=pl.lit("SYSTEM"),
                model=pl.lit("STWPF"),
                mw=pl.lit(7_777.0),
            )
        )
    return standard(RENEWABLES, pl.concat(frames, how="diagonal"))


def price_long(spec: DatasetSpec, days: list[date], offset: float = 0.0) -> pl.DataFrame:
    """Prices at the hub and one other location: hub lmp = 20 + UTC hour + offset (+ 0.25 x
    the quarter within the hour for sub-hourly data)."""
    base = pl.DataFrame({"interval_start_utc": starts(days, spec.interval_minutes)})
    quarter = pl.col("interval_start_utc").dt.minute().cast(pl.Float64) / 60.0
    frames = [
        base.with_columns(
            location=pl.lit(location),
            location_type=pl.lit("HUB"),
            iso_location_type=pl.lit("HU"),
            lmp=20.0 + hour_of(pl.col("interval_start_utc")) + offset + quarter + 100.0 * n,
        )
        for n, location in enumerate((HUB, "HB_WEST"))
    ]
    return standard(spec, pl.concat(frames))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day_before(day: date) -> date:
    return day - timedelta(days=1)
