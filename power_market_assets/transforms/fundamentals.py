"""Stage 4 "fundamentals_hourly": one row per UTC hour of an ISO's prices, load and generation.

Built from the standard long tables (stage 2) named by the ISO's `FUNDAMENTALS_INPUTS`
(registry/spec.py `FundamentalsInputs`), so a forecast's vintages are all still there. Every
value is an hourly mean over the native intervals whose UTC start falls in the hour (the hour
is the UTC start truncated to the hour: right for every US ISO, whose offsets are whole hours),
so the fall-back day has 25 rows and spring-forward 23.

Columns (docs/FUNDAMENTALS.md; units in registry/schema.py):

* time: interval_start_utc, interval_end_utc, interval_start_local, operating_day (the ISO's
  local date of the hour's start)
* hub, da_price, rt_price, rt_intervals: the hub's day-ahead price and the mean of its real-time
  intervals in the hour ($/MWh), and how many RT intervals that mean covers
* load_mw: the system load (the `load_area` rows, or the sum of every area per interval)
* load_forecast_mw, load_forecast_published_at_utc, load_forecast_model: the day-ahead vintage:
  for each hour, the newest vintage published strictly before 00:00 local of the hour's
  operating day (what was known when the day-ahead market closed its day), the
  `forecast_area` rows or the sum of areas; of several models published at that instant the
  first by name
* gen_<category>: generation per standard fuel category (STANDARD_FUELS), storage charging and
  net exports negative; null where the ISO reports nothing of that category
* wind_mw, solar_mw: the renewables' ACTUAL rows (newest vintage of each interval), or the fuel
  mix's wind and solar categories when the ISO has no renewable dataset
* net_load_mw: load_mw - wind_mw - solar_mw (a technology the ISO reports neither in a renewable
  dataset nor as a fuel-mix category counts as 0: NYISO's fuel mix has no solar)
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from power_market_assets.registry.kinds import (
    ACTUAL_MODEL,
    RENEWABLE,
    RENEWABLE_TECHNOLOGIES,
    STANDARD_FUELS,
)
from power_market_assets.registry.spec import FundamentalsInputs
from power_market_assets.transforms.names import EW_SUFFIX
from power_market_assets.transforms.time import local_midnight_utc
from power_market_assets.transforms.vintage import latest

Frame = pl.DataFrame | pl.LazyFrame
HOUR = "1h"
TIME_COLUMNS = ("interval_start_utc", "interval_end_utc", "interval_start_local", "operating_day")
GEN_PREFIX = "gen_"
GEN_COLUMNS = tuple(f"{GEN_PREFIX}{category}" for category in STANDARD_FUELS)
RENEWABLE_COLUMNS = tuple(f"{technology}_mw" for technology in RENEWABLE_TECHNOLOGIES)
# Names an ISO gives the whole system in a renewable table with regions beside it (upper case);
# a table with one area uses it, one with regions and none of these is summed.
SYSTEM_AREAS = frozenset({"SYSTEM", "SYSTEM-WIDE", "SYSTEMWIDE", "SYSTEM_WIDE", "TOTAL", "ALL"})
VALUE_COLUMNS = (
    "hub",
    "da_price",
    "rt_price",
    "rt_intervals",
    "load_mw",
    "load_forecast_mw",
    "load_forecast_published_at_utc",
    "load_forecast_model",
    *GEN_COLUMNS,
    *RENEWABLE_COLUMNS,
    "net_load_mw",
)
_HOUR = "__hour__"
UTC = pl.Datetime("us", "UTC")


def _lazy(frame: Frame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _hour() -> pl.Expr:
    return pl.col("interval_start_utc").cast(UTC).dt.truncate(HOUR).alias(_HOUR)


def _hub_hourly(prices: Frame, hub: str, value: str, count: str | None = None) -> pl.LazyFrame:
    """The hub's hourly mean price (its energy-weighted twin, if any, left out)."""
    rows = _lazy(prices).filter(
        (pl.col("location") == hub) & ~pl.col("location_type").str.ends_with(EW_SUFFIX)
    )
    aggs = [pl.col("lmp").mean().alias(value)]
    if count:
        aggs.append(pl.col("lmp").count().cast(pl.Int32).alias(count))
    return rows.group_by(_hour()).agg(aggs)


