"""Every ISO through the same platform: recognition, drifted headers, and the all_isos views.

Each ISO's stand-in serves its day-ahead prices for the fall-back day; the same jobs, the same
checks and the same catalog must work for all five.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from power_market_assets.automation.drops import recognize
from power_market_assets.automation.runs import (
    daily_job_name,
    failure_messages,
    landing_run_config,
    run_range,
)
from power_market_assets.definitions import build_definitions
from power_market_assets.formats import identify_file, read_dataset_files
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.registry import DATASETS_BY_ISO, get_spec
from power_market_standins.servers import environment, standin_environment, standin_server

pytestmark = pytest.mark.slow  # a lake of every ISO built through Dagster

FALL_BACK = date(2024, 11, 3)
# Per ISO: the header text of its day-ahead price column, as published.
PRICE_COLUMN = {
    "ERCOT": b"SettlementPointPrice",
    "CAISO": b"MW",
    "NYISO": b"LBMP ($/MWHr)",
    "ISONE": b"Locational Marginal Price",
    "PJM": b'"total_lmp_da"',  # a JSON key (the bare name also appears in the query URL)
}


@pytest.fixture(scope="module")
def lake_with_every_iso(tmp_path_factory) -> Lake:
    """Day-ahead prices of the fall-back day from every ISO's stand-in, in one lake."""
    root = tmp_path_factory.mktemp("all_isos")
    instance = dg.DagsterInstance.ephemeral()
    for iso in DATASETS_BY_ISO:
        server = standin_server(iso, [FALL_BACK], n_locations=3)
        with server, environment(standin_environment(iso, server)):
            defs = build_definitions(data_root=str(root), source_urls={iso: server.base_url})
            day = FALL_BACK.isoformat()
            result = run_range(defs, f"{iso.lower()}_da_prices_daily", day, day, instance)
            assert result.success, failure_messages(result)
    return Lake.at(root)


def _landed_files(lake: Lake, iso: str) -> list[Path]:
    folder = lake.csv_day_dir(f"{iso.lower()}/da_prices/csv", FALL_BACK.isoformat())
    return sorted(p for p in folder.iterdir() if p.name != "metadata.json")


def test_all_isos_view_has_25_hours_per_location_for_every_iso(lake_with_every_iso) -> None:
    with duckdb.connect(str(lake_with_every_iso.warehouse_path), read_only=True) as con:
        rows = con.sql(
            "select iso, count(*) // count(distinct location), count(*) - count(distinct "
            "(interval_start_utc, location, location_type)) from all_isos.da_prices "
            "group by iso order by iso"
        ).fetchall()
    assert rows == [(iso, 25, 0) for iso in sorted(DATASETS_BY_ISO)]


@pytest.mark.parametrize("iso", sorted(PRICE_COLUMN))
def test_landed_files_are_recognized_by_ingest(
    lake_with_every_iso, iso: str, tmp_path: Path
) -> None:
    """Each file is identified on its own; the day's files zipped together (what a user
    drops) are recognized by ingest as that dataset and day."""
    spec = get_spec(iso, "da_prices")
    files = _landed_files(lake_with_every_iso, iso)
    for path in files:
        assert identify_file(path.name, path.read_bytes()) is spec
    dropped = tmp_path / f"{iso.lower()}_da_{FALL_BACK}.zip"
    with zipfile.ZipFile(dropped, "w") as archive:
        for path in files:
            archive.write(path, path.name)
    recognized = recognize(dropped)
    assert (recognized.spec, recognized.operating_day) == (spec, FALL_BACK)


@pytest.mark.parametrize("iso", sorted(PRICE_COLUMN))
def test_drifted_header_names_file_and_column_and_blocks_downstream(
    lake_with_every_iso, iso: str, tmp_path: Path
) -> None:
    spec = get_spec(iso, "da_prices")
    column = PRICE_COLUMN[iso]
    files = _landed_files(lake_with_every_iso, iso)
    original = next(p for p in files if column in p.read_bytes())
    drifted = tmp_path / original.name
    renamed = b'"Price_Renamed"' if column.startswith(b'"') else b"Price_Renamed"
    drifted.write_bytes(original.read_bytes().replace(column, renamed, 1))
    with pytest.raises(FormatError) as error:
        read_dataset_files([drifted if p == original else p for p in files], spec)
    assert drifted.name in str(error.value)
    assert column.decode().strip('"') in str(error.value)

    # The same file dropped for a day: the raw stage fails naming it; the month refuses it.
    root = tmp_path / "root"
    lake = Lake.at(root)
    landing = lake.landing_day_dir(iso, "da_prices", FALL_BACK.isoformat())
    landing.mkdir(parents=True)
    for path in files:
        shutil.copy(drifted if path == original else path, landing / path.name)
    defs = build_definitions(data_root=str(root))
    instance = dg.DagsterInstance.ephemeral()
    day = FALL_BACK.isoformat()
    daily = run_range(
        defs, daily_job_name(spec), day, day, instance, run_config=landing_run_config(spec)
    )
    assert not daily.success
    assert any(drifted.name in m for m in failure_messages(daily))
    assert not lake.partition_file(f"{iso.lower()}/da_prices/raw_parquet", day).exists()
    flattened = dg.AssetKey([iso.lower(), "da_prices_flattened"])
    monthly = defs.resolve_job_def(f"{iso.lower()}_monthly").execute_in_process(
        instance=instance,
        partition_key="2024-11-01",
        asset_selection=[flattened],
        raise_on_error=False,
    )
    assert not monthly.success
    assert any(day in m for m in failure_messages(monthly))


def test_yearly_workbook_is_ingested_under_every_day_it_covers(tmp_path: Path) -> None:
    """ISO-NE's SMD hourly workbook spans many days: ingest lands it under each, and one
    range run builds every day's partition from it (25 hours on the fall-back day)."""
    from power_market_assets.automation.drops import land
    from power_market_standins.isone import smd_workbook_bytes

    days = [date(2024, 11, 2), FALL_BACK, date(2024, 11, 4)]
    workbook = tmp_path / "2024_smd_hourly.xlsx"
    workbook.write_bytes(smd_workbook_bytes(days))
    recognized = recognize(workbook)
    assert recognized.spec is get_spec("ISONE", "da_prices")
    assert recognized.operating_days == tuple(days)
    root = tmp_path / "root"
    lake = Lake.at(root)
    land(recognized, lake)
    defs = build_definitions(data_root=str(root))
    first, last = days[0].isoformat(), days[-1].isoformat()
    result = run_range(
        defs,
        daily_job_name(recognized.spec),
        first,
        last,
        dg.DagsterInstance.ephemeral(),
        run_config=landing_run_config(recognized.spec),
    )
    assert result.success, failure_messages(result)
    raw = "isone/da_prices/raw_parquet"
    assert [p.stem for p in lake.all_partition_files(raw)] == [d.isoformat() for d in days]
    fall_back = lake.partition_file(raw, FALL_BACK.isoformat())
    hours = duckdb.sql(f"select count(*) // count(distinct location) from '{fall_back}'")
    assert hours.fetchone()[0] == 25
