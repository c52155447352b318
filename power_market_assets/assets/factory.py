"""One factory builds every dataset's csv -> raw_parquet -> flattened assets from its spec.

Daily stages (csv, raw_parquet) run a backfill range as one run (BackfillPolicy.single_run)
and still write one Parquet file per operating day (the lake IO manager splits the output).
Checks that guard the data run inside the asset on the in-memory frame, before anything is
written: when a blocking one fails, the run fails and the previous files stay in place.
"""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from power_market_assets.assets.checks import CheckDef, blocking_failures, check_specs, to_result
from power_market_assets.assets.partitions import daily_for, monthly_for
from power_market_assets.formats import read_dataset_files
from power_market_assets.formats.errors import FormatError
from power_market_assets.quality import checks as quality
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.landing import LandedSource, land_operating_day
from power_market_assets.transforms.flatten import flatten

MANIFEST_SCHEMA = {
    "operating_day": pl.Date(),
    "source_file": pl.Utf8(),
    "csv_path": pl.Utf8(),
    "archive_name": pl.Utf8(),
    "doc_id": pl.Utf8(),
    "source_url": pl.Utf8(),
    "publish_time_utc": pl.Datetime("us", "UTC"),
    "downloaded_at_utc": pl.Datetime("us", "UTC"),
    "archive_bytes": pl.Int64(),
    "archive_sha256": pl.Utf8(),
    "csv_bytes": pl.Int64(),
    "csv_sha256": pl.Utf8(),
    "data_rows": pl.Int64(),
}

RAW_CHECKS = (
    CheckDef("schema", "Pandera schema of the standard long table (types, nulls).", True),
    CheckDef("duplicates", "No two rows share interval, location and location type.", True),
    CheckDef("row_count", "Parsed rows equal the data lines of the stage-1 CSV files.", True),
    CheckDef("gaps", "Every expected DST-aware interval is present per location.", False),
    CheckDef("price_range", "Prices within the ISO's floor and cap for the era.", False),
)
FLAT_CHECKS = (CheckDef("pivot_accuracy", "Every long-table value equals its wide cell.", True),)


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


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    return [date.fromisoformat(key) for key in context.partition_keys]


def _landed_from_folder(folder: Path) -> list[LandedSource]:
    return [
        LandedSource(path=p, original_name=p.name)
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    ]


def _manifest_frame(rows: list[dict], lake: Path) -> pl.DataFrame:
    frame = (
        pl.DataFrame(rows, schema=MANIFEST_SCHEMA) if rows else pl.DataFrame(schema=MANIFEST_SCHEMA)
    )
    # Paths are kept relative to the data root so that the root can move.
    return frame.with_columns(
        pl.col("csv_path").map_elements(
            lambda p: str(Path(p).resolve().relative_to(lake)), return_dtype=pl.Utf8
        )
    )


