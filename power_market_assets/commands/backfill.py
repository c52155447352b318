"""`power-market backfill`: years of history in resumable chunks.

Each contiguous range of days still missing is cut into chunks of a few weeks, and each
chunk is one single-run backfill of the dataset's daily job (csv + raw_parquet), recorded in
the persistent instance under <data root>/dagster_home. A chunk commits all its days or none,
so an interruption loses at most the chunk in flight and the same command resumes from the
lake: a day counts as done when its raw_parquet file exists without a failure marker.
Afterwards the monthly stages (flattened, and combined where its other inputs exist) are
rebuilt for the months touched.

With `--submit` the chunks (a calendar month each by default) go to the instance's run queue
instead (automation/submit.py), tagged with their ISO, dataset and range: `dagster-daemon run`
launches them, at most PMA_ISO_RUN_LIMIT of one ISO at once, and with Celery configured their
steps run on the workers. `--wait` follows them to the end, printing each chunk's status.
"""

from __future__ import annotations

import re
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TextIO

import polars as pl

from power_market_assets.automation import runs
from power_market_assets.automation.runs import daily_job_name, log_config, range_tags
from power_market_assets.automation.submit import Chunk, follow_runs, submit_chunks
from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, parse_day
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.registry import DatasetSpec, get_spec
from power_market_assets.transforms.time import (
    days_between,
    days_of_month,
    month_starts,
    next_month,
)

DEFAULT_CHUNK_DAYS = 31
BAR_WIDTH = 30
# Dagster's console logger prints a failed step with its whole stack trace; the command
# reports each failure itself (report_failure), in a few lines, so the runs stay quiet.
RUN_LOG_LEVEL = "CRITICAL"


@dataclass(frozen=True)
class BackfillPlan:
    spec: DatasetSpec
    days: list[date]  # the whole requested range
    todo: list[date]  # the days that will run
    chunks: list[tuple[date, date]]

    @property
    def raw_lake_path(self) -> str:
        return stage_lake_path(self.spec, "raw_parquet")

    @property
    def daily_job(self) -> str:
        return daily_job_name(self.spec)


def is_materialized(lake: Lake, lake_path: str, day: date) -> bool:
    key = day.isoformat()
    return (
        lake.partition_file(lake_path, key).exists()
        and not lake.failure_marker(lake_path, key).exists()
    )


def chunk_ranges(days: list[date], chunk_days: int) -> list[tuple[date, date]]:
    """Contiguous runs of days, each cut into pieces of at most `chunk_days`."""
    chunks: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if chunks:
            first, last = chunks[-1]
            if day == last + timedelta(days=1) and (day - first).days < chunk_days:
                chunks[-1] = (first, day)
                continue
        chunks.append((day, day))
    return chunks


def make_plan(
    lake: Lake, iso: str, dataset: str, start: str, end: str, force: bool, chunk_days: int
) -> BackfillPlan:
    try:
        spec = get_spec(iso, dataset)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from exc
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise UsageError(f"--end {last} is before --start {first}")
    if first < spec.partition_start:
        raise UsageError(
            f"{spec.iso} {spec.dataset} starts on {spec.partition_start}; --start {first} is before"
        )
    if chunk_days < 1:
        raise UsageError("--chunk-days must be at least 1")
    days = days_between(first, last)
    lake_path = stage_lake_path(spec, "raw_parquet")
    todo = days if force else [d for d in days if not is_materialized(lake, lake_path, d)]
    return BackfillPlan(spec, days, todo, chunk_ranges(todo, chunk_days))


@dataclass
class Progress:
    """A plain-text progress bar on stderr: days done / total, rows, elapsed time."""

    total: int
    label: str
    out: TextIO
    done: int = 0
    rows: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        share = self.done / self.total if self.total else 1.0
        filled = int(round(share * BAR_WIDTH))
        elapsed = int(time.monotonic() - self.started)
        clock = f"{elapsed // 3600}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}"
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return (
            f"{self.label} [{bar}] {self.done}/{self.total} days  {self.rows:,} rows  "
            f"{clock} elapsed"
        )

    @property
    def interactive(self) -> bool:
        return self.out.isatty()

    def show(self) -> None:
        """Redraw the bar in place on a terminal; one line per update in a log."""
        if self.interactive:
            self.out.write("\r" + self.line())
        else:
            self.out.write(self.line() + "\n")
        self.out.flush()

    def finish(self) -> None:
        if self.interactive:
            self.out.write("\n")
            self.out.flush()

    def advance(self, days: int, rows: int) -> None:
        self.done += days
        self.rows += rows
        self.show()


