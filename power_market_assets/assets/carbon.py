"""Issue 14: each ISO's grid carbon intensity, derived from its fuel mix (docs/CARBON.md).

One multi-asset per ISO with a `fuel_mix` dataset, partitioned like the fuel mix's raw_parquet
(the ISO's operating days) and reading it: `<iso>/carbon_intensity` at the fuel mix's native
interval (irregular stamps snapped onto the nominal grid first) and
`<iso>/carbon_intensity_hourly` (UTC hours, energy-weighted), both from transforms/carbon.py
with the default `Treatment`, one Parquet file per day under `<iso>/carbon_intensity/`.

Each output has one blocking check (quality/carbon.py `carbon_checks`): shares sum to 1,
intensity within 0..the highest factor, and every expected interval has a value or a recorded
gap. Expected intervals the fuel mix lacks are recorded as gaps in the check's and the day's
metadata (`not_yet_published` while the day is not over, else `source_outage`), as the CDS
export discloses them. The hourly output's run metadata carries one plot per month.

`<iso>/cds_export` (monthly, like the combined outputs) writes the month's Carbon Data Spec
export, the document `power-market export --format cds` writes (io/cds_export.py), to
`<data root>/lake/<iso>/cds_export/<YYYY-MM>.json`, validated against the package's schema, and
records what it issued in the same ledger, so segment ids and re-issues agree with the command.
"""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from power_market_assets.assets.checks import CheckDef, check_specs
from power_market_assets.assets.factory import (
    MONTHLY_AUTOMATION,
    add_partition_metadata,
    evaluate_checks,
    lake_metadata,
    partition_days,
    run_metadata,
)
from power_market_assets.assets.partitions import daily_for, monthly_for
from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.io.catalog import CARBON_INPUT, CARBON_VIEWS, carbon_lake_path
from power_market_assets.io.cds_export import (
    append_ledger,
    build_export,
    segment_counts,
    validate,
)
from power_market_assets.io.lake import Lake, safe_part
from power_market_assets.quality import checks as quality
from power_market_assets.quality.carbon import carbon_checks
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.registry.emission_factors import FACTORS_VERSION
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.reporting import plots
from power_market_assets.transforms.carbon import (
    DEFAULT_TREATMENT,
    carbon_intensity,
    hourly_intensity,
    snap_to_grid,
)
from power_market_assets.transforms.time import day_bounds_utc, days_between, month_end, next_month
from power_market_assets.transforms.time import expected_interval_frame as interval_grid

NATIVE, HOURLY = CARBON_VIEWS  # the two outputs: carbon_intensity, carbon_intensity_hourly
CARBON_CHECK = CheckDef(
    "carbon",
    "Mix shares of every interval sum to 1, gCO2/kWh within 0..the highest factor of its basis "
    "(direct, lifecycle), and every expected interval has a value or a recorded gap.",
    True,
)
PLOTTED = ["gco2_per_kwh_direct", "gco2_per_kwh_lifecycle"]
GAP_SAMPLE = 5  # gap runs listed in the metadata
CDS_EXPORT = "cds_export"  # the monthly CDS export's key name and lake folder


def carbon_specs() -> list[DatasetSpec]:
    """The fuel-mix datasets a carbon intensity is built on (one per ISO that has one)."""
    return [spec for spec in ALL_DATASETS if spec.dataset == CARBON_INPUT]


def carbon_asset_keys(specs: tuple[DatasetSpec, ...] | list[DatasetSpec]) -> list[dg.AssetKey]:
    """`[iso, carbon_intensity]` and `[iso, carbon_intensity_hourly]` for each fuel mix among
    `specs` (none otherwise): what a job running the fuel mix also runs."""
    return [
        dg.AssetKey([spec.iso.lower(), name])
        for spec in specs
        if spec.dataset == CARBON_INPUT
        for name in CARBON_VIEWS
    ]


def intensity_frames(fuel_mix: pl.DataFrame, spec: DatasetSpec) -> dict[str, pl.DataFrame]:
    """{carbon_intensity: native-interval frame, carbon_intensity_hourly: hourly frame}."""
    if spec.irregular_intervals:
        fuel_mix = snap_to_grid(fuel_mix, spec.interval_minutes)
    native = carbon_intensity(fuel_mix, spec.iso, DEFAULT_TREATMENT)
    return {NATIVE: native, HOURLY: hourly_intensity(native)}


def recorded_gaps(
    frame: pl.DataFrame, day: date, spec: DatasetSpec, minutes: int, now: datetime
) -> pl.DataFrame:
    """The day's expected intervals without a value, with the reason the CDS export gives."""
    pending = day_bounds_utc(day, spec.timezone)[1] > now
    reason = "not_yet_published" if pending or spec.intraday_snapshots else "source_outage"
    return (
        interval_grid([day], spec.timezone, minutes)
        .join(frame.select("interval_start_utc"), on="interval_start_utc", how="anti")
        .with_columns(reason=pl.lit(reason))
    )


