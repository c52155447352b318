"""The `dagster run` phases of `power-market bench`: csv + raw_parquet of the whole window as
one single-run backfill, checks included. Run by commands/bench.py in a process of its own.

The zips are placed in the landing folders first (not timed), as `power-market ingest` does,
so the figure compares with the pipeline phase (downloading the documents from a stand-in
server would add HTTP round trips on top). Imports and definitions are not timed, nor are the
modules Dagster imports lazily when it creates an instance (~0.45 s of alembic and SQL
storage code, imported first). `dagster run` records the run in an in-memory instance
(Dagster's least cost, as the issue measured); `dagster run, persistent` in the instance under
the data root (SQLite), as `ingest`, `backfill` and the demo record theirs for the UI,
opening it timed too.
"""

from __future__ import annotations

import importlib
import shutil

import dagster as dg
import polars as pl

from power_market_assets.automation.runs import (
    daily_job_name,
    failure_messages,
    landing_run_config,
    persistent_instance,
    run_range,
)
from power_market_assets.commands.bench_measure import PhaseInput, Timing, timed
from power_market_assets.commands.bench_pipeline import zips_by_day
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake, stage_lake_path


def _place_in_landing(lake: Lake, given: PhaseInput) -> list[str]:
    """Copy each zip into its operating day's landing folder; the days' keys, sorted."""
    by_day = zips_by_day(given.zips, given.spec)
    for day, paths in by_day.items():
        folder = lake.landing_day_dir("ERCOT", given.spec.dataset, day.isoformat())
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copyfile(path, folder / path.name)
    return [day.isoformat() for day in sorted(by_day)]


def _import_instance_storage() -> None:
    """Import what `DagsterInstance.ephemeral()` and the SQLite instance import on first use,
    so that the timed part holds the run's work and not module imports."""
    importlib.import_module("dagster._core.storage.event_log")
    importlib.import_module("dagster._core.storage.runs")
    importlib.import_module("dagster._core.storage.sql")
    importlib.import_module("dagster._core.launcher.sync_in_memory_run_launcher")
    importlib.import_module("dagster._core.run_coordinator")


def run_dagster(given: PhaseInput, persistent: bool = False) -> tuple[int, Timing]:
    spec, lake = given.spec, Lake.at(given.data_root)
    _import_instance_storage()
    keys = _place_in_landing(lake, given)
    defs = build_definitions(data_root=str(lake.root))
    with timed() as timing:
        instance = persistent_instance(lake.root) if persistent else dg.DagsterInstance.ephemeral()
        result = run_range(
            defs,
            daily_job_name(spec),
            keys[0],
            keys[-1],
            instance,
            run_config=landing_run_config(spec),
        )
    if not result.success:
        raise RuntimeError("the Dagster backfill failed: " + "; ".join(failure_messages(result)))
    files = lake.all_partition_files(stage_lake_path(spec, "raw_parquet"))
    return sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files), timing


PHASES = {
    "dagster run": run_dagster,
    "dagster run, persistent": lambda given: run_dagster(given, persistent=True),
}