def lake_rows(lake: Lake, lake_path: str, first: date, last: date) -> int:
    """Rows of the days' Parquet files, from their footers (what the chunk committed)."""
    keys = [d.isoformat() for d in days_between(first, last)]
    files = lake.existing_partition_files(lake_path, keys)
    if not files:
        return 0
    return int(pl.scan_parquet(files).select(pl.len()).collect().item())


@dataclass
class Runner:
    """The Dagster side: definitions, the persistent instance, and how a range is launched."""

    lake: Lake
    run_range: Callable | None = None

    def __post_init__(self) -> None:
        self.defs = build_definitions(data_root=str(self.lake.root))
        self.instance = runs.persistent_instance(self.lake.root)
        self.run_range = self.run_range or runs.run_range
        self.failure_messages = runs.failure_messages

    def has_job(self, name: str) -> bool:
        return any(job.name == name for job in self.defs.jobs)

    def run_days(self, job: str, first: date, last: date):
        first_key, last_key = first.isoformat(), last.isoformat()
        return self.run_range(
            self.defs, job, first_key, last_key, self.instance, log_level=RUN_LOG_LEVEL
        )

    def run_assets(self, keys: list, first: str, last: str):
        """One single run of an asset selection over a partition range."""
        import dagster as dg

        assets = [a for a in self.defs.assets if isinstance(a, dg.AssetsDefinition)]
        return dg.materialize(
            assets,
            selection=dg.AssetSelection.assets(*keys),
            instance=self.instance,
            resources=self.defs.resources,
            tags=range_tags(first, last),
            run_config=log_config(RUN_LOG_LEVEL),
            raise_on_error=False,
        )


# The variable that points each ISO's source somewhere else (README, configuration table).
SOURCE_URL_VARIABLES = {
    "ERCOT": "PMA_ERCOT_MIS_URL",
    "CAISO": "PMA_CAISO_URL",
    "NYISO": "PMA_NYISO_URL",
    "ISONE": "PMA_ISONE_URL",
    "PJM": "PMA_PJM_URL",
}
# sources/http.py's SourceError once retries are spent on a network failure (not an HTTP one).
UNREACHABLE = re.compile(
    r"\b[A-Z]+ (?P<url>\S+) failed after \d+ attempts: (?P<why>connection failed|timed out)"
)


def unreachable_hint(iso: str, messages: list[str], lake: Lake) -> str | None:
    """A few lines saying the ISO could not be reached and how to use another source; None
    when the failure was something else (its own message is clearer then)."""
    found = next((m for m in map(UNREACHABLE.search, messages) if m), None)
    if found is None:
        return None
    variable = SOURCE_URL_VARIABLES.get(iso, f"PMA_{iso}_URL")
    return (
        f"{iso} could not be reached at {found['url'].split('?')[0]} ({found['why']}).\n"
        f"Point at another source with {variable}=<base url>, or drop the files into "
        f"{lake.inbox_dir}/ and run `power-market ingest`."
    )


def report_failure(runner: Runner, what: str, result, err: TextIO, iso: str = "") -> None:
    print(f"{what}: FAILED", file=err)
    messages = runner.failure_messages(result)
    hint = unreachable_hint(iso, messages, runner.lake)
    for message in [hint] if hint else messages:
        print(textwrap.indent(message, "  "), file=err)


def run_daily_chunks(
    plan: BackfillPlan, runner: Runner, progress: Progress, err: TextIO
) -> list[date]:
    """Run the chunks in order; stop at the first failure. Returns the days materialized."""
    done: list[date] = []
    for first, last in plan.chunks:
        result = runner.run_days(plan.daily_job, first, last)
        if not result.success:
            progress.finish()
            what = f"{plan.daily_job} {first}..{last}"
            report_failure(runner, what, result, err, plan.spec.iso)
            return done
        count = (last - first).days + 1
        done.extend(days_between(first, last))
        progress.advance(count, lake_rows(runner.lake, plan.raw_lake_path, first, last))
    return done


