"""The catalog summary: what each asset holds, per partition, kept current by every write.

`power-market catalog` must answer in well under a second, without importing Dagster or
reading Parquet footers, so the lake IO manager records each partition it commits here:
its rows (files for the csv stage), when it was written, and the outcome of each check for
that partition. State is per partition so that a run which failed for other days never
changes what is shown for days it did not touch. The file is JSON under the data root,
replaced atomically, and every read-modify-write holds an exclusive lock, so two runs
committing at once never lose an update. `rebuild_summary` recreates it from the lake
(`catalog --refresh`), keeping the recorded check outcomes of partitions still present.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.io.duckdb_safety import quote_literal
from power_market_assets.io.lake import Lake

SUMMARY_NAME = "catalog_summary.json"
LOCK_NAME = ".catalog_summary.lock"
VERSION = 1
# Worst first: the status an asset shows for a check is the worst over its partitions.
STATUS_ORDER = ("failed", "warn", "not evaluated", "passed")

Summary = dict[str, Any]


def summary_path(lake: Lake) -> Path:
    return lake.root / SUMMARY_NAME


def empty_summary() -> Summary:
    return {"version": VERSION, "assets": {}}


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def summary_lock(lake: Lake) -> Iterator[None]:
    """An exclusive lock on a sibling file (the summary itself is replaced by renames)."""
    lake.root.mkdir(parents=True, exist_ok=True)
    with open(lake.root / LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def load_summary(lake: Lake) -> Summary | None:
    """The summary, or None when there is none or it is unreadable (then rebuild it)."""
    try:
        data = json.loads(summary_path(lake).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    return data


def save_summary(lake: Lake, summary: Summary) -> None:
    atomic_write_bytes(summary_path(lake), json.dumps(summary, indent=1, sort_keys=True).encode())


def update_summary(lake: Lake, change: Callable[[Summary], None]) -> Summary:
    """Read, change and write back under the lock: concurrent writers never lose an update."""
    with summary_lock(lake):
        summary = load_summary(lake) or empty_summary()
        change(summary)
        save_summary(lake, summary)
    return summary


def asset_record(summary: Summary, lake_path: str, granularity: str) -> dict[str, Any]:
    record = summary["assets"].setdefault(
        lake_path, {"granularity": granularity, "checks": None, "partitions": {}}
    )
    record["granularity"] = granularity
    return record


def record_partitions(
    lake: Lake,
    lake_path: str,
    granularity: str,
    rows: Mapping[str, int],
    checks: Mapping[str, Mapping[str, str]] | None,
) -> None:
    """Record the partitions one write committed: rows per key and, when known, the status
    of each check per key ({key: {check: status}}). Other partitions keep their state."""
    written = now_utc()

    def change(summary: Summary) -> None:
        record = asset_record(summary, lake_path, granularity)
        if checks is not None:
            names = {name for per_key in checks.values() for name in per_key}
            record["checks"] = sorted(set(record["checks"] or []) | names)
        for key, count in rows.items():
            record["partitions"][key] = {
                "rows": int(count),
                "written_utc": written,
                "checks": dict(checks.get(key, {})) if checks is not None else None,
            }

    update_summary(lake, change)


def footer_rows(files: list[Path]) -> dict[str, int]:
    """Rows per file from the Parquet footers only (no data pages are read)."""
    if not files:
        return {}
    import duckdb

    # A list literal, not a bound parameter: binding a list made DuckDB import pandas (1 s).
    listed = ", ".join(quote_literal(str(f)) for f in files)
    query = f"SELECT file_name, sum(num_rows) FROM parquet_file_metadata([{listed}]) GROUP BY 1"
    with duckdb.connect() as con:
        found = con.execute(query).fetchall()
    return {Path(name).stem: int(rows) for name, rows in found}


def rebuild_summary(lake: Lake, granularities: Mapping[str, str]) -> Summary:
    """Recreate the summary from the files in the lake ({lake_path: granularity}).

    Check outcomes cannot be read back from Parquet: those recorded for a partition whose
    file is still there are kept; other partitions get no check record (state unknown)."""

    def change(summary: Summary) -> None:
        old = summary.get("assets", {})
        summary["assets"] = {}
        for lake_path, granularity in granularities.items():
            files = lake.all_partition_files(lake_path)
            if not files and lake_path not in old:
                continue
            previous = old.get(lake_path, {})
            record = asset_record(summary, lake_path, granularity)
            record["checks"] = previous.get("checks")
            kept = previous.get("partitions", {})
            for key, count in footer_rows(files).items():
                mtime = lake.partition_file(lake_path, key).stat().st_mtime
                record["partitions"][key] = {
                    "rows": count,
                    "written_utc": datetime.fromtimestamp(mtime, UTC).isoformat("T", "seconds"),
                    "checks": kept.get(key, {}).get("checks"),
                }

    return update_summary(lake, change)


def worst_status(statuses: list[str]) -> str:
    return min(statuses, key=STATUS_ORDER.index) if statuses else "not evaluated"


def check_states(record: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Per check: the worst status over the partitions on record and which ones were not
    passed; None when the checks of this asset were never recorded (rebuilt from files)."""
    names = record.get("checks")
    if names is None:
        return None
    partitions = record.get("partitions", {})
    states = {}
    for name in names:
        by_key = {
            key: (part.get("checks") or {}).get(name, "not evaluated")
            for key, part in partitions.items()
        }
        states[name] = {
            "status": worst_status(list(by_key.values())),
            "failed_partitions": sorted(k for k, s in by_key.items() if s != "passed") or None,
        }
    return states
