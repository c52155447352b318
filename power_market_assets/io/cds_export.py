"""The Carbon Data Spec export of an ISO's fuel mix, shared by `power-market export --format
cds` (commands/export_cds.py) and the monthly `<iso>/cds_export` asset (assets/carbon.py).

Built straight from the fuel-mix raw_parquet partitions of the lake. Every interval of the range
is covered by a data segment or a gap segment whose reason comes from the platform's own
records: a failure marker (failed_check), a missing partition (not_yet_published while the day
is not over, else not_collected), intervals missing from a published day (source_outage, or
not_yet_published for an intraday snapshot's tail, or withdrawn when the change log records
removed values). Documents are validated against the JSON Schema shipped in this package
(`cds_usage_segment.schema.json`, the same file as docs/cds_usage_segment.schema.json).

What was issued is kept in an append-only ledger under the data root
(`cds/<iso>/issued/*.json`, one file per export that issued something new), so a segment
whose data changed is re-issued under its id with its first `cds_created` and a later
`cds_modified`, and the history can show the versions it replaces.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import polars as pl

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.io.changes import read_change_log
from power_market_assets.io.lake import Lake, safe_part, stage_lake_path
from power_market_assets.quality.carbon import carbon_checks, coverage_problems
from power_market_assets.registry import DATASETS_BY_ISO
from power_market_assets.registry.emission_factors import FACTORS_VERSION
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.carbon import (
    DEFAULT_TREATMENT,
    Treatment,
    category_mix,
    intensity_from_mix,
    snap_to_grid,
)
from power_market_assets.transforms.cds import (
    DAY_STATE_SCHEMA,
    FAMILY,
    interval_status,
    reissue,
    segment_intervals,
    segments_table,
    stamp,
    usage_segments,
)
from power_market_assets.transforms.time import (
    day_bounds_utc,
    days_between,
    expected_interval_frame,
)

FUEL_MIX = "fuel_mix"
SCHEMA_RESOURCE = "cds_usage_segment.schema.json"  # package data of power_market_assets.io
LEDGER = "cds"
GAP_FORMAT = ["gap"]


class NoFuelMix(LookupError):
    """The ISO is unknown or has no fuel-mix dataset to build a CDS export on."""


def fuel_mix_spec(iso: str) -> DatasetSpec:
    """The ISO's fuel-mix dataset (the CDS export is built on it)."""
    specs = DATASETS_BY_ISO.get(iso.upper())
    if specs is None:
        raise NoFuelMix(f"unknown ISO {iso!r}: one of {', '.join(sorted(DATASETS_BY_ISO))}")
    for spec in specs:
        if spec.dataset == FUEL_MIX:
            return spec
    raise NoFuelMix(f"{iso.upper()} has no {FUEL_MIX} dataset: nothing to build a CDS export on")


@cache
def schema_text() -> str:
    """The export's JSON Schema as shipped in the package (not read from docs/, which an
    installed package does not have)."""
    return resources.files("power_market_assets.io").joinpath(SCHEMA_RESOURCE).read_text()


def validate(document: dict) -> list[str]:
    """Schema errors of an export document (empty: valid)."""
    schema = json.loads(schema_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def ledger_dir(lake: Lake, iso: str) -> Path:
    return lake.root / LEDGER / safe_part(iso.lower()) / "issued"


def read_ledger(lake: Lake, iso: str) -> list[dict]:
    """Every segment version issued before (any order)."""
    issued: list[dict] = []
    for path in sorted(ledger_dir(lake, iso).glob("*.json")):
        issued.extend(json.loads(path.read_text()))
    return issued


def append_ledger(lake: Lake, iso: str, versions: list[dict], now: datetime) -> None:
    if not versions:
        return
    name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}--{uuid.uuid4().hex[:8]}.json"
    atomic_write_bytes(ledger_dir(lake, iso) / name, json.dumps(versions).encode())


