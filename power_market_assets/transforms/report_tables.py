"""Issue 15: the report tables of one ISO month, shared by the report assets and
`power-market report` (so the file a user sends and the views in the catalog agree).

- price statistics and duration curves: transforms/price_stats.py;
- battery value: the engine in transforms/bess.py run on the month's hubs and zones, shaped into
  `report_bess_value` (per operating day and location one row per strategy, `product` null,
  with its revenue; and where the ISO has AS prices one row per AS product, `product` set,
  breaking down the `da_ancillary` strategy's ancillary revenue) and `report_bess_schedule`
  (the engine's interval schedule), both tagged with the ISO and the battery;
- the headline numbers the command prints and the HTML page leads with.

Money in $ (`_usd`), energy MWh, power MW, prices $/MWh. Pure Polars, no dagster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from power_market_assets.registry.schema import HUB
from power_market_assets.registry.spec import PriceBound
from power_market_assets.transforms import price_stats as stats
from power_market_assets.transforms.bess import (
    ANCILLARY_STRATEGY,
    Battery,
    BessResult,
    bess_value,
    monthly_summary,
)

OPTIMISED = ("da_only", "rt_only", "two_settlement")
RULE_BASED = ("rule_based_da", "rule_based_rt")
KW_PER_MW = 1000.0
ANCILLARY_SOURCE_COLUMNS = (
    "interval_start_utc",
    "interval_minutes",
    "operating_day",
    "product",
    "price",
)
VALUE_COLUMNS = (
    "month",
    "operating_day",
    "iso",
    "location",
    "battery",
    "power_mw",
    "energy_mwh",
    "strategy",
    "product",
    "revenue_usd",
    "energy_revenue_usd",
    "ancillary_revenue_usd",
    "degradation_cost_usd",
    "charge_mwh",
    "discharge_mwh",
    "cycles",
    "intervals",
    "capacity_mw",
)

Frame = pl.DataFrame | pl.LazyFrame


@dataclass(frozen=True)
class BessReport:
    value: pl.DataFrame  # VALUE_COLUMNS, daily
    schedule: pl.DataFrame  # the engine's schedule with month, iso and battery
    monthly: pl.DataFrame  # per location and strategy (bess.monthly_summary) and AS product


@dataclass(frozen=True)
class MonthReport:
    """Every table of one ISO month for one battery."""

    iso: str
    month: str  # YYYY-MM
    battery: Battery
    price_stats: pl.DataFrame
    price_duration: pl.DataFrame
    spread: pl.DataFrame  # hourly DA-RT spread per hub and zone (the histogram)
    bess: BessReport
    notes: list[str] = field(default_factory=list)


def ancillary_input(ancillary: Frame | None) -> pl.DataFrame | None:
    """The AS long table's columns the engine reads (None without AS prices or rows)."""
    if ancillary is None:
        return None
    frame = ancillary.lazy().select(ANCILLARY_SOURCE_COLUMNS).collect()
    return frame if frame.height else None


def _tagged(frame: pl.DataFrame, iso: str, battery: Battery) -> pl.DataFrame:
    return frame.with_columns(
        month=pl.col("operating_day").dt.truncate("1mo"),
        iso=pl.lit(iso),
        battery=pl.lit(battery.label()),
        power_mw=pl.lit(battery.power_mw),
        energy_mwh=pl.lit(battery.energy_mwh),
    )


def value_table(
    daily: pl.DataFrame, ancillary: pl.DataFrame, iso: str, battery: Battery
) -> pl.DataFrame:
    """VALUE_COLUMNS: the engine's daily rows, one per strategy (`product` null), then its
    ancillary rows, one per product (`strategy` da_ancillary, `capacity_mw` the average MW
    offered): the sum over a strategy's rows with `product` null is its revenue."""
    strategies = daily.with_columns(product=pl.lit(None, pl.Utf8))
    products = ancillary.with_columns(strategy=pl.lit(ANCILLARY_STRATEGY))
    frame = _tagged(pl.concat([strategies, products], how="diagonal_relaxed"), iso, battery)
    missing = [c for c in VALUE_COLUMNS if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in missing)
    return frame.select(VALUE_COLUMNS).sort(
        "operating_day", "location", "strategy", pl.col("product"), nulls_last=False
    )


