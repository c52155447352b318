"""formats/caiso.py on generated OASIS files: DST days, every layout, drift and bad cells."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import caiso as fmt
from power_market_assets.formats import identify_file
from power_market_assets.formats.errors import FormatError
from power_market_assets.quality import checks
from power_market_assets.registry import caiso
from power_market_standins.caiso import (
    COMPONENTS,
    day_csv,
    generate_rows,
    member_name,
    shuffled_csv,
)

FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
NORMAL = date(2024, 11, 4)
N_LOCATIONS = 5
# The price and AS datasets (load, forecasts, fuel mix and renewables:
# test_formats_caiso_fundamentals.py).
PRICE_SPECS = tuple(s for s in caiso.CAISO_DATASETS if s.table_kind in ("price", "ancillary"))
# intervals per location on (spring-forward, normal, fall-back) days
INTERVALS = {60: (23, 24, 25), 15: (92, 96, 100), 5: (276, 288, 300)}


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _day_file(folder: Path, spec, day: date, **options) -> Path:
    rows = generate_rows(spec, [day], N_LOCATIONS, **options)
    folder.mkdir(parents=True, exist_ok=True)
    return _write(folder, *day_csv(rows, day))


def _entity(spec) -> str:
    return "location" if spec.table_kind == "price" else "product"


@pytest.mark.parametrize("spec", PRICE_SPECS, ids=lambda s: s.dataset)
@pytest.mark.parametrize("day", [SPRING_FORWARD, NORMAL, FALL_BACK], ids=str)
def test_dst_days_have_every_interval_once(tmp_path: Path, spec, day: date) -> None:
    path = _day_file(tmp_path, spec, day)
    frame = fmt.read_files([path], spec)
    expected = INTERVALS[spec.interval_minutes][[SPRING_FORWARD, NORMAL, FALL_BACK].index(day)]
    per_entity = frame.group_by(_entity(spec)).agg(pl.col("interval_start_utc").n_unique())
    assert set(per_entity.get_column("interval_start_utc")) == {expected}
    assert frame.get_column("operating_day").unique().to_list() == [day]
    for outcome in (
        checks.check_schema(frame, spec),
        checks.check_duplicates(frame, spec),
        checks.check_gaps(frame, spec),
        checks.check_price_range(frame, spec),
    ):
        assert outcome.passed, outcome.summary
    # The row count the row_count check expects, counted by a byte scan of the file.
    assert fmt.expected_rows(path, spec, 0) == frame.height
    assert list(frame.schema.items()) == list(spec.schema.items())


def test_hour_25_is_the_repeated_standard_time_hour(tmp_path: Path) -> None:
    spec = caiso.DA_PRICES
    frame = fmt.read_files([_day_file(tmp_path, spec, FALL_BACK)], spec)
    hub = frame.filter(pl.col("location") == "TH_NP15_GEN-APND").sort("interval_start_utc")
    local_hours = hub.get_column("interval_start_local").dt.hour().to_list()
    assert local_hours[:4] == [0, 1, 1, 2]
    assert str(hub.get_column("interval_start_utc")[2]) == "2024-11-03 09:00:00+00:00"
    # The raw file labels that interval OPR_HR 25.
    text = (tmp_path / member_name("PRC_LMP", "DAM", "12", FALL_BACK, FALL_BACK)).read_text()
    assert "2024-11-03T09:00:00-00:00,2024-11-03T10:00:00-00:00,2024-11-03,25,0," in text


def test_components_pivot_and_location_types(tmp_path: Path) -> None:
    spec = caiso.RT_PRICES
    frame = fmt.read_files([_day_file(tmp_path, spec, NORMAL)], spec)
    assert (
        frame.select(pl.col("energy", "congestion", "loss").null_count()).sum_horizontal()[0] == 0
    )
    # LMP = MCE + MCC + MCL + MGHG: the greenhouse-gas component is kept in its own column.
    ghg = frame.get_column("ghg")
    assert ghg.null_count() == 0 and ghg.min() >= 0
    residual = frame.select(
        pl.col("lmp") - pl.sum_horizontal("energy", "congestion", "loss", "ghg")
    ).to_series()
    assert residual.abs().max() < 0.011
    types = dict(frame.select("location", "location_type").unique().iter_rows())
    assert types["TH_SP15_GEN-APND"] == "HUB"
    assert types["DLAP_PGAE-APND"] == "ZONE"
    iso_types = dict(frame.select("location", "iso_location_type").unique().iter_rows())
    assert iso_types["TH_SP15_GEN-APND"] == "TH" and iso_types["DLAP_PGAE-APND"] == "DLAP"


def test_as_products_carry_the_region(tmp_path: Path) -> None:
    spec = caiso.AS_PRICES
    frame = fmt.read_files([_day_file(tmp_path, spec, NORMAL)], spec)
    products = set(frame.get_column("product"))
    assert "AS_CAISO_EXP_RU" in products and "AS_NP26_SR" in products
    assert len(products) == len(caiso.AS_REGIONS) * len(caiso.AS_TYPES)


@pytest.mark.parametrize("spec", [caiso.DA_PRICES, caiso.RT_PRICES_15MIN], ids=lambda s: s.dataset)
def test_layouts_give_the_same_table(tmp_path: Path, spec) -> None:
    """GMT columns or Pacific labels only, padded hours, any row order, one file or one
    file per component: the same standard rows."""
    base = fmt.read_files([_day_file(tmp_path / "a", spec, FALL_BACK)], spec)
    variants = {
        "padded": dict(pad_hour=True),
        "labels_only": dict(gmt_columns=False),
    }
    for label, options in variants.items():
        frame = fmt.read_files([_day_file(tmp_path / label, spec, FALL_BACK, **options)], spec)
        assert frame.drop("source_file").equals(base.drop("source_file")), label
    rows = generate_rows(spec, [FALL_BACK], N_LOCATIONS)
    reordered = _write(tmp_path, "reordered.csv", day_csv(rows, FALL_BACK, seed=99)[1])
    assert fmt.read_files([reordered], spec).drop("source_file").equals(base.drop("source_file"))
    parts = []
    for kind, _ in COMPONENTS:
        lines = rows.rows.filter(pl.col("lmp_type") == kind).get_column("line").to_list()
        name = member_name("Q", "M", "1", FALL_BACK, FALL_BACK, kind)
        parts.append(_write(tmp_path, name, shuffled_csv(rows.header, lines, seed=3)))
    split = fmt.read_files(parts, spec)
    assert split.drop("source_file").equals(base.drop("source_file"))
    assert set(split.get_column("source_file")) == {parts[0].name}  # the LMP file
    assert [fmt.expected_rows(p, spec, 0) for p in parts] == [base.height, 0, 0, 0, 0]


def _mutated(tmp_path: Path, spec, edit) -> Path:
    name, data = day_csv(generate_rows(spec, [NORMAL], N_LOCATIONS), NORMAL)
    header, body = data.decode().split("\n", 1)
    header, body = edit(header, body)
    return _write(tmp_path, name, f"{header}\n{body}".encode())


@pytest.mark.parametrize(
    ("spec", "old", "new"),
    [
        (caiso.DA_PRICES, ",NODE,", ",NODE_NAME,"),
        (caiso.DA_PRICES, ",MW,", ",PRICE,"),
        (caiso.RT_PRICES, ",VALUE,", ",MW,"),
        (caiso.AS_PRICES, ",ANC_REGION,", ",REGION,"),
    ],
)
def test_renamed_column_names_file_and_column(tmp_path: Path, spec, old, new) -> None:
    path = _mutated(tmp_path, spec, lambda h, b: (h.replace(old, new), b))
    with pytest.raises(FormatError) as err:
        fmt.read_files([path], spec)
    assert err.value.file == path.name
    assert old.strip(",") in err.value.problem


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    spec = caiso.DA_PRICES

    def drop_lmp_type(header: str, body: str) -> tuple[str, str]:
        index = header.split(",").index("LMP_TYPE")

        def cut(line: str) -> str:
            cells = line.split(",")
            return ",".join(cells[:index] + cells[index + 1 :])

        return cut(header), "\n".join(cut(line) if line else line for line in body.split("\n"))

    path = _mutated(tmp_path, spec, drop_lmp_type)
    with pytest.raises(FormatError, match="LMP_TYPE") as err:
        fmt.read_files([path], spec)
    assert err.value.file == path.name


def test_non_numeric_price_names_file_column_and_value(tmp_path: Path) -> None:
    spec = caiso.DA_PRICES

    def spoil(header: str, body: str) -> tuple[str, str]:
        lines = body.split("\n")
        cells = lines[7].split(",")
        cells[14] = "N/A"
        lines[7] = ",".join(cells)
        return header, "\n".join(lines)

    path = _mutated(tmp_path, spec, spoil)
    with pytest.raises(FormatError) as err:
        fmt.read_files([path], spec)
    assert err.value.file == path.name
    assert "column MW" in err.value.problem and "'N/A'" in err.value.problem


def test_labels_that_disagree_with_gmt_are_an_error(tmp_path: Path) -> None:
    spec = caiso.DA_PRICES

    def shift(header: str, body: str) -> tuple[str, str]:
        lines = body.split("\n")
        cells = lines[0].split(",")
        cells[3] = str(int(cells[3]) % 24 + 1)
        lines[0] = ",".join(cells)
        return header, "\n".join(lines)

    with pytest.raises(FormatError, match="OPR_DT/OPR_HR/OPR_INTERVAL"):
        fmt.read_files([_mutated(tmp_path, spec, shift)], spec)


def test_hour_3_on_spring_forward_day_without_gmt_is_an_error(tmp_path: Path) -> None:
    spec = caiso.DA_PRICES
    rows = generate_rows(spec, [SPRING_FORWARD], 2, gmt_columns=False)
    name, data = day_csv(rows, SPRING_FORWARD)
    bad = data.replace(b"2024-03-10,4,0,", b"2024-03-10,3,0,")
    with pytest.raises(FormatError, match="does not exist|not a valid"):
        fmt.read_files([_write(tmp_path, name, bad)], spec)


def test_repeated_rows_collapse_and_conflicts_fail(tmp_path: Path) -> None:
    spec = caiso.DA_PRICES
    name, data = day_csv(generate_rows(spec, [NORMAL], 2), NORMAL)
    lines = data.decode().rstrip("\n").split("\n")
    repeated = _write(tmp_path, "repeated.csv", ("\n".join([*lines, lines[1]]) + "\n").encode())
    frame = fmt.read_files([repeated], spec)
    assert frame.height == 2 * 24
    assert fmt.expected_rows(repeated, spec, len(lines)) == frame.height
    cells = lines[1].split(",")
    cells[14] = "12345.6"
    conflict = _write(
        tmp_path, "conflict.csv", ("\n".join([*lines, ",".join(cells)]) + "\n").encode()
    )
    with pytest.raises(FormatError, match="two different prices|not MCE"):
        fmt.read_files([conflict], spec)


def test_identify_by_header_and_market_run(tmp_path: Path) -> None:
    for spec in PRICE_SPECS:
        name, data = day_csv(generate_rows(spec, [NORMAL], 2), NORMAL)
        assert fmt.identify(name, data[:4096]) is spec
        assert identify_file(name, data[:4096]) is spec
    name, data = day_csv(generate_rows(caiso.AS_PRICES, [NORMAL], 2), NORMAL)
    assert fmt.identify("20241104_20241104_PRC_INTVL_AS_RTM_v1.csv", data) is None
    ercot = b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice\n"
    assert fmt.identify("x.csv", ercot) is None
    assert fmt.identify("x.csv", b"a,b\n1,2\n") is None
