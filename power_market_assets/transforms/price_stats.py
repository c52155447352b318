"""Issue 15: monthly price statistics of an ISO's hubs and zones, comparable across ISOs.

Input: the long PRICE tables (docs/TABLE_KINDS.md) of the ISO's day-ahead and real-time
datasets (registry COMBINED_INPUTS). Only hubs and zones are summarised (`location_type` HUB or
ZONE, which every ISO's reader maps its own codes to: ERCOT HU/SH/AH and LZ, CAISO trading hubs
and DLAP/SLAP, NYISO zones, ISO-NE HUB and LOAD ZONE, PJM HUB and ZONE); ERCOT's
energy-weighted twins (ZONE_EW) and nodes are left out.

Per month, location and market (`DA`, `RT`, and `DA-RT`, the day-ahead price minus the
real-time price averaged over the DA hour, UTC-aligned so a fall-back day's two 01:00 hours stay
apart) one row of `price_stats`: mean, standard deviation, percentiles (linear interpolation,
as numpy's default), the standard deviation of hour-to-hour changes (RT on its hourly means),
negative-price hours in interval-hours (a 15-minute interval below 0 counts 0.25 h), intervals
above $1,000/MWh and at the cap (the spec's `price_bounds` era of each operating day). Every
statistic is over intervals, each counted once (equal weight: 5- and 15-minute ISOs have one
interval length per dataset).

`price_duration` is each month's price duration curve: for percent_of_time p (0..100) the price
met or exceeded p % of the intervals (p = 0 the maximum, p = 100 the minimum).

Pure Polars, no dagster: the report assets and `power-market report` share these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from power_market_assets.registry.schema import HUB, ZONE
from power_market_assets.registry.spec import PriceBound

REPORT_LOCATION_TYPES = (HUB, ZONE)
PERCENTILES = (5, 10, 25, 50, 75, 90, 95, 99)
HIGH_PRICE_USD_PER_MWH = 1000.0
# A price within a cent of the cap is at the cap (files round to cents).
CAP_TOLERANCE_USD_PER_MWH = 0.01
DURATION_POINTS = 101  # percent_of_time 0, 1, ..., 100
DA, RT, SPREAD = "DA", "RT", "DA-RT"
MARKETS = (DA, RT, SPREAD)
GROUP = ["month", "location", "location_type"]
PRICE_COLUMNS = (
    "interval_start_utc",
    "operating_day",
    "interval_minutes",
    "location",
    "location_type",
    "lmp",
)
UNIT = "_usd_per_mwh"

Frame = pl.DataFrame | pl.LazyFrame


def percentile_column(p: int) -> str:
    return f"p{p}{UNIT}"


STATS_COLUMNS = (
    "month",
    "iso",
    "location",
    "location_type",
    "market",
    "interval_minutes",
    "intervals",
    "hours",
    f"mean{UNIT}",
    f"std{UNIT}",
    f"min{UNIT}",
    *(percentile_column(p) for p in PERCENTILES),
    f"max{UNIT}",
    f"hourly_change_std{UNIT}",
    "negative_hours",
    "intervals_above_1000",
    "intervals_at_cap",
    f"cap{UNIT}",
)


def hubs_and_zones(prices: Frame) -> pl.DataFrame:
    """The hub and zone rows of a long price table, only the columns the reports use; one row
    per interval and location (a duplicate stamp keeps its first row)."""
    return (
        prices.lazy()
        .filter(pl.col("location_type").is_in(REPORT_LOCATION_TYPES))
        .select(PRICE_COLUMNS)
        .unique(subset=["interval_start_utc", "location"], keep="first", maintain_order=True)
        .sort("location", "interval_start_utc")
        .collect()
    )


def _month() -> pl.Expr:
    return pl.col("operating_day").dt.truncate("1mo").alias("month")


def cap_expr(bounds: Sequence[PriceBound]) -> pl.Expr:
    """The cap in force on each row's operating day ($/MWh; null without bounds)."""
    if not bounds:
        return pl.lit(None, pl.Float64)
    ordered = sorted(bounds, key=lambda b: b.start)
    expr = pl.lit(ordered[0].cap, pl.Float64)
    for bound in ordered[1:]:
        expr = pl.when(pl.col("operating_day") >= bound.start).then(bound.cap).otherwise(expr)
    return expr