def gap_runs(gaps: pl.DataFrame, minutes: int) -> list[str]:
    """Gaps as 'start..end (n) reason' runs of consecutive intervals."""
    if gaps.height == 0:
        return []
    step = pl.duration(minutes=minutes)
    runs = (
        gaps.sort("interval_start_utc")
        .with_columns(
            run=(pl.col("interval_start_utc").diff() != step).fill_null(True).cum_sum(),
        )
        .group_by("run", "reason", maintain_order=True)
        .agg(
            first=pl.col("interval_start_utc").min(),
            last=pl.col("interval_start_utc").max() + step,
            n=pl.len(),
        )
    )
    return [
        f"{r['first']:%Y-%m-%dT%H:%MZ}..{r['last']:%Y-%m-%dT%H:%MZ} ({r['n']}) {r['reason']}"
        for r in runs.iter_rows(named=True)
    ]


def day_outcome(
    frame: pl.DataFrame, day: date, spec: DatasetSpec, minutes: int, now: datetime
) -> quality.CheckOutcome:
    """carbon_checks of one day's frame, its gaps recorded in the metadata."""
    gaps = recorded_gaps(frame, day, spec, minutes, now)
    grid = interval_grid([day], spec.timezone, minutes)
    check = carbon_checks(frame, spec.iso, grid, gaps)
    runs = gap_runs(gaps, minutes)
    summary = (
        f"{check.intervals} intervals: {check.shares_off} with shares off 1, "
        f"{check.out_of_bounds} out of bounds, {gaps.height} recorded as gaps"
    )
    return quality.CheckOutcome(
        name=CARBON_CHECK.name,
        passed=check.passed,
        summary=summary,
        metadata={
            **check.metadata(),
            "gap_intervals": gaps.height,
            "gaps": "; ".join(runs[:GAP_SAMPLE]) or "none",
        },
    )


def day_metadata(frame: pl.DataFrame, outcome: quality.CheckOutcome) -> dict:
    """What a day's partition shows: rows, mean / min / max intensity on both bases, gaps."""
    stats = {
        f"{stat}_{column}": float(value) if value is not None else 0.0
        for column in PLOTTED
        for stat, value in (
            ("mean", frame[column].mean()),
            ("min", frame[column].min()),
            ("max", frame[column].max()),
        )
    }
    return {
        "rows": frame.height,
        **stats,
        "gap_intervals": outcome.metadata["gap_intervals"],
        "gaps": outcome.metadata["gaps"],
        "factors_version": FACTORS_VERSION,
        "treatment": DEFAULT_TREATMENT.label,
    }


def month_plots(lake, spec: DatasetSpec, per_day: dict[str, pl.DataFrame]) -> dict:
    """`plot_<YYYY-MM>` per month of the run: the hourly intensity of the month's days in the
    lake with this run's days (not yet written) in their place."""
    lake_path = carbon_lake_path(spec.iso, HOURLY)
    metadata = {}
    for month in sorted({key[:7] for key in per_day}):
        first = date.fromisoformat(f"{month}-01")
        keys = [d.isoformat() for d in days_between(first, next_month(first))][:-1]
        stored = lake.existing_partition_files(lake_path, [k for k in keys if k not in per_day])
        frames = [pl.read_parquet(f) for f in stored]
        frames += [frame for key, frame in per_day.items() if key[:7] == month]
        frame = pl.concat(frames, how="diagonal_relaxed").sort("interval_start_utc")
        title = f"{spec.iso} carbon intensity {month} (gCO2/kWh, hourly)"
        png = plots.hub_price_plot_png(
            frame, PLOTTED, title, timezone=spec.timezone, y_label="gCO2/kWh"
        )
        metadata[f"plot_{month}"] = dg.MetadataValue.md(plots.png_markdown(png, title))
    return metadata


