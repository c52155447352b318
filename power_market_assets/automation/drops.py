"""Files users drop (the landing inbox sensor, `power-market ingest`): recognize, rehearse,
land, set aside.

A file is recognized by its content (inside zips too; a declared dataset says what it is when
content and name cannot) and parsed in full, and the days it covers are rehearsed with the
run's own stage 1-2 code and blocking checks, before anything is copied; it then lands (copied:
the lake never shares an inode with the user's file) under every operating day it covers. If a
landed drop's run still fails, `LandingBatch.undo` moves the drop to landing/quarantine/ with
the reason and puts its days back as they were: only a file the platform fetched itself can
mark a partition failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from power_market_assets.assets.factory import RAW_CHECKS
from power_market_assets.formats import (
    IDENTIFY_BYTES,
    file_edition,
    identify_file,
    joins_csv_members,
)
from power_market_assets.formats.archive import ArchiveError, atomic_path, extract_csv_members
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.io.stages import manifest_frame, parse_days, read_files_guarded
from power_market_assets.quality.checks import check_duplicates
from power_market_assets.registry import ALL_DATASETS, get_spec
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.landing import LandedSource, land_operating_day

BLOCKING_RAW_CHECKS = frozenset(check.name for check in RAW_CHECKS if check.blocking)


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

    @property
    def edition(self) -> str | None:
        """ "final" or "prelim" when the file name says so (also kept in metadata.json)."""
        return file_edition(self.path.name)


def dataset_label(spec: DatasetSpec) -> str:
    """`<iso>/<dataset>`, as `--dataset` takes it."""
    return f"{spec.iso.lower()}/{spec.dataset}"


def parse_dataset(value: str) -> DatasetSpec:
    """The dataset a user names with `--dataset <iso>/<dataset>` (e.g. isone/rt_prices_hourly)."""
    iso, _, dataset = value.strip().partition("/")
    try:
        return get_spec(iso, dataset)
    except KeyError:
        known = ", ".join(dataset_label(spec) for spec in ALL_DATASETS)
        raise ValueError(f"--dataset {value!r} is not a known dataset (known: {known})") from None


def recognize(path: Path, dataset: DatasetSpec | None = None) -> Recognized:
    """Identify the dataset of a dropped file (.zip, .csv, .json, .xlsx), or take the one the
    user declared, and check that it parses and holds no duplicate rows."""
    spec, frame = read_dropped(path, dataset)
    if frame.height == 0:
        raise FormatError(path.name, "holds a header but no data rows")
    duplicates = check_duplicates(frame, spec)
    if not duplicates.passed:  # refused here rather than failing the run's blocking check
        raise FormatError(path.name, duplicates.summary)
    days = tuple(sorted(set(frame.get_column("operating_day").to_list())))
    keys = frame.select("operating_day", *spec.unique_key)
    return Recognized(path=path, spec=spec, operating_days=days, rows=frame.height, keys=keys)


def read_dropped(
    path: Path, dataset: DatasetSpec | None = None
) -> tuple[DatasetSpec, pl.DataFrame]:
    """The dataset of a file as a user would drop it (zips opened safely) and its rows. A
    declared `dataset` must fit the contents: the reader of that dataset parses them."""
    if not path.is_file():
        raise FormatError(str(path), "not a file")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            members = extract_csv_members(path, Path(tmp), source_name=path.name)
        except ArchiveError as exc:
            raise FormatError(path.name, str(exc)) from exc
        if not members:
            raise FormatError(path.name, "holds no CSV file")
        specs = {_identify_member(member, dataset) for member in members}
        if len(specs) > 1:
            raise FormatError(path.name, "mixes files of several datasets")
        spec = specs.pop()
        try:
            return spec, read_files_guarded([m.path for m in members], spec, label=path.name)
        except FormatError as exc:
            if dataset is None:
                raise
            raise FormatError(
                exc.file, f"does not fit --dataset {dataset_label(dataset)}: {exc.problem}"
            ) from None


def _identify_member(member, dataset: DatasetSpec | None = None) -> DatasetSpec:
    if member.size_bytes == 0:
        raise FormatError(member.name, "is empty (0 bytes)")
    if member.data_rows == 0 and member.name.lower().endswith(".csv"):
        raise FormatError(member.name, "holds a header but no data rows")
    with open(member.path, "rb") as handle:
        head = handle.read(IDENTIFY_BYTES)
    if dataset is not None:
        return _check_declared(member.name, head, dataset)
    spec = identify_file(member.name, head)
    if spec is None:
        raise FormatError(
            member.name, f"matches no known dataset (first line: {_first_line(head)!r})"
        )
    return spec


def _first_line(head: bytes) -> str:
    return head.split(b"\n", 1)[0].decode("utf-8", "replace").strip()[:200]


def _check_declared(name: str, head: bytes, dataset: DatasetSpec) -> DatasetSpec:
    """A declared dataset says what the name cannot; it must not contradict what the content
    alone says (identified under a neutral name, so the name's hints are set aside)."""
    try:
        by_content = identify_file(f"dropped{Path(name).suffix.lower()}", head)
    except FormatError:  # a family whose datasets only the name tells apart
        by_content = None
    if by_content is not None and by_content is not dataset:
        raise FormatError(
            name,
            f"does not fit --dataset {dataset_label(dataset)}: its contents are "
            f"{by_content.iso} {by_content.dataset} (first line: {_first_line(head)!r})",
        )
    return dataset


def vet(recognized: Recognized, lake: Lake) -> None:
    """Refuse a drop that would fail a day it covers (FormatError naming the file and why).

    The run's own stage 1-2 code and blocking checks run in a scratch folder over what each
    day's landing folder would then hold (the day's other drops included), so a bad drop never
    reaches the landing folder and never marks a good day failed.
    """
    spec, days = recognized.spec, list(recognized.operating_days)
    lake.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".rehearsal-", dir=lake.root) as tmp:
        root = Path(tmp)
        rows: list[dict] = []
        try:
            for day in days:
                files = _day_files_after_landing(recognized, day, lake)
                rows += land_operating_day(
                    day, files, root / day.isoformat(), join_csv=joins_csv_members(spec)
                )
        except ValueError as exc:  # ArchiveError: unsafe or clashing archives
            raise FormatError(recognized.path.name, f"not landed: {exc}") from None
        manifest = manifest_frame(rows, root)
        for parsed in parse_days(spec, days, manifest, root, checks=True):
            problems = [str(parsed.error)] if parsed.error is not None else []
            problems += [
                f"{name}: {outcome.summary}"
                for name, outcome in parsed.outcomes.items()
                if name in BLOCKING_RAW_CHECKS and not outcome.passed
            ]
            if problems:
                raise FormatError(
                    recognized.path.name,
                    f"not landed: operating day {parsed.day} would fail with it "
                    f"({' | '.join(problems)})",
                )


