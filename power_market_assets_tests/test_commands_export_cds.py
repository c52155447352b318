"""`power-market export --format cds` end to end on a temp lake: fuel-mix raw_parquet partition
files written with the lake's own writer, one hour withheld then arriving (change log), JSON
validated against the schema, --with-history, and the Parquet variant."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.cli import main
from power_market_assets.commands.export_cds import run_export_cds
from power_market_assets.io.cds_export import ledger_dir, validate
from power_market_assets.io.changes import diff_with_file, record_changes
from power_market_assets.io.lake import (
    Lake,
    stage_lake_path,
    write_failure_marker,
    write_parquet_files,
)
from power_market_assets.quality.carbon import coverage_problems
from power_market_assets.registry import get_spec
from power_market_assets.transforms.cds import segment_id
from power_market_assets.transforms.time import day_bounds_utc, days_between
from power_market_assets_tests.kind_frames import fuel_long

SPEC = get_spec("ERCOT", "fuel_mix")
LAKE_PATH = stage_lake_path(SPEC, "raw_parquet")
FIRST, LAST = date(2024, 11, 1), date(2024, 11, 4)
WITHHELD = (datetime(2024, 11, 2, 15, tzinfo=UTC), datetime(2024, 11, 2, 16, tzinfo=UTC))
WRITTEN = datetime(2024, 11, 9, 12, tzinfo=UTC)
NOW = datetime(2024, 11, 10, 12, tzinfo=UTC)
LATER = datetime(2024, 11, 11, 12, tzinfo=UTC)
RANGE = (day_bounds_utc(FIRST, SPEC.timezone)[0], day_bounds_utc(LAST, SPEC.timezone)[1])


def day_frame(day: date, withhold: bool = False) -> pl.DataFrame:
    frame = fuel_long(SPEC, [day])
    if withhold:
        frame = frame.filter(~pl.col("interval_start_utc").is_between(*WITHHELD, closed="left"))
    return frame


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake.at(tmp_path / "data")
    files = {
        lake.partition_file(LAKE_PATH, d.isoformat()): day_frame(d, withhold=d.day == 2)
        for d in days_between(FIRST, LAST)
    }
    write_parquet_files(files)
    for path in files:  # materialized on WRITTEN (the write time stands for the data's time)
        os.utime(path, (WRITTEN.timestamp(), WRITTEN.timestamp()))
    return lake


def export(lake: Lake, out: Path, now: datetime, **kwargs) -> tuple[int, str]:
    err = io.StringIO()
    code = run_export_cds(
        "ERCOT", str(FIRST), str(LAST), str(out), str(lake.root), err=err, now=now, **kwargs
    )
    return code, err.getvalue()


def arrive(lake: Lake) -> None:
    """The withheld hour arrives: the day is re-materialized and the change recorded."""
    path = lake.partition_file(LAKE_PATH, "2024-11-02")
    full = day_frame(date(2024, 11, 2))
    changes = diff_with_file(path, full, SPEC.unique_key)
    assert changes is not None and changes.values_added == 4 * 7
    write_parquet_files({path: full})
    record_changes(lake, "ERCOT", "fuel_mix", "2024-11-02", changes, at=LATER)


def test_gap_then_reissue_with_history(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "ercot.json"
    code, err = export(lake, out, NOW)
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert validate(doc) == []
    segments = doc["usagesegments"]
    assert coverage_problems(segments, *RANGE) == []
    assert sum(len(s["values"]) for s in segments) == 96 + 96 + 100 + 96
    gap_id = segment_id("ERCOT", *WITHHELD)
    gap = next(s for s in segments if s["cds_usagesegment_id"] == gap_id)
    assert gap["format"] == ["gap"] and gap["values"][0] == [{"reason_type": "source_outage"}]
    assert gap["cds_created"] == gap["cds_modified"] == "2024-11-09T12:00:00Z"
    assert "history" not in doc

    arrive(lake)
    code, err = export(lake, out, LATER, with_history=True)
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert validate(doc) == []
    assert coverage_problems(doc["usagesegments"], *RANGE) == []
    now = next(s for s in doc["usagesegments"] if s["cds_usagesegment_id"] == gap_id)
    assert now["format"] == ["supply_mix", "gco2_per_kwh", "gco2_per_kwh_lifecycle"]
    assert now["cds_created"] == gap["cds_created"]
    assert now["cds_modified"] == "2024-11-11T12:00:00Z" > gap["cds_modified"]
    assert doc["history"] == [gap]
    assert not [s for s in doc["usagesegments"] if s["format"] == ["gap"]]
    assert len(list(ledger_dir(lake, "ERCOT").glob("*.json"))) == 2


def test_failed_day_and_parquet_out(lake: Lake, tmp_path: Path) -> None:
    write_failure_marker(lake.failure_marker(LAKE_PATH, "2024-11-04"), "row_count: 12 missing")
    out = tmp_path / "ercot.parquet"
    code, err = export(lake, out, NOW)
    assert code == 0, err
    table = pl.read_parquet(out)
    assert table.height == 96 + 96 + 100 + 96
    assert table["interval_start_utc"].is_unique().all()
    reasons = table.filter(pl.col("operating_day") == date(2024, 11, 4))["reason_type"].unique()
    assert reasons.to_list() == ["failed_check"]
    data = table.filter(pl.col("status") == "final")
    assert data["gco2_per_kwh_lifecycle"].is_not_null().all()
    assert data["cds_modified"].is_not_null().all()


def test_cli_format_cds(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "cli.json"
    argv = ["export", "--format", "cds", "--iso", "ERCOT", "--start", str(FIRST)]
    argv += ["--end", str(LAST), "--out", str(out), "--data-root", str(lake.root)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert validate(json.loads(out.read_text())) == []


def test_refusals(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    err = io.StringIO()
    assert (
        run_export_cds("NOPE", "2024-11-01", "2024-11-02", str(out), str(lake.root), err=err) == 2
    )
    assert (
        run_export_cds("ERCOT", "2024-11-02", "2024-11-01", str(out), str(lake.root), err=err) == 2
    )
    assert not out.exists()


def test_parquet_export_still_needs_a_dataset(lake: Lake, tmp_path: Path) -> None:
    argv = ["export", "--iso", "ERCOT", "--start", str(FIRST), "--end", str(LAST)]
    argv += ["--out", str(tmp_path / "x.parquet"), "--data-root", str(lake.root)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