def build_carbon_assets(spec: DatasetSpec) -> dg.AssetsDefinition:
    """An ISO's carbon_intensity and carbon_intensity_hourly from its fuel mix `spec`."""
    iso = spec.iso.lower()
    keys = {name: dg.AssetKey([iso, name]) for name in CARBON_VIEWS}
    minutes = {NATIVE: spec.interval_minutes, HOURLY: 60}
    grain = {NATIVE: f"every {spec.interval_minutes} minutes", HOURLY: "UTC hours, energy-weighted"}
    outs = {
        name: dg.AssetOut(
            key=key,
            io_manager_key="lake_io",
            group_name=iso,
            kinds={"polars", "parquet"},
            description=(
                f"{spec.iso} grid carbon intensity from {spec.dataset} ({grain[name]}): MW and "
                "share by standard fuel, gCO2/kWh direct and lifecycle (docs/CARBON.md)."
            ),
            metadata=lake_metadata(carbon_lake_path(iso, name), "daily", f"{iso}.{name}"),
        )
        for name, key in keys.items()
    }

    @dg.multi_asset(
        name=f"{iso}_carbon_intensity",
        outs=outs,
        ins={"fuel_mix": dg.AssetIn(key=dg.AssetKey(spec.asset_key_path("raw_parquet")))},
        check_specs=[s for key in keys.values() for s in check_specs(key, (CARBON_CHECK,))],
        partitions_def=daily_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
        required_resource_keys={"lake"},
    )
    def carbon(
        context: dg.AssetExecutionContext, fuel_mix: pl.LazyFrame
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        lake = context.resources.lake.lake
        now = datetime.now(UTC)
        days = partition_days(context)
        frames = intensity_frames(fuel_mix.collect(), spec)
        for name, frame in frames.items():
            per_day = {
                day.isoformat(): frame.filter(pl.col("operating_day") == day) for day in days
            }
            outcomes = {
                key: day_outcome(per_day[key], day, spec, minutes[name], now)
                for key, day in zip(per_day, days, strict=True)
            }
            yield from evaluate_checks(
                context,
                keys[name],
                carbon_lake_path(iso, name),
                (CARBON_CHECK,),
                {key: {CARBON_CHECK.name: outcome} for key, outcome in outcomes.items()},
            )
            add_partition_metadata(
                context,
                {key: day_metadata(per_day[key], outcomes[key]) for key in per_day},
                asset_key=keys[name],
            )
            plotted = month_plots(lake, spec, per_day) if name == HOURLY else {}
            yield dg.Output(
                per_day,
                output_name=name,
                metadata={**run_metadata(list(per_day), rows=frame.height), **plotted},
            )

    return carbon


def all_carbon_assets() -> list[dg.AssetsDefinition]:
    return [build_carbon_assets(spec) for spec in carbon_specs()]


def cds_export_asset_keys(
    specs: tuple[DatasetSpec, ...] | list[DatasetSpec],
) -> list[dg.AssetKey]:
    """`[iso, cds_export]` for each fuel mix among `specs`: what a monthly job also runs."""
    return [
        dg.AssetKey([spec.iso.lower(), CDS_EXPORT])
        for spec in specs
        if spec.dataset == CARBON_INPUT
    ]


def cds_export_path(lake: Lake, iso: str, month: str) -> Path:
    """`<data root>/lake/<iso>/cds_export/<YYYY-MM>.json` of the month starting `month`."""
    return lake.lake_dir / safe_part(iso.lower()) / CDS_EXPORT / f"{month[:7]}.json"


def write_month_export(lake: Lake, spec: DatasetSpec, month: str, now: datetime) -> dict:
    """Build, validate and write one month's export (refused, not written, when invalid or
    when the checks find a problem), record its new versions in the ledger; its metadata."""
    first = date.fromisoformat(month)
    last = month_end(first)
    document, _, new_versions, problems = build_export(lake, spec, first, last, now)
    document.pop("history")
    errors = validate(document)
    if errors or problems:
        raise dg.Failure(
            description=f"{spec.iso} CDS export {month[:7]} refused",
            metadata={"problems": "; ".join((problems + errors)[:20])},
        )
    path = cds_export_path(lake, spec.iso, month)
    atomic_write_bytes(path, json.dumps(document, indent=1).encode())
    append_ledger(lake, spec.iso, new_versions, now)
    return {
        **segment_counts(document),
        "new_or_reissued": len(new_versions),
        "path": dg.MetadataValue.path(str(path)),
    }


NO_VIEW = "none (JSON files, read with power-market export --format cds)"


def build_cds_export_asset(spec: DatasetSpec) -> dg.AssetsDefinition:
    """An ISO's monthly `cds_export` from its fuel mix `spec` (read from the lake, as the
    command reads it: the fuel mix's raw_parquet days of the month are its upstream)."""
    iso = spec.iso.lower()
    key = dg.AssetKey([iso, CDS_EXPORT])

    @dg.asset(
        key=key,
        deps=[
            dg.AssetDep(
                dg.AssetKey(spec.asset_key_path("raw_parquet")),
                partition_mapping=dg.TimeWindowPartitionMapping(),
            )
        ],
        partitions_def=monthly_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=iso,
        kinds={"json"},
        description=(
            f"{spec.iso} supply mix and gCO2/kWh as Carbon Data Spec usage segments per month, "
            "every interval covered by data or a disclosed gap (docs/CARBON.md)."
        ),
        automation_condition=MONTHLY_AUTOMATION,
        # JSON files under lake/<iso>/cds_export/, no DuckDB view: catalog_view says so.
        metadata=lake_metadata(f"{iso}/{CDS_EXPORT}", "monthly", NO_VIEW),
        required_resource_keys={"lake"},
    )
    def cds_export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        lake = context.resources.lake.lake
        now = datetime.now(UTC)
        per_month = {
            month: write_month_export(lake, spec, month, now) for month in context.partition_keys
        }
        add_partition_metadata(context, per_month)
        segments = sum(m["segments"] for m in per_month.values())
        return dg.MaterializeResult(metadata=run_metadata(list(per_month), segments=segments))

    return cds_export
