"""formats/isone.py on generated real-format ISO-NE files: C/H/D/T reports, web-service JSON
and SMD workbooks, on DST days, with the UNCONFIRMED layout variants and drifted headers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import identify_file
from power_market_assets.formats import isone as fmt
from power_market_assets.formats.errors import FormatError
from power_market_assets.quality import checks as quality
from power_market_assets.registry import isone as registry
from power_market_standins import isone as samples

FALL, SPRING, NORMAL = date(2024, 11, 3), date(2024, 3, 10), date(2024, 11, 1)
HOURS = {FALL: 25, SPRING: 23, NORMAL: 24}
N = 12


def _write(tmp: Path, files: list[samples.SampleFile]) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        (tmp / f.name).write_bytes(f.body)
        paths.append(tmp / f.name)
    return paths


def _read(tmp: Path, spec, files) -> tuple[pl.DataFrame, list[Path]]:
    paths = _write(tmp, files)
    return fmt.read_files(paths, spec), paths


def _assert_day(frame: pl.DataFrame, spec, day: date, paths: list[Path]) -> None:
    per_hour = 60 // spec.interval_minutes
    entity = spec.pivot_column
    counts = frame.group_by(entity).agg(pl.col("interval_start_utc").n_unique().alias("n"))
    assert set(counts["n"]) == {HOURS[day] * per_hour}
    assert frame.schema == pl.Schema(spec.schema)
    assert frame["operating_day"].unique().to_list() == [day]
    for check in (quality.check_schema, quality.check_duplicates, quality.check_gaps):
        outcome = check(frame, spec)
        assert outcome.passed, outcome.summary
    assert quality.check_price_range(frame, spec).passed
    assert sum(fmt.expected_rows(p, spec, 0) for p in paths) == frame.height


@pytest.mark.parametrize("day", [FALL, SPRING])
@pytest.mark.parametrize("channel", ["reports", "webservices"])
@pytest.mark.parametrize("spec", registry.PRICE_DATASETS, ids=lambda s: s.dataset)
def test_every_dataset_and_channel_on_dst_days(tmp_path, spec, channel, day) -> None:
    files = [f for f in samples.generate_files([spec], [day], N) if f.channel == channel]
    frame, paths = _read(tmp_path, spec, files)
    _assert_day(frame, spec, day, paths)


def test_reports_and_webservices_carry_the_same_prices(tmp_path) -> None:
    spec = registry.DA_PRICES
    files = samples.generate_files([spec], [FALL], N)
    by_channel = [
        fmt.read_files(_write(tmp_path / ch, [f for f in files if f.channel == ch]), spec).drop(
            "source_file", "iso_location_type"
        )
        for ch in ("reports", "webservices")
    ]
    key = ["interval_start_utc", "location"]
    assert by_channel[0].sort(key).equals(by_channel[1].sort(key))


def test_fall_back_hour_labels_map_to_utc(tmp_path) -> None:
    files = samples.report_files(registry.DA_PRICES, FALL, N)
    text = files[0].body.decode()
    assert '"11/03/2024","02X","4000"' in text
    frame, _ = _read(tmp_path, registry.DA_PRICES, files)
    hub = frame.filter(pl.col("location") == ".H.INTERNAL_HUB").sort("interval_start_utc")
    starts = hub["interval_start_utc"].to_list()
    assert starts[0] == datetime(2024, 11, 3, 4, tzinfo=UTC)  # 00:00 EDT
    assert starts[1] == datetime(2024, 11, 3, 5, tzinfo=UTC)  # HE 02: 01:00 EDT
    assert starts[2] == datetime(2024, 11, 3, 6, tzinfo=UTC)  # HE 02X: 01:00 EST
    assert hub["interval_end_utc"][-1] == datetime(2024, 11, 4, 5, tzinfo=UTC)
    assert set(hub["location_type"]) == {"HUB"}
    assert set(frame["location_type"]) == {"HUB", "ZONE", "NODE"}
    assert "EXT. NODE" in set(frame["iso_location_type"])


def test_spring_labels_omit_02_and_start_at_0100_est(tmp_path) -> None:
    files = samples.report_files(registry.DA_PRICES, SPRING, N)
    labels = {
        line.split(",")[2] for line in files[0].body.decode().splitlines() if line[:3] == '"D"'
    }
    assert '"02"' not in labels and '"03"' in labels
    frame, _ = _read(tmp_path, registry.DA_PRICES, files)
    hub = frame.filter(pl.col("location") == ".H.INTERNAL_HUB").sort("interval_start_utc")
    assert hub["interval_start_utc"][1] == datetime(2024, 3, 10, 6, tzinfo=UTC)
    assert hub["interval_start_utc"][2] == datetime(2024, 3, 10, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "style",
    [
        samples.ReportStyle(line_ending="\r\n", trailer=""),
        samples.ReportStyle(trailer="Total Records: {n}", spring_label="02"),
        samples.ReportStyle(five_min_repeat="suffix_x"),
        samples.ReportStyle(five_min_columns=tuple(reversed(samples.FIVE_MIN_HEADER))),
    ],
    ids=["crlf-no-trailer", "other-trailer-spring-02", "5min-02X-marker", "5min-column-order"],
)
@pytest.mark.parametrize("day", [FALL, SPRING])
def test_unconfirmed_layout_variants(tmp_path, style, day) -> None:
    for spec in (registry.DA_PRICES, registry.RT_PRICES, registry.RT_AS_PRICES):
        files = samples.report_files(spec, day, N, style=style)
        frame, paths = _read(tmp_path / spec.dataset, spec, files)
        _assert_day(frame, spec, day, paths)


def test_five_minute_reports_resolve_hub_and_zone_names(tmp_path) -> None:
    files = samples.report_files(registry.RT_PRICES, NORMAL, N)
    assert [f.name for f in files][0] == "lmp_5min_20241101_00-04.csv"
    assert len(files) == 6
    frame, _ = _read(tmp_path, registry.RT_PRICES, files)
    assert set(registry.HUBS + registry.ZONES) <= set(frame["location"])
    first = frame.sort("interval_start_utc")["interval_start_utc"][0]
    assert first == datetime(2024, 11, 1, 4, tzinfo=UTC)  # the stamp is the interval start


def test_reserve_products_carry_the_zone(tmp_path) -> None:
    frame, _ = _read(
        tmp_path, registry.RT_AS_PRICES, samples.report_files(registry.RT_AS_PRICES, NORMAL)
    )
    assert set(frame["product"]) == set(registry.AS_PRODUCTS)
    assert frame.height == 24 * len(registry.AS_PRODUCTS)


@pytest.mark.parametrize("day", [FALL, SPRING])
def test_smd_workbook(tmp_path, day) -> None:
    path = tmp_path / "2024_smd_hourly.xlsx"
    path.write_bytes(samples.smd_workbook_bytes([NORMAL, day], zones=2))
    assert identify_file(path.name, path.read_bytes()[:100]) is registry.DA_PRICES
    for spec in (registry.DA_PRICES, registry.RT_PRICES_HOURLY):
        frame = fmt.read_files([path], spec)
        assert fmt.expected_rows(path, spec, 0) == frame.height
        assert set(frame["location"]) == {".H.INTERNAL_HUB", ".Z.MAINE", ".Z.NEWHAMPSHIRE"}
        hours = frame.group_by("operating_day", "location").len()
        assert set(hours.filter(pl.col("operating_day") == day)["len"]) == {HOURS[day]}
        for check in (quality.check_schema, quality.check_duplicates, quality.check_gaps):
            assert check(frame, spec).passed
        # The same numbers as the report for the hub.
        report, _ = _read(tmp_path / spec.dataset, spec, samples.report_files(spec, day, 9))
        columns = ["interval_start_utc", "location", "lmp", "energy", "congestion", "loss"]
        one = frame.filter(pl.col("operating_day") == day).select(columns).sort(columns[:2])
        other = report.filter(pl.col("location").is_in(one["location"].unique())).select(columns)
        assert one.equals(other.sort(columns[:2]))


def test_identify_by_title_and_json_root() -> None:
    for spec in registry.PRICE_DATASETS:  # load, fuel, forecasts: test_formats_isone_fundamentals
        for f in samples.generate_files([spec], [NORMAL], 10):
            assert fmt.identify(f.name, f.body[:4096]) is spec, f.name
            assert identify_file(f.name, f.body[:4096]) is spec
    assert fmt.identify("x.csv", b"DeliveryDate,HourEnding\n") is None


def _drift(body: bytes, old: str, new: str) -> bytes:
    return body.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        ('"Locational Marginal Price"', '"LMP Value"', "Locational Marginal Price"),
        ('"Energy Component",', "", "Energy Component"),
        ('"Location Name"', '"Node Name"', "Location Name"),
    ],
    ids=["renamed", "missing", "renamed-name"],
)
def test_drifted_report_header_names_file_and_column(tmp_path, old, new, column) -> None:
    f = samples.report_files(registry.DA_PRICES, NORMAL, N)[0]
    path = tmp_path / f.name
    path.write_bytes(_drift(f.body, old, new))
    with pytest.raises(FormatError) as info:
        fmt.read_files([path], registry.DA_PRICES)
    assert info.value.file == f.name
    assert column in info.value.problem


def test_five_minute_drift_and_bad_number(tmp_path) -> None:
    files = samples.report_files(registry.RT_PRICES, NORMAL, N)
    paths = _write(tmp_path, files)
    paths[2].write_bytes(_drift(files[2].body, '"Loss Component"', '"Losses"'))
    with pytest.raises(FormatError, match="Loss Component") as info:
        fmt.read_files(paths, registry.RT_PRICES)
    assert info.value.file == files[2].name
    paths[2].write_bytes(files[2].body)
    lines = files[3].body.decode().split("\n")
    cells = lines[7].split(",")
    cells[3] = "n/a"
    lines[7] = ",".join(cells)
    paths[3].write_bytes("\n".join(lines).encode())
    with pytest.raises(FormatError) as info:
        fmt.read_files(paths, registry.RT_PRICES)
    assert info.value.file == files[3].name
    assert "'LMP'" in info.value.problem and "n/a" in info.value.problem


def test_non_numeric_da_price_names_file_column_value(tmp_path) -> None:
    f = samples.report_files(registry.DA_PRICES, NORMAL, N)[0]
    body = f.body.decode().replace(",0.0,", ",N/A,", 1)
    path = tmp_path / f.name
    path.write_text(body)
    with pytest.raises(FormatError) as info:
        fmt.read_files([path], registry.DA_PRICES)
    assert info.value.file == f.name and "N/A" in info.value.problem
    assert "Component" in info.value.problem


def test_truncated_report_disagrees_with_trailer(tmp_path) -> None:
    f = samples.report_files(registry.DA_PRICES, NORMAL, N)[0]
    lines = f.body.decode().split("\n")
    path = tmp_path / f.name
    path.write_text("\n".join(lines[:20] + lines[-2:]))
    with pytest.raises(FormatError, match="trailer says"):
        fmt.read_files([path], registry.DA_PRICES)


def test_json_drift_and_empty_reply(tmp_path) -> None:
    f = samples.ws_files(registry.DA_PRICES, NORMAL, N)[0]
    path = tmp_path / f.name
    path.write_bytes(f.body.replace(b'"LmpTotal"', b'"Lmp"'))
    with pytest.raises(FormatError, match="LmpTotal") as info:
        fmt.read_files([path], registry.DA_PRICES)
    assert info.value.file == f.name
    path.write_bytes(
        f.body.replace(b'"LmpTotal":', b'"LmpTotal":"x', 1).replace(b',"Energy', b'","Energy', 1)
    )
    with pytest.raises(FormatError, match="'x"):
        fmt.read_files([path], registry.DA_PRICES)
    path.write_bytes(b'{"HourlyLmps":""}')
    assert fmt.read_files([path], registry.DA_PRICES).height == 0
    assert fmt.expected_rows(path, registry.DA_PRICES, 0) == 0


def test_single_json_record_comes_unwrapped(tmp_path) -> None:
    path = tmp_path / "hourlylmp_da_final_20241101.json"
    path.write_text(
        '{"HourlyLmps":{"HourlyLmp":{"BeginDate":"2024-11-01T00:00:00.000-04:00",'
        '"Location":{"@LocId":"4000","@LocType":"HUB","$":".H.INTERNAL_HUB"},"LmpTotal":31.5,'
        '"EnergyComponent":31.28,"CongestionComponent":0,"LossComponent":0.22}}}'
    )
    frame = fmt.read_files([path], registry.DA_PRICES)
    assert frame.height == 1 == fmt.expected_rows(path, registry.DA_PRICES, 0)
    assert frame["interval_start_utc"][0] == datetime(2024, 11, 1, 4, tzinfo=UTC)


def test_smd_sheet_missing_column(tmp_path) -> None:
    path = tmp_path / "smd.xlsx"
    rows = [["Date", "Hr_End", "DA_LMP", "DA_EC", "DA_CC"], [NORMAL, "01", 1.0, 1.0, 0.0]]
    path.write_bytes(samples.xlsx_bytes({"ME": rows}))
    with pytest.raises(FormatError, match="DA_MLC") as info:
        fmt.read_files([path], registry.DA_PRICES)
    assert "smd.xlsx" in info.value.file


def test_empty_report_reads_as_no_rows(tmp_path) -> None:
    path = tmp_path / "WW_DALMP_ISO_20241101.csv"
    path.write_bytes(samples.empty_report(registry.DA_PRICES, NORMAL))
    assert fmt.read_files([path], registry.DA_PRICES).height == 0
    assert fmt.expected_rows(path, registry.DA_PRICES, 7) == 0
