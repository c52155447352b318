"""`power-market ingest`: recognize dropped ISO files, land them in stage 1, build raw_parquet.

A file is recognized by its content (inside zips too) and parsed in full before anything is
copied; it lands under every operating day it covers (a daily file under one, a monthly or
yearly archive under each of its days). A file that is not recognized or does not parse is
reported with its name and the problem and left where it was: nothing is lost.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from power_market_assets.automation.runs import (
    contiguous_ranges,
    daily_job_name,
    failure_messages,
    landing_run_config,
    persistent_instance,
    run_range,
)
from power_market_assets.formats import IDENTIFY_BYTES, identify_file
from power_market_assets.formats.archive import ArchiveError, atomic_path, extract_csv_members
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.io.stages import read_files_guarded
from power_market_assets.quality.checks import check_duplicates
from power_market_assets.registry.spec import DatasetSpec


@dataclass(frozen=True)
class Recognized:
    path: Path
    spec: DatasetSpec
    operating_days: tuple[date, ...]  # sorted; one for daily files, many for archives
    rows: int
    # operating_day + the dataset's unique key of every row: which earlier drops it replaces.
    keys: pl.DataFrame | None = None

    @property
    def operating_day(self) -> date:
        return self.operating_days[0]

    @property
    def describe_days(self) -> str:
        first, last = self.operating_days[0], self.operating_days[-1]
        if first == last:
            return f"operating day {first}"
        return f"{len(self.operating_days)} operating days {first}..{last}"


def recognize(path: Path) -> Recognized:
    """Identify the dataset of a dropped file (.zip, .csv, .json, .xlsx) and check that it
    parses and holds no duplicate rows."""
    spec, frame = read_dropped(path)
    if frame.height == 0:
        raise FormatError(path.name, "holds a header but no data rows")
    duplicates = check_duplicates(frame, spec)
    if not duplicates.passed:  # refused here rather than failing the run's blocking check
        raise FormatError(path.name, duplicates.summary)
    days = tuple(sorted(set(frame.get_column("operating_day").to_list())))
    keys = frame.select("operating_day", *spec.unique_key)
    return Recognized(path=path, spec=spec, operating_days=days, rows=frame.height, keys=keys)


def read_dropped(path: Path) -> tuple[DatasetSpec, pl.DataFrame]:
    """The dataset of a file as a user would drop it (zips opened safely) and its rows."""
    if not path.is_file():
        raise FormatError(str(path), "not a file")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            members = extract_csv_members(path, Path(tmp), source_name=path.name)
        except ArchiveError as exc:
            raise FormatError(path.name, str(exc)) from exc
        if not members:
            raise FormatError(path.name, "holds no CSV file")
        specs = {_identify_member(member) for member in members}
        if len(specs) > 1:
            raise FormatError(path.name, "mixes files of several datasets")
        spec = specs.pop()
        return spec, read_files_guarded([m.path for m in members], spec, label=path.name)


def _identify_member(member) -> DatasetSpec:
    if member.size_bytes == 0:
        raise FormatError(member.name, "is empty (0 bytes)")
    if member.data_rows == 0 and member.name.lower().endswith(".csv"):
        raise FormatError(member.name, "holds a header but no data rows")
    with open(member.path, "rb") as handle:
        head = handle.read(IDENTIFY_BYTES)
    spec = identify_file(member.name, head)
    if spec is None:
        first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        raise FormatError(
            member.name, f"matches no known dataset (first line: {first_line[:200]!r})"
        )
    return spec


def land(recognized: Recognized, lake: Lake) -> Path:
    """Place the original file in the landing folder of its dataset for every day it covers
    (atomically; a file spanning days is copied once and hard-linked into the other days,
    and each day's raw stage takes its own rows from it). Returns the first day's copy."""
    spec = recognized.spec
    first: Path | None = None
    for day in recognized.operating_days:
        folder = lake.landing_day_dir(spec.iso, spec.dataset, day.isoformat())
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / recognized.path.name
        retire_replaced(recognized, day, folder, lake)
        with atomic_path(target) as temp:
            _link_or_copy(first or recognized.path, temp)
        first = first or target
    assert first is not None
    return first


def retire_replaced(recognized: Recognized, day: date, folder: Path, lake: Lake) -> list[Path]:
    """Move out of the day's landing folder the earlier drops whose every row the new file
    covers again (a corrected file under a new name), so the day is not read twice.

    They go to landing/replaced/<iso>/<dataset>/<day>/ (nothing is deleted); files the new
    one covers only partly stay, and the day's duplicates check then reports the overlap.
    """
    if recognized.keys is None:
        return []
    spec = recognized.spec
    new_keys = recognized.keys.filter(pl.col("operating_day") == day)
    retired = []
    for old in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if old.name == recognized.path.name:
            continue
        try:
            old_spec, old_frame = read_dropped(old)
        except FormatError:
            continue
        if old_spec is not spec:
            continue
        old_keys = old_frame.filter(pl.col("operating_day") == day).select(new_keys.columns)
        if old_keys.height and not old_keys.join(new_keys, on=new_keys.columns, how="anti").height:
            target_dir = lake.replaced_dir / folder.relative_to(lake.landing_dir)
            retired.append(set_aside(old, target_dir, f"replaced by {recognized.path.name}"))
    return retired


def set_aside(path: Path, folder: Path, reason: str) -> Path:
    """Move a file into `folder` as `<utc stamp>-<name>`, with `<that>.reason.txt` beside it
    (quarantined drops, replaced landed files: nothing is deleted)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}-{path.name}"
    shutil.move(str(path), target)
    with atomic_path(target.with_name(target.name + ".reason.txt")) as temp:
        temp.write_text(f"{reason}\n")
    return target


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)


def ingest_paths(paths: list[Path], data_root: str = "data") -> int:
    """Ingest files; returns a process exit code (1 when any file was refused or a run failed)."""
    from power_market_assets.definitions import build_definitions

    lake = Lake.at(data_root)
    exit_code = 0
    landed: dict[DatasetSpec, list[date]] = {}
    for path in paths:
        try:
            recognized = recognize(path)
        except FormatError as exc:
            print(f"ERROR {exc}  (file left in place, nothing ingested)")
            exit_code = 1
            continue
        target = land(recognized, lake)
        landed.setdefault(recognized.spec, []).extend(recognized.operating_days)
        print(
            f"{path.name}: {recognized.spec.iso} {recognized.spec.dataset}, "
            f"{recognized.describe_days}, {recognized.rows:,} rows -> {target.parent}"
        )
    if not landed:
        return exit_code
    defs = build_definitions(data_root=str(lake.root))
    instance = persistent_instance(lake.root)
    for spec, days in landed.items():
        job, run_config = daily_job_name(spec), landing_run_config(spec)
        for first, last in contiguous_ranges(days):
            result = run_range(
                defs, job, first.isoformat(), last.isoformat(), instance, run_config=run_config
            )
            state = "success" if result.success else "FAILED"
            print(f"{job} {first}..{last}: {state}")
            for message in failure_messages(result):
                print(f"  {message}")
                exit_code = 1
    return exit_code
