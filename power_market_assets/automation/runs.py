"""Launching partition ranges as single runs (what a UI backfill with single_run does),
the names and run config of the jobs launched, and the persistent instance recording them."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from power_market_assets.io.lake import Lake
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import month_starts


def daily_job_name(spec: DatasetSpec) -> str:
    """The job of stages 1-2 (csv, raw_parquet) of one dataset (definitions.iso_jobs)."""
    return f"{spec.iso.lower()}_{spec.dataset}_daily"


def landing_run_config(spec: DatasetSpec) -> dict:
    """Stage 1 takes the day's files from the landing folder instead of the ISO."""
    op = dg.AssetKey([*spec.key_prefix, "csv"]).to_python_identifier()
    return {"ops": {op: {"config": {"source": "landing"}}}}


def log_config(log_level: str = "WARNING") -> dict:
    """Run config setting the console log level (runs launched from the CLI stay quiet)."""
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def persistent_instance(root: Path) -> dg.DagsterInstance:
    """The Dagster instance under <data root>/dagster_home, so `dagster dev` shows the runs."""
    home = Lake(root).dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def range_tags(first_key: str, last_key: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: first_key, ASSET_PARTITION_RANGE_END_TAG: last_key}


def run_range(
    defs: dg.Definitions,
    job_name: str,
    first_key: str,
    last_key: str,
    instance: dg.DagsterInstance,
    run_config: dict | None = None,
    log_level: str = "WARNING",
) -> dg.ExecuteInProcessResult:
    """Execute one job over a partition key range as a single run, recorded in `instance`."""
    job = defs.resolve_job_def(job_name)
    config = {**log_config(log_level), **(run_config or {})}
    return job.execute_in_process(
        instance=instance,
        tags=range_tags(first_key, last_key),
        run_config=config,
        raise_on_error=False,
    )


def months_between(start: date, end: date) -> list[str]:
    """Monthly partition keys (YYYY-MM-01) covering start..end."""
    return [month.isoformat() for month in month_starts(start, end)]


def contiguous_ranges(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days grouped into runs of consecutive days."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _error_chain(error) -> str:
    """The error and its causes: Dagster wraps the real error in 'Error occurred while ...'."""
    parts = []
    while error is not None:
        message = error.message.strip()
        if not message.startswith("dagster._core.errors.DagsterExecutionStepExecutionError"):
            parts.append(message)
        error = error.cause
    return " <- ".join(parts) or "failed"


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data:
            error = event.step_failure_data.error
            messages.append(f"{event.step_key}: {_error_chain(error) if error else 'failed'}")
    return messages