def build_csv_asset(spec: DatasetSpec) -> dg.AssetsDefinition:
    key = dg.AssetKey([*spec.key_prefix, "csv"])
    lake_path = "/".join(key.path)
    source_key = f"{spec.iso.lower()}_source"

    @dg.asset(
        key=key,
        partitions_def=daily_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="lake_io",
        required_resource_keys={source_key, "lake"},
        group_name=spec.iso.lower(),
        kinds={"csv", "parquet"},
        description=f"Stage 1, {spec.title} ({spec.report_code}): the original CSV files of each "
        "operating day, extracted safely from the ISO's zips, with metadata.json; the "
        "asset's value is the manifest of those files.",
        metadata=lake_metadata(lake_path, "daily", f"{spec.iso.lower()}.{spec.dataset}_csv"),
    )
    def csv_stage(context: dg.AssetExecutionContext, config: CsvStageConfig) -> pl.DataFrame:
        lake = context.resources.lake.lake
        days = partition_days(context)
        if config.source == "landing":
            sources = {
                day: _landed_from_folder(folder)
                for day in days
                if (
                    folder := lake.landing_day_dir(spec.iso, spec.dataset, day.isoformat())
                ).exists()
            }
        else:
            download_dir = lake.downloads_dir / spec.iso.lower() / spec.dataset
            sources = getattr(context.resources, source_key).fetch(spec, days, download_dir)
        missing = [d.isoformat() for d in days if not sources.get(d)]
        if missing:
            raise dg.Failure(
                f"{spec.iso} {spec.report_code}: no files for operating day(s) {missing} "
                f"(source: {config.source})",
                metadata={"missing_days": ", ".join(missing)},
            )
        rows: list[dict] = []
        for day in days:
            day_dir = lake.csv_day_dir(lake_path, day.isoformat())
            rows.extend(land_operating_day(day, sources[day], day_dir))
        manifest = _manifest_frame(rows, lake.root)
        context.add_output_metadata(
            {
                "operating_days": f"{days[0]}..{days[-1]}",
                "files": manifest.height,
                "csv_bytes": int(manifest.get_column("csv_bytes").sum() or 0),
                "data_rows": int(manifest.get_column("data_rows").sum() or 0),
            }
        )
        return manifest

    return csv_stage


def read_day(spec: DatasetSpec, day: date, files: pl.DataFrame, root: Path) -> pl.DataFrame:
    """Parse one operating day's CSV files; every row must belong to that day."""
    paths = [root / p for p in files.get_column("csv_path").to_list()]
    frame = read_dataset_files(paths, spec)
    wrong = frame.filter(pl.col("operating_day") != day)
    if wrong.height:
        row = wrong.row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"holds rows for operating day {row['operating_day']} but was listed for {day} "
            f"({wrong.height} row(s))",
        )
    return frame


def run_raw_checks(spec: DatasetSpec, frame: pl.DataFrame, manifest: pl.DataFrame):
    per_file = dict(manifest.select("source_file", "data_rows").iter_rows())
    outcomes = {
        "schema": quality.check_schema(frame, spec),
        "duplicates": quality.check_duplicates(frame, spec),
        "row_count": quality.check_row_count(
            frame, int(manifest["data_rows"].sum()), per_file=per_file
        ),
        "gaps": quality.check_gaps(frame, spec),
        "price_range": quality.check_price_range(frame, spec),
    }
    return [(outcomes[c.name], c) for c in RAW_CHECKS]