def _day_files_after_landing(recognized: Recognized, day: date, lake: Lake) -> list:
    """What a day's landing folder would hold once the drop lands (see `land`)."""
    folder = lake.landing_day_dir(recognized.spec.iso, recognized.spec.dataset, day.isoformat())
    drop = LandedSource(path=recognized.path, original_name=recognized.path.name)
    if not folder.is_dir():
        return [drop]
    retired = set(replaced_by(recognized, day, folder))
    kept = [p for p in _landed_files(folder) if p.name != recognized.path.name and p not in retired]
    return [*kept, drop]


def _landed_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


@dataclass(frozen=True)
class LandedDrop:
    """Where a drop landed: its copy per day, and the earlier drops it retired."""

    recognized: Recognized
    copies: tuple[Path, ...]
    retired: tuple[Path, ...]


def land(recognized: Recognized, lake: Lake) -> Path:
    """Place the original file in the landing folder of its dataset for every day it covers;
    returns the first day's copy (see `land_drop`)."""
    return land_drop(recognized, lake).copies[0]


def land_drop(recognized: Recognized, lake: Lake) -> LandedDrop:
    """Copy the original file into the landing folder of every day it covers (atomically).

    The user's file is copied, never linked: editing it later must not change the lake's
    original. A file spanning days is copied once and hard-linked (lake to lake) into the
    other days; each day's raw stage takes its own rows from it.
    """
    spec = recognized.spec
    copies: list[Path] = []
    retired: list[Path] = []
    for day in recognized.operating_days:
        folder = lake.landing_day_dir(spec.iso, spec.dataset, day.isoformat())
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / recognized.path.name
        retired += retire_replaced(recognized, day, folder, lake)
        _place(copies[0] if copies else recognized.path, target, link=bool(copies))
        copies.append(target)
    return LandedDrop(recognized, tuple(copies), tuple(retired))


