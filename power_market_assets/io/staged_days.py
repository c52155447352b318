"""What a day worker does with each operating day it has landed and parsed: write the day's
stage-1 manifest and raw_parquet files under temp names (the IO manager renames them into
place once the whole range passed its checks), compare a re-published day with the file it
will replace, and summarize the day for the UI.

Pure (no dagster): the day workers may be processes of their own (io/day_workers.py), which
import only this much, and everything here pickles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from power_market_assets.io.changes import PartitionChanges, diff_with_file
from power_market_assets.io.lake import Lake, stage_lake_path, stage_parquet
from power_market_assets.io.stages import ParsedDay
from power_market_assets.quality import checks as quality
from power_market_assets.registry.spec import DatasetSpec


@dataclass(frozen=True)
class RawSummary:
    """What one operating day's raw partition shows in the UI: rows, distinct locations (or
    the dataset's pivot column), the value range and a preview."""

    rows: int
    names: int
    low: float
    high: float
    preview: str

    @classmethod
    def of(cls, spec: DatasetSpec, frame: pl.DataFrame) -> RawSummary:
        value = frame.get_column(spec.value_column)
        return cls(
            rows=frame.height,
            names=frame.get_column(spec.pivot_column).n_unique(),
            low=float(value.min()) if frame.height else 0.0,
            high=float(value.max()) if frame.height else 0.0,
            preview=quality.markdown_table(frame, limit=5) or "",
        )


@dataclass(frozen=True)
class StagedDay:
    """One operating day after stages 1 and 2, its files written under temp names: the
    manifest rows landed in this run (None: stage 2 only) and their temp file, then the day's
    error, or its raw_parquet temp file, check outcomes, what a re-published day changes and
    its UI summary."""

    key: str
    landed: pl.DataFrame | None
    manifest_file: tuple[Path, Path] | None
    error: str | None = None
    raw_file: tuple[Path, Path] | None = None
    outcomes: dict[str, quality.CheckOutcome] = field(default_factory=dict)
    changes: PartitionChanges | None = None
    summary: RawSummary | None = None

    def discard(self) -> None:
        """Remove the temp files (the run stopped before they were renamed into place)."""
        for staged in (self.manifest_file, self.raw_file):
            if staged is not None:
                staged[0].unlink(missing_ok=True)


@dataclass(frozen=True)
class DayStager:
    """The finisher a day worker runs on each day it parsed (io/stages.land_and_parse_days):
    the day's files under temp names and what the consumer needs to know of them."""

    lake: Lake
    spec: DatasetSpec

    def __call__(self, files: pl.DataFrame | None, parsed: ParsedDay) -> StagedDay:
        key = parsed.day.isoformat()
        manifest_file = self._stage_manifest(files) if files is not None else None
        if parsed.error is not None:
            return StagedDay(key, files, manifest_file, error=str(parsed.error))
        final = self.lake.partition_file(stage_lake_path(self.spec, "raw_parquet"), key)
        # A re-published day: what it changes, compared before the file is replaced.
        changes = diff_with_file(final, parsed.frame, self.spec.unique_key)
        return StagedDay(
            key,
            files,
            manifest_file,
            raw_file=(stage_parquet(parsed.frame, final), final),
            outcomes=parsed.outcomes,
            changes=changes,
            summary=RawSummary.of(self.spec, parsed.frame),
        )

    def _stage_manifest(self, files: pl.DataFrame) -> tuple[Path, Path]:
        """The day's manifest rows next to their partition file, under a temp name."""
        day = files.get_column("operating_day")[0].isoformat()
        final = self.lake.partition_file(stage_lake_path(self.spec, "csv"), day)
        return stage_parquet(files, final), final
