"""ERCOT's carbon intensity through Dagster: the fuel mix of the demo days (2024-11-01..04, the
fall-back day included) from the stand-in, then carbon_intensity and its hourly output as the
fuel-mix job materializes them, their check, the catalog views, and the CDS export on that lake.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.assets.carbon import (
    CARBON_CHECK,
    carbon_asset_keys,
    carbon_specs,
    day_outcome,
    gap_runs,
    recorded_gaps,
)
from power_market_assets.automation.runs import daily_job_name, run_range
from power_market_assets.commands.export_cds import run_export_cds, validate
from power_market_assets.definitions import build_definitions
from power_market_assets.io.catalog import carbon_lake_path
from power_market_assets.io.lake import Lake
from power_market_assets.quality.carbon import coverage_problems
from power_market_assets.registry.ercot import FUEL_MIX
from power_market_assets.registry.kinds import STANDARD_FUELS
from power_market_assets.transforms.time import day_bounds_utc, days_between
from power_market_standins.ercot_server import standin_server

pytestmark = pytest.mark.slow  # a Dagster run against the stand-in

FIRST, LAST = date(2024, 11, 1), date(2024, 11, 4)
FALL_BACK = date(2024, 11, 3)
DAYS = days_between(FIRST, LAST)
NATIVE_KEY, HOURLY_KEY = carbon_asset_keys([FUEL_MIX])
NOW = datetime(2024, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Lake, dg.DagsterInstance, dg.ExecuteInProcessResult]:
    root = tmp_path_factory.mktemp("ercot_carbon")
    with standin_server(DAYS, n_locations=2) as server:
        defs = build_definitions(data_root=str(root), ercot_mis_url=server.base_url)
        instance = dg.DagsterInstance.ephemeral()
        result = run_range(
            defs, daily_job_name(FUEL_MIX), FIRST.isoformat(), LAST.isoformat(), instance
        )
    assert result.success
    return Lake.at(root), instance, result


@pytest.fixture(scope="module")
def lake(run) -> Lake:
    return run[0]


def _partition(lake: Lake, name: str, day: date) -> pl.DataFrame:
    path = lake.partition_file(carbon_lake_path("ERCOT", name), day.isoformat())
    assert path.exists(), f"no {name} partition for {day}"
    return pl.read_parquet(path)


def test_both_outputs_written_per_day(lake: Lake) -> None:
    for day in DAYS:
        native = _partition(lake, "carbon_intensity", day)
        hourly = _partition(lake, "carbon_intensity_hourly", day)
        assert set(native["operating_day"]) == {day}
        assert native["gco2_per_kwh_direct"].null_count() == 0
        assert native["gco2_per_kwh_direct"].is_between(0, 1079.5).all()
        assert hourly["intervals"].sum() == native.height


def test_fall_back_day_has_100_quarter_hours_and_25_hours(lake: Lake) -> None:
    assert _partition(lake, "carbon_intensity", FALL_BACK).height == 100
    hourly = _partition(lake, "carbon_intensity_hourly", FALL_BACK)
    assert hourly.height == 25
    assert set(hourly["intervals"]) == {4}
    assert _partition(lake, "carbon_intensity", date(2024, 11, 1)).height == 96


def test_carbon_checks_pass_with_no_gap(run) -> None:
    _, _, result = run
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    carbon = {e.asset_key: e for e in evaluations if e.check_name == CARBON_CHECK.name}
    assert set(carbon) == {NATIVE_KEY, HOURLY_KEY}
    for evaluation in carbon.values():
        assert evaluation.passed
        assert evaluation.metadata["gap_intervals"].value == 0
        assert evaluation.metadata["shares_off"].value == 0


def test_hourly_run_metadata_has_the_month_plot(run) -> None:
    _, instance, _ = run
    event = instance.get_latest_materialization_event(HOURLY_KEY)
    metadata = event.asset_materialization.metadata
    assert "plot_2024-11" in metadata
    assert "data:image/png;base64," in metadata["plot_2024-11"].value


def test_views_answer(lake: Lake) -> None:
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        per_day = dict(
            con.execute(
                "SELECT operating_day, count(*) FROM ercot.carbon_intensity GROUP BY 1"
            ).fetchall()
        )
        hours = con.execute(
            "SELECT count(*) FROM ercot.carbon_intensity_hourly WHERE operating_day = ?",
            [FALL_BACK],
        ).fetchone()[0]
        union = con.execute(
            "SELECT iso, count(*), min(gco2_per_kwh_lifecycle) >= 0 "
            "FROM all_isos.carbon_intensity GROUP BY iso"
        ).fetchall()
        union_hourly = con.execute(
            "SELECT count(*) FROM all_isos.carbon_intensity_hourly"
        ).fetchone()[0]
        offsets = con.execute(
            "SELECT DISTINCT utc_offset FROM ercot.carbon_intensity_hourly "
            "WHERE operating_day = ? ORDER BY 1",
            [FALL_BACK],
        ).fetchall()
    assert per_day == {date(2024, 11, 1): 96, date(2024, 11, 2): 96, FALL_BACK: 100, LAST: 96}
    assert hours == 25
    assert union == [("ERCOT", 388, True)]
    assert union_hourly == 24 * 3 + 25
    assert offsets == [("-05:00",), ("-06:00",)]


def test_cds_export_on_that_lake_validates_and_covers_every_interval(
    lake: Lake, tmp_path: Path
) -> None:
    out = tmp_path / "ercot.json"
    err = io.StringIO()
    code = run_export_cds(
        "ERCOT", str(FIRST), str(LAST), str(out), str(lake.root), err=err, now=NOW
    )
    assert code == 0, err.getvalue()
    document = json.loads(out.read_text())
    assert validate(document) == []
    segments = document["usagesegments"]
    start = day_bounds_utc(FIRST, FUEL_MIX.timezone)[0]
    end = day_bounds_utc(LAST, FUEL_MIX.timezone)[1]
    assert coverage_problems(segments, start, end) == []
    assert not [s for s in segments if s["format"] == ["gap"]]
    assert sum(len(s["values"]) for s in segments) == 96 * 3 + 100


def _day_without_hour(day: date, hour: int, gas_share: float = 1.0) -> pl.DataFrame:
    """A native intensity frame of `day` (all gas) lacking UTC hour `hour`."""
    first, end = day_bounds_utc(day, FUEL_MIX.timezone)
    grid = pl.datetime_range(first, end, "15m", closed="left", eager=True, time_unit="us")
    return (
        pl.DataFrame({"interval_start_utc": grid})
        .filter(pl.col("interval_start_utc").dt.hour() != hour)
        .with_columns(
            **{f"share_{c}": pl.lit(gas_share if c == "gas" else 0.0) for c in STANDARD_FUELS},
            gco2_per_kwh_direct=pl.lit(440.0),
            gco2_per_kwh_lifecycle=pl.lit(490.0),
        )
    )


def test_missing_intervals_are_recorded_gaps_with_their_reason() -> None:
    """A day whose fuel mix lacks an hour: the hour is a recorded gap (source_outage once the
    day is over, not_yet_published before), so the check passes and names it."""
    day = date(2024, 11, 2)
    frame = _day_without_hour(day, 15)
    gaps = recorded_gaps(frame, day, FUEL_MIX, 15, NOW)
    assert gaps.height == 4 and set(gaps["reason"]) == {"source_outage"}
    assert gap_runs(gaps, 15) == ["2024-11-02T15:00Z..2024-11-02T16:00Z (4) source_outage"]
    pending = recorded_gaps(frame, day, FUEL_MIX, 15, datetime(2024, 11, 2, 18, tzinfo=UTC))
    assert set(pending["reason"]) == {"not_yet_published"}
    outcome = day_outcome(frame, day, FUEL_MIX, 15, NOW)
    assert outcome.passed and outcome.metadata["gap_intervals"] == 4
    assert outcome.metadata["gaps"] == gap_runs(gaps, 15)[0]


def test_shares_off_one_fail_the_check() -> None:
    day = date(2024, 11, 2)
    outcome = day_outcome(_day_without_hour(day, 15, gas_share=0.9), day, FUEL_MIX, 15, NOW)
    assert not outcome.passed and outcome.metadata["shares_off"] == 92


def test_every_iso_daily_job_runs_its_carbon_intensity(tmp_path: Path) -> None:
    """The demo runs `<iso>_daily`: every ISO with a fuel mix gets its carbon outputs there and
    in its fuel mix's own job (schedules and sensors run that one), and in no other job."""
    defs = build_definitions(data_root=str(tmp_path))
    for spec in carbon_specs():
        keys = set(carbon_asset_keys([spec]))
        assert len(keys) == 2
        for job in (f"{spec.iso.lower()}_daily", daily_job_name(spec)):
            assert keys <= defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
        load_job = defs.resolve_job_def(f"{spec.iso.lower()}_load_daily")
        assert not keys & load_job.asset_layer.selected_asset_keys