def ancillary_monthly(ancillary: pl.DataFrame, battery: Battery) -> pl.DataFrame:
    """Per month, location and product: the capacity revenue within da_ancillary, also per kW
    of power scaled to a whole month as bess.monthly_summary scales the strategies."""
    month = pl.col("operating_day").dt.truncate("1mo")
    days_in_month = pl.col("month").dt.month_end().dt.day()
    return (
        ancillary.group_by(month.alias("month"), "location", "product")
        .agg(
            pl.col("revenue_usd").sum(),
            pl.col("capacity_mw").mean().alias("mean_capacity_mw"),
            pl.col("operating_day").n_unique().alias("days"),
        )
        .with_columns(
            revenue_usd_per_kw_month=pl.col("revenue_usd")
            / (battery.power_mw * KW_PER_MW)
            * days_in_month
            / pl.col("days"),
            strategy=pl.lit(ANCILLARY_STRATEGY),
            battery=pl.lit(battery.label()),
            month=pl.col("month").dt.strftime("%Y-%m"),
        )
        .sort("month", "location", "product")
    )


def _non_empty(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    return frame if frame is not None and frame.height else None


def _locations(*frames: pl.DataFrame | None) -> list[str]:
    return sorted({loc for f in frames if f is not None for loc in f["location"].unique()})


def _at(frame: pl.DataFrame | None, location: str) -> pl.DataFrame | None:
    return _non_empty(frame.filter(pl.col("location") == location) if frame is not None else None)


def zonal_products(
    ancillary: pl.DataFrame | None, locations: list[str]
) -> dict[str, pl.DataFrame] | None:
    """Each location's own AS products where the product names carry the zone (NYISO's
    `N.Y.C._SPIN_10`: a zone's battery sells its zone's reserves, not another's); None when no
    product names a location (one system-wide set offered everywhere: ERCOT, ISO-NE, PJM,
    CAISO's regions)."""
    if ancillary is None:
        return None
    own = {loc: ancillary.filter(pl.col("product").str.starts_with(f"{loc}_")) for loc in locations}
    own = {loc: frame for loc, frame in own.items() if frame.height}
    return own or None


def _concat_results(results: list[BessResult]) -> BessResult:
    """One result of several locations' (each its own engine call)."""

    def joined(frames: list[pl.DataFrame]) -> pl.DataFrame:
        kept = [f for f in frames if f.height] or frames[:1]
        return pl.concat(kept, how="diagonal_relaxed")

    return BessResult(
        daily=joined([r.daily for r in results]),
        schedule=joined([r.schedule for r in results]),
        ancillary=joined([r.ancillary for r in results]),
    )


def bess_report(
    da: Frame | None,
    rt: Frame | None,
    ancillary: Frame | None,
    battery: Battery,
    iso: str,
) -> BessReport:
    """The engine on the hubs and zones of `da` and `rt` (long price tables), with the AS
    prices where the ISO has them, shaped into the report tables."""
    da_hz = _non_empty(stats.hubs_and_zones(da) if da is not None else None)
    rt_hz = _non_empty(stats.hubs_and_zones(rt) if rt is not None else None)
    reserves = ancillary_input(ancillary)
    zonal = zonal_products(reserves, _locations(da_hz, rt_hz))
    if zonal is None:
        result = bess_value(da_hz, rt_hz, battery, reserves)
    else:
        result = _concat_results(
            [
                bess_value(_at(da_hz, loc), _at(rt_hz, loc), battery, zonal.get(loc))
                for loc in _locations(da_hz, rt_hz)
            ]
        )
    monthly = monthly_summary(result.daily) if result.daily.height else pl.DataFrame()
    if result.ancillary.height:
        as_monthly = ancillary_monthly(result.ancillary, battery)
        monthly = pl.concat([monthly, as_monthly], how="diagonal_relaxed")
    schedule = _tagged(result.schedule, iso, battery).drop("power_mw", "energy_mwh")
    return BessReport(
        value=value_table(result.daily, result.ancillary, iso, battery),
        schedule=schedule.select("month", "iso", "battery", *result.schedule.columns),
        monthly=monthly,
    )


def month_report(
    iso: str,
    month: str,
    da: Frame | None,
    rt: Frame | None,
    ancillary: Frame | None,
    battery: Battery,
    da_bounds: Sequence[PriceBound] = (),
    rt_bounds: Sequence[PriceBound] = (),
) -> MonthReport:
    """Every report table of one month (`da`, `rt`, `ancillary`: the month's long tables)."""
    da = da.lazy().collect() if da is not None else None
    rt = rt.lazy().collect() if rt is not None else None
    notes = []
    if ancillary is None:
        notes.append("no ancillary-service prices: the battery is valued on energy only")
    return MonthReport(
        iso=iso,
        month=month,
        battery=battery,
        price_stats=stats.price_stats(da, rt, iso, da_bounds, rt_bounds),
        price_duration=stats.price_duration(da, rt, iso),
        spread=stats.spread_values(da, rt),
        bess=bess_report(da, rt, ancillary, battery, iso),
        notes=notes,
    )


def headline_locations(price_stats: pl.DataFrame) -> list[str]:
    """The hubs of the report (the zones when an ISO has no hub, as NYISO)."""
    types = price_stats.select("location", "location_type").unique()
    hubs = types.filter(pl.col("location_type") == HUB)["location"].sort().to_list()
    return hubs or types["location"].sort().to_list()


def headline(report: MonthReport) -> pl.DataFrame:
    """Per headline location: DA and RT mean ($/MWh), RT negative-price hours, the best
    strategy and its revenue ($/kW-month), the best optimised strategy's uplift over the best
    rule-based one ($/kW-month and %); where the ISO has AS prices, the co-optimised
    da_ancillary strategy's revenue and the AS capacity part of it ($/kW-month)."""
    locations = headline_locations(report.price_stats)
    wanted = {
        "da_mean_usd_per_mwh": f"mean_usd_per_mwh_{stats.DA}",
        "rt_mean_usd_per_mwh": f"mean_usd_per_mwh_{stats.RT}",
        "rt_negative_hours": f"negative_hours_{stats.RT}",
    }
    prices = pl.DataFrame({"location": locations})
    if report.price_stats.height:
        wide = report.price_stats.filter(pl.col("location").is_in(locations)).pivot(
            on="market", index="location", values=["mean_usd_per_mwh", "negative_hours"]
        )
        prices = prices.join(
            wide.select(
                "location",
                *(
                    pl.col(source).alias(name)
                    for name, source in wanted.items()
                    if source in wide.columns
                ),
            ),
            on="location",
            how="left",
        )
    prices = prices.with_columns(
        pl.lit(None, pl.Float64).alias(name) for name in wanted if name not in prices.columns
    )
    monthly = report.bess.monthly
    if not monthly.height:
        return prices.sort("location")
    strategies = (
        monthly.filter(pl.col("product").is_null()) if "product" in monthly.columns else monthly
    )
    energy = strategies.filter(pl.col("strategy") != ANCILLARY_STRATEGY)
    best = (
        energy.sort("revenue_usd_per_kw_month", descending=True)
        .group_by("location", maintain_order=True)
        .first()
        .select(
            "location",
            best_strategy="strategy",
            best_usd_per_kw_month="revenue_usd_per_kw_month",
        )
    )

    def best_of(names: tuple[str, ...], alias: str) -> pl.DataFrame:
        return (
            energy.filter(pl.col("strategy").is_in(names))
            .group_by("location")
            .agg(pl.col("revenue_usd_per_kw_month").max().alias(alias))
        )

    uplift = (
        best_of(OPTIMISED, "optimised").join(
            best_of(RULE_BASED, "rule_based"), on="location", how="full", coalesce=True
        )
    ).with_columns(
        uplift_usd_per_kw_month=pl.col("optimised") - pl.col("rule_based"),
        uplift_percent=pl.when(pl.col("rule_based") > 0).then(
            100 * (pl.col("optimised") / pl.col("rule_based") - 1)
        ),
    )
    with_reserves = strategies.filter(pl.col("strategy") == ANCILLARY_STRATEGY).select(
        "location", da_ancillary_usd_per_kw_month="revenue_usd_per_kw_month"
    )
    reserve = (
        monthly.filter(pl.col("product").is_not_null())
        if "product" in monthly.columns
        else monthly.clear()
    )
    reserve = reserve.group_by("location").agg(
        pl.col("revenue_usd_per_kw_month").sum().alias("ancillary_usd_per_kw_month")
    )
    out = prices
    for part in (best, uplift.drop("optimised", "rule_based"), with_reserves, reserve):
        out = out.join(part, on="location", how="left")
    return out.sort("location")