def month_ranges(days: list[date]) -> list[tuple[str, str]]:
    """Contiguous runs of month keys (YYYY-MM-01) covering the days (or month starts)."""
    ranges: list[tuple[date, date]] = []
    for month in sorted({d.replace(day=1) for d in days}):
        if ranges and month == next_month(ranges[-1][1]):
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return [(first.isoformat(), last.isoformat()) for first, last in ranges]


def downstream_monthly(runner: Runner, flat_key) -> list:
    """Every asset computed together with the children of the flattened asset (combined)."""
    graph = runner.defs.resolve_asset_graph()
    keys = set()
    for child in graph.get(flat_key).child_keys:
        keys.update(runner.defs.resolve_assets_def(child).keys)
    return sorted(keys, key=lambda k: k.to_user_string())


def inputs_ready(runner: Runner, keys: list, first: str, last: str) -> bool:
    """True when every upstream of `keys` has a file for every month of the range."""
    graph = runner.defs.resolve_asset_graph()
    parents = {p for k in keys for p in graph.get(k).parent_keys} - set(keys)
    span = month_starts(date.fromisoformat(first), date.fromisoformat(last))
    months = [m.isoformat() for m in span]
    return all(
        runner.lake.partition_file("/".join(p.path), m).exists() for p in parents for m in months
    )


def stale_months(lake: Lake, plan: BackfillPlan) -> list[date]:
    """Months of the range whose flattened file is missing or older than one of its days.

    This is what lets a re-run finish the monthly stage of a run that stopped after its
    daily chunks (a failure or Ctrl-C there), although every day is already in the lake.
    """
    flat_path = stage_lake_path(plan.spec, "flattened")
    stale = []
    for month in month_starts(plan.days[0], plan.days[-1]):
        keys = [d.isoformat() for d in days_of_month(month)]
        days = lake.existing_partition_files(plan.raw_lake_path, keys)
        if not days:
            continue
        flat = lake.partition_file(flat_path, month.isoformat())
        newest_day = max(f.stat().st_mtime for f in days)
        if not flat.exists() or flat.stat().st_mtime < newest_day:
            stale.append(month)
    return stale


def run_monthly(plan: BackfillPlan, runner: Runner, months: list[date], err: TextIO) -> bool:
    """Rebuild the flattened months, then combined where its inputs are all there."""
    import dagster as dg

    flat_key = dg.AssetKey(plan.spec.asset_key_path("flattened"))
    combined = downstream_monthly(runner, flat_key)
    ok = True
    for first, last in month_ranges(months):
        result = runner.run_assets([flat_key], first, last)
        ok = ok and result.success
        if not result.success:
            report_failure(runner, f"{flat_key.to_user_string()} {first}..{last}", result, err)
            continue
        print(f"{flat_key.to_user_string()} {first}..{last}: success", file=err)
        if combined and inputs_ready(runner, combined, first, last):
            what = f"{plan.spec.iso.lower()}/combined_* {first}..{last}"
            result = runner.run_assets(combined, first, last)
            ok = ok and result.success
            if not result.success:
                report_failure(runner, what, result, err)
            else:
                print(f"{what}: success", file=err)
    return ok


def month_chunks(days: list[date], chunk_days: int) -> list[tuple[date, date]]:
    """chunk_ranges, also cut at every calendar month's start (the queued runs' unit)."""
    by_month: dict[date, list[date]] = {}
    for day in sorted(set(days)):
        by_month.setdefault(day.replace(day=1), []).append(day)
    return [chunk for month in by_month.values() for chunk in chunk_ranges(month, chunk_days)]


def queue_refusal(instance) -> str | None:
    """Why this instance cannot take queued runs (None when it can)."""
    import dagster as dg

    if isinstance(instance.run_coordinator, dg.QueuedRunCoordinator):
        return None
    return (
        "--submit needs an instance with a run queue: set PMA_INSTANCE_YAML to "
        "deploy/server/dagster.yaml (Postgres) or deploy/laptop/dagster.yaml, and run "
        "`dagster-daemon run` with DAGSTER_HOME=<data root>/dagster_home (docs/DEPLOY.md)"
    )


