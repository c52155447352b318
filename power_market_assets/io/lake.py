"""The Parquet lake: where each asset's files live, and atomic writes of one file per partition.

Layout (hive-style, one root): lake/<iso>/<dataset>/<stage>/year=YYYY/<partition>.parquet.
Stage 1 keeps the original CSV files of a day in lake/<iso>/<dataset>/csv/year=YYYY/<day>/
next to the day's manifest Parquet. Every file is written to a temp name in the same folder
and renamed into place, so a crashed run never leaves a half file and readers (DuckDB views
glob `*.parquet`) never see a temp file.

The root may also be `s3://bucket/prefix` (io/object_store.py): then `root` is the local work
directory, the files are written there exactly as above, and `store` puts what changed into the
bucket after each commit (`publish`) and brings newer objects down before a read (`hydrate`).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from power_market_assets.formats.archive import atomic_path, atomic_write_bytes, temp_sibling
from power_market_assets.io.object_store import (
    WORK_DIR_VARIABLE,
    ObjectStore,
    S3Options,
    httpfs_extension_file,
    is_object_url,
    object_store,
    relative_to_root,
    sync_down,
    sync_up,
    work_dir_for,
)

if TYPE_CHECKING:
    from power_market_assets.registry.spec import DatasetSpec

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$")
# A temp file older than this cannot belong to a live writer (a partition is written in
# seconds); it was left by a killed run and is swept away by the next write to its folder.
STALE_TEMP_SECONDS = 3600.0


def safe_part(part: str) -> str:
    """A path component built from ISO, dataset or partition names must not escape the root."""
    if not _SAFE_PART.match(part) or ".." in part:
        raise ValueError(f"unsafe path component {part!r}")
    return part


def stage_lake_path(spec: DatasetSpec, stage: str) -> str:
    """`<iso>/<dataset>/<stage>`: the lake path of a dataset's stage (not its asset key)."""
    return "/".join([*spec.lake_prefix, stage])


@dataclass(frozen=True)
class Lake:
    """Paths under one data root (default `data/`); with `store`, the root is the local work
    directory of an `s3://` data root and the bucket is the lake (io/object_store.py)."""

    root: Path
    store: ObjectStore | None = field(default=None, compare=False)

    @classmethod
    def at(
        cls,
        root: str | os.PathLike,
        work_dir: str | os.PathLike | None = None,
        endpoint_url: str | None = None,
    ) -> Lake:
        """The lake of a data root; an `s3://` root takes its server and work directory from
        the environment (PMA_S3_ENDPOINT_URL, AWS_REGION, PMA_WORK_DIR) unless given here."""
        if not is_object_url(root):
            return cls(Path(root).expanduser().resolve())
        options = S3Options.from_env(os.environ)
        if endpoint_url is not None:
            options = S3Options(endpoint_url, options.region)
        local = work_dir_for(str(root), str(work_dir or "") or os.environ.get(WORK_DIR_VARIABLE))
        return cls(local, object_store(str(root), options))

    @property
    def url(self) -> str:
        """The data root as given: the bucket URL, or the local folder."""
        return self.store.location.url if self.store else str(self.root)

    def location(self, path: Path) -> str:
        """Where a lake file or folder lives for users: its s3:// URL, or the local path."""
        return self.store.url(relative_to_root(self.root, path)) if self.store else str(path)

    def publish(self, folder: Path) -> list[str]:
        """Put what changed under a lake folder into the bucket (nothing for a local root):
        stage-1 day folders before the Parquet files that list them."""
        return sync_up(self.store, self.root, folder) if self.store else []

    def hydrate(self, folder: Path, wanted: Iterable[Path] | None = None) -> list[str]:
        """Bring down newer objects under a lake folder (nothing for a local root): its
        Parquet files and failure markers, or exactly the `wanted` files and folders."""
        if self.store is None:
            return []
        names = None if wanted is None else {relative_to_root(self.root, p) for p in wanted}
        return sync_down(self.store, self.root, folder, wanted=names)

    def retract(self, paths: Iterable[Path]) -> None:
        """Delete these files' objects (a failure marker a new write cleared)."""
        if self.store is not None:
            self.store.delete(relative_to_root(self.root, p) for p in paths)

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def lake_dir(self) -> Path:
        return self.root / "lake"

    @property
    def landing_dir(self) -> Path:
        return self.root / "landing"

    @property
    def inbox_dir(self) -> Path:
        """Where users drop files for the landing sensor."""
        return self.landing_dir / "inbox"

    @property
    def quarantine_dir(self) -> Path:
        """Dropped files that could not be used, each with a .reason.txt."""
        return self.landing_dir / "quarantine"

    @property
    def replaced_dir(self) -> Path:
        """Landed files a corrected drop fully covers, each with a .reason.txt."""
        return self.landing_dir / "replaced"

    @property
    def downloads_dir(self) -> Path:
        return self.root / "downloads"

    @property
    def dagster_home(self) -> Path:
        """The persistent Dagster instance of the CLI commands and `dagster dev`."""
        return self.root / "dagster_home"

    def stage_dir(self, lake_path: str) -> Path:
        """Folder of one asset, from its lake path `<iso>/<dataset>/<stage>`."""
        parts = [safe_part(p) for p in lake_path.split("/")]
        return self.lake_dir.joinpath(*parts)

    def partition_file(self, lake_path: str, partition_key: str) -> Path:
        year = safe_part(partition_key[:4])
        return self.stage_dir(lake_path) / f"year={year}" / f"{safe_part(partition_key)}.parquet"

    def csv_day_dir(self, lake_path: str, day_key: str) -> Path:
        return self.partition_file(lake_path, day_key).with_suffix("")

    def landing_day_dir(self, iso: str, dataset: str, day_key: str) -> Path:
        return self.landing_dir / safe_part(iso.lower()) / safe_part(dataset) / safe_part(day_key)

    def failure_marker(self, lake_path: str, partition_key: str) -> Path:
        """Written when a partition fails its blocking checks; downstream refuses to load it."""
        return self.partition_file(lake_path, partition_key).with_suffix(".failed.json")

    def existing_partition_files(self, lake_path: str, keys: Iterable[str]) -> list[Path]:
        """The partitions' files; from a bucket, those newer there are brought down first
        (with their failure markers, and stage 1's day folders)."""
        files = [self.partition_file(lake_path, k) for k in keys]
        if self.store is not None and files:
            wanted = [*files, *(f.with_suffix(".failed.json") for f in files)]
            if lake_path.endswith("/csv"):
                wanted += [f.with_suffix("") for f in files]
            self.hydrate(self.stage_dir(lake_path), wanted)
        return [p for p in files if p.exists()]

    def view_glob(self, lake_path: str) -> str:
        """What a catalog view of a stage reads: its partition files in the bucket through
        httpfs when the installed package matches this DuckDB, else the local files."""
        local = self.stage_dir(lake_path)
        if self.store is None or httpfs_extension_file() is None:
            return str(local / "year=*" / "*.parquet")
        return self.store.url(relative_to_root(self.root, local)) + "/year=*/*.parquet"

    @property
    def duckdb_extension_dir(self) -> Path:
        """Where DuckDB installs httpfs from the package's file (never downloaded)."""
        return self.root / ".duckdb_extensions"

    def all_partition_files(self, lake_path: str) -> list[Path]:
        return sorted(self.stage_dir(lake_path).glob("year=*/*.parquet"))