def build_raw_asset(spec: DatasetSpec, csv_key: dg.AssetKey) -> dg.AssetsDefinition:
    key = dg.AssetKey([*spec.key_prefix, "raw_parquet"])
    lake_path = "/".join(key.path)

    @dg.asset(
        key=key,
        ins={"manifest": dg.AssetIn(key=csv_key)},
        partitions_def=daily_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="lake_io",
        required_resource_keys={"lake"},
        group_name=spec.iso.lower(),
        kinds={"polars", "parquet"},
        check_specs=check_specs(key, RAW_CHECKS),
        description=f"Stage 2, {spec.title}: the standard long table for each operating day "
        f"(UTC-correct interval starts, Float64 prices, source_file kept), "
        f"{spec.interval_minutes}-minute intervals.",
        metadata=lake_metadata(
            lake_path, "daily", f"{spec.iso.lower()}.{spec.dataset}_raw_parquet"
        ),
    )
    def raw_stage(
        context: dg.AssetExecutionContext, manifest: pl.LazyFrame
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        root = context.resources.lake.lake.root
        files = manifest.collect()
        days = partition_days(context)
        try:
            frames = [
                read_day(spec, day, files.filter(pl.col("operating_day") == day), root)
                for day in days
            ]
        except FormatError as exc:
            raise dg.Failure(str(exc), metadata={"file": exc.file, "problem": exc.problem}) from exc
        frame = pl.concat(frames) if frames else pl.DataFrame(schema=spec.schema)
        results = run_raw_checks(spec, frame, files)
        for outcome, check in results:
            yield to_result(outcome, key, check)
        failed = blocking_failures(results)
        if failed:
            raise dg.Failure(
                f"{spec.iso} {spec.dataset} {days[0]}..{days[-1]}: blocking checks failed; "
                "nothing was written. " + " | ".join(failed)
            )
        yield dg.Output(frame, metadata=raw_summary(frame, spec))

    return raw_stage


def raw_summary(frame: pl.DataFrame, spec: DatasetSpec) -> dict:
    value = frame.get_column(spec.value_column)
    return {
        "rows": frame.height,
        "operating_days": frame.get_column("operating_day").n_unique(),
        f"{spec.pivot_column}s": frame.get_column(spec.pivot_column).n_unique(),
        "min_price": float(value.min()) if frame.height else 0.0,
        "max_price": float(value.max()) if frame.height else 0.0,
        "preview": dg.MetadataValue.md(quality.markdown_table(frame, limit=5)),
    }


def build_flattened_asset(spec: DatasetSpec, raw_key: dg.AssetKey) -> dg.AssetsDefinition:
    key = dg.AssetKey([*spec.key_prefix, "flattened"])
    lake_path = "/".join(key.path)

    @dg.asset(
        key=key,
        ins={"raw": dg.AssetIn(key=raw_key)},
        partitions_def=monthly_for(spec),
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="lake_io",
        group_name=spec.iso.lower(),
        kinds={"polars", "parquet"},
        check_specs=check_specs(key, FLAT_CHECKS),
        description=f"Stage 3, {spec.title}: wide, one row per {spec.interval_minutes}-minute "
        f"interval and one column per {spec.pivot_column}; gaps under an hour forward-filled "
        "(counted in the metadata), longer ones left null.",
        metadata=lake_metadata(
            lake_path, "monthly", f"{spec.iso.lower()}.{spec.dataset}_flattened"
        ),
    )
    def flattened_stage(
        context: dg.AssetExecutionContext, raw: pl.LazyFrame
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        long = raw.collect()
        month_of = pl.col("operating_day").dt.strftime("%Y-%m-01")
        wide: dict[str, pl.DataFrame] = {}
        filled = unfilled = missing = 0
        outcomes = []
        for month in context.partition_keys:
            month_long = long.filter(month_of == month)
            result = flatten(month_long, spec)
            wide[month] = result.frame
            filled += result.filled_cells
            unfilled += result.unfilled_null_cells
            missing += result.missing_intervals
            outcomes.append(quality.check_pivot_accuracy(month_long, result.frame, spec))
        accuracy = merge_outcomes(outcomes)
        yield to_result(accuracy, key, FLAT_CHECKS[0])
        if not accuracy.passed:
            raise dg.Failure(
                f"{spec.iso} {spec.dataset}: pivot accuracy failed: {accuracy.summary}"
            )
        yield dg.Output(
            wide,
            metadata={
                "filled_cells": filled,
                "unfilled_null_cells": unfilled,
                "missing_intervals": missing,
                "columns": max((f.width for f in wide.values()), default=0),
            },
        )

    return flattened_stage


def merge_outcomes(outcomes: list[quality.CheckOutcome]) -> quality.CheckOutcome:
    """One outcome for a multi-partition run: fails if any partition failed."""
    if len(outcomes) == 1:
        return outcomes[0]
    failed = [o for o in outcomes if not o.passed]
    first = (failed or outcomes)[0]
    return first if failed else outcomes[0]


def build_dataset_assets(spec: DatasetSpec) -> list[dg.AssetsDefinition]:
    csv_asset = build_csv_asset(spec)
    raw_asset = build_raw_asset(spec, csv_asset.key)
    flat_asset = build_flattened_asset(spec, raw_asset.key)
    return [csv_asset, raw_asset, flat_asset]
