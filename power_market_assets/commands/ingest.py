"""`power-market ingest`: recognize dropped ISO files, land them in stage 1, build raw_parquet.

A file is recognized by its content (inside zips too; `--dataset` says what it is when content
and name cannot) and parsed in full, and the days it covers are rehearsed with the run's own
stage 1-2 code and blocking checks, before anything is copied; it then lands (copied: the lake
never shares an inode with the user's file) under every operating day it covers. A file that
is not recognized, does not parse or would fail its days is reported with its name and the
problem and left where it was. If a landed drop's run still fails, the drop goes to
landing/quarantine/ with the reason and its days are put back as they were: only a file the
platform fetched itself can mark a partition failed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg

from power_market_assets.automation.drops import (
    LandingBatch,
    landing_batch,
    parse_dataset,
    recognize,
    vet,
)
from power_market_assets.automation.runs import (
    contiguous_ranges,
    daily_job_name,
    failure_messages,
    landing_run_config,
    persistent_instance,
    run_range,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.registry.spec import DatasetSpec

# definitions.build_definitions: keyword resource overrides (data_root=...) -> Definitions.
DefinitionsBuilder = Callable[..., dg.Definitions]


def ingest_paths(
    paths: list[Path],
    data_root: str = "data",
    dataset: str | None = None,
    *,
    build_definitions: DefinitionsBuilder,
) -> int:
    """Ingest files; returns a process exit code (1 when any file was refused or a run failed,
    2 for an unknown --dataset). `dataset` (`<iso>/<dataset>`) says what every file is.
    `build_definitions(data_root=...)` gives the Definitions the runs use; it is passed in
    (by the CLI) because definitions.py imports the sensors, which import this module."""
    lake = Lake.at(data_root)
    try:
        declared = parse_dataset(dataset) if dataset else None
    except ValueError as exc:
        print(f"ERROR {exc}")
        return 2
    exit_code = 0
    with landing_batch(lake) as batch:
        for path in paths:
            try:
                recognized = recognize(path, declared)
                vet(recognized, lake)
            except FormatError as exc:
                print(f"ERROR {exc}  (file left in place, nothing ingested)")
                exit_code = 1
                continue
            drop = batch.land(recognized)
            edition = f" ({recognized.edition})" if recognized.edition else ""
            print(
                f"{path.name}: {recognized.spec.iso} {recognized.spec.dataset}{edition}, "
                f"{recognized.describe_days}, {recognized.rows:,} rows -> {drop.copies[0].parent}"
            )
        if batch.drops:
            exit_code = max(exit_code, _run_landed(batch, build_definitions))
    return exit_code


def _run_landed(batch: LandingBatch, build_definitions: DefinitionsBuilder) -> int:
    """Stage 1-2 runs over the landed days; a failed run's drops go to quarantine."""
    lake, exit_code = batch.lake, 0
    landed: dict[DatasetSpec, list[date]] = {}
    for drop in batch.drops:
        landed.setdefault(drop.recognized.spec, []).extend(drop.recognized.operating_days)
    defs = build_definitions(data_root=str(lake.root))
    instance = persistent_instance(lake.root)
    for spec, days in landed.items():
        job, run_config = daily_job_name(spec), landing_run_config(spec)
        for first, last in contiguous_ranges(days):
            result = run_range(
                defs, job, first.isoformat(), last.isoformat(), instance, run_config=run_config
            )
            print(f"{job} {first}..{last}: {'success' if result.success else 'FAILED'}")
            if result.success:
                continue
            exit_code = 1
            messages = failure_messages(result) or ["the run failed"]
            for message in messages:
                print(f"  {message}")
            for moved in batch.undo(spec, first, last, " | ".join(messages)):
                print(
                    f"  {moved.name.split('-', 1)[1]}: moved to {moved} (reason beside it); "
                    "its operating days are as they were before"
                )
    return exit_code
