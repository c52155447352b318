"""Issue 15: monthly market reports per ISO (docs/REPORTS.md).

Two multi-assets per ISO with COMBINED_INPUTS, monthly like the combined outputs, in the group
`<iso>_reports` (one group per ISO: a node's label must be unique within its group):

- `<iso>_report_prices`: `<iso>/report_price_stats` and `<iso>/report_price_duration`
  (transforms/price_stats.py), with the duration curves and the DA-RT spread histogram plotted;
- `<iso>_report_bess`: `<iso>/report_bess_value` and `<iso>/report_bess_schedule` for the
  battery of its run config (`BatteryConfig`, default 100 MW / 2 h / 0.86), with the daily
  revenue by strategy plotted.

Each reads the month's days of the ISO's DA, RT (and AS) raw_parquet through a monthly-to-daily
partition mapping, the same long tables `power-market report` reads, and the same functions turn
them into the tables (transforms/report_tables.py). Each also depends on the ISO's combined
outputs and updates (declarative automation) once they have updated: after the month's
combined tables, not once per upstream day.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from power_market_assets.assets.combined import combined_asset_keys
from power_market_assets.assets.factory import (
    add_partition_metadata,
    lake_metadata,
    run_metadata,
)
from power_market_assets.assets.partitions import monthly_for
from power_market_assets.io.catalog import REPORT_VIEWS, report_lake_path
from power_market_assets.quality.checks import markdown_table
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.reporting import plots
from power_market_assets.reporting.report_html import bess_plots, price_plots
from power_market_assets.transforms import price_stats as stats
from power_market_assets.transforms.bess import Battery
from power_market_assets.transforms.report_tables import bess_report, headline_locations

PRICE_STATS, PRICE_DURATION, BESS_VALUE, BESS_SCHEDULE = REPORT_VIEWS
DESCRIPTIONS = {
    PRICE_STATS: (
        "Monthly price statistics per hub and zone and market (DA, RT, DA-RT spread): mean, "
        "std, percentiles, hour-to-hour volatility, negative-price hours, intervals above "
        "$1,000/MWh and at the cap ($/MWh)."
    ),
    PRICE_DURATION: (
        "Monthly price duration curves per hub and zone, DA and RT: 101 points, the price "
        "($/MWh) met or exceeded percent_of_time of the intervals."
    ),
    BESS_VALUE: (
        "Daily battery value per hub and zone: revenue ($) of each energy strategy (perfect "
        "foresight LP and rule-based) and each ancillary product's capacity revenue."
    ),
    BESS_SCHEDULE: (
        "The battery's charge/discharge schedule (MW) and state of charge (MWh) per interval, "
        "hub or zone and strategy."
    ),
}
PREVIEW_ROWS = 8


def report_automation(iso: str) -> dg.AutomationCondition:
    """As MONTHLY_AUTOMATION, but only an update of the ISO's combined month triggers it (the
    daily inputs update first; the report waits for the month they feed)."""
    combined = dg.AssetSelection.assets(*combined_asset_keys(iso))
    return (
        dg.AutomationCondition.any_deps_updated().allow(combined).since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("combined month updated and blocking checks upstream passed")


class BatteryConfig(dg.Config):
    """The battery valued by `<iso>/report_bess_value` (transforms/bess.py Battery)."""

    power_mw: float = 100.0
    duration_hours: float = 2.0
    round_trip_efficiency: float = 0.86
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    initial_soc_fraction: float = 0.5
    cycles_per_day: float | None = 1.0
    degradation_usd_per_mwh: float = 0.0

    def battery(self) -> Battery:
        return Battery(**self.model_dump())


def report_key(iso: str, view: str) -> dg.AssetKey:
    """`<iso>/report_<name>`, also its DuckDB view `<iso>.report_<name>`."""
    return dg.AssetKey([iso.lower(), view])


def report_asset_keys(iso: str) -> list[dg.AssetKey]:
    return [report_key(iso, view) for view in REPORT_VIEWS]


def _ins(da: DatasetSpec, as_: DatasetSpec | None, rt: DatasetSpec) -> dict[str, dg.AssetIn]:
    """The month's days of each long price table (AS: a month before its market existed maps
    to no upstream day, not an error)."""
    named = {"da": (da, False), "rt": (rt, False)}
    if as_ is not None:
        named["as_"] = (as_, True)
    return {
        name: dg.AssetIn(
            key=dg.AssetKey(spec.asset_key_path("raw_parquet")),
            partition_mapping=dg.TimeWindowPartitionMapping(
                allow_nonexistent_upstream_partitions=lenient
            ),
        )
        for name, (spec, lenient) in named.items()
    }


def _outs(iso: str, views: tuple[str, ...]) -> dict[str, dg.AssetOut]:
    return {
        view: dg.AssetOut(
            key=report_key(iso, view),
            io_manager_key="lake_io",
            group_name=f"{iso}_reports",
            kinds={"polars", "parquet"},
            description=DESCRIPTIONS[view],
            automation_condition=report_automation(iso),
            metadata=lake_metadata(
                report_lake_path(iso, view), "monthly", ".".join(report_key(iso, view).path)
            ),
        )
        for view in views
    }


def _month_of(frame: pl.LazyFrame, month: str) -> pl.LazyFrame:
    return frame.filter(pl.col("operating_day").dt.strftime("%Y-%m-01") == month)


def _png_metadata(pngs: dict[str, bytes]) -> dict:
    return {
        f"plot_{n}": dg.MetadataValue.md(plots.png_markdown(png, title))
        for n, (title, png) in enumerate(pngs.items(), start=1)
    }


def _preview(frame: pl.DataFrame, columns: list[str]) -> dg.MetadataValue:
    shown = [c for c in columns if c in frame.columns]
    return dg.MetadataValue.md(
        markdown_table(frame.select(shown), limit=PREVIEW_ROWS) or "" if frame.height else ""
    )


def _monthly_report(name: str, outs: dict, ins: dict, spec: DatasetSpec):
    """The multi-asset decorator of a report op: monthly, one run for a range of months,
    after the ISO's combined outputs."""
    return dg.multi_asset(
        name=name,
        outs=outs,
        ins=ins,
        deps=combined_asset_keys(spec.iso.lower()),
        partitions_def=monthly_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )


