"""Stage 4: per-ISO time-aligned joins of DA, AS and RT prices at hubs and zones.

One multi-asset reads the three flattened inputs once and writes three monthly outputs, each
also compacted into yearly files and one whole-range file users can open directly.

`fundamentals_hourly` (one asset per ISO with `FUNDAMENTALS_INPUTS`) reads the long tables of
its inputs (stage 2: a forecast's vintages are only there) for the month's operating days, the
load forecast's from the month before too (a vintage published on the last day of the month
before is the first day's day-ahead forecast) and the renewables' from the month after (the
last hour's actual is published after midnight); transforms/fundamentals.py does the rest.
"""

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import dagster as dg
import polars as pl

from power_market_assets.assets.factory import (
    MONTHLY_AUTOMATION,
    PLOTTED_LOCATIONS,
    add_partition_metadata,
    lake_metadata,
    run_metadata,
    wide_summary,
)
from power_market_assets.assets.partitions import monthly_for
from power_market_assets.registry import FUNDAMENTALS_INPUTS
from power_market_assets.registry.spec import DatasetSpec, FundamentalsInputs, combined_key_path
from power_market_assets.reporting import plots
from power_market_assets.transforms import combine
from power_market_assets.transforms.flatten import TIME_COLUMNS
from power_market_assets.transforms.fundamentals import fundamentals_hourly
from power_market_assets.transforms.names import assign_wide_columns, default_wide_columns

# kind -> (description, join function)
COMBINED_KINDS: dict[str, tuple[str, Callable[..., pl.DataFrame]]] = {
    "da_as_hourly": (
        "Hourly: day-ahead prices at hubs and zones with the AS clearing prices.",
        lambda da, as_, rt, locs, prods: combine.combine_da_as_hourly(da, as_, locs, prods),
    ),
    "da_as_rt_hourly": (
        "Hourly: DA and AS with the real-time mean, max, min and std over each hour.",
        combine.combine_da_as_rt_hourly,
    ),
    "da_as_rt_native": (
        "Real-time granularity: RT prices with DA and AS repeated from their hour.",
        combine.combine_da_as_rt_native,
    ),
}
# AS products drawn in a combined month's plot (ISOs clear 4 to 8 of them).
PLOTTED_PRODUCTS = 6


def combined_asset_keys(iso: str) -> list[dg.AssetKey]:
    """The keys of an ISO's combined outputs, `<iso>/combined_<kind>` (fundamentals_hourly
    included where the ISO names its inputs)."""
    keys = [dg.AssetKey(combined_key_path(iso, kind)) for kind in COMBINED_KINDS]
    if FUNDAMENTALS_INPUTS.get(iso.upper()) is not None:
        keys.append(fundamentals_asset_key(iso))
    return keys


def combined_month_metadata(
    frame: pl.DataFrame,
    month: str,
    locations: list[str],
    products: list[str],
    title: str,
    timezone: str,
) -> dict:
    """What the UI shows of a combined month: size, span, a preview and one plot panel per
    market the output holds (DA, RT as the hourly mean or at its own granularity, AS) for
    the first hubs and products, each on its own price scale."""
    panels = plots.combined_panels(
        frame.columns, locations[:PLOTTED_LOCATIONS], products[:PLOTTED_PRODUCTS]
    )
    png = plots.market_panels_plot_png(frame, panels, title, timezone=timezone)
    return {
        **wide_summary(frame, [month], [c for _, columns in panels for c in columns]),
        "plotted": "; ".join(f"{name}: {', '.join(columns)}" for name, columns in panels),
        "plot": dg.MetadataValue.md(plots.png_markdown(png, title)),
    }


def _wide_columns(
    frame: pl.LazyFrame, spec: DatasetSpec, names: tuple[str, ...]
) -> tuple[pl.DataFrame, list[str]]:
    """Only the time columns and the default locations `names` (flattened RT has ~1,000
    columns), found through the input spec's own wide columns and renamed to the identifiers
    of `names` (`default_wide_columns`), so all three inputs share one naming."""
    have = frame.collect_schema().names()
    own = default_wide_columns(spec)
    wanted = assign_wide_columns(names, names)
    time_cols = [c for c in TIME_COLUMNS if c in have]
    picked = [
        pl.col(own[name]).alias(wanted[name]) for name in names if name in own and own[name] in have
    ]
    return frame.select(*time_cols, *picked).collect(), [wanted[name] for name in names]