def hourly_means(rt: pl.DataFrame) -> pl.DataFrame:
    """RT prices averaged per location over each UTC hour (an interval belongs to the hour its
    start falls in): the series the DA-RT spread and the RT hour-to-hour changes use."""
    return (
        rt.with_columns(pl.col("interval_start_utc").dt.truncate("1h"))
        .group_by("location", "location_type", "interval_start_utc")
        .agg(
            pl.col("operating_day").first(),
            pl.col("lmp").mean(),
            pl.col("lmp").count().alias("rt_intervals"),
        )
        .with_columns(interval_minutes=pl.lit(60, pl.Int16))
        .sort("location", "interval_start_utc")
    )


def da_rt_spread(da: pl.DataFrame, rt: pl.DataFrame) -> pl.DataFrame:
    """Per DA hour and location: DA price minus the RT hourly mean (`lmp`, $/MWh), on the
    hours both markets have; `da_lmp` and `rt_lmp` beside it."""
    rt_hourly = hourly_means(rt).select("location", "interval_start_utc", rt_lmp="lmp")
    return (
        da.join(rt_hourly, on=["location", "interval_start_utc"], how="inner")
        .with_columns(da_lmp=pl.col("lmp"), lmp=pl.col("lmp") - pl.col("rt_lmp"))
        .sort("location", "interval_start_utc")
    )


def _change_std(hourly: pl.DataFrame) -> pl.DataFrame:
    """Standard deviation of the change from one hour to the next (consecutive hours only)."""
    return (
        hourly.with_columns(_month())
        .sort("location", "interval_start_utc")
        .with_columns(
            change=pl.col("lmp").diff().over("location"),
            step=pl.col("interval_start_utc").diff().over("location"),
        )
        .filter(pl.col("step") == pl.duration(hours=1))
        .group_by(GROUP)
        .agg(pl.col("change").std().alias(f"hourly_change_std{UNIT}"))
    )


def distribution(
    frame: pl.DataFrame, market: str, bounds: Sequence[PriceBound], hourly: pl.DataFrame
) -> pl.DataFrame:
    """One row per month and location of `frame`'s `lmp`: the STATS_COLUMNS of `market`
    (the cap columns only for prices, not the spread)."""
    lmp = pl.col("lmp")
    is_price = market != SPREAD
    cap = cap_expr(bounds) if is_price else pl.lit(None, pl.Float64)
    at_cap = (lmp >= pl.col("_cap") - CAP_TOLERANCE_USD_PER_MWH) if is_price else pl.lit(None)
    above = (lmp > HIGH_PRICE_USD_PER_MWH) if is_price else pl.lit(None)
    stats = (
        frame.with_columns(_month(), _cap=cap)
        .group_by(GROUP)
        .agg(
            pl.col("interval_minutes").min().cast(pl.Int16),
            pl.len().cast(pl.Int64).alias("intervals"),
            (pl.col("interval_minutes").cast(pl.Float64).sum() / 60).alias("hours"),
            lmp.mean().alias(f"mean{UNIT}"),
            lmp.std().alias(f"std{UNIT}"),
            lmp.min().alias(f"min{UNIT}"),
            *(
                lmp.quantile(p / 100, interpolation="linear").alias(percentile_column(p))
                for p in PERCENTILES
            ),
            lmp.max().alias(f"max{UNIT}"),
            (pl.col("interval_minutes").cast(pl.Float64) * (lmp < 0))
            .sum()
            .truediv(60)
            .alias("negative_hours"),
            above.sum().cast(pl.Int64).alias("intervals_above_1000"),
            at_cap.sum().cast(pl.Int64).alias("intervals_at_cap"),
            pl.col("_cap").max().alias(f"cap{UNIT}"),
        )
    )
    return stats.join(_change_std(hourly), on=GROUP, how="left").with_columns(market=pl.lit(market))