def _system(frame: pl.LazyFrame, area: str | None) -> pl.LazyFrame:
    """The rows of the system `area`, or every row (to be summed) when no area is named."""
    return frame if area is None else frame.filter(pl.col("area") == area)


def _load_hourly(load: Frame, area: str | None) -> pl.LazyFrame:
    per_interval = _system(_lazy(load), area).group_by("interval_start_utc").agg(pl.col("mw").sum())
    return per_interval.group_by(_hour()).agg(pl.col("mw").mean().alias("load_mw"))


def day_ahead_forecast(forecast: Frame, area: str | None, timezone: str) -> pl.LazyFrame:
    """Per hour, the forecast of the newest vintage published before 00:00 local of the hour's
    operating day (ties between models: the first by name), averaged over the hour."""
    per_vintage = (
        _system(_lazy(forecast), area)
        .group_by("interval_start_utc", "published_at_utc", "model")
        .agg(pl.col("mw").sum())
        .with_columns(_hour())
    )
    day_of_hour = pl.col(_HOUR).dt.convert_time_zone(timezone).dt.date()
    known = per_vintage.filter(
        pl.col("published_at_utc") < local_midnight_utc(day_of_hour, timezone)
    )
    hourly = known.group_by(_HOUR, "published_at_utc", "model").agg(pl.col("mw").mean())
    return (
        hourly.sort([_HOUR, "published_at_utc", "model"], descending=[False, True, False])
        .group_by(_HOUR, maintain_order=True)
        .first()
        .select(
            _HOUR,
            pl.col("mw").alias("load_forecast_mw"),
            pl.col("published_at_utc").cast(UTC).alias("load_forecast_published_at_utc"),
            pl.col("model").cast(pl.Utf8).alias("load_forecast_model"),
        )
    )


def _generation_hourly(fuel_mix: Frame) -> pl.LazyFrame:
    """gen_<category>: per interval the sum of the category's fuels, then the hour's mean."""
    per_interval = (
        _lazy(fuel_mix)
        .group_by("interval_start_utc", "fuel_category")
        .agg(pl.col("mw").sum())
        .with_columns(_hour())
    )
    return per_interval.group_by(_HOUR).agg(
        pl.col("mw").filter(pl.col("fuel_category") == category).mean().alias(column)
        for category, column in zip(STANDARD_FUELS, GEN_COLUMNS, strict=True)
    )


def _categories(fuel_mix: Frame) -> set[str]:
    """The standard categories the fuel mix reports at all."""
    found = _lazy(fuel_mix).select(pl.col("fuel_category").unique()).collect()
    return set(found.get_column("fuel_category").drop_nulls().to_list())


def _system_area(actual: pl.DataFrame, names: set[str]) -> pl.DataFrame:
    """Per technology: its single area, else the area named as the system, else all (summed)."""
    parts = []
    for (_,), rows in actual.group_by("technology"):
        areas = rows.get_column("area").unique().to_list()
        system = [a for a in areas if a.upper() in names]
        parts.append(
            rows.filter(pl.col("area") == system[0]) if len(areas) > 1 and system else rows
        )
    return pl.concat(parts) if parts else actual


def _renewables_hourly(renewables: Sequence[Frame], system_names: set[str]) -> pl.LazyFrame:
    """<technology>_mw of the technologies the ACTUAL rows give (newest vintage of each
    interval), summed over the datasets (one per technology at some ISOs)."""
    parts = []
    for frame in renewables:
        actual = latest(_lazy(frame).filter(pl.col("model") == ACTUAL_MODEL), RENEWABLE)
        parts.append(_system_area(actual, system_names))
    rows = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    present = set(rows.get_column("technology").unique()) if rows.height else set()
    columns = {
        t: c for t, c in zip(RENEWABLE_TECHNOLOGIES, RENEWABLE_COLUMNS, strict=True) if t in present
    }
    if not columns:
        return pl.LazyFrame(schema={_HOUR: UTC})
    per_interval = rows.lazy().group_by("interval_start_utc", "technology").agg(pl.col("mw").sum())
    return (
        per_interval.with_columns(_hour())
        .group_by(_HOUR)
        .agg(
            pl.col("mw").filter(pl.col("technology") == t).mean().alias(c)
            for t, c in columns.items()
        )
    )


