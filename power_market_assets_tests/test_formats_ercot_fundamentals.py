"""formats/ercot_fundamentals.py: ERCOT's load, load forecast, wind and solar files into the
long tables (generator output in the MIS formats; no real file of these reports was found in a
public repository, see docs/reference/fundamentals/ercot.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import IDENTIFY_BYTES, identify_file
from power_market_assets.formats.csvjoin import split_csv
from power_market_assets.formats.ercot import (
    expected_rows,
    expected_text_rows,
    identify,
    read_files,
    read_texts,
)
from power_market_assets.formats.ercot_fundamentals import publish_time_utc
from power_market_assets.formats.errors import FormatError
from power_market_assets.registry.ercot import (
    DA_PRICES,
    FUEL_MIX,
    FUNDAMENTALS_INPUTS,
    LOAD,
    LOAD_FORECAST,
    SOLAR,
    WEATHER_ZONES,
    WIND,
)
from power_market_assets.registry.kinds import ACTUAL_MODEL
from power_market_standins.ercot_fuel_mix import fuel_mix_workbooks
from power_market_standins.ercot_fundamentals import (
    FORECAST_MODELS,
    WIND_HEADER,
    generate_any,
    generate_fundamentals,
)

FALL_BACK, SPRING_FORWARD = date(2024, 11, 3), date(2024, 3, 10)
LOAD_AREAS = {*WEATHER_ZONES, "TOTAL"}


def _texts(docs):
    return [split_csv(d.csv_bytes, d.csv_name) for d in docs]


def _read(spec, docs) -> pl.DataFrame:
    return read_texts(_texts(docs), spec)


@pytest.fixture(scope="module")
def fall_back():
    """Each dataset's documents of the fall-back day (load: its operating day; forecasts and
    renewables: published that day)."""
    return {
        spec.dataset: generate_fundamentals(spec, [FALL_BACK])
        for spec in (LOAD, LOAD_FORECAST, WIND, SOLAR)
    }


# --------------------------------------------------------------------------------- load


@pytest.mark.parametrize(
    ("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23), (date(2024, 11, 4), 24)]
)
def test_load_has_every_hour_of_the_day_per_area(day: date, hours: int) -> None:
    (doc,) = generate_fundamentals(LOAD, [day])
    frame = _read(LOAD, [doc])
    assert dict(frame.schema) == LOAD.schema
    assert set(frame["area"]) == LOAD_AREAS
    per_area = frame.group_by("area").agg(pl.col("interval_start_utc").n_unique().alias("n"))
    assert set(per_area["n"]) == {hours}
    assert set(frame["operating_day"]) == {day}
    assert frame.height == expected_text_rows(_texts([doc])[0], LOAD) == hours * len(LOAD_AREAS)


def test_load_fall_back_repeated_hour_is_the_cst_hour(fall_back) -> None:
    frame = (
        _read(LOAD, fall_back["load"]).filter(pl.col("area") == "TOTAL").sort("interval_start_utc")
    )
    starts = frame["interval_start_utc"].to_list()
    assert starts[0] == datetime(2024, 11, 3, 5, tzinfo=UTC)  # HE 01:00 CDT
    assert starts[1:3] == [
        datetime(2024, 11, 3, 6, tzinfo=UTC),
        datetime(2024, 11, 3, 7, tzinfo=UTC),
    ]
    assert starts[-1] == datetime(2024, 11, 4, 5, tzinfo=UTC)  # HE 24:00 CST
    assert all(b - a == timedelta(hours=1) for a, b in zip(starts, starts[1:], strict=False))


def test_load_total_is_the_sum_of_the_zones_and_tens_of_gw(fall_back) -> None:
    frame = _read(LOAD, fall_back["load"])
    wide = frame.pivot(on="area", index="interval_start_utc", values="mw")
    zones = wide.select(pl.sum_horizontal(list(WEATHER_ZONES))).to_series()
    assert (zones - wide["TOTAL"]).abs().max() < 0.1
    assert wide["TOTAL"].min() > 30_000 and wide["TOTAL"].max() < 80_000
    assert frame["mw"].min() >= 0  # the spec's floor


def test_load_reads_the_published_example_row() -> None:
    """The header confirmed by live downloads and a row as third parties quote it."""
    text = (
        b"OperDay,HourEnding,COAST,EAST,FAR_WEST,NORTH,NORTH_C,SOUTHERN,SOUTH_C,WEST,TOTAL,DSTFlag\n"
        b"10/01/2026,01:00,16023.5,2034.95,7333.67,2026.75,16451.46,5343.57,10647.45,1569.58,61430.93,N\n"
    )
    name = "cdr.00013101.0000000000000000.20261002.055001.ACTUALSYSLOADWZNP6345.csv"
    frame = read_texts([split_csv(text, name)], LOAD)
    total = frame.filter(pl.col("area") == "TOTAL").row(0, named=True)
    assert total["mw"] == 61430.93
    assert total["interval_start_utc"] == datetime(2026, 10, 1, 5, tzinfo=UTC)
    assert frame.filter(pl.col("area") == "FAR_WEST")["mw"].item() == 7333.67


def test_load_without_dst_flag_takes_the_second_label_as_the_repeat() -> None:
    text = (
        b"OperDay,HourEnding,COAST,FAR_WEST,TOTAL\n11/03/2024,02:00,1,2,3\n11/03/2024,02:00,4,5,9\n"
    )
    frame = read_texts([split_csv(text, "old.csv")], LOAD).filter(pl.col("area") == "TOTAL")
    assert sorted(frame["interval_start_utc"]) == [
        datetime(2024, 11, 3, 6, tzinfo=UTC),
        datetime(2024, 11, 3, 7, tzinfo=UTC),
    ]


def test_load_header_drift_names_the_column() -> None:
    text = (
        b"OperDay,HourEnding,COAST,FAR_WEST,TOTAL,Load Zone 9!,DSTFlag\n"
        b"11/03/2024,01:00,1,2,3,4,N\n"
    )
    with pytest.raises(FormatError, match="Load Zone 9!"):
        read_texts([split_csv(text, "drift.csv")], LOAD)


# ----------------------------------------------------------------------------- forecast


def test_forecast_keeps_every_vintage_and_model(fall_back) -> None:
    docs = fall_back["load_forecast"]
    frame = _read(LOAD_FORECAST, docs)
    assert dict(frame.schema) == LOAD_FORECAST.schema
    assert frame.height == sum(expected_text_rows(t, LOAD_FORECAST) for t in _texts(docs))
    assert len(docs) == 25  # one publication an hour of the 25-hour day
    assert frame["published_at_utc"].n_unique() == 25
    assert set(frame["model"]) == set(FORECAST_MODELS)
    assert set(frame["area"]) == LOAD_AREAS  # the actual load's names: FarWest -> FAR_WEST
    assert "in_use_flag" not in frame.columns
    assert frame.select(LOAD_FORECAST.unique_key).is_duplicated().sum() == 0
    one = frame.filter(
        (pl.col("interval_start_utc") == datetime(2024, 11, 5, 18, tzinfo=UTC))
        & (pl.col("area") == "TOTAL")
        & (pl.col("model") == "A6")
    )
    assert one.height == 25 and one["mw"].n_unique() > 1  # two vintages are two rows
    assert set(frame["operating_day"]) == {FALL_BACK}  # partitioned by publication day
    # the publication day and the seven after: 25 + 7 * 24 hours
    assert frame["interval_start_utc"].n_unique() == 25 + 7 * 24


def test_forecast_publish_time_is_the_file_names_central_time(fall_back) -> None:
    doc = fall_back["load_forecast"][0]
    frame = _read(LOAD_FORECAST, [doc])
    assert frame["published_at_utc"].unique().to_list() == [doc.publish_time.astimezone(UTC)]
    assert publish_time_utc(
        "cdr.00014837.0000000000000000.20190101.003000.LFMODWEATHERNP3565.csv", "America/Chicago"
    ) == datetime(2019, 1, 1, 6, 30, tzinfo=UTC)
    with pytest.raises(FormatError, match="no publish time"):
        read_texts([split_csv(doc.csv_bytes, "forecast.csv")], LOAD_FORECAST)


# ---------------------------------------------------------------------------- renewables


def test_wind_actuals_stop_at_the_last_complete_hour(fall_back) -> None:
    docs = fall_back["wind"]
    frame = _read(WIND, docs)
    assert dict(frame.schema) == WIND.schema
    assert set(frame["technology"]) == {"wind"}
    assert set(frame["model"]) == {ACTUAL_MODEL, "HSL", "COP_HSL", "STWPF", "WGRPP"}
    assert set(frame["area"]) == {"SYSTEM_WIDE", "LZ_SOUTH_HOUSTON", "LZ_WEST", "LZ_NORTH"}
    assert frame.height == sum(expected_text_rows(t, WIND) for t in _texts(docs))
    first = frame.filter(pl.col("source_file") == docs[0].csv_name)
    actual = first.filter(pl.col("model") == ACTUAL_MODEL)
    published = docs[0].publish_time.astimezone(UTC)
    assert actual["interval_end_utc"].max() <= published
    assert actual.filter(pl.col("area") == "SYSTEM_WIDE").height == 48
    forecast = first.filter((pl.col("model") == "STWPF") & (pl.col("area") == "SYSTEM_WIDE"))
    assert forecast.height == 48 + 168
    assert frame.select(WIND.unique_key).is_duplicated().sum() == 0
    # every hourly file repeats the last 48 hours of actuals: each is a vintage of its own
    hour = frame.filter(
        (pl.col("model") == ACTUAL_MODEL)
        & (pl.col("area") == "SYSTEM_WIDE")
        & (pl.col("interval_start_utc") == datetime(2024, 11, 2, 12, tzinfo=UTC))
    )
    assert hour["published_at_utc"].n_unique() == hour.height > 1


def test_wind_regions_sum_to_the_system(fall_back) -> None:
    frame = _read(WIND, fall_back["wind"][:1]).filter(pl.col("model") == "STWPF")
    wide = frame.pivot(on="area", index="interval_start_utc", values="mw")
    regions = wide.select(pl.sum_horizontal("LZ_SOUTH_HOUSTON", "LZ_WEST", "LZ_NORTH")).to_series()
    assert (regions - wide["SYSTEM_WIDE"]).abs().max() < 0.1


def test_wind_before_2024_09_26_named_actuals_actual() -> None:
    text = (
        b"DELIVERY_DATE,HOUR_ENDING,ACTUAL_SYSTEM_WIDE,COP_HSL_SYSTEM_WIDE,STWPF_SYSTEM_WIDE,"
        b"WGRPP_SYSTEM_WIDE,ACTUAL_LZ_WEST,STWPF_LZ_WEST,DSTFlag\n"
        b"09/01/2024,13,8000.5,9100,8800,7600,5000,5100,N\n"
        b"09/01/2024,14,,9200,8900,7700,,5200,N\n"
    )
    name = "cdr.00013028.0000000000000000.20240901.135512.WPPHRLYAVGACTNP4732.csv"
    assert identify(name, text) is WIND
    frame = read_texts([split_csv(text, name)], WIND)
    actual = frame.filter(pl.col("model") == ACTUAL_MODEL)
    assert sorted(actual["area"]) == ["LZ_WEST", "SYSTEM_WIDE"]
    assert actual["interval_start_utc"].unique().to_list() == [datetime(2024, 9, 1, 17, tzinfo=UTC)]
    assert frame.height == expected_text_rows(split_csv(text, name), WIND) == 10


def test_solar_is_zero_at_night_and_positive_at_noon(fall_back) -> None:
    frame = _read(SOLAR, fall_back["solar"])
    assert set(frame["technology"]) == {"solar"}
    assert set(frame["model"]) == {ACTUAL_MODEL, "HSL", "COP_HSL", "STPPF", "PVGRPP"}
    local_hour = pl.col("interval_start_local").dt.hour()
    actual = frame.filter(pl.col("model") == ACTUAL_MODEL)
    assert actual.filter(local_hour.is_in([0, 1, 2, 3, 22, 23]))["mw"].max() == 0
    assert actual.filter(local_hour.is_in([11, 12, 13]))["mw"].min() > 5_000


def test_renewable_fall_back_day_has_25_publications_and_hours(fall_back) -> None:
    for spec in (WIND, SOLAR):
        frame = _read(spec, fall_back[spec.dataset])
        assert frame["published_at_utc"].n_unique() == 25
        day = frame.filter(pl.col("interval_start_local").dt.date() == FALL_BACK)
        assert day["interval_start_utc"].n_unique() == 25


# ------------------------------------------------------------------------------ identify


@pytest.mark.parametrize("spec", [LOAD, LOAD_FORECAST, WIND, SOLAR], ids=lambda s: s.dataset)
def test_identify_recognizes_each_new_file(spec, fall_back) -> None:
    doc = fall_back[spec.dataset][0]
    head = doc.csv_bytes[:IDENTIFY_BYTES]
    assert identify(doc.csv_name, head) is spec
    assert identify_file("_joined.csv", head) is spec  # by content, not by name


def test_price_files_are_still_identified() -> None:
    (doc,) = generate_any(DA_PRICES, [FALL_BACK], n_nodes=2)
    assert identify(doc.csv_name, doc.csv_bytes[:IDENTIFY_BYTES]) is DA_PRICES


def test_fundamentals_inputs_name_the_system_areas() -> None:
    assert FUNDAMENTALS_INPUTS.load is LOAD and FUNDAMENTALS_INPUTS.load_area == "TOTAL"
    assert FUNDAMENTALS_INPUTS.load_forecast is LOAD_FORECAST
    assert FUNDAMENTALS_INPUTS.renewables == (WIND, SOLAR)
    assert FUNDAMENTALS_INPUTS.hub == "HB_NORTH"
    assert FUNDAMENTALS_INPUTS.fuel_mix is FUEL_MIX


# ------------------------------------------------------------------------------ fuel mix


@pytest.fixture(scope="module")
def fuel_mix_book(tmp_path_factory) -> Path:
    """A stand-in IntGenbyFuel2024.xlsx holding the fall-back and spring-forward days."""
    (book,) = fuel_mix_workbooks([SPRING_FORWARD, FALL_BACK, date(2024, 11, 4)])
    path = tmp_path_factory.mktemp("fuel_mix") / book.file_name
    path.write_bytes(book.data)
    return path


def test_fuel_mix_quarter_hours_per_day(fuel_mix_book: Path) -> None:
    frame = read_files([fuel_mix_book], FUEL_MIX)
    assert dict(frame.schema) == FUEL_MIX.schema
    per_day = dict(
        frame.group_by("operating_day").agg(pl.col("interval_start_utc").n_unique()).iter_rows()
    )
    assert per_day == {SPRING_FORWARD: 92, FALL_BACK: 100, date(2024, 11, 4): 96}
    assert frame.height == expected_rows(fuel_mix_book, FUEL_MIX, 0)
    assert frame.select(FUEL_MIX.unique_key).is_duplicated().sum() == 0
    assert frame["iso_total_mw"].null_count() == frame.height  # ERCOT gives no interval total
    repeated = frame.filter(
        (pl.col("operating_day") == FALL_BACK) & (pl.col("fuel") == "Nuclear")
    ).sort("interval_start_utc")
    starts = repeated["interval_start_utc"].to_list()
    assert starts[0] == datetime(2024, 11, 3, 5, tzinfo=UTC)
    assert starts[-1] == datetime(2024, 11, 4, 5, 45, tzinfo=UTC)
    assert all(b - a == timedelta(minutes=15) for a, b in zip(starts, starts[1:], strict=False))


def test_fuel_mix_categories_mapped_and_storage_negative_kept(fuel_mix_book: Path) -> None:
    frame = read_files([fuel_mix_book], FUEL_MIX)
    categories = dict(frame.select("fuel", "fuel_category").unique().iter_rows())
    assert categories == {
        "Biomass": "biomass",
        "Coal": "coal",
        "Gas": "gas",
        "Gas-CC": "gas",
        "Hydro": "hydro",
        "Nuclear": "nuclear",
        "Other": "other",
        "Solar": "solar",
        "Wind": "wind",
        "WSL": "storage",
    }
    storage = frame.filter(pl.col("fuel_category") == "storage")
    assert storage.height == 92 + 100 + 96 and storage["mw"].max() < 0  # charging: negative
    for category, floor, cap in FUEL_MIX.category_bounds:
        values = frame.filter(pl.col("fuel_category") == category)["mw"]
        assert values.is_empty() or floor <= values.min() <= values.max() <= cap, category


def test_fuel_mix_is_average_mw_and_adds_up_to_the_load(fuel_mix_book: Path) -> None:
    """The workbook holds quarter-hour MWh: MW is four times the cell."""
    frame = read_files([fuel_mix_book], FUEL_MIX)
    sheets = pl.read_excel(fuel_mix_book, sheet_name="Nov", engine="calamine")
    cell = sheets.filter(pl.col("Fuel") == "Nuclear")["0:15"][0]
    first = frame.filter(
        (pl.col("fuel") == "Nuclear") & (pl.col("interval_start_local").dt.date() == FALL_BACK)
    ).sort("interval_start_utc")
    assert first["mw"][0] == pytest.approx(4 * cell)
    hourly = (
        frame.filter(pl.col("operating_day") == date(2024, 11, 4))
        .group_by("interval_start_utc")
        .agg(pl.col("mw").sum())
    )
    assert hourly["mw"].min() > 30_000 and hourly["mw"].max() < 90_000


def test_fuel_mix_workbook_is_identified_by_name(fuel_mix_book: Path) -> None:
    assert identify(fuel_mix_book.name, fuel_mix_book.read_bytes()[:IDENTIFY_BYTES]) is FUEL_MIX
    assert identify("IntGenByFuel2019.xlsx", b"PK\x03\x04") is FUEL_MIX
    assert identify("DAMLZHBSPP_2024.xlsx", b"PK\x03\x04") is not FUEL_MIX


def test_renewable_publish_times_in_the_repeated_hour_are_told_apart(fall_back) -> None:
    """Both passes of 01:55 on the fall-back day are stamped `..20241103.0155xx..`: the
    files' last actual hour tells the CDT pass from the CST one."""
    for spec in (WIND, SOLAR):
        docs = fall_back[spec.dataset]
        frame = _read(spec, docs)
        published = dict(frame.select("source_file", "published_at_utc").unique().iter_rows())
        assert published == {d.csv_name: d.publish_time.astimezone(UTC) for d in docs}
        repeated = [d for d in docs if d.publish_time.fold == 1 or d.publish_time.hour == 1]
        assert len(repeated) == 2