def price_stats(
    da: Frame | None,
    rt: Frame | None,
    iso: str,
    da_bounds: Sequence[PriceBound] = (),
    rt_bounds: Sequence[PriceBound] = (),
) -> pl.DataFrame:
    """STATS_COLUMNS per month, hub or zone and market (DA, RT, DA-RT) of the long price
    tables `da` and `rt` (either may be None; the spread needs both)."""
    da_hz = hubs_and_zones(da) if da is not None else None
    rt_hz = hubs_and_zones(rt) if rt is not None else None
    parts = []
    if da_hz is not None and da_hz.height:
        parts.append(distribution(da_hz, DA, da_bounds, da_hz))
    if rt_hz is not None and rt_hz.height:
        parts.append(distribution(rt_hz, RT, rt_bounds, hourly_means(rt_hz)))
    if da_hz is not None and rt_hz is not None and da_hz.height and rt_hz.height:
        spread = da_rt_spread(da_hz, rt_hz)
        if spread.height:
            parts.append(distribution(spread, SPREAD, (), spread))
    if not parts:
        return empty_price_stats()
    order = {m: n for n, m in enumerate(MARKETS)}
    return (
        pl.concat([p.with_columns(iso=pl.lit(iso)) for p in parts], how="diagonal_relaxed")
        .select(STATS_COLUMNS)
        .sort(pl.col("month"), "location", pl.col("market").replace_strict(order))
    )


def empty_price_stats() -> pl.DataFrame:
    schema = dict.fromkeys(STATS_COLUMNS, pl.Float64)
    schema.update(
        month=pl.Date,
        iso=pl.Utf8,
        location=pl.Utf8,
        location_type=pl.Utf8,
        market=pl.Utf8,
        interval_minutes=pl.Int16,
        intervals=pl.Int64,
        intervals_above_1000=pl.Int64,
        intervals_at_cap=pl.Int64,
    )
    return pl.DataFrame(schema=schema)


DURATION_COLUMNS = (
    "month",
    "iso",
    "location",
    "location_type",
    "market",
    "percent_of_time",
    f"price{UNIT}",
)


def price_duration(
    da: Frame | None, rt: Frame | None, iso: str, points: int = DURATION_POINTS
) -> pl.DataFrame:
    """The price duration curve per month, hub or zone and market (DA, RT): `points` rows,
    percent_of_time from 0 to 100, each with the price met or exceeded that share of the
    intervals (the (100 - p)th percentile, linear interpolation)."""
    levels = [100 * n / (points - 1) for n in range(points)]
    parts = []
    for market, frame in ((DA, da), (RT, rt)):
        if frame is None:
            continue
        hz = hubs_and_zones(frame)
        if not hz.height:
            continue
        wide = (
            hz.with_columns(_month())
            .group_by(GROUP)
            .agg(
                pl.col("lmp")
                .quantile((points - 1 - n) / (points - 1), interpolation="linear")
                .alias(str(n))
                for n in range(points)
            )
        )
        long = wide.unpivot(index=GROUP, variable_name="_n", value_name=f"price{UNIT}")
        parts.append(
            long.with_columns(
                market=pl.lit(market),
                percent_of_time=pl.col("_n")
                .cast(pl.Int64)
                .replace_strict(dict(enumerate(levels)), return_dtype=pl.Float64),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "month": pl.Date,
                "iso": pl.Utf8,
                "location": pl.Utf8,
                "location_type": pl.Utf8,
                "market": pl.Utf8,
                "percent_of_time": pl.Float64,
                f"price{UNIT}": pl.Float64,
            }
        )
    return (
        pl.concat(parts)
        .with_columns(iso=pl.lit(iso))
        .select(DURATION_COLUMNS)
        .sort("month", "location", "market", "percent_of_time")
    )


def spread_values(da: Frame | None, rt: Frame | None) -> pl.DataFrame:
    """The hourly DA-RT spread of every hub and zone (for its histogram)."""
    if da is None or rt is None:
        return pl.DataFrame(schema={"location": pl.Utf8, "lmp": pl.Float64})
    return da_rt_spread(hubs_and_zones(da), hubs_and_zones(rt))