def _place(source: Path, target: Path, link: bool) -> None:
    """`source`'s bytes at `target`, through a temp name. Only a file the lake owns is
    hard-linked; a link onto the inode `target` already has would leave the temp behind."""
    if link and target.exists() and os.path.samefile(source, target):
        return
    with atomic_path(target) as temp:
        if link:
            try:
                os.link(source, temp)
                return
            except OSError:  # another file system, or links not allowed
                pass
        shutil.copyfile(source, temp)


def replaced_by(recognized: Recognized, day: date, folder: Path) -> list[Path]:
    """The earlier drops of a day whose every row the new file covers again (a corrected file
    under a new name); files the new one covers only partly stay."""
    if recognized.keys is None:
        return []
    spec = recognized.spec
    new_keys = recognized.keys.filter(pl.col("operating_day") == day)
    replaced = []
    for old in _landed_files(folder):
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
            replaced.append(old)
    return replaced


def retire_replaced(recognized: Recognized, day: date, folder: Path, lake: Lake) -> list[Path]:
    """Move out of the day's landing folder the earlier drops the new file fully replaces
    (`replaced_by`), so the day is not read twice.

    They go to landing/replaced/<iso>/<dataset>/<day>/ (nothing is deleted); files the new
    one covers only partly stay, and the day's duplicates check then reports the overlap.
    """
    target_dir = lake.replaced_dir / folder.relative_to(lake.landing_dir)
    return [
        set_aside(old, target_dir, f"replaced by {recognized.path.name}")
        for old in replaced_by(recognized, day, folder)
    ]


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


@dataclass
class LandingBatch:
    """The drops one `ingest` lands, and what their days held before (kept as hard links: the
    lake replaces files, never rewrites them), so a failed run can put the days back."""

    lake: Lake
    scratch: Path
    drops: list[LandedDrop] = field(default_factory=list)
    kept: set[tuple[DatasetSpec, date]] = field(default_factory=set)

    def land(self, recognized: Recognized) -> LandedDrop:
        for day in recognized.operating_days:
            if (recognized.spec, day) not in self.kept:
                self.kept.add((recognized.spec, day))
                for path in day_state(self.lake, recognized.spec, day):
                    _keep(path, self.scratch / path.relative_to(self.lake.root))
        drop = land_drop(recognized, self.lake)
        self.drops.append(drop)
        return drop

    def undo(self, spec: DatasetSpec, first: date, last: date, reason: str) -> list[Path]:
        """Quarantine the drops of a failed run (spec, first..last) with its reason and put
        their days back as they were; returns the quarantined copies."""
        failed = [
            d
            for d in self.drops
            if d.recognized.spec is spec
            and any(first <= day <= last for day in d.recognized.operating_days)
        ]
        quarantined = []
        for drop in failed:
            name = drop.recognized.path.name
            if drop.copies[0].exists():
                quarantined.append(
                    set_aside(drop.copies[0], self.lake.quarantine_dir, f"{name}: {reason}")
                )
            for retired in drop.retired:  # the landing folder's own copy comes back below
                retired.unlink(missing_ok=True)
                retired.with_name(retired.name + ".reason.txt").unlink(missing_ok=True)
        for day in sorted({day for d in failed for day in d.recognized.operating_days}):
            for path in day_state(self.lake, spec, day):
                _put_back(self.scratch / path.relative_to(self.lake.root), path)
        self.drops = [d for d in self.drops if d not in failed]
        return quarantined


def day_state(lake: Lake, spec: DatasetSpec, day: date) -> list[Path]:
    """Everything a landing run of one day may change: the landing folder, the csv stage's
    folder and manifest, the raw partition and both failure markers."""
    key = day.isoformat()
    csv, raw = stage_lake_path(spec, "csv"), stage_lake_path(spec, "raw_parquet")
    return [
        lake.landing_day_dir(spec.iso, spec.dataset, key),
        lake.csv_day_dir(csv, key),
        lake.partition_file(csv, key),
        lake.failure_marker(csv, key),
        lake.partition_file(raw, key),
        lake.failure_marker(raw, key),
    ]


def _keep(path: Path, kept: Path) -> None:
    if not path.exists():
        return
    kept.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, kept, copy_function=_link_or_copy)
    else:
        _link_or_copy(path, kept)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _put_back(kept: Path, path: Path) -> None:
    """`path` as it was before the batch (absent if it did not exist)."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if kept.exists():
        os.replace(kept, path)


@contextmanager
def landing_batch(lake: Lake) -> Iterator[LandingBatch]:
    lake.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=lake.root) as scratch:
        yield LandingBatch(lake, Path(scratch))
