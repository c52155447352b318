"""CAISO load, load forecast, fuel mix and renewables (issue 13): readers on the stand-in's
real-layout files (no real file was found in a public repository; see
docs/reference/fundamentals/caiso.md), DST days, vintages, fuel categories, identify, and
stand-in -> source -> reader for one day."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.formats import FORMATS, IDENTIFY_BYTES, identify_file
from power_market_assets.formats import caiso as reader
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.resources import RESOURCES
from power_market_assets.registry import caiso
from power_market_assets.registry.caiso import MarketRun
from power_market_assets.sources.caiso import OasisClient, day_window, error_report
from power_market_assets.sources.landing import land_operating_day
from power_market_standins.caiso import shuffled_csv
from power_market_standins.caiso_fundamentals import (
    FUELSOURCE_COLUMNS,
    fuelsource_csv,
    generate_run_rows,
)
from power_market_standins.servers import environment, standin_environment, standin_server

FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
NORMAL = date(2024, 11, 5)
ACTUAL = MarketRun("ACTUAL", "ACTUAL")
REAL = Path(__file__).parent / "fixtures" / "real" / "caiso"
RUNS = {
    run.model: run
    for run in (
        *caiso.LOAD_FORECAST_RUNS,
        *caiso.LOAD_FORECAST_15MIN_RUNS,
        *caiso.RENEWABLE_RUNS,
    )
}


def oasis_file(tmp_path: Path, spec, run: MarketRun, publication_day: date) -> Path:
    """The OASIS CSV of one market run that publication day `publication_day` brings."""
    rows = generate_run_rows(spec, run, [publication_day])
    target = publication_day + timedelta(days=run.day_offset)
    name = f"{target:%Y%m%d}_{target:%Y%m%d}_{spec.source.query_name}_{run.market_run_id}_v1.csv"
    path = tmp_path / name
    path.write_bytes(shuffled_csv(rows.header, rows.rows.get_column("line").to_list()))
    return path


def fuel_file(tmp_path: Path, day: date, **options) -> Path:
    path = tmp_path / f"{day:%Y%m%d}_fuelsource.csv"
    path.write_bytes(fuelsource_csv(day, **options))
    return path


def read(paths: list[Path], spec) -> pl.DataFrame:
    frame = FORMATS["CAISO"].read_files(paths, spec)
    assert dict(frame.schema) == spec.schema
    expected = sum(FORMATS["CAISO"].expected_rows(p, spec, 0) for p in paths)
    assert frame.height == expected
    return frame


def hours_per(frame: pl.DataFrame, *columns: str) -> set[int]:
    return set(frame.group_by(*columns).len().get_column("len").to_list())


# ---------------------------------------------------------------------------------------------
# load: SLD_FCST ACTUAL


@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23), (NORMAL, 24)])
def test_load_has_every_hour_of_dst_days_per_area(tmp_path: Path, day: date, hours: int) -> None:
    path = oasis_file(tmp_path, caiso.LOAD, ACTUAL, day)
    frame = read([path], caiso.LOAD)
    assert hours_per(frame, "area") == {hours}
    assert set(frame.get_column("area")) == set(caiso.TAC_AREAS)
    assert set(frame.get_column("operating_day")) == {day}
    assert frame.get_column("mw").min() > 0
    if day == FALL_BACK:
        assert b",25,0,ACTUAL," in path.read_bytes()  # the repeated hour is OPR_HR 25


def test_load_system_area_is_the_sum_of_tac_areas(tmp_path: Path) -> None:
    frame = read([oasis_file(tmp_path, caiso.LOAD, ACTUAL, NORMAL)], caiso.LOAD)
    system = frame.filter(pl.col("area") == caiso.SYSTEM_AREA).select("interval_start_utc", "mw")
    parts = (
        frame.filter(pl.col("area") != caiso.SYSTEM_AREA)
        .group_by("interval_start_utc")
        .agg(pl.col("mw").sum().alias("parts"))
    )
    joined = system.join(parts, on="interval_start_utc")
    assert joined.height == 24
    assert (joined.get_column("mw") - joined.get_column("parts")).abs().max() < 0.05
    assert 15_000 < system.get_column("mw").mean() < 35_000  # tens of GW


def test_load_refuses_a_file_without_actual_rows(tmp_path: Path) -> None:
    path = oasis_file(tmp_path, caiso.LOAD_FORECAST, RUNS["DAM"], NORMAL)
    with pytest.raises(FormatError, match="no row of market run ACTUAL .* is 'DAM'"):
        FORMATS["CAISO"].read_files([path], caiso.LOAD)


# ---------------------------------------------------------------------------------------------
# real bytes: an OASIS SLD_FCST answer holding every market run (fixtures/real/caiso/README.md)


@pytest.fixture(scope="module")
def real_sld_fcst(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("real_sld_fcst")
    with zipfile.ZipFile(REAL / "sld_fcst_20230812.zip") as archive:
        (name,) = archive.namelist()
        path = folder / name
        path.write_bytes(archive.read(name))
    return path


def test_real_actual_load(real_sld_fcst: Path) -> None:
    frame = read([real_sld_fcst], caiso.LOAD)
    assert frame.height == 35 * 24  # the ACTUAL lines; the forecast runs are other datasets
    assert hours_per(frame, "area") == {24}
    assert {caiso.SYSTEM_AREA, "PGE-TAC", "SCE-TAC", "SDGE-TAC", "AVA"} <= set(frame["area"])
    # the GMT day 2023-08-13 is Pacific Aug 12 17:00 .. Aug 13 17:00: two operating days
    assert set(frame.get_column("operating_day")) == {date(2023, 8, 12), date(2023, 8, 13)}
    row = frame.filter(
        (pl.col("area") == caiso.SYSTEM_AREA)
        & (pl.col("interval_start_utc") == datetime(2023, 8, 13, 3, tzinfo=UTC))
    )
    assert row.get_column("mw").to_list() == [33913.0]  # OPR_DT 2023-08-12, OPR_HR 21


def test_real_forecast_runs_and_vintages(real_sld_fcst: Path) -> None:
    assert identify_file(real_sld_fcst.name, real_sld_fcst.read_bytes()[:IDENTIFY_BYTES]) is (
        caiso.LOAD_FORECAST  # its first line is a 2DA row
    )
    frame = read([real_sld_fcst], caiso.LOAD_FORECAST)
    assert frame.group_by("model").len().sort("model").rows() == [
        ("2DA", 816),
        ("7DA", 816),
        ("DAM", 816),
    ]
    dam = frame.filter(
        (pl.col("model") == "DAM")
        & (pl.col("interval_start_utc") >= datetime(2023, 8, 13, 7, tzinfo=UTC))
    )
    assert set(dam.get_column("published_at_utc")) == {datetime(2023, 8, 12, 16, 10, tzinfo=UTC)}
    assert set(dam.get_column("operating_day")) == {date(2023, 8, 12)}


def test_real_fifteen_minute_forecast(real_sld_fcst: Path) -> None:
    """The RTM rows of two execution types: only RTPD's (15-minute) are this dataset."""
    frame = read([real_sld_fcst], caiso.LOAD_FORECAST_15MIN)
    assert frame.height == 35 * 96
    assert set(frame.get_column("model")) == {"RTPD"}
    ahead = frame.select(pl.col("interval_start_utc") - pl.col("published_at_utc")).to_series()
    assert set(ahead) == {timedelta(minutes=22, seconds=30)}