def build_price_report_assets(da_spec: DatasetSpec, rt_spec: DatasetSpec) -> dg.AssetsDefinition:
    """`<iso>/report_price_stats` and `<iso>/report_price_duration`."""
    iso = da_spec.iso.lower()
    outs = _outs(iso, (PRICE_STATS, PRICE_DURATION))

    @_monthly_report(f"{iso}_report_prices", outs, _ins(da_spec, None, rt_spec), da_spec)
    def report_prices(
        context: dg.AssetExecutionContext, da: pl.LazyFrame, rt: pl.LazyFrame
    ) -> Iterator[dg.Output]:
        iso_name = da_spec.iso
        tables: dict[str, dict[str, pl.DataFrame]] = {PRICE_STATS: {}, PRICE_DURATION: {}}
        metadata: dict[str, dict] = {}
        for month in context.partition_keys:
            da_month = stats.hubs_and_zones(_month_of(da, month))
            rt_month = stats.hubs_and_zones(_month_of(rt, month))
            table = stats.price_stats(
                da_month, rt_month, iso_name, da_spec.price_bounds, rt_spec.price_bounds
            )
            duration = stats.price_duration(da_month, rt_month, iso_name)
            tables[PRICE_STATS][month] = table
            tables[PRICE_DURATION][month] = duration
            locations = headline_locations(table) if table.height else []
            pngs = price_plots(
                iso_name,
                month[:7],
                duration,
                stats.spread_values(da_month, rt_month),
                locations,
            )
            metadata[month] = {
                "rows": table.height,
                "locations": table["location"].n_unique() if table.height else 0,
                "preview": _preview(
                    table.filter(pl.col("location").is_in(locations)),
                    ["location", "market", "mean_usd_per_mwh", "p50_usd_per_mwh", "negative_hours"],
                ),
                **_png_metadata(pngs),
            }
        add_partition_metadata(context, metadata, asset_key=outs[PRICE_STATS].key)
        for view, per_month in tables.items():
            rows = sum(f.height for f in per_month.values())
            yield dg.Output(
                per_month, output_name=view, metadata=run_metadata(list(per_month), rows=rows)
            )

    return report_prices


def build_bess_report_assets(
    da_spec: DatasetSpec, as_spec: DatasetSpec | None, rt_spec: DatasetSpec
) -> dg.AssetsDefinition:
    """`<iso>/report_bess_value` and `<iso>/report_bess_schedule` for the configured battery."""
    iso = da_spec.iso.lower()
    outs = _outs(iso, (BESS_VALUE, BESS_SCHEDULE))

    @_monthly_report(f"{iso}_report_bess", outs, _ins(da_spec, as_spec, rt_spec), da_spec)
    def report_bess(
        context: dg.AssetExecutionContext, config: BatteryConfig, **inputs: pl.LazyFrame
    ) -> Iterator[dg.Output]:
        battery = config.battery()
        iso_name = da_spec.iso
        tables: dict[str, dict[str, pl.DataFrame]] = {BESS_VALUE: {}, BESS_SCHEDULE: {}}
        metadata: dict[str, dict] = {}
        for month in context.partition_keys:
            ancillary = inputs.get("as_")
            report = bess_report(
                _month_of(inputs["da"], month),
                _month_of(inputs["rt"], month),
                _month_of(ancillary, month) if ancillary is not None else None,
                battery,
                iso_name,
            )
            tables[BESS_VALUE][month] = report.value
            tables[BESS_SCHEDULE][month] = report.schedule
            locations = sorted(set(report.value["location"])) if report.value.height else []
            hubs = [loc for loc in da_spec.default_locations if loc in locations] or locations
            pngs = bess_plots(iso_name, month[:7], report.value, hubs[0]) if hubs else {}
            metadata[month] = {
                "battery": battery.label(),
                "rows": report.value.height,
                "monthly": _preview(
                    report.monthly,
                    ["location", "strategy", "product", "revenue_usd", "revenue_usd_per_kw_month"],
                ),
                **_png_metadata(pngs),
            }
        add_partition_metadata(context, metadata, asset_key=outs[BESS_VALUE].key)
        for view, per_month in tables.items():
            rows = sum(f.height for f in per_month.values())
            yield dg.Output(
                per_month,
                output_name=view,
                metadata={**run_metadata(list(per_month), rows=rows), "battery": battery.label()},
            )

    return report_bess


def build_report_assets(
    da: DatasetSpec, as_: DatasetSpec | None, rt: DatasetSpec
) -> list[dg.AssetsDefinition]:
    """An ISO's report assets from its COMBINED_INPUTS."""
    return [build_price_report_assets(da, rt), build_bess_report_assets(da, as_, rt)]
