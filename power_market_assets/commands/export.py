"""`power-market export`: one Parquet slice of a dataset, straight from the lake.

Only the partition files of the requested days (or months) are scanned, lazily, so the date
and location filters and the column selection reach the Parquet reader; the result streams
into a temp file renamed into place. Partitions marked failed are left out, as downstream
assets leave them out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

import polars as pl

from power_market_assets.commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    compact_ranges,
    parse_day,
)
from power_market_assets.commands.catalog import STAGE_GRANULARITY
from power_market_assets.io.lake import Lake, sink_parquet_file, stage_lake_path
from power_market_assets.registry import DatasetSpec, get_spec
from power_market_assets.transforms.flatten import TIME_COLUMNS
from power_market_assets.transforms.time import days_between, month_starts


@dataclass(frozen=True)
class ExportRequest:
    spec: DatasetSpec
    stage: str
    start: date
    end: date
    locations: tuple[str, ...]

    @property
    def lake_path(self) -> str:
        return stage_lake_path(self.spec, self.stage)

    @property
    def file_name(self) -> str:
        stem = "_".join([self.spec.iso.lower(), self.spec.dataset, self.stage])
        return f"{stem}_{self.start}_{self.end}.parquet"

    def partition_keys(self) -> list[str]:
        if STAGE_GRANULARITY[self.stage] == "monthly":
            return [m.isoformat() for m in month_starts(self.start, self.end)]
        return [d.isoformat() for d in days_between(self.start, self.end)]


def make_request(
    iso: str, dataset: str, stage: str, start: str, end: str, locations: str | None
) -> ExportRequest:
    try:
        spec = get_spec(iso, dataset)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from exc
    if stage not in STAGE_GRANULARITY:
        raise UsageError(f"--stage must be one of {sorted(STAGE_GRANULARITY)}, not {stage!r}")
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise UsageError(f"--end {last} is before --start {first}")
    names = tuple(n.strip() for n in (locations or "").split(",") if n.strip())
    if names and stage == "csv":
        raise UsageError("--locations does not apply to the csv stage (a file manifest)")
    return ExportRequest(spec, stage, first, last, names)


def output_path(out: str, request: ExportRequest) -> Path:
    """A folder (existing, or written with a trailing slash) gets a descriptive file name."""
    target = Path(out).expanduser()
    if target.is_dir() or out.endswith(("/", "\\")):
        return target / request.file_name
    return target


def partition_files(lake: Lake, request: ExportRequest, err: TextIO) -> list[Path]:
    """Existing, not-failed partition files of the range; warns about the others."""
    files, missing, failed = [], [], []
    for key in request.partition_keys():
        path = lake.partition_file(request.lake_path, key)
        if lake.failure_marker(request.lake_path, key).exists():
            failed.append(key)
        elif path.exists():
            files.append(path)
        else:
            missing.append(key)
    if missing:
        print(f"warning: not materialized: {compact_ranges(missing)}", file=err)
    if failed:
        print(f"warning: left out (failed checks): {', '.join(failed)}", file=err)
    return files


def slice_frame(files: list[Path], request: ExportRequest) -> pl.LazyFrame:
    """The lazy query: date filter always, locations as rows (long) or columns (wide)."""
    frame = pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")
    frame = frame.filter(pl.col("operating_day").is_between(request.start, request.end))
    if not request.locations:
        return frame
    if request.stage == "flattened":
        names = frame.collect_schema().names()
        unknown = [n for n in request.locations if n not in names]
        if unknown:
            raise UsageError(f"no column(s) {unknown} in {request.lake_path} for this range")
        time_cols = [c for c in TIME_COLUMNS if c in names]
        return frame.select(time_cols + list(request.locations))
    column = request.spec.pivot_column
    return frame.filter(pl.col(column).is_in(list(request.locations)))


def run_export(
    iso: str,
    dataset: str,
    start: str,
    end: str,
    out: str,
    stage: str = "raw_parquet",
    locations: str | None = None,
    data_root: str = "data",
    err: TextIO | None = None,
) -> int:
    err = err or sys.stderr
    lake = Lake.at(data_root)
    try:
        request = make_request(iso, dataset, stage, start, end, locations)
        files = partition_files(lake, request, err)
        if not files:
            print(
                f"nothing to export: no materialized {request.lake_path} partitions in "
                f"{request.start}..{request.end}",
                file=err,
            )
            return EXIT_FAILED
        target = output_path(out, request)
        sink_parquet_file(slice_frame(files, request), target)
    except UsageError as exc:
        print(exc, file=err)
        return EXIT_USAGE
    rows = pl.scan_parquet(target).select(pl.len()).collect().item()
    print(f"wrote {rows:,} row(s) from {len(files)} file(s) to {target.resolve()}", file=err)
    if rows == 0:
        print("warning: the slice is empty (check --locations)", file=err)
    return EXIT_OK