def test_real_no_data_answer_is_recognized() -> None:
    report = error_report((REAL / "sld_fcst_no_data.zip").read_bytes())
    assert report is not None and report.code == 1000


# ---------------------------------------------------------------------------------------------
# load_forecast: SLD_FCST DAM, 2DA, 7DA


def test_forecast_vintages_come_from_the_publication_schedule(tmp_path: Path) -> None:
    publication = date(2024, 11, 2)
    paths = [
        oasis_file(tmp_path, caiso.LOAD_FORECAST, run, publication)
        for run in caiso.LOAD_FORECAST_RUNS
    ]
    frame = read(paths, caiso.LOAD_FORECAST)
    assert set(frame.get_column("operating_day")) == {publication}  # the publication day
    published = datetime(2024, 11, 2, 16, 10, tzinfo=UTC)  # 09:10 PDT
    assert set(frame.get_column("published_at_utc")) == {published}
    days = frame.group_by("model").agg(
        pl.col("interval_start_local").dt.date().unique().alias("days")
    )
    assert dict(days.iter_rows()) == {
        "DAM": [date(2024, 11, 3)],
        "2DA": [date(2024, 11, 4)],
        "7DA": [date(2024, 11, 9)],
    }
    dam = frame.filter(pl.col("model") == "DAM")
    assert hours_per(dam, "area") == {25}  # the forecast of the fall-back day


