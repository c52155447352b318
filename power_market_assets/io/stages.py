"""Stage 1 -> 2 without Dagster: land a day's archives, parse a day's CSVs.

The csv and raw_parquet assets and the benchmark run exactly this code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from polars.exceptions import PanicException

from power_market_assets.formats import expected_rows, read_dataset_files
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.quality import checks as quality
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.landing import land_operating_day

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

LANDING_WORKERS = 2
PARSE_WORKERS = 2


def manifest_frame(rows: list[dict], root: Path) -> pl.DataFrame:
    """Stage 1's value: one row per landed CSV, paths relative to the data root."""
    relative = [{**row, "csv_path": str(Path(row["csv_path"]).relative_to(root))} for row in rows]
    return pl.DataFrame(relative, schema=MANIFEST_SCHEMA)


def land_days(lake: Lake, lake_path: str, sources: Mapping[date, Sequence[Any]]) -> pl.DataFrame:
    """Land every day's archives into lake/<lake_path>/year=YYYY/<day>/ and return the manifest.

    Two days land at once: unzipping, hashing and file I/O release the GIL. (Worker processes
    were measured slower here: their start-up costs more than the GIL-bound part they save.)
    """

    def land(day: date) -> list[dict]:
        return land_operating_day(day, sources[day], lake.csv_day_dir(lake_path, day.isoformat()))

    with ThreadPoolExecutor(max_workers=LANDING_WORKERS) as pool:
        rows = [row for day_rows in pool.map(land, sorted(sources)) for row in day_rows]
    return manifest_frame(rows, lake.root)


def read_day(
    spec: DatasetSpec, day: date, files: pl.DataFrame, root: Path
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse one operating day's stage-1 files: (the day's rows, everything parsed).

    A file holding no row of the day is misfiled: an error naming it. A file that spans days
    (a monthly or yearly archive a user dropped, landed under every day it covers) gives the
    day its own rows; the whole parse is returned too, so row_count reconciles every line.
    """
    paths = [root / p for p in files.get_column("csv_path").to_list()]
    parsed = read_files_guarded(paths, spec, label=f"{spec.iso} {spec.dataset} {day}")
    in_day = pl.col("operating_day") == day
    per_file = parsed.group_by("source_file").agg(
        in_day.sum().alias("day_rows"), pl.len().alias("rows"), pl.col("operating_day").first()
    )
    misfiled = per_file.filter(pl.col("day_rows") == 0)
    if misfiled.height:
        row = misfiled.sort("source_file").row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"holds rows for operating day {row['operating_day']} but was listed for {day} "
            f"({row['rows']} row(s))",
        )
    return parsed.filter(in_day), parsed


def read_files_guarded(paths: Sequence[Path], spec: DatasetSpec, label: str) -> pl.DataFrame:
    """`read_dataset_files`, with any reader failure turned into a FormatError.

    A reader bug on odd input (Polars panics on some empty frames, and a PanicException is
    a BaseException that would escape `except Exception` in sensors and kill the step) must
    reach the user as "this file is bad", not as a crash.
    """
    try:
        return read_dataset_files(paths, spec)
    except FormatError:
        raise
    except (Exception, PanicException) as exc:
        names = ", ".join(Path(p).name for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise FormatError(
            names or label, f"could not be read ({type(exc).__name__}: {str(exc)[:300]})"
        ) from None


@dataclass(frozen=True)
class ParsedDay:
    """One operating day after stage 2: its long table and check outcomes, or its error."""

    day: date
    frame: pl.DataFrame | None
    outcomes: dict[str, quality.CheckOutcome]
    error: FormatError | None = None


def parse_days(
    spec: DatasetSpec, days: Sequence[date], manifest: pl.DataFrame, root: Path, checks: bool
) -> Iterator[ParsedDay]:
    """Parse (and check) the days in order, two at a time: one day's Python file reading
    overlaps the other's Polars work, which runs without the GIL."""

    def parse(day: date) -> ParsedDay:
        files = manifest.filter(pl.col("operating_day") == day)
        try:
            frame, parsed = read_day(spec, day, files, root)
        except FormatError as exc:
            return ParsedDay(day, None, {}, exc)
        outcomes = run_raw_checks(spec, frame, files, root, parsed=parsed) if checks else {}
        return ParsedDay(day, frame, outcomes)

    with ThreadPoolExecutor(max_workers=PARSE_WORKERS) as pool:
        yield from pool.map(parse, days)


def run_raw_checks(
    spec: DatasetSpec,
    frame: pl.DataFrame,
    manifest: pl.DataFrame,
    root: Path,
    parsed: pl.DataFrame | None = None,
) -> dict[str, quality.CheckOutcome]:
    """The stage-2 checks of one operating day (`parsed`: every row read from its files,
    when they span other days too; row_count reconciles those with the files' lines)."""
    per_file = {
        name: expected_rows(root / csv_path, spec, lines)
        for name, csv_path, lines in manifest.select(
            "source_file", "csv_path", "data_rows"
        ).iter_rows()
    }
    return {
        "schema": quality.check_schema(frame, spec),
        "duplicates": quality.check_duplicates(frame, spec),
        "row_count": quality.check_row_count(
            frame if parsed is None else parsed, sum(per_file.values()), per_file=per_file
        ),
        "gaps": quality.check_gaps(frame, spec),
        "price_range": quality.check_price_range(frame, spec),
    }
