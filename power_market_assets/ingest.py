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
from datetime import date
from pathlib import Path

from power_market_assets.automation.runs import contiguous_ranges, failure_messages, run_range
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
    """Identify the dataset of a dropped .zip or .csv and check that it parses."""
    if not path.is_file():
        raise FormatError(str(path), "not a file")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            members = extract_csv_members(path, Path(tmp), source_name=path.name)
        except ArchiveError as exc:
            raise FormatError(path.name, str(exc)) from exc
        if not members:
            raise FormatError(path.name, "holds no CSV file")
        specs = set()
        for member in members:
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
            specs.add(spec)
        if len(specs) > 1:
            raise FormatError(path.name, "mixes files of several datasets")
        spec = specs.pop()
        frame = read_files_guarded([m.path for m in members], spec, label=path.name)
    if frame.height == 0:
        raise FormatError(path.name, "holds a header but no data rows")
    duplicates = check_duplicates(frame, spec)
    if not duplicates.passed:  # refused here rather than failing the run's blocking check
        raise FormatError(path.name, duplicates.summary)
    days = tuple(sorted(set(frame.get_column("operating_day").to_list())))
    return Recognized(path=path, spec=spec, operating_days=days, rows=frame.height)


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
        with atomic_path(target) as temp:
            _link_or_copy(first or recognized.path, temp)
        first = first or target
    assert first is not None
    return first


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)


def ingest_paths(paths: list[Path], data_root: str = "data") -> int:
    """Ingest files; returns a process exit code (1 when any file was refused or a run failed)."""
    from power_market_assets.definitions import build_definitions
    from power_market_assets.demo import persistent_instance

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
        job = f"{spec.iso.lower()}_{spec.dataset}_daily"
        run_config = {
            "ops": {f"{spec.iso.lower()}__{spec.dataset}__csv": {"config": {"source": "landing"}}}
        }
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
