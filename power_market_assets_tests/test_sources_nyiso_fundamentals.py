"""Load, load forecast, fuel mix and BTM solar: stand-in mis.nyiso.com -> source client ->
reader for one day, BTM solar's two folders and its forecast named for the next day, monthly
zips (no internet)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats.nyiso import identify, read_files
from power_market_assets.io.nyiso_resource import NyisoSource
from power_market_assets.registry import nyiso
from power_market_assets.sources.http import HttpClient
from power_market_assets.sources.landing import land_operating_day
from power_market_assets.sources.nyiso import NyisoMisClient
from power_market_standins.nyiso_fundamentals import generate_files
from power_market_standins.nyiso_server import NyisoStandInServer, standin_server

FALL_BACK = date(2024, 11, 3)
FEB = [date(2024, 2, 1) + timedelta(days=i) for i in range(29)]
FUNDAMENTALS = (nyiso.LOAD, nyiso.LOAD_HOURLY, nyiso.LOAD_FORECAST, nyiso.FUEL_MIX, nyiso.BTM_SOLAR)


@pytest.fixture(scope="module")
def running():
    with standin_server([FALL_BACK], n_locations=2) as server:
        yield server


@pytest.fixture()
def http():
    client = HttpClient(timeout=(2.0, 2.0), max_retries=1, base_delay=0.01)
    yield client
    client.close()


def _paths(server) -> list[str]:
    with server._lock:
        return [path for _, path in server.requests]


@pytest.mark.parametrize("spec", FUNDAMENTALS, ids=lambda s: s.dataset)
def test_standin_source_reader_for_one_day(spec, running, tmp_path: Path) -> None:
    fetched = NyisoSource(base_url=running.base_url).fetch(spec, [FALL_BACK], tmp_path / "dl")
    assert list(fetched) == [FALL_BACK]
    rows = land_operating_day(FALL_BACK, fetched[FALL_BACK], tmp_path / "csv")
    paths = [Path(row["csv_path"]) for row in rows]
    for path in paths:
        assert identify(path.name, path.read_bytes()[:4096]) is spec
    frame = read_files(paths, spec)
    assert dict(frame.schema) == spec.schema
    assert set(frame["operating_day"]) == {FALL_BACK}
    if spec.table_kind.vintage_column is None:
        start = frame["interval_start_local"].dt.date()
        assert set(start) == {FALL_BACK}  # an actual day holds its own intervals only


def test_btm_solar_fetches_both_folders_and_tomorrows_forecast(running, tmp_path: Path) -> None:
    running.requests.clear()
    got = NyisoSource(base_url=running.base_url).fetch(nyiso.BTM_SOLAR, [FALL_BACK], tmp_path)
    names = [source.original_name for source in got[FALL_BACK]]
    assert names == ["20241103BTMEstimatedActual.csv", "20241104btmdaforecast.csv"]
    assert _paths(running) == [
        "/public/csv/btmactualforecast/20241103BTMEstimatedActual.csv",
        "/public/csv/btmdaforecast/20241104btmdaforecast.csv",
    ]


def test_btm_day_without_its_forecast_is_left_out(http, tmp_path: Path) -> None:
    actual_only = [f for f in generate_files(nyiso.BTM_SOLAR, [FALL_BACK]) if "Actual" in f.stem]
    with NyisoStandInServer(actual_only) as server:
        got = NyisoMisClient(server.base_url, http).fetch_days(
            nyiso.BTM_SOLAR, [FALL_BACK], tmp_path
        )
    assert got == {}  # never landed half


def test_load_forecast_vintages_across_days(http, tmp_path: Path) -> None:
    days = [FALL_BACK - timedelta(days=1), FALL_BACK]
    with NyisoStandInServer(generate_files(nyiso.LOAD_FORECAST, days)) as server:
        got = NyisoMisClient(server.base_url, http).fetch_days(nyiso.LOAD_FORECAST, days, tmp_path)
    paths = [source.path for day in days for source in got[day]]
    frame = read_files(paths, nyiso.LOAD_FORECAST)
    assert frame.select("published_at_utc").n_unique() == 2
    assert set(frame["operating_day"]) == set(days)
    one_hour = frame.filter(
        (pl.col("area") == "N.Y.C.")
        & (pl.col("interval_start_local").dt.date() == FALL_BACK + timedelta(days=2))
        & (pl.col("interval_start_local").dt.hour() == 17)
    )
    assert one_hour.height == 2  # two vintages of one interval


def test_a_whole_month_comes_from_its_zip(http, tmp_path: Path) -> None:
    with NyisoStandInServer(generate_files(nyiso.LOAD_HOURLY, FEB)) as server:
        got = NyisoMisClient(server.base_url, http).fetch_days(nyiso.LOAD_HOURLY, FEB, tmp_path)
        assert _paths(server) == ["/public/csv/palIntegrated/20240201palIntegrated_csv.zip"]
    assert sorted(got) == FEB
    source = got[date(2024, 2, 29)][0]
    assert source.url.endswith("20240201palIntegrated_csv.zip#20240229palIntegrated.csv")
    frame = read_files([source.path], nyiso.LOAD_HOURLY)
    assert frame.height == 24 * 11
