"""formats/nyiso.py: LBMP and AS layouts, quoting/line-end variants, DST, interval-ending RTD
stamps, congestion sign, drifted headers (no Dagster, no network)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import expected_rows, identify_file, read_dataset_files
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.nyiso import identify, read_files
from power_market_assets.quality import checks
from power_market_assets.registry import nyiso
from power_market_assets.registry.schema import NODE, ZONE
from power_market_standins.nyiso import CsvStyle, SampleOptions, generate_files

FALL_BACK, SPRING_FORWARD, SUMMER = date(2024, 11, 3), date(2024, 3, 10), date(2024, 7, 1)
LBMP_HEADER = (
    "Time Stamp,Name,PTID,LBMP ($/MWHr),Marginal Cost Losses ($/MWHr),"
    "Marginal Cost Congestion ($/MWHr)"
)
AS_HEADER = (
    "Time Stamp,Time Zone,Name,PTID,10 Min Spinning Reserve ($/MWHr),"
    "10 Min Non-Synchronous Reserve ($/MWHr),30 Min Operating Reserve ($/MWHr),"
    "NYCA Regulation Capacity ($/MWHr)"
)
SMALL = SampleOptions(n_locations=3)
# Load, forecast, fuel mix and BTM solar: test_formats_nyiso_fundamentals.py.
PRICE_DATASETS = [s for s in nyiso.NYISO_DATASETS if s.table_kind in ("price", "ancillary")]


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _read_generated(spec, day, tmp_path: Path, options: SampleOptions = SMALL) -> pl.DataFrame:
    paths = [_write(tmp_path, f.name, f.data) for f in generate_files(spec, [day], options)]
    return read_files(paths, spec)


def _hour_count(frame: pl.DataFrame, spec) -> set[int]:
    """Distinct hours (UTC) per location/product: 23, 24 or 25 on a full day."""
    hours = pl.col("interval_start_utc").dt.truncate("1h").n_unique()
    return set(frame.group_by(spec.pivot_column).agg(hours).get_column("interval_start_utc"))


# -- the real damlbmp_zone lines of ISO_FORMATS 3.4 -------------------------------------------


def test_real_rows_and_congestion_sign(tmp_path: Path) -> None:
    text = (
        f"{LBMP_HEADER}\n09/23/2026 00:00,CAPITL,61757,34.97,1.15,0.00\n"
        "09/23/2026 00:00,H Q,61844,33.72,-0.10,0.00\n"
        "09/23/2026 00:00,PJM,61847,30.30,-0.40,3.12\n"
    )
    path = _write(tmp_path, "20260923damlbmp_zone.csv", text)
    frame = read_files([path], nyiso.DA_PRICES)
    assert frame.schema == pl.Schema(nyiso.DA_PRICES.schema)
    pjm = frame.filter(pl.col("location") == "PJM").row(0, named=True)
    # NYISO: LBMP = energy + losses - published congestion; standard: lmp = e + c + l.
    assert pjm["lmp"] == 30.30 and pjm["loss"] == -0.40 and pjm["congestion"] == -3.12
    assert pjm["energy"] == pytest.approx(33.82)
    assert pjm["energy"] + pjm["congestion"] + pjm["loss"] == pytest.approx(pjm["lmp"])
    assert pjm["interval_start_utc"] == datetime(2026, 9, 23, 4, tzinfo=UTC)
    assert pjm["location_type"] == ZONE and pjm["iso_location_type"] == "ZONE"
    assert frame.filter(pl.col("location") == "H Q").height == 1  # names kept unchanged
    capitl = frame.filter(pl.col("location") == "CAPITL").row(0, named=True)
    assert capitl["congestion"] == 0.0 and str(capitl["congestion"]) == "0.0"  # not -0.0
    got = frame.select(pl.col("energy") + pl.col("congestion") + pl.col("loss") - pl.col("lmp"))
    assert got.to_series().abs().max() < 1e-9


def test_truncated_pre_2016_congestion_header(tmp_path: Path) -> None:
    header = LBMP_HEADER.replace('($/MWHr)"', "").rsplit(",", 1)[0]
    text = (
        f"{header},Marginal Cost Congestion ($/MWH\n01/05/2015 00:00,WEST,61752,30.00,1.00,2.00\n"
    )
    frame = read_files([_write(tmp_path, "20150105damlbmp_zone.csv", text)], nyiso.DA_PRICES)
    assert frame.row(0, named=True)["congestion"] == -2.0


# -- every layout, every quoting and line-end variant ---------------------------------------

LAYOUT_SPECS = {
    "damlbmp": nyiso.DA_PRICES,
    "realtime": nyiso.RT_PRICES,
    "rtlbmp": nyiso.RT_PRICES_HOURLY,
    "damasp": nyiso.AS_PRICES,
    "rtasp": nyiso.RT_AS_PRICES,
}


@pytest.mark.parametrize("folder", sorted(LAYOUT_SPECS))
@pytest.mark.parametrize("quoting", ["none", "text", "all"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_quoting_and_line_end_variants(folder, quoting, newline, tmp_path: Path) -> None:
    spec = LAYOUT_SPECS[folder]
    style = SampleOptions(n_locations=2, styles={folder: CsvStyle(quoting, newline)})
    files = generate_files(spec, [SUMMER], style)
    sample = files[0].data
    assert (b"\r\n" in sample) == (newline == "\r\n")
    assert sample.startswith(b'"Time Stamp"') == (quoting != "none")
    got = _read_generated(spec, SUMMER, tmp_path, style)
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    base = _read_generated(spec, SUMMER, base_dir, SampleOptions(n_locations=2, styles={}))
    assert got.equals(base)
    assert got.height == sum(expected_rows(tmp_path / f.name, spec, f.rows) for f in files)


# -- DST days for every dataset --------------------------------------------------------------


@pytest.mark.parametrize("spec", PRICE_DATASETS, ids=lambda s: s.dataset)
@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23), (SUMMER, 24)])
def test_dst_days_pass_the_checks(spec, day, hours, tmp_path: Path) -> None:
    frame = _read_generated(spec, day, tmp_path)
    assert _hour_count(frame, spec) == {hours}
    per_series = frame.group_by(spec.pivot_column).len().get_column("len").unique().to_list()
    assert per_series == [hours * 60 // spec.interval_minutes]
    assert frame.get_column("operating_day").unique().to_list() == [day]
    for check in (checks.check_schema, checks.check_duplicates, checks.check_gaps):
        outcome = check(frame, spec)
        assert outcome.passed, outcome.summary
    assert checks.check_price_range(frame, spec).passed


def test_fall_back_repeat_told_apart_by_row_order(tmp_path: Path) -> None:
    text = (
        f"{LBMP_HEADER}\n11/02/2025 00:00,WEST,61752,40.00,1.00,0.00\n"
        "11/02/2025 01:00,WEST,61752,50.72,1.00,0.00\n"
        "11/02/2025 01:00,WEST,61752,48.63,1.00,0.00\n"
        "11/02/2025 02:00,WEST,61752,45.00,1.00,0.00\n"
    )
    frame = read_files([_write(tmp_path, "20251102damlbmp_zone.csv", text)], nyiso.DA_PRICES)
    starts = dict(zip(frame["lmp"], frame["interval_start_utc"], strict=True))
    assert starts[50.72] == datetime(2025, 11, 2, 5, tzinfo=UTC)  # 01:00 EDT
    assert starts[48.63] == datetime(2025, 11, 2, 6, tzinfo=UTC)  # 01:00 EST
    assert starts[45.00] == datetime(2025, 11, 2, 7, tzinfo=UTC)


def test_as_time_zone_column_decides_the_repeat(tmp_path: Path) -> None:
    text = (
        f"{AS_HEADER}\n"
        '"11/03/2024 01:00","EST","WEST",61752,2.00,2.00,2.00,2.00\n'
        '"11/03/2024 01:00","EDT","WEST",61752,1.00,1.00,1.00,1.00\n'
    )
    frame = read_files([_write(tmp_path, "20241103damasp.csv", text)], nyiso.AS_PRICES)
    spin = frame.filter(pl.col("product") == "WEST_SPIN_10").sort("interval_start_utc")
    assert spin["price"].to_list() == [1.0, 2.0]  # EDT (05:00 UTC) before EST (06:00 UTC)
    assert set(frame["product"]) == {f"WEST_{p}" for p in nyiso.AS_PRODUCT_COLUMNS}


def test_as_time_zone_label_must_match_the_tz_database(tmp_path: Path) -> None:
    text = f'{AS_HEADER}\n"07/01/2024 01:00","EST","WEST",61752,1.00,1.00,1.00,1.00\n'
    with pytest.raises(FormatError, match="20240701damasp.csv.*contradicts its Time Zone"):
        read_files([_write(tmp_path, "20240701damasp.csv", text)], nyiso.AS_PRICES)


def test_skipped_and_repeated_labels_are_errors(tmp_path: Path) -> None:
    skipped = f"{LBMP_HEADER}\n03/10/2024 02:00,WEST,61752,40.00,1.00,0.00\n"
    with pytest.raises(FormatError, match="'03/10/2024 02:00' does not exist"):
        read_files([_write(tmp_path, "20240310damlbmp_zone.csv", skipped)], nyiso.DA_PRICES)
    twice = f"{LBMP_HEADER}\n" + "07/01/2024 05:00,WEST,61752,40.00,1.00,0.00\n" * 2
    with pytest.raises(FormatError, match="repeated for one name outside the fall-back"):
        read_files([_write(tmp_path, "20240701damlbmp_zone.csv", twice)], nyiso.DA_PRICES)


# -- RTD stamps: interval ending (UNCONFIRMED, so both readings) and off-schedule runs -------


@pytest.mark.parametrize("rule", ["interval_ending", "interval_beginning"])
def test_rt_time_stamp_rule(rule, tmp_path: Path) -> None:
    spec = replace(nyiso.RT_PRICES, source=replace(nyiso.RT_PRICES.source, time_stamp=rule))
    frame = _read_generated(spec, FALL_BACK, tmp_path, SampleOptions(n_locations=2))
    first_stamp = generate_files(spec, [FALL_BACK], SMALL)[0].data.split(b"\n")[1][:22]
    expected_first = (
        b'"11/03/2024 00:05:00"' if rule == "interval_ending" else b'"11/03/2024 00:00:00"'
    )
    assert first_stamp.startswith(expected_first)
    starts = frame.get_column("interval_start_local")
    assert starts.min().replace(tzinfo=None) == datetime(2024, 11, 3, 0, 0)
    assert starts.max().replace(tzinfo=None) == datetime(2024, 11, 3, 23, 55)
    assert checks.check_gaps(frame, spec).passed


def test_rt_interval_ending_across_the_fall_back(tmp_path: Path) -> None:
    text = (
        '"Time Stamp","Name","PTID","LBMP ($/MWHr)","Marginal Cost Losses ($/MWHr)",'
        '"Marginal Cost Congestion ($/MWHr)"\r\n'
        '"11/03/2024 01:00:00","WEST",61752,10.00,0.00,0.00\r\n'
        '"11/03/2024 01:00:00","WEST",61752,20.00,0.00,0.00\r\n'
        '"11/04/2024 00:00:00","WEST",61752,30.00,0.00,0.00\r\n'
    )
    frame = read_files([_write(tmp_path, "20241103realtime_zone.csv", text)], nyiso.RT_PRICES)
    starts = dict(zip(frame["lmp"], frame["interval_start_utc"], strict=True))
    # Ending 01:00 EDT (05:00 UTC) and 01:00 EST (06:00 UTC): starts 5 minutes earlier.
    assert starts[10.0] == datetime(2024, 11, 3, 4, 55, tzinfo=UTC)
    assert starts[20.0] == datetime(2024, 11, 3, 5, 55, tzinfo=UTC)
    assert starts[30.0] == datetime(2024, 11, 4, 4, 55, tzinfo=UTC)  # 23:55 EST, same day
    assert set(frame["operating_day"]) == {FALL_BACK}


def test_off_schedule_rtd_stamps_are_kept(tmp_path: Path) -> None:
    frame = _read_generated(nyiso.RT_PRICES, SUMMER, tmp_path)
    local = frame.get_column("interval_start_local").dt.replace_time_zone(None)
    assert datetime(2024, 7, 1, 0, 10, 12) in local.to_list()  # stamp 00:15:12, not snapped
    assert datetime(2024, 7, 1, 0, 10) not in local.to_list()  # it replaced the 00:15 run
    off = frame.filter(pl.col("interval_start_utc").dt.second() != 0)
    assert off.get_column("interval_start_local").dt.strftime(
        "%H:%M:%S"
    ).unique().sort().to_list() == [
        "00:10:12",
        "14:42:30",
    ]
    assert nyiso.RT_PRICES.irregular_intervals and nyiso.RT_AS_PRICES.irregular_intervals
    # Nominal 5-minute buckets: every location has one row in each of the day's 288.
    buckets = frame.group_by("location").agg(
        pl.col("interval_start_utc").dt.truncate("5m").n_unique().alias("n")
    )
    assert set(buckets["n"]) == {288}
    assert checks.check_gaps(frame, nyiso.RT_PRICES).passed
    rt_as = _read_generated(nyiso.RT_AS_PRICES, SUMMER, tmp_path)
    assert rt_as.filter(pl.col("interval_start_utc").dt.second() != 0).height == 2 * 55


def test_location_types_zone_and_generator_files(tmp_path: Path) -> None:
    frame = _read_generated(nyiso.DA_PRICES, SUMMER, tmp_path)
    kinds = frame.group_by("location_type", "iso_location_type").agg(pl.col("location").n_unique())
    assert sorted(kinds.rows()) == [(NODE, "GEN", 4), (ZONE, "ZONE", 15)]
    ref = frame.filter(pl.col("location") == nyiso.REFERENCE_BUS)
    assert ref.height == 24 and set(ref["congestion"]) == {0.0} and set(ref["loss"]) == {0.0}
    zone_sources = frame.filter(pl.col("location_type") == ZONE)["source_file"].unique()
    assert zone_sources.to_list() == ["20240701damlbmp_zone.csv"]


# -- drifted headers and bad cells ------------------------------------------------------------


RENAMED = LBMP_HEADER.replace("LBMP ($/MWHr)", "LBMP")
MISSING = LBMP_HEADER.rsplit(",", 1)[0]
AS_RENAMED = AS_HEADER.replace("Time Stamp", "Interval Time")
DRIFTS = {
    "renamed": (nyiso.DA_PRICES, "20240701damlbmp_zone.csv", RENAMED, "LBMP ($/MWHr)"),
    "missing": (nyiso.DA_PRICES, "20240701damlbmp_gen.csv", MISSING, "Marginal Cost Congestion"),
    "as-renamed": (nyiso.AS_PRICES, "20240701damasp.csv", AS_RENAMED, "Time Stamp"),
    "rt-as-missing": (nyiso.RT_AS_PRICES, "20240701rtasp.csv", AS_HEADER, "Regulation Movement"),
}


@pytest.mark.parametrize(("spec", "name", "header", "column"), DRIFTS.values(), ids=DRIFTS.keys())
def test_drifted_header_names_file_and_column(spec, name, header, column, tmp_path) -> None:
    path = _write(tmp_path, name, header + "\n")
    with pytest.raises(FormatError) as err:
        read_files([path], spec)
    assert err.value.file == name
    assert column in str(err.value)


def test_non_numeric_and_empty_price_cells(tmp_path: Path) -> None:
    bad = (
        f"{LBMP_HEADER}\n07/01/2024 00:00,WEST,61752,40.00,1.00,0.00\n"
        "07/01/2024 00:00,NORTH,61755,n/a,1.00,0.00\n"
    )
    with pytest.raises(FormatError) as err:
        read_files([_write(tmp_path, "20240701damlbmp_zone.csv", bad)], nyiso.DA_PRICES)
    assert err.value.file == "20240701damlbmp_zone.csv"
    assert "LBMP ($/MWHr)" in str(err.value) and "'n/a'" in str(err.value)
    empty = f"{LBMP_HEADER}\n07/01/2024 00:00,WEST,61752,40.00,,0.00\n"
    with pytest.raises(FormatError, match="Marginal Cost Losses.*empty price"):
        read_files([_write(tmp_path, "20240701damlbmp_gen.csv", empty)], nyiso.DA_PRICES)


# -- routing ----------------------------------------------------------------------------------


def test_identify_by_name_and_by_header() -> None:
    for spec in nyiso.NYISO_DATASETS:
        for stem in spec.source.file_names:
            assert identify(f"20241103{stem}.csv", b"") is spec
            assert identify(f"20241101{stem}_csv.zip", b"") is spec
    rt_head = f'{LBMP_HEADER}\r\n"11/03/2024 00:05:00","WEST",61752,1.00,0.00,0.00\r\n'.encode()
    assert identify("dropped.csv", rt_head) is nyiso.RT_PRICES
    da_head = f"{LBMP_HEADER}\n11/03/2024 00:00,WEST,61752,1.00,0.00,0.00\n".encode()
    assert identify("dropped.csv", da_head) is nyiso.DA_PRICES
    assert identify("x.csv", AS_HEADER.encode()) is nyiso.AS_PRICES
    rt_as = (AS_HEADER + ",NYCA Regulation Movement ($/MW)").encode()
    assert identify("x.csv", rt_as) is nyiso.RT_AS_PRICES
    assert (
        identify("x.csv", b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice") is None
    )
    assert identify_file("20241103damasp.csv", b"") is nyiso.AS_PRICES


def test_dispatch_and_expected_rows(tmp_path: Path) -> None:
    files = generate_files(nyiso.RT_AS_PRICES, [SUMMER], SMALL)
    paths = [_write(tmp_path, f.name, f.data) for f in files]
    frame = read_dataset_files(paths, nyiso.RT_AS_PRICES)
    assert frame.height == expected_rows(paths[0], nyiso.RT_AS_PRICES, files[0].rows)
    assert frame.height == files[0].rows * 5