def build_combined_assets(
    da_spec: DatasetSpec, as_spec: DatasetSpec | None, rt_spec: DatasetSpec
) -> dg.AssetsDefinition:
    """The ISO's combined outputs; without an hourly day-ahead AS dataset (`as_spec` None) the
    joins carry DA and RT only."""
    iso = da_spec.iso.lower()
    outs = {
        kind: dg.AssetOut(
            key=dg.AssetKey(combined_key_path(iso, kind)),
            io_manager_key="lake_io",
            group_name=iso,
            kinds={"polars", "parquet"},
            description=description,
            automation_condition=MONTHLY_AUTOMATION,
            # Key and view `<iso>/combined_<kind>`; files stay under <iso>/combined/<kind>.
            metadata=lake_metadata(
                f"{iso}/combined/{kind}",
                "monthly",
                ".".join(combined_key_path(iso, kind)),
                compact=True,
            ),
        )
        for kind, (description, _) in COMBINED_KINDS.items()
    }

    @dg.multi_asset(
        name=f"{iso}_combined",
        outs=outs,
        ins={
            name: dg.AssetIn(key=dg.AssetKey(spec.asset_key_path("flattened")))
            for name, spec in (("da", da_spec), ("as_", as_spec), ("rt", rt_spec))
            if spec is not None
        },
        partitions_def=monthly_for(da_spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def combined(context: dg.AssetExecutionContext, **inputs: pl.LazyFrame) -> Iterator[dg.Output]:
        da, rt, as_ = inputs["da"], inputs["rt"], inputs.get("as_")
        da_wide, locations = _wide_columns(da, da_spec, da_spec.default_locations)
        rt_wide, _ = _wide_columns(rt, rt_spec, da_spec.default_locations)
        # No AS dataset: an AS frame with the DA hours and no product columns.
        if as_spec is None:
            as_wide, products = da_wide.select(TIME_COLUMNS), []
        else:
            as_wide, products = _wide_columns(as_, as_spec, as_spec.default_locations)
        month_of = pl.col("operating_day").dt.strftime("%Y-%m-01")
        for kind, (_, join) in COMBINED_KINDS.items():
            per_month = {
                month: join(
                    da_wide.filter(month_of == month),
                    as_wide.filter(month_of == month),
                    rt_wide.filter(month_of == month),
                    locations,
                    products,
                )
                for month in context.partition_keys
            }
            add_partition_metadata(
                context,
                {
                    month: combined_month_metadata(
                        frame,
                        month,
                        locations,
                        products,
                        f"{da_spec.iso} {kind} {month[:7]}",
                        da_spec.timezone,
                    )
                    for month, frame in per_month.items()
                },
                asset_key=outs[kind].key,
            )
            rows = sum(frame.height for frame in per_month.values())
            yield dg.Output(
                per_month, output_name=kind, metadata=run_metadata(list(per_month), rows=rows)
            )

    return combined


FUNDAMENTALS_KIND = "fundamentals_hourly"
FUNDAMENTALS_PREVIEW = ("da_price", "rt_price", "load_mw", "load_forecast_mw", "net_load_mw")
FUNDAMENTALS_PLOTTED = ["load_mw", "load_forecast_mw", "net_load_mw"]
# Monthly partitions read from daily ones: the month's days, plus for the forecast the month
# before (offsets count downstream partitions) and for the renewables the month after; a
# month outside the upstream's partitions (before its start, after tomorrow) is no error.
# Built when the asset is (a beta parameter: definitions.py silences its warning first).
MONTH_BEFORE, MONTH_AFTER = -1, 1


def _mapping(start_offset: int = 0, end_offset: int = 0) -> dg.TimeWindowPartitionMapping:
    if not (start_offset or end_offset):
        return dg.TimeWindowPartitionMapping()
    return dg.TimeWindowPartitionMapping(
        start_offset=start_offset,
        end_offset=end_offset,
        allow_nonexistent_upstream_partitions=True,
    )


def fundamentals_asset_key(iso: str) -> dg.AssetKey:
    """`<iso>/combined_fundamentals_hourly`, also its DuckDB view."""
    return dg.AssetKey(combined_key_path(iso, FUNDAMENTALS_KIND))


def fundamentals_ins(
    inputs: FundamentalsInputs,
) -> dict[str, tuple[DatasetSpec, dg.TimeWindowPartitionMapping]]:
    """Input name -> (spec, partition mapping) of every long table the output reads."""
    named: dict[str, tuple[DatasetSpec, dg.TimeWindowPartitionMapping]] = {
        "da": (inputs.da_prices, _mapping()),
        "rt": (inputs.rt_prices, _mapping()),
        "load": (inputs.load, _mapping()),
    }
    if inputs.load_forecast is not None:
        named["load_forecast"] = (inputs.load_forecast, _mapping(start_offset=MONTH_BEFORE))
    if inputs.fuel_mix is not None:
        named["fuel_mix"] = (inputs.fuel_mix, _mapping())
    for n, spec in enumerate(inputs.renewables):
        named[f"renewables_{n}"] = (spec, _mapping(end_offset=MONTH_AFTER))
    return named


def _days_of(month: str, before: int, after: int) -> pl.Expr:
    """operating_day within the month, widened by `before` / `after` days."""
    first = date.fromisoformat(month)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return pl.col("operating_day").is_between(
        first - timedelta(days=before), last + timedelta(days=after)
    )


def fundamentals_month(
    inputs: FundamentalsInputs, frames: dict[str, pl.LazyFrame], month: str
) -> pl.DataFrame:
    """One month of fundamentals_hourly from the inputs' long tables (lazy; only the days the
    month needs are read: the day before it of the forecast, the day after of renewables)."""

    def days(name: str, before: int = 0, after: int = 0) -> pl.LazyFrame:
        return frames[name].filter(_days_of(month, before, after))

    renewables = [days(n, after=1) for n in frames if n.startswith("renewables_")]
    frame = fundamentals_hourly(
        inputs,
        da=days("da"),
        rt=days("rt"),
        load=days("load"),
        load_forecast=days("load_forecast", before=1) if "load_forecast" in frames else None,
        fuel_mix=days("fuel_mix") if "fuel_mix" in frames else None,
        renewables=renewables,
    )
    return frame.filter(pl.col("operating_day").dt.strftime("%Y-%m-01") == month)


def fundamentals_month_metadata(
    frame: pl.DataFrame, month: str, inputs: FundamentalsInputs
) -> dict:
    """Size, span, a preview and a plot of load, its day-ahead forecast and net load (MW)."""
    title = f"{inputs.load.iso} {FUNDAMENTALS_KIND} {month[:7]}"
    png = plots.hub_price_plot_png(
        frame, FUNDAMENTALS_PLOTTED, title, timezone=inputs.load.timezone, y_label="MW"
    )
    return {
        **wide_summary(frame, [month], list(FUNDAMENTALS_PREVIEW)),
        "plot": dg.MetadataValue.md(plots.png_markdown(png, title)),
    }


def build_fundamentals_asset(inputs: FundamentalsInputs) -> dg.AssetsDefinition:
    """An ISO's `fundamentals_hourly`: monthly (monthly and yearly files like the other
    combined outputs), from the long tables of `inputs`."""
    iso = inputs.load.iso.lower()
    key = fundamentals_asset_key(iso)
    named = fundamentals_ins(inputs)

    @dg.asset(
        key=key,
        ins={
            name: dg.AssetIn(
                key=dg.AssetKey(spec.asset_key_path("raw_parquet")), partition_mapping=mapping
            )
            for name, (spec, mapping) in named.items()
        },
        partitions_def=monthly_for(inputs.da_prices),
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="lake_io",
        group_name=iso,
        kinds={"polars", "parquet"},
        description=(
            f"Hourly fundamentals of {inputs.load.iso}: {inputs.hub} DA and RT price, load, the "
            "day-ahead load forecast, generation by standard fuel, wind, solar and net load."
        ),
        automation_condition=MONTHLY_AUTOMATION,
        metadata=lake_metadata(
            f"{iso}/combined/{FUNDAMENTALS_KIND}", "monthly", ".".join(key.path), compact=True
        ),
    )
    def fundamentals(context: dg.AssetExecutionContext, **frames: pl.LazyFrame) -> dg.Output:
        per_month = {
            month: fundamentals_month(inputs, frames, month) for month in context.partition_keys
        }
        add_partition_metadata(
            context,
            {
                month: fundamentals_month_metadata(frame, month, inputs)
                for month, frame in per_month.items()
            },
        )
        rows = sum(frame.height for frame in per_month.values())
        return dg.Output(per_month, metadata=run_metadata(list(per_month), rows=rows))

    return fundamentals