def _spine(parts: Sequence[pl.LazyFrame], timezone: str) -> pl.LazyFrame:
    """Every hour any actual input has (forecasts run days ahead and add none), with the
    hour's end, its local start and its operating day."""
    hours = pl.concat([p.select(_HOUR) for p in parts]).unique()
    local = pl.col(_HOUR).dt.convert_time_zone(timezone)
    return hours.select(
        pl.col(_HOUR),
        pl.col(_HOUR).alias("interval_start_utc"),
        pl.col(_HOUR).dt.offset_by(HOUR).alias("interval_end_utc"),
        local.alias("interval_start_local"),
        local.dt.date().alias("operating_day"),
    )


def _nulls(columns: Sequence[str], dtype: pl.DataType = pl.Float64()) -> list[pl.Expr]:
    return [pl.lit(None, dtype).alias(c) for c in columns]


def fundamentals_hourly(
    inputs: FundamentalsInputs,
    *,
    da: Frame,
    rt: Frame,
    load: Frame,
    load_forecast: Frame | None = None,
    fuel_mix: Frame | None = None,
    renewables: Sequence[Frame] = (),
) -> pl.DataFrame:
    """The hourly fundamentals of one ISO from its long tables (see the module docstring).

    Rows: every UTC hour of the DA, RT, load, fuel-mix and renewable actual rows given, sorted;
    the caller keeps the hours of its month (`operating_day`). `load_forecast` should hold the
    vintages published on the day before the first operating day too (the day-ahead ones)."""
    timezone = inputs.load.timezone
    da_hourly = _hub_hourly(da, inputs.hub, "da_price")
    rt_hourly = _hub_hourly(rt, inputs.hub, "rt_price", "rt_intervals")
    load_hourly = _load_hourly(load, inputs.load_area)
    actual = [da_hourly, rt_hourly, load_hourly]
    categories: set[str] = set()
    if fuel_mix is not None:
        actual.append(_generation_hourly(fuel_mix))
        categories = _categories(fuel_mix)
    system_names = SYSTEM_AREAS | {a.upper() for a in (inputs.load_area, inputs.forecast_area) if a}
    renewable = _renewables_hourly(renewables, set(system_names))
    actual.append(renewable)
    if load_forecast is not None:
        forecast = day_ahead_forecast(load_forecast, inputs.forecast_area, timezone)
    else:
        forecast = pl.LazyFrame(schema={_HOUR: UTC})
    out = _spine(actual, timezone)
    for part in [*actual, forecast]:
        out = out.join(part, on=_HOUR, how="left")
    have = set(out.collect_schema().names())
    out = out.with_columns(
        *_nulls([c for c in (*GEN_COLUMNS, "load_forecast_mw") if c not in have]),
        *_nulls([c for c in ("load_forecast_published_at_utc",) if c not in have], UTC),
        *_nulls([c for c in ("load_forecast_model",) if c not in have], pl.Utf8()),
    )
    # A technology no renewable dataset gives: the fuel mix's category of that name.
    out = out.with_columns(
        pl.col(f"{GEN_PREFIX}{t}").alias(c)
        for t, c in zip(RENEWABLE_TECHNOLOGIES, RENEWABLE_COLUMNS, strict=True)
        if c not in have
    )
    # One the ISO reports nowhere (NYISO's fuel mix has no solar) is 0 in net load; a gap in
    # one it reports leaves the hour's net load null.
    reported = {t for t, c in zip(RENEWABLE_TECHNOLOGIES, RENEWABLE_COLUMNS, strict=True)
                if c in have or t in categories}  # fmt: skip
    net_load = pl.col("load_mw")
    for technology, column in zip(RENEWABLE_TECHNOLOGIES, RENEWABLE_COLUMNS, strict=True):
        net_load = net_load - (pl.col(column) if technology in reported else pl.lit(0.0))
    return (
        out.with_columns(
            pl.lit(inputs.hub).alias("hub"),
            pl.col("rt_intervals").fill_null(0),
            net_load.alias("net_load_mw"),
        )
        .select(*TIME_COLUMNS, *VALUE_COLUMNS)
        .sort("interval_start_utc")
        .collect()
    )