def test_two_publications_of_one_interval_are_two_rows(tmp_path: Path) -> None:
    """The DAM published on Nov 2 and the 2DA published on Nov 1 both forecast Nov 3."""
    dam = oasis_file(tmp_path, caiso.LOAD_FORECAST, RUNS["DAM"], date(2024, 11, 2))
    two_day = oasis_file(tmp_path, caiso.LOAD_FORECAST, RUNS["2DA"], date(2024, 11, 1))
    frame = read([dam, two_day], caiso.LOAD_FORECAST)
    first = frame.filter(
        (pl.col("interval_start_utc") == datetime(2024, 11, 3, 7, tzinfo=UTC))
        & (pl.col("area") == caiso.SYSTEM_AREA)
    ).sort("published_at_utc")
    assert first.get_column("model").to_list() == ["2DA", "DAM"]
    assert first.get_column("published_at_utc").to_list() == [
        datetime(2024, 11, 1, 16, 10, tzinfo=UTC),
        datetime(2024, 11, 2, 16, 10, tzinfo=UTC),
    ]
    assert first.get_column("operating_day").to_list() == [date(2024, 11, 1), date(2024, 11, 2)]
    assert frame.select(caiso.LOAD_FORECAST.unique_key).is_duplicated().sum() == 0


@pytest.mark.parametrize(("day", "quarters"), [(FALL_BACK, 100), (SPRING_FORWARD, 92)])
def test_fifteen_minute_forecast_on_dst_days(tmp_path: Path, day: date, quarters: int) -> None:
    path = oasis_file(tmp_path, caiso.LOAD_FORECAST_15MIN, RUNS["RTPD"], day)
    frame = read([path], caiso.LOAD_FORECAST_15MIN)
    assert hours_per(frame, "area") == {quarters}
    assert set(frame.get_column("operating_day")) == {day}


def test_the_spring_forward_vintage_is_on_daylight_time(tmp_path: Path) -> None:
    path = oasis_file(tmp_path, caiso.LOAD_FORECAST, RUNS["DAM"], date(2024, 3, 9))
    frame = read([path], caiso.LOAD_FORECAST)
    assert hours_per(frame, "area") == {23}
    assert set(frame.get_column("published_at_utc")) == {datetime(2024, 3, 9, 17, 10, tzinfo=UTC)}


# ---------------------------------------------------------------------------------------------
# renewables: SLD_REN_FCST ACTUAL, DAM, HASP


def test_renewable_models_and_vintages(tmp_path: Path) -> None:
    paths = [oasis_file(tmp_path, caiso.RENEWABLES, run, FALL_BACK) for run in caiso.RENEWABLE_RUNS]
    frame = read(paths, caiso.RENEWABLES)
    assert set(frame.get_column("technology")) == {"wind", "solar"}
    assert set(frame.get_column("area")) == set(caiso.RENEWABLE_HUBS)
    assert set(frame.get_column("operating_day")) == {FALL_BACK}
    vintage = pl.col("published_at_utc") - pl.col("interval_start_utc")
    lead = frame.group_by("model").agg(vintage.unique().alias("lead"))
    leads = {model: values for model, values in lead.iter_rows()}
    assert leads["ACTUAL"] == [timedelta(hours=1)]  # the end of the interval
    assert leads["HASP"] == [timedelta(minutes=-90)]
    dam = frame.filter(pl.col("model") == "DAM")
    assert set(dam.get_column("published_at_utc")) == {
        datetime(2024, 11, 3, 15, tzinfo=UTC)
    }  # 07:00 PST
    actual = frame.filter(pl.col("model") == "ACTUAL")
    assert hours_per(actual, "technology", "area") == {25}
    night = actual.filter(
        (pl.col("technology") == "solar") & (pl.col("interval_start_local").dt.hour() < 5)
    )
    assert night.height and night.get_column("mw").max() <= 0  # solar zero (or below) at night
    assert night.get_column("mw").min() > -10


# ---------------------------------------------------------------------------------------------
# fuel_mix: Today's Outlook fuelsource.csv


@pytest.mark.parametrize(
    ("day", "intervals"), [(FALL_BACK, 300), (SPRING_FORWARD, 276), (NORMAL, 288)]
)
def test_fuel_mix_intervals_on_dst_days(tmp_path: Path, day: date, intervals: int) -> None:
    frame = read([fuel_file(tmp_path, day)], caiso.FUEL_MIX)
    assert frame.get_column("interval_start_utc").n_unique() == intervals
    assert hours_per(frame, "fuel") == {intervals}
    assert set(frame.get_column("operating_day")) == {day}


