"""One factory builds every dataset's csv -> raw_parquet -> flattened assets from its spec.

The daily stages (csv, raw_parquet) are two assets of one op (`build_daily_assets`): a range
runs as one run (BackfillPolicy.single_run) in which each day is landed while the day before
is parsed, and each day is still one Parquet file (the lake IO manager splits the output).
Either asset can be materialized alone (stage 2 then reads stage 1 from the lake). Checks
that guard the data run inside the op on the in-memory frame, before anything is renamed into
place: when a blocking one fails, the run fails and the previous files stay in place.
"""

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from power_market_assets.assets.checks import (
    SHARED_RAW_CHECKS,
    CheckDef,
    check_specs,
    raw_checks_for,
    to_result,
)
from power_market_assets.assets.partitions import daily_for, monthly_for
from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.changes import PartitionChanges
from power_market_assets.io.io_manager import DEFER_CATALOG
from power_market_assets.io.lake import (
    StagedPartitions,
    stage_lake_path,
    write_failure_marker,
)
from power_market_assets.io.locations import write_locations
from power_market_assets.io.staged_days import DayStager, RawSummary, StagedDay
from power_market_assets.io.stages import (
    land_and_parse_days,
    land_days,
    parse_days,
)
from power_market_assets.quality import checks as quality
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.reporting import plots
from power_market_assets.sources.landing import LandedSource
from power_market_assets.transforms.flatten import FlattenResult, flatten, flatten_input
from power_market_assets.transforms.names import default_wide_columns

# Stage 2's checks: those every kind shares (the blocking ones among them); a dataset's own
# list, with its range check and fuel_total where its kind has one, is raw_checks_for(spec).
RAW_CHECKS = SHARED_RAW_CHECKS
FLAT_CHECKS = (CheckDef("pivot_accuracy", "Every long-table value equals its wide cell.", True),)

# Monthly stages (flattened, combined) follow their inputs on their own: a month is requested
# when any of its input partitions was updated since the month was last handled, once nothing
# upstream is still running and every blocking check upstream passed.
MONTHLY_AUTOMATION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("inputs updated and their blocking checks passed")


class CsvStageConfig(dg.Config):
    """Where stage 1 takes the day's files from: the ISO itself or the landing folder."""

    source: str = "iso"  # "iso" (listing + download) or "landing" (files dropped by users)


def lake_metadata(lake_path: str, granularity: str, view: str, **extra) -> dict:
    return {
        "lake_path": lake_path,
        "partition_granularity": granularity,
        "catalog_view": view,
        **extra,
    }


def stage_asset_args(
    spec: DatasetSpec, stage: str, granularity: str, description: str, **extra
) -> dict:
    """The decorator arguments every stage asset of a dataset shares: the key
    `<iso>/<dataset>_<stage>` (its catalog view's name), files under `<iso>/<dataset>/<stage>`."""
    key = dg.AssetKey(spec.asset_key_path(stage))
    return {
        "key": key,
        "partitions_def": daily_for(spec) if granularity == "daily" else monthly_for(spec),
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "io_manager_key": "lake_io",
        "group_name": spec.iso.lower(),
        "description": description,
        "metadata": lake_metadata(stage_lake_path(spec, stage), granularity, ".".join(key.path)),
        **extra,
    }


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    return [date.fromisoformat(key) for key in context.partition_keys]


def _landed_from_folder(folder: Path) -> list[LandedSource]:
    """The files dropped in a landing folder (scandir: no stat per file for thousands)."""
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_file() and not e.name.startswith("."))
    return [LandedSource(path=folder / name, original_name=name) for name in names]


def daily_spec(spec: DatasetSpec, stage: str, description: str, **extra) -> dg.AssetSpec:
    """The asset spec of a daily stage (csv, raw_parquet) in the op that runs both."""
    args = stage_asset_args(spec, stage, "daily", description)
    return dg.AssetSpec(
        key=args["key"],
        description=args["description"],
        metadata=args["metadata"],
        group_name=args["group_name"],
        partitions_def=args["partitions_def"],
        # A range the ISO has not published at all materializes nothing instead of
        # failing: see not_available().
        skippable=True,
        **extra,
    ).with_io_manager_key(args["io_manager_key"])