def run_submitted(
    plan: BackfillPlan, lake: Lake, chunk_days: int, wait: bool, monthly: bool, err: TextIO
) -> int:
    """Queue one run per chunk; with `wait`, follow them and then build the monthly stages."""
    instance = runs.persistent_instance(lake.root)
    refusal = queue_refusal(instance)
    if refusal:
        print(refusal, file=err)
        return EXIT_USAGE
    spec = plan.spec
    chunks = [
        Chunk(spec.iso, spec.dataset, first.isoformat(), last.isoformat())
        for first, last in month_chunks(plan.todo, chunk_days)
    ]
    submitted = submit_chunks(instance, plan.daily_job, chunks, log_config(RUN_LOG_LEVEL))
    labels = {run.run_id: chunk.label for chunk, run in zip(chunks, submitted, strict=True)}
    for run in submitted:
        print(f"{labels[run.run_id]}: {run.status.value} (run {run.run_id})", file=err)
    if not wait:
        print(
            f"{len(submitted)} run(s) queued: `dagster-daemon run` with DAGSTER_HOME="
            f"{lake.dagster_home} launches them; follow them in `power-market ui`",
            file=err,
        )
        return EXIT_OK

    def changed(run) -> None:
        print(f"{labels[run.run_id]}: {run.status.value}", file=err, flush=True)

    statuses = follow_runs(instance, list(labels), changed)
    failed = [labels[i] for i, status in statuses.items() if status.value != "SUCCESS"]
    for label in failed:
        print(f"{label}: did not succeed (its run's events are in the UI)", file=err)
    months = sorted({d.replace(day=1) for d in plan.todo})
    monthly_ok = run_monthly(plan, Runner(lake), months, err) if monthly and not failed else True
    return EXIT_OK if not failed and monthly_ok else EXIT_FAILED


def describe(plan: BackfillPlan, err: TextIO) -> None:
    skipped = len(plan.days) - len(plan.todo)
    print(
        f"{plan.spec.iso} {plan.spec.dataset} {plan.days[0]}..{plan.days[-1]}: "
        f"{len(plan.days)} day(s), {skipped} already materialized, {len(plan.todo)} to run "
        f"in {len(plan.chunks)} chunk(s)",
        file=err,
    )


def run_backfill(
    iso: str,
    dataset: str,
    start: str,
    end: str,
    data_root: str = "data",
    force: bool = False,
    chunk_days: int = DEFAULT_CHUNK_DAYS,
    monthly: bool = True,
    err: TextIO | None = None,
    runner: Runner | None = None,
    submit: bool = False,
    wait: bool = False,
) -> int:
    err = err or sys.stderr
    lake = Lake.at(data_root)
    try:
        plan = make_plan(lake, iso, dataset, start, end, force, chunk_days)
    except UsageError as exc:
        print(exc, file=err)
        return EXIT_USAGE
    describe(plan, err)
    if submit:
        if not plan.todo:
            print("nothing to submit (use --force to re-run materialized days)", file=err)
            return EXIT_OK
        return run_submitted(plan, lake, chunk_days, wait, monthly, err)
    pending_months = stale_months(lake, plan) if monthly else []
    if not plan.todo and not pending_months:
        print("nothing to do (use --force to re-run materialized days)", file=err)
        return EXIT_OK
    runner = runner or Runner(lake)
    if not runner.has_job(plan.daily_job):
        print(f"no job {plan.daily_job!r} in the definitions", file=err)
        return EXIT_USAGE
    done: list[date] = []
    if plan.todo:
        progress = Progress(len(plan.todo), f"{plan.spec.iso.lower()}/{plan.spec.dataset}", err)
        progress.show()
        try:
            done = run_daily_chunks(plan, runner, progress, err)
        except KeyboardInterrupt:
            progress.finish()
            print("interrupted: re-run the same command to resume", file=err)
            return 130
        progress.finish()
    complete = len(done) == len(plan.todo)
    months = sorted({d.replace(day=1) for d in done} | set(pending_months))
    monthly_ok = run_monthly(plan, runner, months, err) if monthly and months else True
    if not complete:
        print(
            f"stopped after {len(done)} of {len(plan.todo)} day(s): re-run the same command "
            "to resume from the first missing day",
            file=err,
        )
    return EXIT_OK if complete and monthly_ok else EXIT_FAILED