def test_fall_back_second_pass_is_standard_time(tmp_path: Path) -> None:
    frame = read([fuel_file(tmp_path, FALL_BACK)], caiso.FUEL_MIX)
    one_am = frame.filter(
        (pl.col("fuel") == "Solar")
        & (pl.col("interval_start_local").dt.hour() == 1)
        & (pl.col("interval_start_local").dt.minute() == 0)
    )
    assert one_am.get_column("interval_start_utc").to_list() == [
        datetime(2024, 11, 3, 8, tzinfo=UTC),
        datetime(2024, 11, 3, 9, tzinfo=UTC),
    ]


def test_fuel_categories_are_mapped_and_storage_charging_kept(tmp_path: Path) -> None:
    frame = read([fuel_file(tmp_path, NORMAL)], caiso.FUEL_MIX)
    categories = dict(frame.select("fuel", "fuel_category").unique().iter_rows())
    assert categories == {
        "Solar": "solar",
        "Wind": "wind",
        "Geothermal": "geothermal",
        "Biomass": "biomass",
        "Biogas": "biomass",
        "Small hydro": "hydro",
        "Coal": "coal",
        "Nuclear": "nuclear",
        "Natural Gas": "gas",
        "Large Hydro": "hydro",
        "Batteries": "storage",
        "Imports": "imports",
        "Other": "other",
    }
    batteries = frame.filter(pl.col("fuel") == "Batteries").get_column("mw")
    assert batteries.min() < -1000 and batteries.max() > 1000  # charging kept, negative
    total = frame.group_by("interval_start_utc").agg(pl.col("mw").sum()).get_column("mw")
    assert total.min() > 18_000 and total.max() < 32_000  # about the load


def test_an_intraday_snapshot_holds_the_published_intervals_only(tmp_path: Path) -> None:
    until = datetime(2024, 11, 5, 0, 0, tzinfo=UTC)  # 16:00 PST on Nov 4
    frame = read([fuel_file(tmp_path, date(2024, 11, 4), published_until=until)], caiso.FUEL_MIX)
    assert frame.get_column("interval_start_utc").n_unique() == 16 * 12
    assert frame.get_column("interval_start_utc").max() < until


def test_fuel_mix_edge_lines(tmp_path: Path) -> None:
    """A closing 00:00 line is the next day's; an empty cell is no row; CRLF and BOM are fine."""
    header = "Time," + ",".join(FUELSOURCE_COLUMNS)
    cells = ",".join(["100"] * len(FUELSOURCE_COLUMNS))
    body = f"00:00,{cells}\r\n00:05,{cells[:-3]}\r\n00:00,{cells}\r\n"
    path = tmp_path / "20241105_fuelsource.csv"
    path.write_bytes(("\ufeff" + header + "\r\n" + body).encode())
    frame = read([path], caiso.FUEL_MIX)
    assert frame.height == 2 * len(FUELSOURCE_COLUMNS) - 1
    assert frame.get_column("interval_start_utc").max() == datetime(2024, 11, 5, 8, 5, tzinfo=UTC)


def test_a_fuelsource_without_a_date_in_its_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fuelsource.csv"
    path.write_bytes(fuelsource_csv(NORMAL))
    with pytest.raises(FormatError, match="holds no date"):
        FORMATS["CAISO"].read_files([path], caiso.FUEL_MIX)


# ---------------------------------------------------------------------------------------------
# identify


def test_identify_recognizes_each_new_file(tmp_path: Path) -> None:
    files = {
        caiso.LOAD: oasis_file(tmp_path, caiso.LOAD, ACTUAL, NORMAL),
        caiso.FUEL_MIX: fuel_file(tmp_path, NORMAL),
    }
    for spec in (caiso.LOAD_FORECAST, caiso.LOAD_FORECAST_15MIN, caiso.RENEWABLES):
        for run in spec.source.runs:
            folder = tmp_path / f"{spec.dataset}_{run.model}"
            folder.mkdir()
            path = oasis_file(folder, spec, run, NORMAL)
            assert identify_file(path.name, path.read_bytes()[:IDENTIFY_BYTES]) is spec, path
    for spec, path in files.items():
        assert identify_file(path.name, path.read_bytes()[:IDENTIFY_BYTES]) is spec, path
    other = b"Time,Load,Forecast\n00:00,1,2\n"
    assert reader.identify("20241105_demand.csv", other) is None


# ---------------------------------------------------------------------------------------------
# stand-in -> source -> reader


