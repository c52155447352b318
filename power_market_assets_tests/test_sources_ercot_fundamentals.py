"""ERCOT fundamentals through the stand-in MIS: listing -> operating (publication) day ->
download -> landing -> reader, for one day of each dataset, and the publication sensor's
`published_days` (no internet)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import (
    expected_joined_rows,
    expected_rows,
    read_dataset_files,
    read_joined_file,
)
from power_market_assets.formats.csvjoin import JoinedMember
from power_market_assets.io.ercot_resource import ErcotSource
from power_market_assets.registry.ercot import FUEL_MIX, LOAD, LOAD_FORECAST, SOLAR, WIND
from power_market_assets.sources.ercot import ErcotMisClient, fetch_day_archives, operating_day_for
from power_market_assets.sources.http import HttpClient
from power_market_assets.sources.landing import land_operating_day
from power_market_standins.ercot_fuel_mix import fuel_mix_workbooks
from power_market_standins.ercot_fundamentals import generate_fundamentals
from power_market_standins.ercot_server import ErcotStandInServer

DAY = date(2024, 11, 3)  # fall-back day
DAYS = [date(2024, 11, 2), DAY, date(2024, 11, 4)]
SPECS = (LOAD, LOAD_FORECAST, WIND, SOLAR)


@pytest.fixture(scope="module")
def server() -> Iterator[ErcotStandInServer]:
    docs = [d for spec in SPECS for d in generate_fundamentals(spec, DAYS)]
    with ErcotStandInServer(docs) as running:
        yield running


def _land_and_read(spec, server, tmp_path: Path) -> tuple[pl.DataFrame, int]:
    """One day fetched from the stand-in, landed as stage 1 does, read back: (rows, the rows
    the files must yield)."""
    http = HttpClient(timeout=(2.0, 2.0), max_retries=1, base_delay=0.01)
    mis = ErcotMisClient(server.base_url, http)
    fetched = fetch_day_archives(spec, [DAY], channel="mis", download_dir=tmp_path / "dl", mis=mis)
    assert list(fetched) == [DAY]
    rows = land_operating_day(DAY, fetched[DAY], tmp_path / "csv", join_csv=True)
    joined = [r for r in rows if r["byte_start"] is not None]
    if joined:
        path = Path(joined[0]["csv_path"])
        members = [
            JoinedMember(r["source_file"], r["byte_start"], r["byte_end"], r["data_rows"])
            for r in joined
        ]
        return read_joined_file(path, members, spec), sum(
            expected_joined_rows(path, members, spec).values()
        )
    paths = [Path(r["csv_path"]) for r in rows]
    expected = sum(expected_rows(Path(r["csv_path"]), spec, r["data_rows"]) for r in rows)
    return read_dataset_files(paths, spec), expected


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.dataset)
def test_a_day_goes_from_the_standin_to_the_long_table(spec, server, tmp_path: Path) -> None:
    frame, expected = _land_and_read(spec, server, tmp_path)
    assert frame.height == expected > 0
    assert dict(frame.schema) == spec.schema
    assert set(frame["operating_day"]) == {DAY}
    assert frame.select(spec.unique_key).is_duplicated().sum() == 0
    if spec is LOAD:
        assert frame["interval_start_utc"].n_unique() == 25
    else:  # one publication an hour of the 25-hour publication day
        assert frame["published_at_utc"].n_unique() == 25


def test_listing_days_follow_the_publication(server) -> None:
    published = datetime(2024, 11, 4, 5, 50, 12).astimezone(UTC)
    assert operating_day_for(LOAD, "ACTUALSYSLOADWZNP6345_csv", published) == date(2024, 11, 3)
    local = datetime.fromisoformat("2024-11-03T23:55:40-06:00")
    assert operating_day_for(WIND, "WPPHRLYAVGACTNP4732_csv", local) == DAY
    resource = ErcotSource(mis_base_url=server.base_url)
    assert set(resource.published_days(LOAD)) == set(DAYS)
    days = resource.published_days(LOAD_FORECAST)
    assert set(days) == set(DAYS) and days[DAY].startswith("25:")


def test_fuel_mix_workbook_comes_from_the_generation_page(tmp_path: Path) -> None:
    """The workbook's link is read from the page; a day it does not hold yet is absent; the
    same workbook is listed under every day it holds."""
    books = fuel_mix_workbooks([date(2024, 11, 2), DAY])
    with ErcotStandInServer(fuel_mix=books) as running:
        resource = ErcotSource(mis_base_url=running.base_url)
        fetched = resource.fetch(FUEL_MIX, [date(2024, 11, 2), DAY, date(2024, 11, 4)], tmp_path)
        assert sorted(fetched) == [date(2024, 11, 2), DAY]
        (book,) = fetched[DAY]
        assert fetched[date(2024, 11, 2)] == [book]
        assert book.url.endswith(books[0].path) and book.original_name == "IntGenbyFuel2024.xlsx"
        frame = read_dataset_files([book.path], FUEL_MIX)
        assert set(frame["operating_day"]) == {date(2024, 11, 2), DAY}
        days = resource.published_days(FUEL_MIX)
        assert sorted(days) == [date(2024, 11, 2), DAY]
        assert days[DAY].endswith(books[0].path)
        later = fuel_mix_workbooks([date(2024, 11, 2), DAY, date(2024, 11, 4)])
        running.add_fuel_mix_workbooks(later)  # re-posted under a new folder: a new version
        assert resource.published_days(FUEL_MIX)[DAY].endswith(later[0].path)
        assert later[0].path != books[0].path


def test_fuel_mix_older_years_come_out_of_the_previous_years_zip(tmp_path: Path) -> None:
    old, mid, new = date(2022, 11, 6), date(2023, 11, 5), DAY  # three fall-back days
    with ErcotStandInServer(fuel_mix=fuel_mix_workbooks([old, mid, new])) as running:
        resource = ErcotSource(mis_base_url=running.base_url)
        assert set(resource.published_days(FUEL_MIX)) == {mid, new}  # the linked years only
        fetched = resource.fetch(FUEL_MIX, [old, mid], tmp_path)
    (book,) = fetched[old]
    assert book.original_name == "IntGenByFuel2022.xlsx"
    assert book.url.endswith("FuelMixReport_PreviousYears.zip")
    frame = read_dataset_files([book.path], FUEL_MIX)
    assert set(frame["operating_day"]) == {old}
    assert (
        frame.group_by("fuel")
        .agg(pl.col("interval_start_utc").n_unique())["interval_start_utc"]
        .to_list()
        == [100] * 10
    )
    assert fetched[mid][0].original_name == "IntGenbyFuel2023.xlsx"
