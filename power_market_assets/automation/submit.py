"""Runs handed to the instance's run queue instead of executed here: what `power-market backfill
--submit` does with each chunk, so that `dagster-daemon run` launches them (at most
PMA_ISO_RUN_LIMIT of one ISO at once) and, with Celery configured, workers execute their steps.

A queued run names the job by its code location (the definitions module, as `dagster-daemon
run -m power_market_assets.definitions` and workspace.yaml load it): the daemon launches it
from its own copy of the code, in its own environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
from dagster import __version__ as dagster_version
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import CodeLocation
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

from power_market_assets.automation.instance import DATASET_TAG, ISO_TAG
from power_market_assets.automation.runs import HOST_TAG, range_tags

DEFINITIONS_MODULE = "power_market_assets.definitions"
# Queued runs run wherever the daemon launches them: a CLI start on this machine must not judge
# their process dead (runs.fail_dead_runs skips runs tagged with another host); the daemon's run
# monitoring watches them instead.
LAUNCHED_BY = "dagster-daemon"
FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


@dataclass(frozen=True)
class Chunk:
    iso: str
    dataset: str
    first: str  # partition keys
    last: str

    @property
    def label(self) -> str:
        return f"{self.iso.lower()}/{self.dataset} {self.first}..{self.last}"

    def tags(self) -> dict[str, str]:
        return {
            ISO_TAG: self.iso,
            DATASET_TAG: self.dataset,
            HOST_TAG: LAUNCHED_BY,
            **range_tags(self.first, self.last),
        }


@dataclass(frozen=True)
class Code:
    workspace: WorkspaceRequestContext
    location: CodeLocation
    repository: RemoteRepository


@contextmanager
def code_location(instance: dg.DagsterInstance) -> Iterator[Code]:
    """The project's code location under the name the daemon's workspace gives it (loaded in
    this process: only job snapshots are taken from it, nothing runs here)."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name=DEFINITIONS_MODULE, attribute="defs"),
        location_name=DEFINITIONS_MODULE,
    )
    target = InProcessWorkspaceLoadTarget([origin])
    with WorkspaceProcessContext(instance, target, version=dagster_version) as context:
        workspace = context.create_request_context()
        location = workspace.get_code_location(DEFINITIONS_MODULE)
        (repository,) = location.get_repositories().values()
        yield Code(workspace, location, repository)


def submit_run(
    instance: dg.DagsterInstance,
    code: Code,
    job_name: str,
    tags: Mapping[str, str],
    run_config: Mapping | None = None,
) -> dg.DagsterRun:
    """Create the run as the UI's launch button does and hand it to the run coordinator."""
    job = code.repository.get_full_job(job_name)
    config = dict(run_config or {})
    plan = code.location.get_execution_plan(
        job, config, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=config,
        resolved_op_selection=None,
        step_keys_to_execute=None,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**job.tags, **tags},
        job_snapshot=job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=job.parent_job_snapshot,
        remote_job_origin=job.get_remote_origin(),
        job_code_origin=job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=code.repository.asset_graph,
    )
    return instance.submit_run(run.run_id, code.workspace)


def submit_chunks(
    instance: dg.DagsterInstance,
    job_name: str,
    chunks: Sequence[Chunk],
    run_config: Mapping | None = None,
) -> list[dg.DagsterRun]:
    """One queued run per chunk, in order."""
    with code_location(instance) as code:
        return [submit_run(instance, code, job_name, chunk.tags(), run_config) for chunk in chunks]


def follow_runs(
    instance: dg.DagsterInstance,
    run_ids: Sequence[str],
    on_change: Callable[[dg.DagsterRun], None],
    poll_seconds: float = 1.0,
) -> dict[str, dg.DagsterRunStatus]:
    """Poll the runs until every one has finished, calling on_change at each status change."""
    seen: dict[str, dg.DagsterRunStatus] = {}
    while True:
        for run in instance.get_runs(filters=dg.RunsFilter(run_ids=list(run_ids))):
            if seen.get(run.run_id) != run.status:
                seen[run.run_id] = run.status
                on_change(run)
        if len(seen) == len(run_ids) and all(s in FINISHED for s in seen.values()):
            return seen
        time.sleep(poll_seconds)
