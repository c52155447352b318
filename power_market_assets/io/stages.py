"""Stage 1 -> 2 without Dagster: land a day's archives, parse a day's CSVs.

The csv and raw_parquet assets and the benchmark run exactly this code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from polars.exceptions import PanicException

from power_market_assets.formats import (
    expected_joined_rows,
    expected_rows,
    joins_csv_members,
    read_dataset_files,
    read_joined_file,
)
from power_market_assets.formats.csvjoin import JoinedMember
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.day_workers import in_order_ahead, picklable
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.quality import checks as quality
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.landing import (
    LandedSource,
    as_landed_source,
    land_operating_day,
)

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
    "csv_sha256": pl.Utf8(),  # null for a member of a joined CSV (csv_crc32 identifies it)
    "csv_crc32": pl.Int64(),  # the zip's CRC-32 of the member
    "byte_start": pl.Int64(),  # the member's data lines in csv_path when it is a joined CSV
    "byte_end": pl.Int64(),
    "data_rows": pl.Int64(),
}

LANDING_WORKERS = 2
PARSE_WORKERS = 2
PROCESS_MIN_DAYS = 60  # a range of this many days lands and parses on worker processes


def manifest_frame(rows: list[dict], root: Path) -> pl.DataFrame:
    """Stage 1's value: one row per landed CSV, paths relative to the data root."""
    relative = [{**row, "csv_path": str(Path(row["csv_path"]).relative_to(root))} for row in rows]
    return pl.DataFrame(relative, schema=MANIFEST_SCHEMA)


def land_days(lake: Lake, spec: DatasetSpec, sources: Mapping[date, Sequence[Any]]) -> pl.DataFrame:
    """Land every day's archives into the dataset's stage-1 folder (<iso>/<dataset>/csv/
    year=YYYY/<day>/) and return the manifest.

    Two days land at once: unzipping, hashing and file I/O release the GIL. (Worker processes
    were measured slower here: their start-up costs more than the GIL-bound part they save.)
    """
    with ThreadPoolExecutor(max_workers=LANDING_WORKERS) as pool:
        landed = pool.map(lambda day: land_day(lake, spec, day, sources[day]), sorted(sources))
        rows = [row for day_rows in landed for row in day_rows]
    return manifest_frame(rows, lake.root)


def land_day(lake: Lake, spec: DatasetSpec, day: date, sources: Sequence[Any]) -> list[dict]:
    """Land one day's sources into the dataset's stage-1 folder: its manifest rows."""
    day_dir = lake.csv_day_dir(stage_lake_path(spec, "csv"), day.isoformat())
    return land_operating_day(day, sources, day_dir, join_csv=joins_csv_members(spec))


