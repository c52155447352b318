"""`power-market export`: one Parquet slice of a dataset, straight from the lake.

Only the partition files of the requested days (or months) are scanned, lazily, so the date
and location filters and the column selection reach the Parquet reader; the result streams
into a temp file renamed into place. Partitions marked failed are left out, as downstream
assets leave them out.
"""

from __future__ import annotations

import difflib
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
from power_market_assets.io.catalog import COMBINED_KIND_NAMES, FUNDAMENTALS_KIND_NAME
from power_market_assets.io.lake import Lake, sink_parquet_file, stage_lake_path
from power_market_assets.registry import ALL_DATASETS, get_spec
from power_market_assets.registry.schema import COMBINED_PREFIXES as COMBINED_ROLES
from power_market_assets.transforms.flatten import TIME_COLUMNS
from power_market_assets.transforms.names import sql_identifier
from power_market_assets.transforms.time import days_between, month_starts

COMBINED = "combined"
# Combined (stage 4) columns are <prefix><location>[<stat>]: da_hb_north, rt_hb_north_mean.
COMBINED_PREFIXES = tuple(COMBINED_ROLES)  # da_, as_, rt_: the table kinds' combine roles
COMBINED_STATS = ("_mean", "_max", "_min", "_std")


@dataclass(frozen=True)
class ExportRequest:
    iso: str
    dataset: str  # a registry dataset, or "combined"
    stage: str  # csv, raw_parquet, flattened, or the combined kind
    lake_path: str
    granularity: str
    pivot_column: str | None  # the location column of a long table; None for wide/manifest
    start: date
    end: date
    locations: tuple[str, ...]

    @property
    def wide(self) -> bool:
        return self.stage == "flattened" or self.dataset == COMBINED

    @property
    def file_name(self) -> str:
        stem = "_".join([self.iso.lower(), self.dataset, self.stage])
        return f"{stem}_{self.start}_{self.end}.parquet"

    def partition_keys(self) -> list[str]:
        if self.granularity == "monthly":
            return [m.isoformat() for m in month_starts(self.start, self.end)]
        return [d.isoformat() for d in days_between(self.start, self.end)]


def parse_range(start: str, end: str) -> tuple[date, date]:
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise UsageError(f"--end {last} is before --start {first}")
    return first, last


def parse_locations(locations: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (locations or "").split(",") if n.strip())


def combined_request(
    iso: str, kind: str | None, first: date, last: date, names: tuple[str, ...]
) -> ExportRequest:
    """Stage 4 of one ISO: monthly wide tables, one folder per kind."""
    isos = sorted({spec.iso for spec in ALL_DATASETS})
    if iso.upper() not in isos:
        raise UsageError(f"unknown ISO {iso!r}: one of {', '.join(isos)}")
    kinds = (*COMBINED_KIND_NAMES, FUNDAMENTALS_KIND_NAME)
    if kind not in kinds:
        raise UsageError(f"--dataset combined needs --kind, one of {', '.join(kinds)}")
    lake_path = f"{iso.lower()}/{COMBINED}/{kind}"
    return ExportRequest(
        iso.upper(), COMBINED, kind, lake_path, "monthly", None, first, last, names
    )


def make_request(
    iso: str,
    dataset: str,
    stage: str,
    start: str,
    end: str,
    locations: str | None,
    kind: str | None = None,
) -> ExportRequest:
    first, last = parse_range(start, end)
    names = parse_locations(locations)
    if dataset == COMBINED:
        return combined_request(iso, kind, first, last, names)
    try:
        spec = get_spec(iso, dataset)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from exc
    if stage not in STAGE_GRANULARITY:
        raise UsageError(f"--stage must be one of {sorted(STAGE_GRANULARITY)}, not {stage!r}")
    if names and stage == "csv":
        raise UsageError("--locations does not apply to the csv stage (a file manifest)")
    pivot = None if stage != "raw_parquet" else spec.pivot_column
    granularity = STAGE_GRANULARITY[stage]
    lake_path = stage_lake_path(spec, stage)
    return ExportRequest(
        spec.iso, spec.dataset, stage, lake_path, granularity, pivot, first, last, names
    )


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


def column_location(name: str) -> str:
    """The location a combined column belongs to: rt_hb_north_mean -> hb_north."""
    for prefix in COMBINED_PREFIXES:
        if name.startswith(prefix):
            name = name.removeprefix(prefix)
            break
    for stat in COMBINED_STATS:
        if name.endswith(stat):
            return name.removesuffix(stat)
    return name


def refuse_unknown(
    request: ExportRequest, valid: set[str], asked: dict[str, str] | None = None
) -> None:
    """A misspelled location is an error naming the closest valid names, never an empty
    file: the whole point of the request would silently be lost. `asked`: what each requested
    name stands for in `valid` (a wide column), when that is not the name itself."""
    of = asked or {}
    unknown = [n for n in request.locations if of.get(n, n) not in valid]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(of.get(name, name), sorted(valid), n=3, cutoff=0.6)
        hints.append(f"{name!r} (closest: {', '.join(close)})" if close else repr(name))
    raise UsageError(
        f"unknown location(s) in {request.lake_path} {request.start}..{request.end}: "
        f"{'; '.join(hints)}. {len(valid)} valid, e.g. {', '.join(sorted(valid)[:5])}"
    )


def wide_columns(frame: pl.LazyFrame, request: ExportRequest) -> list[str]:
    """Time columns plus every column of the requested locations (refusing unknown ones)."""
    names = frame.collect_schema().names()
    time_cols = [c for c in TIME_COLUMNS if c in names]
    values = [c for c in names if c not in TIME_COLUMNS]
    of = column_location if request.dataset == COMBINED else (lambda c: c)
    valid = {of(c) for c in values}
    # Wide columns are SQL identifiers (transforms.names): "HB_WEST" asks for hb_west.
    asked = {n: n if n in valid else sql_identifier(n) for n in request.locations}
    refuse_unknown(request, valid, asked)
    return time_cols + [c for c in values if of(c) in set(asked.values())]


def slice_frame(files: list[Path], request: ExportRequest) -> pl.LazyFrame:
    """The lazy query: date filter always, locations as rows (long) or columns (wide)."""
    frame = pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")
    frame = frame.filter(pl.col("operating_day").is_between(request.start, request.end))
    if not request.locations:
        return frame
    if request.wide:
        return frame.select(wide_columns(frame, request))
    column = request.pivot_column
    valid = frame.select(pl.col(column).unique()).collect().get_column(column)
    refuse_unknown(request, set(valid.to_list()))
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
    kind: str | None = None,
) -> int:
    err = err or sys.stderr
    lake = Lake.at(data_root)
    try:
        request = make_request(iso, dataset, stage, start, end, locations, kind)
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
        print("warning: the slice is empty", file=err)
    return EXIT_OK
