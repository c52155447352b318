"""formats/nyiso_fundamentals.py: pal, palIntegrated, isolf, rtfuelmix and BTM solar on real
bytes (fixtures/real/nyiso) and on the stand-in's files: DST days, interval-ending fuel-mix
stamps, every forecast vintage kept, fuel categories, negative generation kept, identify and
expected_rows (no Dagster, no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import expected_rows, identify_file, read_dataset_files
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.nyiso import identify, read_files
from power_market_assets.quality import checks
from power_market_assets.registry import nyiso
from power_market_assets.registry.kinds import ACTUAL_MODEL, STANDARD_FUELS
from power_market_standins.nyiso_fundamentals import generate_files

REAL = Path(__file__).parent / "fixtures" / "real" / "nyiso"
FALL_BACK, SPRING_FORWARD, SUMMER = date(2024, 11, 3), date(2024, 3, 10), date(2024, 7, 1)
FUNDAMENTALS = (nyiso.LOAD, nyiso.LOAD_HOURLY, nyiso.LOAD_FORECAST, nyiso.FUEL_MIX, nyiso.BTM_SOLAR)
FUEL_HEADER = "Time Stamp,Time Zone,Fuel Category,Gen MW"


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _generated(spec, days, tmp_path: Path) -> tuple[pl.DataFrame, list]:
    files = generate_files(spec, days)
    paths = [_write(tmp_path, f.name, f.data) for f in files]
    return read_files(paths, spec), files


def _buckets(frame: pl.DataFrame, spec, *series: str) -> set[int]:
    """Distinct native-interval buckets per series (off-schedule stamps share a bucket)."""
    bucket = pl.col("interval_start_utc").dt.truncate(f"{spec.interval_minutes}m").n_unique()
    return set(frame.group_by(*series).agg(bucket.alias("n")).get_column("n"))


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- real bytes ---------------------------------------------------------------------------------


def test_real_isolf_every_area_and_the_repeated_hour() -> None:
    path = REAL / "20251102isolf.csv"
    frame = read_files([path], nyiso.LOAD_FORECAST)
    assert frame.schema == pl.Schema(nyiso.LOAD_FORECAST.schema)
    assert frame.height == 145 * 12 == expected_rows(path, nyiso.LOAD_FORECAST, 145)
    assert set(frame["area"]) == {*nyiso.ZONES, "NYISO"}
    assert set(frame["model"]) == {"isolf"}
    # Posted ~07:05-08:20 ET on the file's day: published 08:30 EST = 13:30 UTC.
    assert set(frame["published_at_utc"]) == {_utc(2025, 11, 2, 13, 30)}
    assert set(frame["operating_day"]) == {date(2025, 11, 2)}  # the publication day
    capitl = frame.filter(pl.col("area") == "CAPITL").sort("interval_start_utc")
    assert capitl.height == 145  # 25 + 5 x 24 hours, one row each
    assert capitl["interval_start_utc"].is_unique().all()
    repeat = capitl.filter(pl.col("interval_start_local").dt.hour() == 1).head(2)
    assert repeat["interval_start_utc"].to_list() == [_utc(2025, 11, 2, 5), _utc(2025, 11, 2, 6)]
    assert repeat["mw"].to_list() == [1043.0, 1043.0]
    assert capitl["interval_start_utc"].max() == _utc(2025, 11, 8, 4)  # 11/07 23:00 EST
    system = frame.filter(pl.col("area") == "NYISO").row(0, named=True)
    assert system["mw"] == 13719.0


def test_real_pal_time_zone_column_splits_the_repeated_hour() -> None:
    path = REAL / "20251102pal_head.csv"
    frame = read_files([path], nyiso.LOAD)
    assert frame.height == 48 == expected_rows(path, nyiso.LOAD, 48)
    assert frame["interval_start_utc"].is_unique().all()
    edt = frame.filter(pl.col("interval_start_utc") == _utc(2025, 11, 2, 5)).row(0, named=True)
    est = frame.filter(pl.col("interval_start_utc") == _utc(2025, 11, 2, 6)).row(0, named=True)
    assert (edt["mw"], est["mw"]) == (1086.4478, 1065.0978)
    assert edt["area"] == "CAPITL" and edt["interval_end_utc"] == _utc(2025, 11, 2, 5, 5)
    assert set(frame["market"]) == {"RTM"} and set(frame["interval_minutes"]) == {5}


def test_real_fuel_mix_stamps_are_interval_ending() -> None:
    path = REAL / "20251102rtfuelmix_head.csv"
    frame = read_files([path], nyiso.FUEL_MIX)
    assert frame.height == 72
    first = frame.sort("interval_start_utc").row(0, named=True)
    assert first["interval_start_utc"] == _utc(2025, 11, 2, 4)  # stamped 00:05:00 EDT
    # "01:00:00,EST" ends the interval that started 01:55 EDT.
    est = frame.filter((pl.col("fuel") == "Wind") & (pl.col("mw") == 310.0)).row(0, named=True)
    assert est["interval_start_utc"] == _utc(2025, 11, 2, 5, 55)
    assert dict(frame.select("fuel", "fuel_category").unique().iter_rows()) == {
        "Nuclear": "nuclear",
        "Wind": "wind",
    }
    assert frame["iso_total_mw"].is_null().all()  # rtfuelmix has no total row


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("20251102isolf.csv", nyiso.LOAD_FORECAST),
        ("20251102pal_head.csv", nyiso.LOAD),
        ("20251102rtfuelmix_head.csv", nyiso.FUEL_MIX),
    ],
)
def test_real_files_identified_by_content(name: str, spec) -> None:
    head = (REAL / name).read_bytes()[:4096]
    assert identify("dropped.csv", head) is spec
    assert identify_file("dropped.csv", head) is spec


# -- DST days on the stand-in's files ---------------------------------------------------------


@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23), (SUMMER, 24)])
def test_actuals_have_every_interval_of_the_day(day: date, hours: int, tmp_path: Path) -> None:
    for spec, series in (
        (nyiso.LOAD, "area"),
        (nyiso.LOAD_HOURLY, "area"),
        (nyiso.FUEL_MIX, "fuel"),
    ):
        frame, files = _generated(spec, [day], tmp_path)
        assert _buckets(frame, spec, series) == {hours * 60 // spec.interval_minutes}, spec.dataset
        assert set(frame["operating_day"]) == {day}
        assert frame.height == sum(expected_rows(tmp_path / f.name, spec, f.rows) for f in files)
        for check in (checks.check_schema, checks.check_duplicates, checks.check_gaps):
            outcome = check(frame, spec)
            assert outcome.passed, (spec.dataset, outcome.summary)
    btm, _ = _generated(nyiso.BTM_SOLAR, [day], tmp_path)
    actual = btm.filter(pl.col("model") == ACTUAL_MODEL)
    assert _buckets(actual, nyiso.BTM_SOLAR, "area") == {hours}


def test_fall_back_day_counts(tmp_path: Path) -> None:
    """300 five-minute intervals and 25 hours on 2024-11-03 (off-schedule RTD stamps kept)."""
    load, _ = _generated(nyiso.LOAD, [FALL_BACK], tmp_path)
    per_area = load.group_by("area").len()
    assert set(per_area["len"]) == {302}  # 300 regular stamps + 2 off-schedule ones
    assert set(load["area"]) == set(nyiso.ZONES)
    off = load.filter(pl.col("interval_start_utc").dt.second() != 0)
    assert off.height == 2 * 11
    hourly, _ = _generated(nyiso.LOAD_HOURLY, [FALL_BACK], tmp_path)
    assert set(hourly.group_by("area").len()["len"]) == {25}
    fuel, _ = _generated(nyiso.FUEL_MIX, [FALL_BACK], tmp_path)
    assert (
        fuel.filter(pl.col("interval_start_utc").dt.second() == 0)
        .group_by("fuel")
        .len()["len"]
        .to_list()
        == [300] * 7
    )


def test_values_are_realistic(tmp_path: Path) -> None:
    load, _ = _generated(nyiso.LOAD, [FALL_BACK], tmp_path)
    system = (
        load.filter(pl.col("interval_start_utc").dt.second() == 0)
        .group_by("interval_start_utc")
        .agg(pl.col("mw").sum())
    )
    assert system["mw"].min() > 12000 and system["mw"].max() < 25000  # NYCA in November
    fuel, _ = _generated(nyiso.FUEL_MIX, [FALL_BACK], tmp_path)
    generation = fuel.group_by("interval_start_utc").agg(pl.col("mw").sum())
    joined = system.join(generation, on="interval_start_utc", suffix="_gen")
    ratio = joined["mw_gen"] / joined["mw"]
    assert ratio.min() > 0.7 and ratio.max() < 1.05  # generation = load less net imports
    btm, _ = _generated(nyiso.BTM_SOLAR, [FALL_BACK], tmp_path)
    hour = pl.col("interval_start_local").dt.hour()
    assert btm.filter((hour < 6) | (hour > 17))["mw"].max() == 0.0  # no sun at night
    assert btm.filter(hour == 12)["mw"].max() > 0


# -- forecasts: every vintage ------------------------------------------------------------------


def test_two_publications_of_one_interval_are_two_rows(tmp_path: Path) -> None:
    frame, files = _generated(nyiso.LOAD_FORECAST, [date(2024, 11, 2), FALL_BACK], tmp_path)
    assert frame.height == sum(
        expected_rows(tmp_path / f.name, nyiso.LOAD_FORECAST, f.rows) for f in files
    )
    noon = frame.filter(
        (pl.col("area") == "NYISO") & (pl.col("interval_start_utc") == _utc(2024, 11, 4, 17))
    )
    assert noon.height == 2
    assert sorted(noon["published_at_utc"]) == [
        _utc(2024, 11, 2, 12, 30),
        _utc(2024, 11, 3, 13, 30),
    ]
    assert sorted(noon["operating_day"]) == [date(2024, 11, 2), FALL_BACK]
    assert checks.check_duplicates(frame, nyiso.LOAD_FORECAST).passed
    # NYISO is the sum of the zones in every vintage.
    sums = frame.group_by("interval_start_utc", "published_at_utc").agg(
        (
            pl.col("mw").filter(pl.col("area") != "NYISO").sum()
            - pl.col("mw").filter(pl.col("area") == "NYISO").sum()
        ).alias("d")
    )
    assert sums["d"].abs().max() == 0


def test_btm_actual_and_forecast_vintages(tmp_path: Path) -> None:
    frame, files = _generated(nyiso.BTM_SOLAR, [FALL_BACK], tmp_path)
    assert [f.url_path for f in files] == [
        "/public/csv/btmactualforecast/20241103BTMEstimatedActual.csv",
        "/public/csv/btmdaforecast/20241104btmdaforecast.csv",
    ]
    assert set(frame["technology"]) == {"solar"}
    assert set(frame["area"]) == {*nyiso.ZONES, "SYSTEM"}
    assert set(frame["operating_day"]) == {FALL_BACK}  # both land in the partition 11/03
    actual = frame.filter(pl.col("model") == ACTUAL_MODEL)
    forecast = frame.filter(pl.col("model") == "btmdaforecast")
    assert set(actual["published_at_utc"]) == {_utc(2024, 11, 4, 13)}  # 11/04 08:00 EST
    assert set(forecast["published_at_utc"]) == {_utc(2024, 11, 3, 13, 30)}  # 11/03 08:30
    assert actual.height == 25 * 12 and forecast.height == 24 * 12
    assert forecast["interval_start_local"].dt.date().unique().to_list() == [date(2024, 11, 4)]
    zones = (
        actual.filter(pl.col("area") != "SYSTEM")
        .group_by("interval_start_utc")
        .agg(pl.col("mw").sum())
    )
    system = actual.filter(pl.col("area") == "SYSTEM").select("interval_start_utc", "mw")
    diff = zones.join(system, on="interval_start_utc").select(
        (pl.col("mw") - pl.col("mw_right")).abs().max()
    )
    assert diff.item() < 0.02


def test_btm_file_must_say_what_it_is(tmp_path: Path) -> None:
    data = generate_files(nyiso.BTM_SOLAR, [FALL_BACK])[0].data
    path = _write(tmp_path, "solar.csv", data)
    assert identify("solar.csv", data[:4096]) is nyiso.BTM_SOLAR
    with pytest.raises(FormatError, match="BTMEstimatedActual"):
        read_files([path], nyiso.BTM_SOLAR)


# -- fuel categories -----------------------------------------------------------------------------


def test_every_nyiso_fuel_has_one_standard_category() -> None:
    mapping = dict(nyiso.FUEL_MIX.fuel_categories)
    assert set(mapping) == {
        "Dual Fuel", "Natural Gas", "Nuclear", "Hydro", "Wind", "Other Fossil Fuels",
        "Other Renewables",
    }  # fmt: skip
    assert set(mapping.values()) <= set(STANDARD_FUELS)
    assert {c for c, *_ in nyiso.FUEL_MIX.category_bounds} == set(mapping.values())


def test_fuel_categories_mapped_and_negative_generation_kept(tmp_path: Path) -> None:
    text = (
        f"{FUEL_HEADER}\n07/01/2024 00:05:00,EDT,Dual Fuel,2500.0\n"
        "07/01/2024 00:05:00,EDT,Hydro,-250.0\n"
        "07/01/2024 00:05:00,EDT,Other Fossil Fuels,40.0\n"
        "07/01/2024 00:05:00,EDT,Battery Storage,-35.5\n"
    )
    frame = read_files([_write(tmp_path, "20240701rtfuelmix.csv", text)], nyiso.FUEL_MIX)
    got = {r["fuel"]: (r["fuel_category"], r["mw"]) for r in frame.iter_rows(named=True)}
    assert got == {
        "Dual Fuel": ("gas", 2500.0),
        "Hydro": ("hydro", -250.0),  # pumping at Gilboa: negative, not dropped
        "Other Fossil Fuels": ("oil", 40.0),
        "Battery Storage": ("other", -35.5),  # a new name: other, kept
    }
    generated, _ = _generated(nyiso.FUEL_MIX, [SUMMER], tmp_path)
    assert set(generated["fuel_category"]) == {"gas", "nuclear", "hydro", "wind", "oil", "other"}


# -- routing ---------------------------------------------------------------------------------


def test_identify_each_new_file_by_name_and_content() -> None:
    for spec in FUNDAMENTALS:
        for stem in spec.source.file_names:
            assert identify(f"20241103{stem}.csv", b"") is spec
            assert identify(f"20241101{stem}_csv.zip", b"") is spec
        for sample in generate_files(spec, [SUMMER]):
            assert identify(sample.name, sample.data[:4096]) is spec
            assert identify("dropped.csv", sample.data[:4096]) is spec, spec.dataset
    ercot = b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice"
    assert identify("x.csv", ercot) is None
    assert identify("x.csv", b'"Time Stamp","Name","PTID","Unknown"') is None


def test_dispatch_through_the_format_table(tmp_path: Path) -> None:
    for spec in FUNDAMENTALS:
        files = generate_files(spec, [SUMMER])
        paths = [_write(tmp_path, f.name, f.data) for f in files]
        frame = read_dataset_files(paths, spec)
        assert dict(frame.schema) == spec.schema
        assert frame.height == sum(
            expected_rows(p, spec, f.rows) for p, f in zip(paths, files, strict=True)
        )


def test_drifted_header_names_file_and_column(tmp_path: Path) -> None:
    row = '"07/01/2024 00:00:00","EDT","WEST",61752,'
    text = f'"Time Stamp","Time Zone","Name","PTID","Load MW"\n{row}1.0\n'
    with pytest.raises(FormatError, match=r"20240701pal\.csv.*'Load'"):
        read_files([_write(tmp_path, "20240701pal.csv", text)], nyiso.LOAD)
    empty = f'"Time Stamp","Time Zone","Name","PTID","Load"\n{row}\n'
    with pytest.raises(FormatError, match="empty"):
        read_files([_write(tmp_path, "20240701pal.csv", empty)], nyiso.LOAD)


def test_todays_partial_pal_is_an_incomplete_snapshot(tmp_path: Path) -> None:
    """pal grows through the day: a file cut after 120 stamps lands as not yet complete."""
    sample = generate_files(nyiso.LOAD, [FALL_BACK])[0]
    lines = sample.data.split(b"\r\n")
    partial = b"\r\n".join(lines[: 1 + 11 * 120]) + b"\r\n"
    frame = read_files([_write(tmp_path, sample.name, partial)], nyiso.LOAD)
    assert nyiso.LOAD.intraday_snapshots and frame.height == 11 * 120
    outcome = checks.check_gaps(frame, nyiso.LOAD)
    assert outcome.passed
    assert outcome.metadata["complete"] is False
    # 119 of the 300 buckets are there (one of the 120 stamps is off-schedule).
    assert outcome.metadata["not_yet_published"] == 11 * (300 - 119)
