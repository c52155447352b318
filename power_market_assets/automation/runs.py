"""Launching partition ranges as single runs (what a UI backfill with single_run does)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


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
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
    return job.execute_in_process(
        instance=instance,
        tags=range_tags(first_key, last_key),
        run_config=config,
        raise_on_error=False,
    )


def months_between(start: date, end: date) -> list[str]:
    """Monthly partition keys (YYYY-MM-01) covering start..end."""
    keys, current = [], start.replace(day=1)
    while current <= end:
        keys.append(current.isoformat())
        current = (current + timedelta(days=32)).replace(day=1)
    return keys


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