def read_day(
    spec: DatasetSpec,
    day: date,
    files: pl.DataFrame,
    root: Path,
    shared: Mapping[SharedKey, SharedFile] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse one operating day's stage-1 files: (the day's rows, the stage-1 file of every
    row parsed from them).

    A file holding no row of the day is misfiled: an error naming it. A file that spans days
    (a monthly or yearly archive a user dropped, landed under every day it covers) gives the
    day its own rows, whichever part of it (a workbook's month sheet) holds them; every row
    of it is counted too, so row_count reconciles every line. `shared` holds such files
    parsed once for the run (`parse_shared_files`).
    """
    shared = shared or {}
    keys = _day_shared_keys(files, shared)
    mine = files.filter(~_is_shared(keys)) if keys else files
    frames, counted = [], []
    if mine.height or not keys:
        names = mine.get_column("source_file").to_list()
        parsed = read_stage_one(mine, spec, root, label=f"{spec.iso} {spec.dataset} {day}")
        of_day = _raise_if_misfiled(parsed, day, names)
        frames.append(parsed if of_day else parsed.filter(pl.col("operating_day") == day))
        labelled = _labelled_by_file_name(mine)
        counted.append(parsed.select("source_file") if labelled else stage1_files(parsed, names))
    for key in keys:
        frames.append(shared[key].rows_of(day))
        counted.append(shared[key].counted)
    return _concat(frames), _concat(counted)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")


def stage1_file(names: Sequence[str]) -> pl.Expr:
    """The stage-1 file (one of `names`) each parsed row came from: readers label the rows of
    a part of a file `<file>[<part>]` (the month sheets of an ERCOT yearly workbook)."""
    label = pl.col("source_file").cast(pl.Utf8)
    whole = label.str.replace(PART_LABEL, "")
    return pl.when(whole.is_in(list(names))).then(whole).otherwise(label)


def stage1_files(parsed: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """`source_file`: the stage-1 file of each parsed row (`stage1_file`), worked out on the
    distinct labels, so the usual case (every label is a file's own name) costs nothing."""
    labels = parsed.get_column("source_file").unique().cast(pl.Utf8)
    if labels.is_in(list(names)).all():
        return parsed.select("source_file")
    return parsed.select(stage1_file(names).alias("source_file"))


def _labelled_by_file_name(files: pl.DataFrame) -> bool:
    """Whether every row parsed from `files` is labelled with its stage-1 file's own name, so
    `stage1_files` need not look: members of joined CSVs are (`<file>[<part>]` labels come
    from workbooks, which are never joined)."""
    return files.height > 0 and bool(files.select(_in_joined_file(files).all()).item())


def _raise_if_misfiled(parsed: pl.DataFrame, day: date, names: Sequence[str]) -> bool:
    """A stage-1 file none of whose rows (in any of its parts) is of `day` was misfiled.
    True when every row is of the day (the usual case: nothing to filter out)."""
    of_day = parsed.get_column("operating_day").eq(day)
    if of_day.all():  # every row is of the day, so is some row of every file
        return of_day.null_count() == 0
    per_file = (
        parsed.group_by(stage1_file(names).alias("file"))
        .agg(
            (pl.col("operating_day") == day).sum().alias("day_rows"),
            pl.len().alias("rows"),
            pl.col("operating_day").first(),
            pl.col("source_file").cast(pl.Utf8).first(),
        )
        .filter(pl.col("day_rows") == 0)
    )
    if per_file.height:
        row = per_file.sort("source_file").row(0, named=True)
        raise _misfiled(row["source_file"], row["operating_day"], day, row["rows"])
    return False


def _misfiled(name: str, holds: date, listed: date, rows: int) -> FormatError:
    return FormatError(
        name, f"holds rows for operating day {holds} but was listed for {listed} ({rows} row(s))"
    )


def read_stage_one(files: pl.DataFrame, spec: DatasetSpec, root: Path, label: str) -> pl.DataFrame:
    """The standard long table of stage-1 files (manifest rows): members of a joined CSV are
    parsed from it in one call, files on their own."""
    joined = files.filter(_in_joined_file(files))
    single = files.filter(~_in_joined_file(files))
    frames = [
        read_guarded(
            lambda path=path, members=members: read_joined_file(root / path, members, spec),
            [name for name, *_ in members],
            label,
        )
        for path, members in _joined_members(joined).items()
    ]
    if single.height or not frames:
        paths = [root / p for p in single.get_column("csv_path").to_list()]
        frames.append(read_files_guarded(paths, spec, label))
    return _concat(frames)


def _in_joined_file(files: pl.DataFrame) -> pl.Expr:
    if "byte_start" not in files.columns:  # a manifest written before joined CSVs
        return pl.lit(False)
    return pl.col("byte_start").is_not_null()


def _joined_members(joined: pl.DataFrame) -> dict[str, list[JoinedMember]]:
    """Per joined file, its members in file order."""
    members: dict[str, list[JoinedMember]] = {}
    if joined.is_empty():
        return members
    columns = ("csv_path", "source_file", "byte_start", "byte_end", "data_rows")
    for path, name, start, end, rows in (
        joined.sort("csv_path", "byte_start").select(columns).iter_rows()
    ):
        members.setdefault(path, []).append(JoinedMember(name, start, end, rows))
    return members


def read_files_guarded(paths: Sequence[Path], spec: DatasetSpec, label: str) -> pl.DataFrame:
    """`read_dataset_files` through `read_guarded`."""
    return read_guarded(
        lambda: read_dataset_files(paths, spec), [Path(p).name for p in paths], label
    )


def read_guarded(
    read: Callable[[], pl.DataFrame], names: Sequence[str], label: str
) -> pl.DataFrame:
    """`read()`, with any reader failure turned into a FormatError naming the files.

    A reader bug on odd input (Polars panics on some empty frames, and a PanicException is
    a BaseException that would escape `except Exception` in sensors and kill the step) must
    reach the user as "this file is bad", not as a crash.
    """
    try:
        return read()
    except FormatError:
        raise
    except (Exception, PanicException) as exc:
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        raise FormatError(
            shown or label, f"could not be read ({type(exc).__name__}: {str(exc)[:300]})"
        ) from None


@dataclass(frozen=True)
class ParsedDay:
    """One operating day after stage 2: its long table and check outcomes, or its error."""

    day: date
    frame: pl.DataFrame | None
    outcomes: dict[str, quality.CheckOutcome]
    error: FormatError | None = None


def parse_days(
    spec: DatasetSpec,
    days: Sequence[date],
    manifest: pl.DataFrame,
    root: Path,
    checks: bool,
    finish: DayFinisher | None = None,
    discard: Callable[[Any], None] | None = None,
) -> Iterator[Any]:
    """Parse (and check) the days in order, two at a time: one day's Python file reading
    overlaps the other's Polars work, which runs without the GIL. Files landed under several
    of the days are parsed once, first. `finish` and `discard`: as in land_and_parse_days
    (the day's manifest rows are None: nothing was landed)."""
    shared = parse_shared_files(spec, manifest, root)
    finish = finish or _parsed_only

    def parse(day: date) -> Any:
        files = manifest.filter(pl.col("operating_day") == day)
        return finish(None, parse_day(spec, day, files, root, checks, shared))

    yield from in_order_ahead(parse, days, PARSE_WORKERS, discard)


# What a caller does with each day on the worker thread that parsed it (write its files...):
# (the day's manifest rows when it was landed in this run, else None; the parsed day) -> any.
DayFinisher = Callable[[pl.DataFrame | None, "ParsedDay"], Any]


def _parsed_only(files: pl.DataFrame | None, parsed: ParsedDay) -> ParsedDay:
    return parsed


def parse_day(
    spec: DatasetSpec,
    day: date,
    files: pl.DataFrame,
    root: Path,
    checks: bool,
    shared: Mapping[SharedKey, SharedFile] | None = None,
) -> ParsedDay:
    """One operating day's stage-1 files (manifest rows) -> its long table and its checks
    (run here, in the parse workers: a day's checks overlap the next day's parsing)."""
    try:
        frame, counted = read_day(spec, day, files, root, shared)
    except FormatError as exc:
        return ParsedDay(day, None, {}, exc)
    if not checks:
        return ParsedDay(day, frame, {})
    row_count = row_count_outcome(spec, frame, files, root, counted, shared)
    return ParsedDay(day, frame, {**quality.frame_checks(frame, spec), "row_count": row_count})


def land_and_parse_days(
    lake: Lake,
    spec: DatasetSpec,
    sources: Mapping[date, Sequence[Any]],
    checks: bool,
    finish: DayFinisher,
    discard: Callable[[Any], None] | None = None,
) -> Iterator[Any]:
    """Stages 1 and 2 of each day, in day order: what `finish` makes of (the day's manifest
    rows, the parsed day) on the worker that did them (writing the day's files there keeps
    the consumer's thread free). `discard` gets each finished day the consumer never took
    (it stopped on an error), so that files the finisher wrote do not stay behind.

    Two day workers each land, parse, check and finish one day at a time, so a landed day is
    parsed while its bytes are still in the page cache: two threads, or for a range of
    PROCESS_MIN_DAYS or more a thread and a worker process (io/day_workers.py: half of a
    day's work holds the GIL). When a file is listed under several days (a yearly workbook,
    a monthly CSV) every day lands first and such files are parsed once for the run
    (`parse_days`), not once per day.
    """
    days = sorted(sources)
    if _listed_under_several_days(sources):
        manifest = land_days(lake, spec, sources)

        def with_manifest(_: pl.DataFrame | None, parsed: ParsedDay) -> Any:
            return finish(manifest.filter(pl.col("operating_day") == parsed.day), parsed)

        yield from parse_days(spec, days, manifest, lake.root, checks, with_manifest, discard)
        return
    work = _LandAndParse(lake, spec, checks, finish)
    items = [(day, [as_landed_source(item) for item in sources[day]]) for day in days]
    processes = len(days) >= PROCESS_MIN_DAYS and lake.store is None and picklable(finish)
    yield from in_order_ahead(work, items, PARSE_WORKERS, discard, processes)


@dataclass(frozen=True)
class _LandAndParse:
    """Stages 1 and 2 of one (day, its sources), then `finish`: plain data, so that it can
    run in a worker process."""

    lake: Lake
    spec: DatasetSpec
    checks: bool
    finish: DayFinisher

    def __call__(self, item: tuple[date, Sequence[LandedSource]]) -> Any:
        day, sources = item
        files = manifest_frame(land_day(self.lake, self.spec, day, sources), self.lake.root)
        return self.finish(files, parse_day(self.spec, day, files, self.lake.root, self.checks))


def _listed_under_several_days(sources: Mapping[date, Sequence[Any]]) -> bool:
    seen: set[str] = set()
    for items in sources.values():
        names = {_source_name(item) for item in items}
        if names & seen:
            return True
        seen |= names
    return False


def _source_name(item: Any) -> str:
    """A landing source's file name (LandedSource, DownloadedDocument or a path)."""
    return getattr(item, "original_name", None) or Path(getattr(item, "path", item)).name


# ---------------------------------------------------------------------------------------------
# Files landed under several days: parsed and counted once per run

# (source_file, csv_sha256): the same bytes under the same name, landed under several days.
SharedKey = tuple[str, str]
PART_LABEL = r"\[[^\[\]]*\]$"


@dataclass(frozen=True)
class SharedFile:
    """A file spanning the run's days, parsed once: its rows split by operating day, the
    stage-1 name of each row (row_count), the rows counted in it independently, or the
    error it failed with."""

    name: str
    by_day: dict[date, pl.DataFrame]
    counted: pl.DataFrame
    expected_rows: int
    error: FormatError | None = None

    def rows_of(self, day: date) -> pl.DataFrame:
        """The file's rows of `day` (FormatError: it failed, or holds no row of the day)."""
        if self.error is not None:
            raise self.error
        if not self.by_day:
            raise FormatError(self.name, "holds no data rows")
        if day not in self.by_day:
            raise _misfiled(self.name, min(self.by_day), day, self.counted.height)
        return self.by_day[day]


def shared_keys(manifest: pl.DataFrame) -> list[SharedKey]:
    """Files of the manifest landed under more than one operating day."""
    if manifest.is_empty() or "csv_sha256" not in manifest.columns:
        return []
    spanning = (
        manifest.filter(~_in_joined_file(manifest))  # a joined member belongs to its day
        .group_by("source_file", "csv_sha256")
        .agg(pl.col("operating_day").n_unique().alias("days"))
        .filter(pl.col("days") > 1)
        .sort("source_file")
    )
    return [(name, sha) for name, sha in spanning.select("source_file", "csv_sha256").iter_rows()]


def parse_shared_files(
    spec: DatasetSpec, manifest: pl.DataFrame, root: Path
) -> dict[SharedKey, SharedFile]:
    """Parse (and count) each file landed under several days once, not once per day: a
    yearly workbook read for each of its 365 days would take minutes."""
    out: dict[SharedKey, SharedFile] = {}
    for name, sha in shared_keys(manifest):
        row = manifest.filter((pl.col("source_file") == name) & (pl.col("csv_sha256") == sha)).row(
            0, named=True
        )
        path = root / row["csv_path"]
        expected = expected_rows(path, spec, row["data_rows"])
        try:
            parsed = read_files_guarded([path], spec, label=name)
        except FormatError as exc:
            out[(name, sha)] = SharedFile(name, {}, pl.DataFrame(), expected, exc)
            continue
        by_day = parsed.partition_by("operating_day", as_dict=True, maintain_order=True)
        counted = stage1_files(parsed, [name])
        out[(name, sha)] = SharedFile(
            name, {day: rows for (day,), rows in by_day.items()}, counted, expected
        )
    return out


def _day_shared_keys(
    files: pl.DataFrame, shared: Mapping[SharedKey, SharedFile]
) -> list[SharedKey]:
    """The day's files that were parsed once for the run."""
    if not shared:
        return []
    present = files.select("source_file", "csv_sha256").unique().iter_rows()
    return sorted(key for key in present if key in shared)


def _is_shared(keys: Sequence[SharedKey]) -> pl.Expr:
    names = pl.concat_str("source_file", pl.lit("\0"), "csv_sha256")
    return names.is_in([f"{name}\0{sha}" for name, sha in keys])


def row_count_outcome(
    spec: DatasetSpec,
    frame: pl.DataFrame,
    manifest: pl.DataFrame,
    root: Path,
    counted: pl.DataFrame | None = None,
    shared: Mapping[SharedKey, SharedFile] | None = None,
) -> quality.CheckOutcome:
    """The row_count check of one operating day: every row parsed from the day's files
    (`counted`: their stage-1 file names, when they span other days too; `read_day`)
    reconciled with the rows counted in those files (`shared`: counted once per run)."""
    shared = shared or {}
    per_file = {}
    files = manifest.filter(~_in_joined_file(manifest))
    for name, csv_path, lines, sha in files.select(
        "source_file", "csv_path", "data_rows", _sha_column(manifest)
    ).iter_rows():
        known = shared.get((name, sha))
        per_file[name] = (
            known.expected_rows if known else expected_rows(root / csv_path, spec, lines)
        )
    joined = manifest.filter(_in_joined_file(manifest))
    for path, members in _joined_members(joined).items():
        per_file.update(expected_joined_rows(root / path, members, spec))
    if counted is None:
        counted = stage1_files(frame, list(per_file))
    return quality.check_row_count(counted, sum(per_file.values()), per_file=per_file)


def _sha_column(manifest: pl.DataFrame) -> pl.Expr:
    if "csv_sha256" in manifest.columns:
        return pl.col("csv_sha256")
    return pl.lit(None, pl.Utf8).alias("csv_sha256")