def _marker(path: Path) -> tuple[str, datetime | None]:
    try:
        marker = json.loads(path.read_text())
        return str(marker.get("reason", "")), datetime.fromisoformat(marker["at_utc"])
    except (ValueError, KeyError, OSError):
        return "", None


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def day_states(
    lake: Lake, spec: DatasetSpec, days: list[date], now: datetime
) -> tuple[pl.DataFrame, list[Path]]:
    """Per operating day: present / failed / missing, when its data was last recorded (change
    log, else the partition's write time) and the flags `interval_status` reads; plus the
    partition files to read."""
    lake_path = stage_lake_path(spec, "raw_parquet")
    changes = read_change_log(lake, spec.iso, spec.dataset)
    latest = {
        row["operating_day"]: row for row in changes.sort("recorded_at_utc").iter_rows(named=True)
    }
    rows, files = [], []
    for day in days:
        key = day.isoformat()
        path = lake.partition_file(lake_path, key)
        marker = lake.failure_marker(lake_path, key)
        change = latest.get(key)
        state, detail, modified = "missing", None, None
        if marker.exists():
            detail, modified = _marker(marker)
            state, modified = "failed", modified or _mtime(marker)
        elif path.exists():
            state = "present"
            modified = change["recorded_at_utc"] if change else _mtime(path)
            files.append(path)
        rows.append(
            {
                "operating_day": day,
                "state": state,
                "detail": detail,
                "modified_at_utc": modified or now,
                "intraday": spec.intraday_snapshots,
                "preliminary": False,
                "pending": day_bounds_utc(day, spec.timezone)[1] > now,
                "withdrawn": bool(change and change["values_removed"]),
            }
        )
    return pl.DataFrame(rows, schema=DAY_STATE_SCHEMA), files


def read_fuel_mix(files: list[Path], grid: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame | None:
    """The fuel-mix rows of the range's grid intervals, from the partition files (irregular
    stamps snapped onto the nominal grid first)."""
    if not files:
        return None
    frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    if spec.irregular_intervals:
        frame = snap_to_grid(frame, spec.interval_minutes)
    return frame.join(grid.select("interval_start_utc"), on="interval_start_utc", how="semi")


def empty_intensity() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "interval_start_utc": pl.Datetime("us", "UTC"),
            "operating_day": pl.Date(),
            "gco2_per_kwh_direct": pl.Float64(),
            "gco2_per_kwh_lifecycle": pl.Float64(),
        }
    )


def empty_mix() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "interval_start_utc": pl.Datetime("us", "UTC"),
            "fuel_category": pl.Utf8,
            "treatment": pl.Utf8,
            "share": pl.Float64,
            "gco2_direct": pl.Float64,
            "gco2_lifecycle": pl.Float64,
        }
    )


def build_export(
    lake: Lake,
    spec: DatasetSpec,
    first: date,
    last: date,
    now: datetime,
    treatment: Treatment = DEFAULT_TREATMENT,
) -> tuple[dict, pl.DataFrame, list[dict], list[str]]:
    """The export document (with history), its Parquet table, the new ledger versions and
    the problems the checks found."""
    days = days_between(first, last)
    states, files = day_states(lake, spec, days, now)
    grid = expected_interval_frame(days, spec.timezone, spec.interval_minutes).with_columns(
        interval_end_utc=pl.col("interval_start_utc").dt.offset_by(f"{spec.interval_minutes}m")
    )
    fuel_mix = read_fuel_mix(files, grid, spec)
    if fuel_mix is None or fuel_mix.height == 0:
        mix, intensity = empty_mix(), empty_intensity()
    else:
        mix = category_mix(fuel_mix, spec.iso, treatment)
        intensity = intensity_from_mix(mix, treatment)
    status = interval_status(grid, intensity, states)
    segments = segment_intervals(status, spec.iso)
    current = usage_segments(segments, mix, intensity, spec.interval_minutes)
    issued = reissue(current, read_ledger(lake, spec.iso), now)
    range_start, range_end = (
        day_bounds_utc(first, spec.timezone)[0],
        day_bounds_utc(last, spec.timezone)[1],
    )
    problems = coverage_problems(issued.segments, range_start, range_end)
    if intensity.height and "share_gas" in intensity.columns:
        gaps = status.filter(pl.col("status") == "gap")
        check = carbon_checks(intensity, spec.iso, grid, gaps)
        if not check.passed:
            problems.append(f"carbon checks: {check.metadata()}")
    document = {
        "metadata": {
            "iso": spec.iso,
            "dataset": spec.dataset,
            "start": first.isoformat(),
            "end": last.isoformat(),
            "range_start": stamp(range_start),
            "range_end": stamp(range_end),
            "exported_at": stamp(now),
            "factors_version": FACTORS_VERSION,
            "treatment": treatment.label,
            "family": FAMILY,
        },
        "usagesegments": issued.segments,
        "history": issued.history,
    }
    table = segments_table(segments, intensity, issued.segments)
    return document, table, issued.new_versions, problems


def segment_counts(document: dict) -> dict[str, int]:
    """Segments, gap segments and estimate segments (a format ending in `_estimate`)."""
    segments = document["usagesegments"]
    return {
        "segments": len(segments),
        "gap_segments": sum(1 for s in segments if s["format"] == GAP_FORMAT),
        "estimate_segments": sum(
            1 for s in segments if any(f.endswith("_estimate") for f in s["format"])
        ),
    }
