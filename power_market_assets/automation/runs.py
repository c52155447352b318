"""Launching partition ranges as single runs (what a UI backfill with single_run does),
the names and run config of the jobs launched, and the persistent instance recording them.

Starting the persistent instance is also where a previous crash is cleaned up: temp files of
killed rebuilds and downloads are swept, and runs whose process died are marked failed (the
daemon's run monitoring cannot see CLI runs, and the default run launcher has no worker health
check, so a SIGKILLed run would otherwise stay STARTED in the UI forever).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from power_market_assets.assets.factory import daily_op_name
from power_market_assets.automation.instance import install_instance_yaml
from power_market_assets.automation.instance_db import sqlite_databases_held_open
from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.io.catalog import sweep_dead_rebuilds
from power_market_assets.io.lake import Lake
from power_market_assets.io.sweep import process_alive, sweep_stale_downloads
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.transforms.time import month_starts

log = logging.getLogger(__name__)

HOST_TAG = "power_market/host"
# The daemon (`dagster dev`) fails runs stuck STARTING or CANCELING and enforces
# dagster/max_runtime; values are Dagster's defaults, written out so users can see them.
RUN_MONITORING_YAML = """
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  poll_interval_seconds: 120
"""
# Runs a dead process can leave behind (QUEUED runs wait for the daemon, not a process).
_LIVE_STATUSES = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def daily_job_name(spec: DatasetSpec) -> str:
    """The job of stages 1-2 (csv, raw_parquet) of one dataset (definitions.iso_jobs)."""
    return f"{spec.iso.lower()}_{spec.dataset}_daily"


def landing_run_config(spec: DatasetSpec) -> dict:
    """Stage 1 takes the day's files from the landing folder instead of the ISO (the op of
    stages 1 and 2, assets.factory.daily_op_name)."""
    return {"ops": {daily_op_name(spec): {"config": {"source": "landing"}}}}


def log_config(log_level: str = "WARNING") -> dict:
    """Run config setting the console log level (runs launched from the CLI stay quiet)."""
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def ensure_instance_config(config: Path) -> None:
    """dagster.yaml with run monitoring on; a user's existing file is kept and only extended."""
    text = config.read_text() if config.exists() else "telemetry:\n  enabled: false\n"
    if "run_monitoring" in (yaml.safe_load(text) or {}):
        return
    text = text if text.endswith("\n") or not text else text + "\n"
    atomic_write_bytes(config, (text + RUN_MONITORING_YAML.lstrip("\n")).encode())


def persistent_instance(root: Path) -> dg.DagsterInstance:
    """The Dagster instance under <data root>/dagster_home, so `dagster dev` shows the runs.

    Getting it is the CLI's "start": leftovers of a killed process are cleaned up here.
    """
    lake = Lake(root)
    home = lake.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    install_instance_yaml(home, Settings.from_env(os.environ))  # PMA_INSTANCE_YAML wins
    ensure_instance_config(home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(home.resolve()))
    recover_after_crash(lake, instance)
    return instance


def recover_after_crash(lake: Lake, instance: dg.DagsterInstance) -> None:
    """Sweep temp files nobody holds any more and fail the runs whose process died."""
    sweep_dead_rebuilds(lake)
    sweep_stale_downloads(lake)
    for run_id in fail_dead_runs(instance):
        log.warning("run %s: its process died; marked failed", run_id)


def process_tags() -> dict[str, str]:
    """The machine running this run: only there can a later start tell whether it died.

    No pid tag: a re-execution from the UI copies the tags, so a copied pid would name the
    old, dead process; the pid comes from the run's RUN_START event instead."""
    return {HOST_TAG: socket.gethostname()}


def _run_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    """The pid of the process that wrote RUN_START (any run: UI, CLI or tests)."""
    starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_START)
    pids = [e.dagster_event.pid for e in starts if e.dagster_event and e.dagster_event.pid]
    return pids[-1] if pids else None


def _dead_process(instance: dg.DagsterInstance, record) -> int | None:
    """The pid of the run's process if it ran on this machine and is gone; None otherwise."""
    run = record.dagster_run
    if run.tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
        return None  # another machine's process: not ours to judge
    pid = _run_pid(instance, run)
    if pid is None:
        return None
    since = record.start_time or record.create_timestamp.timestamp()
    return None if process_alive(pid, since) else pid


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark FAILURE every unfinished run whose process is gone; returns their ids."""
    failed = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=_LIVE_STATUSES)):
        pid = _dead_process(instance, record)
        if pid is None:
            continue
        run = instance.get_run_by_id(record.dagster_run.run_id)
        if run is None or run.status not in _LIVE_STATUSES:
            continue  # finished meanwhile
        instance.report_run_failed(
            run,
            f"The run's process {pid} on {socket.gethostname()} died (killed or crashed) "
            f"while the run was {run.status.value}; marked failed at the next start.",
        )
        failed.append(run.run_id)
    return failed


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
    """Execute one job over a partition key range as a single run, recorded in `instance`
    (its SQLite databases held open meanwhile: see automation/instance_db.py)."""
    job = defs.resolve_job_def(job_name)
    config = {**log_config(log_level), **(run_config or {})}
    with sqlite_databases_held_open():
        return job.execute_in_process(
            instance=instance,
            tags={**range_tags(first_key, last_key), **process_tags()},
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
