"""`power-market catalog`: what is materialized, what is missing, and whether it passed.

Coverage comes from the lake itself (file names are partition keys, row counts from Parquet
footers through DuckDB), so it is right even without Dagster; check states come from the
Dagster instance under <data root>/dagster_home when there is one, "unknown" otherwise.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb

from power_market_assets.commands import EXIT_OK, compact_ranges
from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.transforms.time import days_between, month_starts

# Stage -> partition granularity, as the asset factory defines them.
STAGE_GRANULARITY = {"csv": "daily", "raw_parquet": "daily", "flattened": "monthly"}


@dataclass
class CatalogEntry:
    iso: str
    dataset: str
    stage: str
    granularity: str
    interval_minutes: int | None
    view: str
    lake_path: str
    first: str | None = None
    last: str | None = None
    partitions: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rows: int = 0
    last_update_utc: str | None = None
    checks: dict[str, Any] = field(default_factory=lambda: {"state": "unknown", "checks": {}})

    @property
    def asset_path(self) -> tuple[str, ...]:
        return tuple(self.lake_path.split("/"))


def registry_entries() -> list[CatalogEntry]:
    """One entry per registry dataset and stage, whether or not anything is materialized."""
    return [
        CatalogEntry(
            iso=spec.iso,
            dataset=spec.dataset,
            stage=stage,
            granularity=granularity,
            interval_minutes=spec.interval_minutes,
            view=f"{spec.iso.lower()}.{spec.dataset}_{stage}",
            lake_path=stage_lake_path(spec, stage),
        )
        for spec in ALL_DATASETS
        for stage, granularity in STAGE_GRANULARITY.items()
    ]


def combined_entries(lake: Lake) -> list[CatalogEntry]:
    """Stage-4 outputs found in the lake (lake/<iso>/combined/<kind>), monthly."""
    isos = {spec.iso.lower(): spec.iso for spec in ALL_DATASETS}
    entries = []
    for kind_dir in sorted(lake.lake_dir.glob("*/combined/*")):
        iso_dir = kind_dir.parent.parent.name
        if kind_dir.is_dir():
            entries.append(
                CatalogEntry(
                    iso=isos.get(iso_dir, iso_dir.upper()),
                    dataset="combined",
                    stage=kind_dir.name,
                    granularity="monthly",
                    interval_minutes=None,
                    view=f"{iso_dir}.combined_{kind_dir.name}",
                    lake_path=f"{iso_dir}/combined/{kind_dir.name}",
                )
            )
    return entries


def expected_keys(first: str, last: str, granularity: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    keys = month_starts(start, end) if granularity == "monthly" else days_between(start, end)
    return [k.isoformat() for k in keys]


def parquet_rows(con: duckdb.DuckDBPyConnection, files: list[Path]) -> int:
    """Rows from the Parquet footers only (no data pages are read)."""
    if not files:
        return 0
    query = "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata($files)"
    return int(con.execute(query, {"files": [str(f) for f in files]}).fetchone()[0])


def fill_coverage(entry: CatalogEntry, lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    """Date range, holes, failure markers, rows and last write time of one asset."""
    files = lake.all_partition_files(entry.lake_path)
    markers = sorted(lake.stage_dir(entry.lake_path).glob("year=*/*.failed.json"))
    entry.failed = sorted(m.name.removesuffix(".failed.json") for m in markers)
    if not files:
        return
    keys = sorted(f.stem for f in files)
    entry.first, entry.last, entry.partitions = keys[0], keys[-1], len(keys)
    present = set(keys)
    wanted = expected_keys(keys[0], keys[-1], entry.granularity)
    entry.missing = [k for k in wanted if k not in present]
    entry.rows = parquet_rows(con, files)
    newest = max(f.stat().st_mtime for f in files)
    entry.last_update_utc = datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds")


def summarize_checks(records: dict[str, dict[str, Any]], defined: int) -> str:
    """One word for a table cell: passed, warn: x, failed: y, not run, none."""
    if defined == 0:
        return "none"
    if not records:
        return "not run"
    failed = sorted(n for n, r in records.items() if r["status"] == "failed")
    warned = sorted(n for n, r in records.items() if r["status"] == "warn")
    if failed:
        return "failed: " + ",".join(failed)
    if warned:
        return "warn: " + ",".join(warned)
    if any(r["status"] != "passed" for r in records.values()) or len(records) < defined:
        return "incomplete"
    return "passed"


def record_state(record: Any) -> dict[str, Any]:
    """An asset check execution record as plain JSON-able values."""
    from dagster import AssetCheckSeverity
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    evaluation = None
    if record.event is not None and record.event.dagster_event is not None:
        evaluation = record.event.dagster_event.event_specific_data
    passed = getattr(evaluation, "passed", None)
    severity = getattr(evaluation, "severity", None)
    if record.status == Status.PLANNED:
        status = "not evaluated"
    elif passed or record.status == Status.SUCCEEDED:
        status = "passed"
    else:
        status = "warn" if severity == AssetCheckSeverity.WARN else "failed"
    metadata = getattr(evaluation, "metadata", {}) or {}
    failed_partitions = metadata.get("failed_partitions")
    return {
        "status": status,
        "run_id": record.run_id,
        "evaluated_at_utc": datetime.fromtimestamp(record.create_timestamp, UTC).isoformat(
            timespec="seconds"
        ),
        "failed_partitions": failed_partitions.value if failed_partitions else None,
    }


def fill_check_states(entries: list[CatalogEntry], lake: Lake) -> bool:
    """Latest check evaluation per asset from the Dagster instance; False when there is none."""
    home = lake.dagster_home
    if not home.is_dir():
        return False
    import dagster as dg

    from power_market_assets.definitions import build_definitions

    try:
        graph = build_definitions(data_root=str(lake.root)).resolve_asset_graph()
    except Exception as exc:  # coverage is still worth showing when the code location breaks
        print(f"warning: could not load the Dagster definitions ({exc})", file=sys.stderr)
        return False
    defined: dict[tuple[str, ...], list[dg.AssetCheckKey]] = {}
    for entry in entries:
        key = dg.AssetKey(list(entry.asset_path))
        defined[entry.asset_path] = sorted(
            graph.get(key).check_keys if graph.has(key) else [], key=lambda k: k.name
        )
    all_keys = [k for keys in defined.values() for k in keys]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(all_keys)
        for entry in entries:
            records = {
                k.name: record_state(latest[k]) for k in defined[entry.asset_path] if k in latest
            }
            state = summarize_checks(records, len(defined[entry.asset_path]))
            entry.checks = {"state": state, "checks": records}
    return True


def build_catalog(lake: Lake) -> tuple[list[CatalogEntry], bool]:
    entries = registry_entries() + combined_entries(lake)
    with duckdb.connect() as con:
        for entry in entries:
            fill_coverage(entry, lake, con)
    has_instance = fill_check_states(entries, lake)
    return entries, has_instance


def _cells(entry: CatalogEntry) -> list[str]:
    missing = compact_ranges(entry.missing) if entry.granularity == "daily" else entry.missing
    if isinstance(missing, list):
        missing = ", ".join(missing)
    if entry.failed:
        missing = (missing + "; " if missing else "") + "failed " + ", ".join(entry.failed)
    return [
        entry.iso,
        entry.dataset,
        entry.stage,
        f"{entry.interval_minutes}m" if entry.interval_minutes else "-",
        f"{entry.first}..{entry.last}" if entry.first else "(empty)",
        str(entry.partitions),
        missing or "-",
        f"{entry.rows:,}",
        (entry.last_update_utc or "-").replace("+00:00", "Z"),
        entry.checks["state"],
    ]


HEADERS = ["ISO", "dataset", "stage", "interval", "range", "parts", "missing", "rows",
           "updated (UTC)", "checks"]  # fmt: skip


def render_table(entries: list[CatalogEntry], out: TextIO) -> None:
    rows = [HEADERS] + [_cells(e) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    numeric = {HEADERS.index("parts"), HEADERS.index("rows")}
    for n, row in enumerate(rows):
        cells = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def run_catalog(
    data_root: str, as_json: bool = False, refresh: bool = False, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    lake = Lake.at(data_root)
    if refresh:
        views = refresh_catalog(lake)
        print(f"rebuilt {lake.warehouse_path}: {len(views)} view(s)", file=sys.stderr)
    entries, has_instance = build_catalog(lake)
    if as_json:
        payload = {
            "data_root": str(lake.root),
            "warehouse": str(lake.warehouse_path),
            "dagster_instance": str(lake.dagster_home) if has_instance else None,
            "datasets": [asdict(e) for e in entries],
        }
        json.dump(payload, out, indent=2)
        out.write("\n")
        return EXIT_OK
    print(f"Data root {lake.root}", file=out)
    if not has_instance:
        print("(no Dagster instance under dagster_home: check states unknown)", file=out)
    render_table(entries, out)
    return EXIT_OK