@dataclass(frozen=True)
class StagedPartitions:
    """Parquet files already written under temp names, one per partition key.

    A long range is written day by day as it is parsed (a year of RT prices does not fit in
    memory at once); the IO manager then renames them all into place in one step.
    """

    files: dict[str, tuple[Path, Path]]  # partition key -> (temp file, final file)
    rows: int
    # partition key -> io.changes.PartitionChanges of a re-published day (logged on commit)
    changes: Mapping[str, Any] = field(default_factory=dict)
    # partition key -> its rows, when the writer knows them (else read from the footers)
    rows_by_key: Mapping[str, int] = field(default_factory=dict)


def stage_parquet(frame: pl.DataFrame, path: Path) -> Path:
    """Write `frame` next to `path` under a temp name (invisible to `*.parquet` globs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(path)
    frame.write_parquet(temp, compression="zstd", statistics=True)
    return temp


def commit_staged(staged: StagedPartitions) -> None:
    for temp, final in staged.files.values():
        os.replace(temp, final)
    sweep_stale_temps({final.parent for _, final in staged.files.values()})


def is_temp_name(name: str) -> bool:
    """Names `temp_sibling` gives: hidden and ending in .tmp (never matched by *.parquet)."""
    return name.startswith(".") and name.endswith(".tmp")


def sweep_stale_temps(folders: Iterable[Path], older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete temp files a killed run left in these folders; returns how many went.

    A SIGKILL skips every `finally`, so a half-written temp file can stay behind. Readers
    never see it (views glob *.parquet), but it wastes space; only files older than
    `older_than` are removed, so a concurrent writer's live temp file is never touched.
    """
    removed = 0
    cutoff = time.time() - older_than
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                if is_temp_name(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # another sweeper got there first
    return removed


def discard_staged(files: dict[str, tuple[Path, Path]]) -> None:
    for temp, _ in files.values():
        temp.unlink(missing_ok=True)


def write_parquet_files(frames: Mapping[Path, pl.DataFrame]) -> None:
    """Write several Parquet files as one step: all to temp names first, then rename each.

    If any write fails nothing is renamed and the previous versions stay in place.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, frame in frames.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = temp_sibling(path)
            staged.append((temp, path))
            frame.write_parquet(temp, compression="zstd", statistics=True)
        for temp, path in staged:
            os.replace(temp, path)
        sweep_stale_temps({path.parent for _, path in staged})
    finally:
        for temp, _ in staged:
            if temp.exists():
                temp.unlink()


def lake_for(
    url: str, work_dir: str | os.PathLike | None = None, endpoint_url: str | None = None
) -> Lake:
    """The Lake of `s3://bucket/prefix` (or a local folder), for scripts and benchmarks: an
    explicit work directory and S3 endpoint, else the environment's (Lake.at)."""
    return Lake.at(url, work_dir=work_dir, endpoint_url=endpoint_url)


def write_failure_marker(path: Path, reason: str) -> None:
    marker = {"reason": reason, "at_utc": datetime.now(UTC).isoformat()}
    atomic_write_bytes(path, json.dumps(marker).encode())


def sink_parquet_file(frame: pl.LazyFrame, path: Path) -> None:
    """Stream a lazy query into one Parquet file, atomically (used for compactions)."""
    with atomic_path(path) as temp:
        frame.sink_parquet(temp, compression="zstd")
