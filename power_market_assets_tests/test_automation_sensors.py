"""Sensors, schedules and declarative automation, driven with Dagster's test helpers."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from power_market_assets.automation import sensors as sensor_module
from power_market_assets.automation.publication import PublicationCursor, latest_published_day
from power_market_assets.automation.runs import run_range
from power_market_assets.automation.schedules import cron_for, scheduled_day
from power_market_assets.definitions import build_definitions, build_jobs
from power_market_assets.io.ercot_resource import ErcotSource
from power_market_assets.io.lake import Lake
from power_market_assets.io.resources import LakeResource
from power_market_assets.registry import ercot
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

CHICAGO = ZoneInfo("America/Chicago")
DAYS = [date(2024, 11, 2), date(2024, 11, 3)]


def _defs(root: Path, **overrides) -> dg.Definitions:
    return build_definitions(data_root=str(root), inbox_settle_seconds=0, **overrides)


def _tick(sensor, instance, cursor: str | None, resources: dict, defs: dg.Definitions):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources, definitions=defs
    )
    return sensor.evaluate_tick(context)


def _execute(defs: dg.Definitions, request: dg.RunRequest, instance) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
        raise_on_error=False,
    )


# -- landing inbox ---------------------------------------------------------------------------


def test_inbox_real_rt_file_runs_and_adds_rows(tmp_path: Path, real_ercot_dir: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path)
    sensor = defs.resolve_sensor_def("landing_inbox")
    lake = Lake.at(tmp_path)
    resources = {"lake": LakeResource(data_root=str(tmp_path))}
    lake.inbox_dir.mkdir(parents=True)
    shutil.copy(real_ercot_dir / "rtm-spp.zip", lake.inbox_dir / "rtm-spp.zip")

    first = _tick(sensor, instance, None, resources, defs)
    assert [r.partition_key for r in first.run_requests] == ["2026-06-11"]
    request = first.run_requests[0]
    assert request.job_name == "ercot_rt_prices_daily"
    assert not any(lake.inbox_dir.iterdir())  # moved to its landing folder
    result = _execute(defs, request, instance)
    assert result.success
    rows = duckdb.sql(
        f"select count(*) from read_parquet('{lake.lake_dir}/ercot/rt_prices/raw_parquet/*/*')"
    ).fetchone()[0]
    assert rows == 1123

    # The same bytes dropped again, after a restart (cursor round-trip): no second run.
    shutil.copy(real_ercot_dir / "rtm-spp.zip", lake.inbox_dir / "rtm-spp.zip")
    again = _tick(sensor, instance, first.cursor, resources, defs)
    assert again.run_requests == []


def test_inbox_quarantines_unrecognized_files_without_crashing(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path)
    sensor = defs.resolve_sensor_def("landing_inbox")
    lake = Lake.at(tmp_path)
    lake.inbox_dir.mkdir(parents=True)
    (lake.inbox_dir / "x7Qp2.txt").write_text("hello, this is not an ISO file\n")
    (lake.inbox_dir / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (lake.inbox_dir / "copying.csv.part").write_text("DeliveryDate,HourEnding\n")  # in flight

    result = _tick(sensor, instance, None, {"lake": LakeResource(data_root=str(tmp_path))}, defs)
    assert result.run_requests == []
    reasons = {
        p.name.split("-", 1)[1]: p.read_text() for p in lake.quarantine_dir.glob("*.reason.txt")
    }
    assert set(reasons) == {"x7Qp2.txt.reason.txt", "broken.zip.reason.txt"}
    assert "matches no known dataset" in reasons["x7Qp2.txt.reason.txt"]
    assert "zip" in reasons["broken.zip.reason.txt"]
    assert [p.name for p in lake.inbox_dir.iterdir()] == ["copying.csv.part"]


# -- publication sensor ----------------------------------------------------------------------


@pytest.fixture
def ercot_server():
    docs = [d for spec in ercot.ERCOT_DATASETS[:3] for d in generate_documents(spec, DAYS, 3)]
    with ErcotStandInServer(docs) as server:
        yield server


def _publication(tmp_path: Path, server: ErcotStandInServer, now: datetime, monkeypatch):
    monkeypatch.setattr(sensor_module, "_now", lambda: now)
    defs = _defs(tmp_path, ercot_mis_url=server.base_url)
    source = ErcotSource(mis_base_url=server.base_url, max_retries=0, backoff_seconds=0.01)
    return defs.resolve_sensor_def("ercot_publication"), {"ercot_source": source}, defs


def test_publication_sensor_requests_new_days_once(tmp_path, ercot_server, monkeypatch) -> None:
    now = datetime(2024, 11, 3, 14, 0, tzinfo=CHICAGO)  # after DAM publication for 11-04
    sensor, resources, defs = _publication(tmp_path, ercot_server, now, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    first = _tick(sensor, instance, None, resources, defs)
    requested = sorted((r.job_name, r.partition_key) for r in first.run_requests)
    # DA and AS: both listed days are published; RT: only the finished day 11-02.
    assert ("ercot_da_prices_daily", "2024-11-03") in requested
    assert ("ercot_as_prices_daily", "2024-11-02") in requested
    assert ("ercot_rt_prices_daily", "2024-11-02") in requested
    assert ("ercot_rt_prices_daily", "2024-11-03") not in requested
    # Restart with the saved cursor: nothing new, nothing repeated.
    second = _tick(sensor, instance, first.cursor, resources, defs)
    assert second.run_requests == []
    assert "no newly published" in second.skip_message


def test_publication_sensor_backs_off_when_the_iso_is_down(
    tmp_path, ercot_server, monkeypatch
) -> None:
    now = datetime(2024, 11, 3, 14, 0, tzinfo=CHICAGO)
    sensor, resources, defs = _publication(tmp_path, ercot_server, now, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    ercot_server.inject("IceDocListJsonWS", "http_503", times=10)
    down = _tick(sensor, instance, None, resources, defs)
    assert down.run_requests == []
    assert "unavailable" in down.skip_message and "backing off" in down.skip_message
    cursor = PublicationCursor.parse(down.cursor)
    assert cursor.failures == 1 and cursor.retry_at > now.timestamp()
    waiting = _tick(sensor, instance, down.cursor, resources, defs)
    assert "next poll after" in waiting.skip_message
    # After the back-off the ISO is back: the days are requested and the failures reset.
    ercot_server.clear_faults()
    monkeypatch.setattr(sensor_module, "_now", lambda: now + timedelta(hours=1))
    back = _tick(sensor, instance, down.cursor, resources, defs)
    assert back.run_requests
    assert PublicationCursor.parse(back.cursor).failures == 0


def test_publication_sensor_caps_requests_per_tick(tmp_path, ercot_server, monkeypatch) -> None:
    now = datetime(2024, 11, 3, 14, 0, tzinfo=CHICAGO)
    monkeypatch.setattr(sensor_module, "_now", lambda: now)
    defs = _defs(tmp_path)
    jobs = [j for j in build_jobs() if j.name.startswith("ercot_") and j.name.count("_") > 2]
    sensor = sensor_module.build_publication_sensor(
        "ERCOT", ercot.ERCOT_DATASETS[:3], jobs, max_requests_per_tick=2
    )
    resources = {"ercot_source": ErcotSource(mis_base_url=ercot_server.base_url)}
    instance = dg.DagsterInstance.ephemeral()
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(5):
        tick = _tick(sensor, instance, cursor, resources, defs)
        assert len(tick.run_requests) <= 2
        seen += [(r.job_name, r.partition_key) for r in tick.run_requests]
        cursor = tick.cursor
    assert len(seen) == len(set(seen)) == 5  # DA x2, AS x2, RT x1, each once


# -- schedules -------------------------------------------------------------------------------


def test_schedules_follow_publication_times_in_the_iso_time_zone(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    assert cron_for(ercot.DA_PRICES) == "30 13 * * *"
    assert cron_for(ercot.RT_PRICES) == "*/15 * * * *"
    da = defs.resolve_schedule_def("ercot_da_prices_schedule")
    assert da.execution_timezone == "America/Chicago"
    tick = datetime(2024, 11, 2, 13, 30, tzinfo=CHICAGO)
    context = dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    (request,) = da.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-11-03"  # DAM results for tomorrow
    # The RT tick just after midnight completes the day that just ended.
    assert scheduled_day(ercot.RT_PRICES, datetime(2024, 11, 4, 0, 5, tzinfo=CHICAGO)) == (
        "2024-11-03"
    )
    assert latest_published_day(ercot.DA_PRICES, datetime(2024, 11, 2, 12, tzinfo=CHICAGO)) == (
        date(2024, 11, 2)
    )


# -- declarative automation ------------------------------------------------------------------


@pytest.mark.slow
def test_monthly_stages_follow_their_inputs(tmp_path, ercot_server) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path, ercot_mis_url=ercot_server.base_url)
    flattened = dg.AssetKey(["ercot", "da_prices_flattened"])
    combined = dg.AssetKey(["ercot", "combined_da_as_hourly"])
    selection = dg.AssetSelection.assets(flattened, combined)
    before = dg.evaluate_automation_conditions(defs, instance, asset_selection=selection)
    assert before.total_requested == 0
    assert run_range(defs, "ercot_da_prices_daily", "2024-11-02", "2024-11-03", instance).success
    after = dg.evaluate_automation_conditions(
        defs, instance, asset_selection=selection, cursor=before.cursor
    )
    assert after.get_requested_partitions(flattened) == {"2024-11-01"}
    # Combined waits: its own inputs (the flattened months) have not been updated yet.
    assert after.get_num_requested(combined) == 0


def test_inbox_file_spanning_days_runs_its_range_once(tmp_path: Path) -> None:
    """A monthly or yearly archive covers many days: it lands under each, one run covers the
    range, and each day's raw partition holds its own rows (row_count still reconciles)."""
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path)
    sensor = defs.resolve_sensor_def("landing_inbox")
    lake = Lake.at(tmp_path)
    lake.inbox_dir.mkdir(parents=True)
    first, second = generate_documents(ercot.DA_PRICES, DAYS, 3)
    header, *rows = first.csv_bytes.decode().splitlines()
    rows += second.csv_bytes.decode().splitlines()[1:]
    (lake.inbox_dir / "dam_two_days.csv").write_text("\n".join([header, *rows]) + "\n")

    tick = _tick(sensor, instance, None, {"lake": LakeResource(data_root=str(tmp_path))}, defs)
    (request,) = tick.run_requests
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2024-11-02"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-11-03"
    assert _execute(defs, request, instance).success
    raw = "ercot/da_prices/raw_parquet"
    per_day = {
        path.stem: duckdb.sql(f"select count(*) from '{path}'").fetchone()[0]
        for path in lake.all_partition_files(raw)
    }
    assert per_day == {"2024-11-02": first.data_rows, "2024-11-03": second.data_rows}