# ------------------------------------------------------------- real NP4-732-CD lines

REAL_WIND = Path(__file__).parent / "fixtures" / "real" / "ercot" / "np4-732-cd"
REAL_A = "cdr.00013028.0000000000000000.20260929.005514.WPPHRLYAVGACTNP4732.csv"
REAL_B = "cdr.00013028.0000000000000000.20261002.145514.WPPHRLYAVGACTNP4732.csv"


def _real(*names: str) -> list:
    return [split_csv((REAL_WIND / name).read_bytes(), name) for name in names]


def test_real_wind_lines_read_as_published() -> None:
    (text,) = _real(REAL_A)
    assert identify(REAL_A, (REAL_WIND / REAL_A).read_bytes()) is WIND
    assert ",".join(text.header) == WIND_HEADER  # the stand-in writes the real header
    frame = read_texts([text], WIND)
    # 2 lines with all 17 values, 3 future lines without the 4 actuals and the HSL
    assert frame.height == expected_text_rows(text, WIND) == 2 * 17 + 3 * 12
    assert set(frame["published_at_utc"]) == {datetime(2026, 9, 29, 5, 55, 14, tzinfo=UTC)}
    assert set(frame["operating_day"]) == {date(2026, 9, 29)}
    last_actual = frame.filter(
        (pl.col("model") == ACTUAL_MODEL) & (pl.col("area") == "SYSTEM_WIDE")
    ).sort("interval_start_utc")[-1]
    assert last_actual["interval_start_utc"].item() == datetime(2026, 9, 29, 4, tzinfo=UTC)
    assert last_actual["mw"].item() == 21545.7
    hsl = frame.filter((pl.col("model") == "HSL") & (pl.col("area") == "SYSTEM_WIDE"))
    assert sorted(hsl["mw"]) == [11586.53, 22319.54]
    west = frame.filter((pl.col("model") == "STWPF") & (pl.col("area") == "LZ_WEST"))
    assert west.sort("interval_start_utc")["mw"][0] == 6955.2
    assert frame["interval_start_utc"].max() == datetime(2026, 10, 6, 4, tzinfo=UTC)  # HE24


def test_real_wind_two_publications_of_one_hour_are_two_vintages() -> None:
    frame = read_texts(_real(REAL_A, REAL_B), WIND)
    hour = frame.filter(
        (pl.col("interval_start_utc") == datetime(2026, 10, 3, 5, tzinfo=UTC))
        & (pl.col("area") == "SYSTEM_WIDE")
        & (pl.col("model") == "STWPF")
    ).sort("published_at_utc")
    assert hour["mw"].to_list() == [8515.3, 8422.2]
    assert hour["published_at_utc"].to_list() == [
        datetime(2026, 9, 29, 5, 55, 14, tzinfo=UTC),
        datetime(2026, 10, 2, 19, 55, 14, tzinfo=UTC),
    ]
    assert frame.select(WIND.unique_key).is_duplicated().sum() == 0
