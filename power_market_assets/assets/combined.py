"""Stage 4: per-ISO time-aligned joins of DA, AS and RT prices at hubs and zones.

One multi-asset reads the three flattened inputs once and writes three monthly outputs, each
also compacted into yearly files and one whole-range file users can open directly.
"""

from collections.abc import Callable, Iterator

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
from power_market_assets.registry.spec import DatasetSpec, combined_key_path
from power_market_assets.reporting import plots
from power_market_assets.transforms import combine
from power_market_assets.transforms.flatten import TIME_COLUMNS
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
    """The keys of an ISO's combined outputs, `<iso>/combined_<kind>`."""
    return [dg.AssetKey(combined_key_path(iso, kind)) for kind in COMBINED_KINDS]


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