@pytest.mark.slow
def test_inbox_correction_under_a_new_name_replaces_the_earlier_drop(tmp_path: Path) -> None:
    """A user drops a day, then the ISO's corrected file for it under another name: the
    earlier file moves to landing/replaced/ (with a reason) and the day is rebuilt from the
    correction alone, instead of failing on duplicate rows."""
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path)
    sensor = defs.resolve_sensor_def("landing_inbox")
    lake = Lake.at(tmp_path)
    lake.inbox_dir.mkdir(parents=True)
    resources = {"lake": LakeResource(data_root=str(tmp_path))}
    (doc,) = generate_documents(ercot.DA_PRICES, DAYS[:1], 3)
    header, first_row, *rest = doc.csv_bytes.decode().splitlines()
    cells = first_row.split(",")
    corrected_row = ",".join([*cells[:3], " 777.77", *cells[4:]])
    (lake.inbox_dir / "dam_original.csv").write_bytes(doc.csv_bytes)
    cursor = None
    for name, rows in (("dam_original.csv", None), ("dam_corrected.csv", corrected_row)):
        if rows is not None:
            (lake.inbox_dir / name).write_text("\n".join([header, rows, *rest]) + "\n")
        tick = _tick(sensor, instance, cursor, resources, defs)
        cursor = tick.cursor
        (request,) = tick.run_requests
        assert _execute(defs, request, instance).success
    day = DAYS[0].isoformat()
    landing = lake.landing_day_dir("ERCOT", "da_prices", day)
    assert [p.name for p in landing.iterdir()] == ["dam_corrected.csv"]
    (reason,) = (lake.landing_dir / "replaced").rglob("*.reason.txt")
    assert "replaced by dam_corrected.csv" in reason.read_text()
    partition = lake.partition_file("ercot/da_prices/raw_parquet", day)
    raw = duckdb.sql(f"select count(*), max(lmp) from '{partition}'").fetchone()
    assert raw == (doc.data_rows, 777.77)
