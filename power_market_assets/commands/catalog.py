"""`power-market catalog`: what is materialized, what is missing, and whether it passed.

Everything comes from the catalog summary (io/summary.py) that each materialization keeps
current, per partition: coverage, rows and the outcome of each check. Nothing here imports
Dagster or opens a Parquet file, so the command answers at once; failure markers are read
from the lake. `--refresh` rebuilds the summary (and the DuckDB views) from the lake.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TextIO

from power_market_assets.commands import EXIT_OK, compact_ranges
from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.io.summary import (
    check_states,
    load_summary,
    rebuild_summary,
    summary_path,
)
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.registry.spec import combined_key_path
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


def registry_entries() -> list[CatalogEntry]:
    """One entry per registry dataset and stage, whether or not anything is materialized."""
    return [
        CatalogEntry(
            iso=spec.iso,
            dataset=spec.dataset,
            stage=stage,
            granularity=granularity,
            interval_minutes=spec.interval_minutes,
            view=".".join(spec.asset_key_path(stage)),  # the view is named as the asset
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
                    view=".".join(combined_key_path(iso_dir, kind_dir.name)),
                    lake_path=f"{iso_dir}/combined/{kind_dir.name}",
                )
            )
    return entries


def expected_keys(first: str, last: str, granularity: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    keys = month_starts(start, end) if granularity == "monthly" else days_between(start, end)
    return [k.isoformat() for k in keys]


def failed_keys(lake: Lake, lake_path: str) -> list[str]:
    """Partitions marked failed by their blocking checks (the markers are the truth)."""
    folder = lake.stage_dir(lake_path)
    if not folder.is_dir():
        return []
    markers = folder.glob("year=*/*.failed.json")
    return sorted(m.name.removesuffix(".failed.json") for m in markers)


def fill_coverage(entry: CatalogEntry, record: dict[str, Any] | None, failed: list[str]) -> None:
    """Date range, holes, failure markers, rows and last write time of one asset."""
    entry.failed = failed
    partitions = (record or {}).get("partitions", {})
    if not partitions:
        return
    keys = sorted(partitions)
    entry.first, entry.last, entry.partitions = keys[0], keys[-1], len(keys)
    present = set(keys)
    entry.missing = [
        k for k in expected_keys(keys[0], keys[-1], entry.granularity) if k not in present
    ]
    entry.rows = sum(int(p.get("rows", 0)) for p in partitions.values())
    entry.last_update_utc = max(p["written_utc"] for p in partitions.values())


def summarize_checks(records: dict[str, dict[str, Any]], defined: int) -> str:
    """One word for a table cell: passed, warn: x, failed: y, incomplete, not run, none."""
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


def fill_checks(entry: CatalogEntry, record: dict[str, Any] | None) -> bool:
    """Per-partition check outcomes folded into one state; False when none were recorded."""
    if record is None or not record.get("partitions"):
        entry.checks = {"state": "not run", "checks": {}}
        return False
    states = check_states(record)
    if states is None:
        entry.checks = {"state": "unknown", "checks": {}}
        return False
    entry.checks = {"state": summarize_checks(states, len(states)), "checks": states}
    return True


def granularities(lake: Lake) -> dict[str, str]:
    """{lake_path: granularity} of every asset the catalog lists."""
    return {e.lake_path: e.granularity for e in registry_entries() + combined_entries(lake)}


def current_summary(lake: Lake, refresh: bool) -> dict[str, Any]:
    """The summary the materializations keep; built from the lake when absent or asked."""
    summary = None if refresh else load_summary(lake)
    return summary if summary is not None else rebuild_summary(lake, granularities(lake))


def build_catalog(lake: Lake, refresh: bool = False) -> tuple[list[CatalogEntry], bool]:
    """Entries from the summary (no Parquet is opened); True when check results are known."""
    assets = current_summary(lake, refresh)["assets"]
    entries = registry_entries() + combined_entries(lake)
    known = False
    for entry in entries:
        record = assets.get(entry.lake_path)
        fill_coverage(entry, record, failed_keys(lake, entry.lake_path))
        known = fill_checks(entry, record) or known
        if entry.failed and entry.checks["state"] in ("not run", "passed"):
            entry.checks["state"] = "failed"  # the blocking checks of a marked partition
    return entries, known


def shown_key(key: str, granularity: str) -> str:
    """Monthly partitions read as months (2024-11), daily ones as days."""
    return key[:7] if granularity == "monthly" else key


def shown_range(entry: CatalogEntry) -> str:
    if not entry.first:
        return "(empty)"
    first, last = (shown_key(k, entry.granularity) for k in (entry.first, entry.last))
    return first if first == last else f"{first}..{last}"


def shown_size(entry: CatalogEntry) -> str:
    """The csv stage counts files (its value is a manifest of files), the others rows."""
    return f"{entry.rows:,} " + ("files" if entry.stage == "csv" else "rows")


def _cells(entry: CatalogEntry) -> list[str]:
    if entry.granularity == "daily":
        missing = compact_ranges(entry.missing)
    else:
        missing = ", ".join(shown_key(k, "monthly") for k in entry.missing)
    if entry.failed:
        failed = ", ".join(shown_key(k, entry.granularity) for k in entry.failed)
        missing = (missing + "; " if missing else "") + "failed " + failed
    return [
        entry.iso,
        entry.dataset,
        entry.stage,
        f"{entry.interval_minutes}m" if entry.interval_minutes else "-",
        shown_range(entry),
        str(entry.partitions),
        missing or "-",
        shown_size(entry),
        (entry.last_update_utc or "-").replace("+00:00", "Z"),
        entry.checks["state"],
    ]


HEADERS = ["ISO", "dataset", "stage", "interval", "range", "parts", "missing", "size",
           "updated (UTC)", "checks"]  # fmt: skip


def render_table(entries: list[CatalogEntry], out: TextIO) -> None:
    rows = [HEADERS] + [_cells(e) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    numeric = {HEADERS.index("parts"), HEADERS.index("size")}
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
    entries, checks_known = build_catalog(lake, refresh=refresh)
    if refresh:
        print(f"rebuilt {summary_path(lake)} from the lake", file=sys.stderr)
    if as_json:
        has_instance = lake.dagster_home.is_dir()
        payload = {
            "data_root": str(lake.root),
            "warehouse": str(lake.warehouse_path),
            "summary": str(summary_path(lake)),
            "dagster_instance": str(lake.dagster_home) if has_instance else None,
            "datasets": [asdict(e) for e in entries],
        }
        json.dump(payload, out, indent=2)
        out.write("\n")
        return EXIT_OK
    print(f"Data root {lake.root}", file=out)
    if not checks_known:
        print("(no check results recorded for this data root: check states unknown)", file=out)
    render_table(entries, out)
    return EXIT_OK