def daily_op_name(spec: DatasetSpec) -> str:
    """The op running a dataset's stages 1 and 2 (its config is CsvStageConfig)."""
    return f"{spec.iso.lower()}__{spec.dataset}_csv_raw_parquet"


def build_daily_assets(spec: DatasetSpec) -> dg.AssetsDefinition:
    """Stages 1 (csv) and 2 (raw_parquet) of a dataset: two assets, one op, so that a day is
    landed while the day before is parsed (io/stages.land_and_parse_days) instead of every day
    landing before the first is parsed. Either stage can still be materialized alone."""
    csv_key = dg.AssetKey(spec.asset_key_path("csv"))
    raw_key = dg.AssetKey(spec.asset_key_path("raw_parquet"))
    source_key = f"{spec.iso.lower()}_source"

    @dg.multi_asset(
        name=daily_op_name(spec),
        specs=[
            daily_spec(
                spec,
                "csv",
                f"Stage 1, {spec.title} ({spec.report_code}): the original CSV files of each "
                "operating day, extracted safely from the ISO's zips (a day of many small CSVs "
                "as one joined CSV with its index and the archives as served), with "
                "metadata.json; the asset's value is the manifest of those files.",
                kinds={"csv", "parquet"},
            ),
            daily_spec(
                spec,
                "raw_parquet",
                f"Stage 2, {spec.title}: the standard long table for each operating day "
                f"(UTC-correct interval starts, Float64 prices, source_file kept), "
                f"{spec.interval_minutes}-minute intervals.",
                deps=[csv_key],
                kinds={"polars", "parquet"},
            ),
        ],
        check_specs=check_specs(raw_key, raw_checks_for(spec)),
        partitions_def=daily_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
        required_resource_keys={source_key, "lake"},
        can_subset=True,
    )
    def daily_stages(
        context: dg.AssetExecutionContext, config: CsvStageConfig
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        lake = context.resources.lake.lake
        days = partition_days(context)
        selected = context.selected_asset_keys
        if csv_key in selected:
            sources = day_sources(context, spec, config, days)
            if sources is None:
                return
            if raw_key not in selected:
                manifest = land_days(lake, spec, sources)
                yield csv_output(context, csv_key, days, manifest)
                return
            stream = land_and_parse_days(
                lake, spec, sources, True, DayStager(lake, spec), StagedDay.discard
            )
        else:
            manifest = stage_one_manifest(lake, spec, days)
            stream = parse_days(
                spec, days, manifest, lake.root, True, DayStager(lake, spec), StagedDay.discard
            )
        yield from raw_outputs(context, spec, csv_key, raw_key, days, stream)

    return daily_stages


def day_sources(
    context: dg.AssetExecutionContext, spec: DatasetSpec, config: CsvStageConfig, days: list[date]
) -> dict[date, list] | None:
    """Each day's files from the ISO or the landing folder; None when the ISO has published
    none of the days yet (nothing to materialize); dg.Failure when only some are missing."""
    lake = context.resources.lake.lake
    if config.source == "landing":
        sources = {
            day: _landed_from_folder(folder)
            for day in days
            if (folder := lake.landing_day_dir(spec.iso, spec.dataset, day.isoformat())).exists()
        }
    else:
        download_dir = lake.downloads_dir / spec.iso.lower() / spec.dataset
        source = getattr(context.resources, f"{spec.iso.lower()}_source")
        sources = source.fetch(spec, days, download_dir)
    missing = [d.isoformat() for d in days if not sources.get(d)]
    if missing and config.source == "iso" and len(missing) == len(days):
        not_available(context, spec, missing)
        return None
    if missing:
        raise dg.Failure(
            f"{spec.iso} {spec.report_code}: no files for operating day(s) {missing} "
            f"(source: {config.source}); "
            + (
                "not published yet: run the published days on their own"
                if config.source == "iso"
                else "drop the files into the landing inbox first"
            ),
            metadata={"missing_days": ", ".join(missing)},
        )
    return {day: sources[day] for day in days}


def csv_output(
    context: dg.AssetExecutionContext,
    csv_key: dg.AssetKey,
    days: list[date],
    manifest: pl.DataFrame,
    staged: StagedPartitions | None = None,
) -> dg.Output:
    """Stage 1's output: the manifest, with each day's files, bytes and data lines. `staged`:
    its partition files already written under temp names while stage 2 ran (the IO manager
    renames them), and the catalog rebuilt once, with stage 2's output."""
    add_partition_metadata(context, csv_day_metadata(manifest), asset_key=csv_key)
    deferred = {DEFER_CATALOG: "with raw_parquet"} if staged is not None else {}
    return dg.Output(
        manifest if staged is None else staged,
        output_name=csv_key.to_python_identifier(),
        metadata={**run_metadata(days, files=manifest.height), **deferred},
    )


def stage_one_manifest(lake, spec: DatasetSpec, days: list[date]) -> pl.DataFrame:
    """The stage-1 manifest of days already landed (stage 2 run on its own)."""
    lake_path = stage_lake_path(spec, "csv")
    files = lake.existing_partition_files(lake_path, [day.isoformat() for day in days])
    if len(files) < len(days):
        landed = {path.stem for path in files}
        missing = [day.isoformat() for day in days if day.isoformat() not in landed]
        raise dg.Failure(
            f"{lake_path}: operating day(s) {missing} are not landed: materialize stage 1 first"
        )
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


def not_available(context: dg.AssetExecutionContext, spec: DatasetSpec, days: list[str]) -> None:
    """None of the requested days is published yet: normal for tomorrow's partition or a
    day the ISO posts late. The run succeeds without materializing anything (downstream
    steps are skipped), so a later run or the publication sensor picks the day up."""
    context.log.info(
        f"{spec.iso} {spec.report_code}: operating day(s) {', '.join(days)} not available "
        "(not published yet); nothing materialized"
    )
    context.log_event(
        dg.AssetObservation(
            asset_key=dg.AssetKey(spec.asset_key_path("csv")),
            metadata={"not_available_days": ", ".join(days), "status": "not available"},
        )
    )


def merge_outcomes(by_partition: dict[str, quality.CheckOutcome]) -> quality.CheckOutcome:
    """One outcome for the partitions of a run (the pinned Dagster records one check result per
    run, not per partition): a single partition's own outcome, or for a range the totals of
    its counts, the state of every partition in a table, and the first failure's rows."""
    if len(by_partition) == 1:
        ((key, outcome),) = by_partition.items()
        return replace(outcome, metadata={**outcome.metadata, "partition": key})
    failed = [key for key, outcome in by_partition.items() if not outcome.passed]
    keys = sorted(by_partition)
    span = f"{len(keys)} partitions {keys[0]}..{keys[-1]}"
    if failed:
        first = by_partition[failed[0]].summary
        summary = f"{span}: {len(failed)} failed ({', '.join(failed)}); {failed[0]}: {first}"
    else:
        summary = f"{span}: all passed."
    metadata = {
        **quality.total_counts([o.metadata for o in by_partition.values()]),
        "partitions_checked": len(by_partition),
        "partitions_failed": len(failed),
        "per_partition": dg.MetadataValue.md(partition_table(by_partition)),
    }
    if failed:
        metadata["failed_partitions"] = ", ".join(failed)
    sample = by_partition[failed[0]].sample_markdown if failed else None
    return quality.CheckOutcome(
        name=next(iter(by_partition.values())).name,
        passed=not failed,
        summary=summary,
        metadata=metadata,
        sample_markdown=sample,
    )


def partition_table(by_partition: dict[str, quality.CheckOutcome]) -> str:
    """Markdown: one row per partition with its state and its own summary."""
    lines = ["| partition | passed | summary |", "|---|---|---|"]
    for key in sorted(by_partition):
        outcome = by_partition[key]
        summary = outcome.summary.replace("|", "\\|")
        lines.append(f"| {key} | {'yes' if outcome.passed else 'NO'} | {summary} |")
    return "\n".join(lines)


def add_partition_metadata(
    context: dg.AssetExecutionContext,
    per_partition: dict[str, dict],
    asset_key: dg.AssetKey | None = None,
) -> None:
    """A range run records one materialization per partition: each carries what is true of
    its own partition (the output's metadata, shared by all of them, describes the run)."""
    for key, metadata in per_partition.items():
        context.add_asset_metadata(metadata, asset_key=asset_key, partition_key=key)


def run_metadata(keys: list, **totals: int) -> dict:
    """What the whole run covered, under names that say so (shown on every partition)."""
    first, last = min(keys), max(keys)
    span = str(first) if first == last else f"{first}..{last}"
    return {"run_partitions": span, **{f"run_{name}": value for name, value in totals.items()}}


def csv_day_metadata(manifest: pl.DataFrame) -> dict[str, dict]:
    """Per operating day: how many files landed, their bytes and data lines."""
    per_day = manifest.group_by("operating_day").agg(
        pl.len().alias("files"),
        pl.col("csv_bytes").sum().alias("csv_bytes"),
        pl.col("data_rows").sum().alias("data_rows"),
    )
    return {
        row["operating_day"].isoformat(): {
            "operating_day": row["operating_day"].isoformat(),
            "files": row["files"],
            "csv_bytes": int(row["csv_bytes"] or 0),
            "data_rows": int(row["data_rows"] or 0),
        }
        for row in per_day.iter_rows(named=True)
    }


def evaluate_checks(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    lake_path: str,
    checks: tuple[CheckDef, ...],
    outcomes: dict[str, dict[str, quality.CheckOutcome]],
) -> Iterator[dg.AssetCheckResult]:
    """Yield one result per check; if a blocking check failed in any partition, mark those
    partitions failed in the lake (downstream refuses them) and fail the run before writing."""
    failed: dict[str, list[str]] = {}
    for check in checks:
        by_partition = {part: per_check[check.name] for part, per_check in outcomes.items()}
        yield to_result(merge_outcomes(by_partition), key, check)
        if check.blocking:
            for part, outcome in by_partition.items():
                if not outcome.passed:
                    failed.setdefault(part, []).append(f"{check.name}: {outcome.summary}")
    if failed:
        fail_partitions(context, lake_path, {p: " | ".join(r) for p, r in failed.items()})


def fail_partitions(
    context: dg.AssetExecutionContext, lake_path: str, reasons: dict[str, str]
) -> None:
    lake = context.resources.lake.lake
    for part, reason in reasons.items():
        write_failure_marker(lake.failure_marker(lake_path, part), reason)
    lake.publish(lake.stage_dir(lake_path))  # an s3:// root: the markers into the bucket
    detail = "; ".join(f"{part}: {reason}" for part, reason in reasons.items())
    raise dg.Failure(
        f"{lake_path}: partition(s) {sorted(reasons)} failed; nothing was written. {detail}",
        metadata={"failed_partitions": ", ".join(sorted(reasons))},
    )


def raw_outputs(
    context: dg.AssetExecutionContext,
    spec: DatasetSpec,
    csv_key: dg.AssetKey,
    raw_key: dg.AssetKey,
    days: list[date],
    stream: Iterator[StagedDay],
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Stages 1 and 2 of every day as `stream` gives them, each day's files already written
    under temp names, so memory holds a few days whatever the range's length. Stage 1's output
    comes first, so landed days stay materialized when a day fails stage 2; then the checks,
    which fail the run (nothing of stage 2 renamed into place) when a blocking one failed or a
    day did not parse."""
    lake = context.resources.lake.lake
    lake_path = stage_lake_path(spec, "raw_parquet")
    taken: list[StagedDay] = []
    try:
        for day in stream:
            taken.append(day)
        landed = [day for day in taken if day.landed is not None]
        if landed:
            yield csv_output(context, csv_key, days, *_staged_manifest(landed))
            # renamed into place by the IO manager: no longer ours to discard
            taken = [replace(day, manifest_file=None) for day in taken]
        unparsed = {day.key: day.error for day in taken if day.error is not None}
        if unparsed:
            fail_partitions(context, lake_path, unparsed)
        outcomes = {day.key: day.outcomes for day in taken}
        yield from evaluate_checks(context, raw_key, lake_path, raw_checks_for(spec), outcomes)
    except BaseException:
        for day in taken:
            day.discard()
        if any(day.landed is not None for day in taken):  # stage 1 is materialized: its
            refresh_catalog(lake)  # views, which stage 2 was to bring
        raise
    yield raw_output(context, spec, raw_key, taken)


def summary_metadata(spec: DatasetSpec, summary: RawSummary) -> dict:
    """A raw partition's materialization metadata in the UI."""
    return {
        "rows": summary.rows,
        f"{spec.pivot_column}s": summary.names,
        "min_price": summary.low,
        "max_price": summary.high,
        "preview": dg.MetadataValue.md(summary.preview),
    }


def _staged_manifest(landed: list[StagedDay]) -> tuple[pl.DataFrame, StagedPartitions]:
    """The manifest of the days landed in this run and its staged partition files."""
    manifest = pl.concat([day.landed for day in landed])
    files = {day.key: day.manifest_file for day in landed}
    rows = {day.key: day.landed.height for day in landed}
    return manifest, StagedPartitions(files, manifest.height, rows_by_key=rows)


def raw_output(
    context: dg.AssetExecutionContext,
    spec: DatasetSpec,
    raw_key: dg.AssetKey,
    days: list[StagedDay],
) -> dg.Output:
    """Stage 2's output: its staged files (the IO manager renames them) and per-day metadata."""
    summaries = {day.key: day.summary for day in days}
    add_partition_metadata(
        context, {k: summary_metadata(spec, s) for k, s in summaries.items()}, asset_key=raw_key
    )
    changes = {day.key: day.changes for day in days if day.changes is not None}
    rows = {key: summary.rows for key, summary in summaries.items()}
    staged = {day.key: day.raw_file for day in days}
    return dg.Output(
        StagedPartitions(staged, sum(rows.values()), changes, rows),
        output_name=raw_key.to_python_identifier(),
        metadata={
            **run_metadata(list(summaries), rows=sum(rows.values())),
            **change_metadata(changes),
        },
    )


def change_metadata(changes: dict[str, PartitionChanges]) -> dict:
    """What re-published days changed (present only when a day was materialized before)."""
    if not changes:
        return {}
    changed = {key: c for key, c in changes.items() if c.any}
    files = sorted({f for c in changed.values() for f in c.source_files})
    return {
        "republished_days": ", ".join(sorted(changed)) or "none",
        "values_changed": sum(c.values_changed for c in changes.values()),
        "values_added": sum(c.values_added for c in changes.values()),
        "values_removed": sum(c.values_removed for c in changes.values()),
        "changed_source_files": ", ".join(files) or "none",
    }


def flattened_qualifiers(spec: DatasetSpec) -> str:
    """How a kind with vintages flattens, for the asset's description."""
    kind = spec.table_kind
    if kind.vintage_column is None:
        return ""
    return (
        f" (qualified by {' and '.join(kind.pivot_qualifiers)} where the month holds several), "
        "the latest vintage of each interval"
    )


def build_flattened_asset(spec: DatasetSpec, raw_key: dg.AssetKey) -> dg.AssetsDefinition:
    key = dg.AssetKey(spec.asset_key_path("flattened"))
    lake_path = stage_lake_path(spec, "flattened")

    @dg.asset(
        **stage_asset_args(
            spec,
            "flattened",
            "monthly",
            f"Stage 3, {spec.title}: wide, one row per {spec.interval_minutes}-minute interval "
            f"and one column per {spec.pivot_column}{flattened_qualifiers(spec)}; gaps under an "
            "hour forward-filled (counted in the metadata), longer ones left null.",
            ins={"raw": dg.AssetIn(key=raw_key)},
            required_resource_keys={"lake"},
            kinds={"polars", "parquet"},
            check_specs=check_specs(key, FLAT_CHECKS),
            automation_condition=MONTHLY_AUTOMATION,
        )
    )
    def flattened_stage(
        context: dg.AssetExecutionContext, raw: pl.LazyFrame
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        month_of = pl.col("operating_day").dt.strftime("%Y-%m-01")
        results: dict[str, FlattenResult] = {}
        outcomes: dict[str, dict[str, quality.CheckOutcome]] = {}
        for month in context.partition_keys:
            # A kind with vintages is compared at the latest vintage flatten pivots.
            month_long = flatten_input(raw.filter(month_of == month), spec)
            results[month] = flat = flatten(month_long, spec)
            accuracy = quality.check_pivot_accuracy(month_long, flat.frame, spec, flat.locations)
            outcomes[month] = {"pivot_accuracy": accuracy}
        yield from evaluate_checks(context, key, lake_path, FLAT_CHECKS, outcomes)
        per_month = {month: result.frame for month, result in results.items()}
        mappings = {month: result.locations for month, result in results.items()}
        write_locations(context.resources.lake.lake, spec, mappings)
        columns = default_wide_columns(spec)
        hubs = [columns[name] for name in spec.default_locations[:PLOTTED_LOCATIONS]]
        title = f"{spec.iso} {spec.dataset}"
        add_partition_metadata(
            context,
            {
                month: {
                    **wide_metadata({month: result.frame}, hubs, title, spec.timezone),
                    "filled_cells": result.filled_cells,
                    "unfilled_null_cells": result.unfilled_null_cells,
                    "missing_intervals": result.missing_intervals,
                }
                for month, result in results.items()
            },
        )
        rows = sum(frame.height for frame in per_month.values())
        yield dg.Output(per_month, metadata=run_metadata(list(per_month), rows=rows))

    return flattened_stage


PLOTTED_LOCATIONS = 4


def months_frame(per_month: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The non-empty months as one frame (empty when none holds rows)."""
    frames = [f for f in per_month.values() if f.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def wide_summary(frame: pl.DataFrame, months: list[str], preview: list[str]) -> dict:
    """Size, span and a preview (time plus the `preview` columns) of wide months."""
    shown = [c for c in preview if c in frame.columns]
    times = frame.get_column("interval_start_utc") if frame.height else None
    return {
        "rows": frame.height,
        "months": ", ".join(sorted(months)),
        "columns": frame.width,
        "first_interval_utc": str(times.min()) if times is not None else "",
        "last_interval_utc": str(times.max()) if times is not None else "",
        "preview": dg.MetadataValue.md(
            quality.markdown_table(frame.select("interval_start_utc", *shown), limit=5) or ""
            if frame.height
            else ""
        ),
    }


def wide_metadata(
    per_month: dict[str, pl.DataFrame], plotted: list[str], title: str, timezone: str
) -> dict:
    """What a user sees of a wide month in the UI: size, span, a preview and a plot of the
    first hubs or products (`plotted` columns), so the month can be judged at a glance."""
    frame = months_frame(per_month)
    png = plots.hub_price_plot_png(frame, plotted, title, timezone=timezone)
    return {
        **wide_summary(frame, list(per_month), plotted),
        "plot": dg.MetadataValue.md(plots.png_markdown(png, title)),
    }


def build_dataset_assets(spec: DatasetSpec) -> list[dg.AssetsDefinition]:
    """A dataset's assets: stages 1 and 2 in one op (csv, raw_parquet), then flattened."""
    daily = build_daily_assets(spec)
    return [daily, build_flattened_asset(spec, dg.AssetKey(spec.asset_key_path("raw_parquet")))]
