"""Re-published ISO files: what changed in a partition, and the append-only change log.

ISOs correct prices by publishing a new document for an operating day that was already
published. Re-materializing the day replaces the old values, which is right, but an analyst
must be able to see that a price moved after they used it. So before a raw_parquet partition
is replaced, the new day frame is compared with the previous partition file on the dataset's
unique key (pure Polars, no Dagster), and a non-empty difference is recorded:

- in the materialization metadata (values changed / added / removed);
- in an append-only log under the data root, one small Parquet file per event:
  lake/<iso>/<dataset>/changes/year=YYYY/<day>--<utc stamp>--<id>.parquet. Files are written
  to a temp name and renamed (never rewritten), so concurrent runs need no lock and a crash
  never leaves half an entry. The catalog turns the folder into the view
  `<iso>.<dataset>_changes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from power_market_assets.io.lake import Lake, safe_part, write_parquet_files

CHANGES_STAGE = "changes"
# Numbers a re-published file can change: prices, and the MW of load, fuel mix, forecast and
# renewable tables (an intraday snapshot replaced by the day's final file adds its tail rows
# as `values_added` and any revised interval as `values_changed`).
VALUE_COLUMNS = ("lmp", "energy", "congestion", "loss", "price", "load_mw", "mw", "iso_total_mw")
LOG_SCHEMA = {
    "recorded_at_utc": pl.Datetime("us", "UTC"),
    "run_id": pl.Utf8(),
    "iso": pl.Utf8(),
    "dataset": pl.Utf8(),
    "operating_day": pl.Utf8(),
    "source_files": pl.Utf8(),
    "previous_source_files": pl.Utf8(),
    "values_changed": pl.Int64(),
    "values_added": pl.Int64(),
    "values_removed": pl.Int64(),
    "rows_before": pl.Int64(),
    "rows_after": pl.Int64(),
    "max_abs_change": pl.Float64(),
}


@dataclass(frozen=True)
class PartitionChanges:
    """How a new day frame differs from the partition it replaces (counts are key rows)."""

    values_changed: int
    values_added: int
    values_removed: int
    rows_before: int
    rows_after: int
    max_abs_change: float
    source_files: tuple[str, ...]  # new files holding changed or added values
    previous_source_files: tuple[str, ...]  # files the replaced partition came from

    @property
    def any(self) -> bool:
        return bool(self.values_changed or self.values_added or self.values_removed)

    def metadata(self) -> dict[str, int | float | str]:
        return {
            "values_changed": self.values_changed,
            "values_added": self.values_added,
            "values_removed": self.values_removed,
            "max_abs_change": self.max_abs_change,
            "changed_source_files": ", ".join(self.source_files),
        }


def value_columns(frame: pl.DataFrame, key: Sequence[str]) -> list[str]:
    """The numeric columns whose values a correction can change (not the key, not labels)."""
    return [c for c in VALUE_COLUMNS if c in frame.columns and c not in key]


def _files(frame: pl.DataFrame) -> tuple[str, ...]:
    if "source_file" not in frame.columns or frame.height == 0:
        return ()
    return tuple(sorted(frame.get_column("source_file").drop_nulls().unique().to_list()))


def diff_partition(
    previous: pl.DataFrame | None, new: pl.DataFrame, key: Sequence[str]
) -> PartitionChanges | None:
    """Compare `new` with `previous` on `key`; None when there was no previous version.

    A key row counts as changed when any value column differs (nulls compare equal to
    nulls), as added when only `new` has it and as removed when only `previous` has it.
    """
    if previous is None:
        return None
    key = list(key)
    values = [c for c in value_columns(new, key) if c in previous.columns]
    old = previous.select(*key, *values, _old=pl.lit(True)).unique(subset=key, keep="last")
    cur = new.select(*key, *values, _src=_source_expr(new)).unique(subset=key, keep="last")
    old = old.cast({c: cur.schema[c] for c in key if old.schema[c] != cur.schema[c]})
    joined = cur.join(old, on=key, how="full", coalesce=True, suffix="__old")
    if values:
        differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in values])
        delta = pl.max_horizontal([(pl.col(c) - pl.col(f"{c}__old")).abs() for c in values])
    else:
        differs, delta = pl.lit(False), pl.lit(None, pl.Float64)
    flagged = joined.with_columns(
        _new=pl.col("_src").is_not_null(),
        _old=pl.col("_old").is_not_null(),
        _diff=differs,
        _delta=delta,
    )
    changed = flagged.filter(pl.col("_new") & pl.col("_old") & pl.col("_diff"))
    added = flagged.filter(pl.col("_new") & ~pl.col("_old"))
    removed = flagged.filter(~pl.col("_new") & pl.col("_old"))
    touched = pl.concat([changed.get_column("_src"), added.get_column("_src")])
    max_delta = changed.get_column("_delta").max() if changed.height else 0.0
    return PartitionChanges(
        values_changed=changed.height,
        values_added=added.height,
        values_removed=removed.height,
        rows_before=previous.height,
        rows_after=new.height,
        max_abs_change=float(max_delta or 0.0),
        source_files=tuple(sorted(touched.drop_nulls().unique().to_list())),
        previous_source_files=_files(previous),
    )


def _source_expr(frame: pl.DataFrame) -> pl.Expr:
    if "source_file" in frame.columns:
        return pl.col("source_file").fill_null("")
    return pl.lit("")


def diff_with_file(
    previous_file: Path, new: pl.DataFrame, key: Sequence[str]
) -> PartitionChanges | None:
    """`diff_partition` against the partition file about to be replaced (None if absent)."""
    if not previous_file.exists():
        return None
    return diff_partition(pl.read_parquet(previous_file), new, key)


def changes_dir(lake: Lake, iso: str, dataset: str) -> Path:
    return lake.lake_dir / safe_part(iso.lower()) / safe_part(dataset) / CHANGES_STAGE


def record_changes(
    lake: Lake,
    iso: str,
    dataset: str,
    partition_key: str,
    changes: PartitionChanges,
    *,
    run_id: str = "",
    at: datetime | None = None,
) -> Path:
    """Append one event to the change log (a new file, renamed into place); returns its path."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    row = asdict(changes)
    row.update(
        recorded_at_utc=when,
        run_id=run_id,
        iso=iso,
        dataset=dataset,
        operating_day=partition_key,
        source_files=", ".join(changes.source_files),
        previous_source_files=", ".join(changes.previous_source_files),
    )
    frame = pl.DataFrame([row], schema=LOG_SCHEMA)
    stamp = when.strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{safe_part(partition_key)}--{stamp}--{uuid.uuid4().hex[:8]}.parquet"
    path = changes_dir(lake, iso, dataset) / f"year={safe_part(partition_key[:4])}" / name
    write_parquet_files({path: frame})
    return path


def read_change_log(lake: Lake, iso: str, dataset: str) -> pl.DataFrame:
    """Every recorded change of a dataset, oldest first (empty frame when none)."""
    files = sorted(changes_dir(lake, iso, dataset).glob("year=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema=LOG_SCHEMA)
    return pl.concat([pl.read_parquet(f) for f in files]).sort("recorded_at_utc")