@pytest.fixture(scope="module")
def server():
    with standin_server("CAISO", [date(2024, 11, 2), FALL_BACK], n_locations=2) as running:
        yield running


def fetch(server, spec, days: list[date], folder: Path) -> dict:
    with environment(standin_environment("CAISO", server)):
        resource = RESOURCES["CAISO"].from_env(server.base_url)
        with dg.build_resources({"source": resource}) as built:
            return built.source.fetch(spec, days, folder)


@pytest.mark.parametrize(
    "spec",
    [caiso.LOAD, caiso.LOAD_FORECAST, caiso.LOAD_FORECAST_15MIN, caiso.FUEL_MIX, caiso.RENEWABLES],
    ids=lambda s: s.dataset,
)
def test_standin_source_reader_one_day(server, spec, tmp_path: Path) -> None:
    fetched = fetch(server, spec, [FALL_BACK], tmp_path / "download")
    rows = land_operating_day(FALL_BACK, fetched[FALL_BACK], tmp_path / "csv")
    paths = [Path(row["csv_path"]) for row in rows]
    for path in paths:
        assert identify_file(path.name, path.read_bytes()[:IDENTIFY_BYTES]) is spec, path.name
    frame = FORMATS["CAISO"].read_files(paths, spec)
    assert frame.height > 0 and set(frame.get_column("operating_day")) == {FALL_BACK}
    expected = sum(
        FORMATS["CAISO"].expected_rows(Path(row["csv_path"]), spec, row["data_rows"])
        for row in rows
    )
    assert expected == frame.height


def test_days_not_yet_published_are_absent(server, tmp_path: Path) -> None:
    later = date(2024, 11, 4)  # not served: its DAM (Nov 5) and fuel file do not exist
    assert later not in fetch(server, caiso.LOAD_FORECAST, [FALL_BACK, later], tmp_path / "a")
    assert fetch(server, caiso.FUEL_MIX, [later], tmp_path / "b") == {}
    assert list(fetch(server, caiso.LOAD, [FALL_BACK, later], tmp_path / "c")) == [FALL_BACK]


def test_older_header_spellings_map_to_the_same_categories(tmp_path: Path) -> None:
    header = "Time,Solar,Wind,Natural gas,Large hydro,Small Hydro,Batteries,Imports,Nuclear"
    path = tmp_path / "20190601_fuelsource.csv"
    path.write_bytes(f"{header}\n00:00,0,2000,9000,3000,300,-50,7000,2200\n".encode())
    frame = read([path], caiso.FUEL_MIX)
    categories = dict(frame.select("fuel", "fuel_category").iter_rows())
    assert categories["Natural gas"] == "gas"
    assert categories["Large hydro"] == categories["Small Hydro"] == "hydro"
    assert frame.filter(pl.col("fuel") == "Batteries").get_column("mw").to_list() == [-50.0]


def test_oasis_fundamentals_queries_carry_no_node_selector() -> None:
    client = OasisClient("http://oasis.invalid", nodes=["TH_NP15_GEN-APND"])
    window = day_window(NORMAL, caiso.TIMEZONE)
    params = client.params(caiso.LOAD_FORECAST, window, RUNS["2DA"])
    assert params["queryname"] == "SLD_FCST" and params["market_run_id"] == "2DA"
    assert params["version"] == "1"
    assert "node" not in params and "grp_type" not in params
    assert params["startdatetime"] == "20241105T08:00-0000"
    assert client.params(caiso.DA_PRICES, window)["node"] == "TH_NP15_GEN-APND"


def test_an_intraday_snapshot_then_the_complete_day_through_the_source(tmp_path: Path) -> None:
    """Today's Outlook publishes the day as it goes: the 16:00 snapshot, then the whole day."""
    day = date(2024, 11, 4)
    with standin_server("CAISO", [day], n_locations=2) as running:
        until = datetime(2024, 11, 5, 0, 0, tzinfo=UTC)  # 16:00 PST
        running.outlook_files[day] = fuelsource_csv(day, published_until=until)
        snapshot = fetch(running, caiso.FUEL_MIX, [day], tmp_path / "snapshot")[day]
        running.outlook_files[day] = fuelsource_csv(day)
        complete = fetch(running, caiso.FUEL_MIX, [day], tmp_path / "complete")[day]
    starts = [
        FORMATS["CAISO"]
        .read_files([source.path], caiso.FUEL_MIX)
        .get_column("interval_start_utc")
        .n_unique()
        for source in (*snapshot, *complete)
    ]
    assert starts == [16 * 12, 288]
