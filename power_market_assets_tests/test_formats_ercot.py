"""ERCOT MIS readers: the real files, DST days, header eras and bad input."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import IDENTIFY_BYTES
from power_market_assets.formats.csvjoin import split_csv
from power_market_assets.formats.ercot import (
    expected_rows,
    identify,
    identify_dataset,
    json_to_text,
    read_files,
    read_texts,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_LMP, RT_PRICES
from power_market_standins.ercot import api_json_bytes, generate_documents, write_api_json


def _texts(*files: tuple[str, str]):
    return [split_csv(body.encode(), name) for name, body in files]


def _unzip(path: Path, dest: Path) -> list[Path]:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(dest)
        return [dest / n for n in archive.namelist()]


def test_real_dam_file_ingests_to_26664_rows(real_ercot_dir: Path, tmp_path: Path) -> None:
    frame = read_files(_unzip(real_ercot_dir / "dam-spp.zip", tmp_path), DA_PRICES)
    assert frame.height == 26_664
    assert dict(frame.schema) == DA_PRICES.schema
    north = frame.filter(pl.col("location") == "HB_NORTH").sort("interval_start_utc")
    assert north.height == 24
    assert north["interval_start_utc"][0] == datetime(2026, 6, 12, 5, tzinfo=UTC)
    assert north["operating_day"].unique().to_list() == [date(2026, 6, 12)]
    # The leading space in DAM prices is read as a number, not text.
    assert north["lmp"].dtype == pl.Float64
    assert north["location_type"][0] == "HUB"
    assert (
        frame.select(pl.struct("interval_start_utc", "location").is_duplicated().sum()).item() == 0
    )


def test_real_rt_file(real_ercot_dir: Path, tmp_path: Path) -> None:
    frame = read_files(_unzip(real_ercot_dir / "rtm-spp.zip", tmp_path), RT_PRICES)
    assert frame.height == 1_123
    # DeliveryHour 14, interval 2 = 13:15-13:30 CDT = 18:15 UTC.
    assert frame["interval_start_utc"].unique().to_list() == [
        datetime(2026, 6, 11, 18, 15, tzinfo=UTC)
    ]
    counts = dict(frame.group_by("location_type").len().iter_rows())
    assert counts["HUB"] == 7 and counts["ZONE"] == 8 and counts["ZONE_EW"] == 8
    assert counts["DC_TIE"] == 4 and counts["DC_TIE_EW"] == 4
    key = ["interval_start_utc", "location", "location_type"]
    assert not frame.select(pl.struct(key).is_duplicated().any()).item()


RT_HEADER = (
    "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,"
    "SettlementPointType,SettlementPointPrice,DSTFlag"
)
DAM_HEADER = "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"


def _dam_day(day: str, hours: list[tuple[str, str]]) -> str:
    return DAM_HEADER + "".join(
        f"{day},{he},HB_NORTH, {i}.5,{flag}\n" for i, (he, flag) in enumerate(hours)
    )


def test_fall_back_day_has_25_distinct_hours() -> None:
    hours = [("01:00", "N"), ("02:00", "N"), ("02:00", "Y")] + [
        (f"{h:02d}:00", "N") for h in range(3, 25)
    ]
    frame = read_texts(_texts(("dam.csv", _dam_day("11/03/2024", hours))), DA_PRICES)
    starts = frame.sort("interval_start_utc")["interval_start_utc"]
    assert starts.n_unique() == 25
    assert starts[0] == datetime(2024, 11, 3, 5, tzinfo=UTC)  # 00:00 CDT
    assert starts[1] == datetime(2024, 11, 3, 6, tzinfo=UTC)  # 01:00 CDT, HE 02 (N)
    assert starts[2] == datetime(2024, 11, 3, 7, tzinfo=UTC)  # 01:00 CST, HE 02 (Y)
    assert starts[-1] == datetime(2024, 11, 4, 5, tzinfo=UTC)  # HE 24 = 23:00 CST
    assert set(starts.diff().drop_nulls().dt.total_hours().to_list()) == {1}


def test_fall_back_flag_not_row_order() -> None:
    """The Y row may come first (an API sort artefact): the flag decides, not the order."""
    hours = [("01:00", "N"), ("02:00", "Y"), ("02:00", "N")] + [
        (f"{h:02d}:00", "N") for h in range(3, 25)
    ]
    frame = read_texts(_texts(("dam.csv", _dam_day("11/03/2024", hours))), DA_PRICES)
    second = frame.filter(pl.col("source_file") == "dam.csv").row(1, named=True)
    assert second["interval_start_utc"] == datetime(2024, 11, 3, 7, tzinfo=UTC)


def test_spring_forward_day_has_23_hours() -> None:
    hours = [("01:00", "N"), ("02:00", "N")] + [(f"{h:02d}:00", "N") for h in range(4, 25)]
    frame = read_texts(_texts(("dam.csv", _dam_day("03/10/2024", hours))), DA_PRICES)
    starts = frame["interval_start_utc"].sort()
    assert starts.n_unique() == 23
    assert starts[2] == datetime(2024, 3, 10, 8, tzinfo=UTC)  # HE 04:00 starts 03:00 CDT
    assert set(starts.diff().drop_nulls().dt.total_hours().to_list()) == {1}


def test_files_before_dstflag_use_row_order() -> None:
    old = "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice\n" + "".join(
        f"11/03/2024,{he},HB_WEST,1\n"
        for he in ["01:00", "02:00", "02:00"] + [f"{h:02d}:00" for h in range(3, 25)]
    )
    frame = read_texts(_texts(("old.csv", old)), DA_PRICES)
    assert frame["interval_start_utc"].n_unique() == 25


def test_spaced_header_era_and_no_flag_parse_together() -> None:
    new = _dam_day("06/12/2026", [("01:00", "N")])
    spaced = "Delivery Date,Hour Ending,Settlement Point,Settlement Point Price,DSTFlag    \n"
    spaced += "06/12/2026,02:00,HB_NORTH,12\n".replace(",12\n", ",12,N\n")
    frame = read_texts(_texts(("new.csv", new), ("spaced.csv", spaced)), DA_PRICES)
    assert frame.height == 2
    assert sorted(frame["source_file"].to_list()) == ["new.csv", "spaced.csv"]


def test_rt_fall_back_repeated_hour() -> None:
    header = RT_HEADER + "\n"
    first = header + "11/03/2024,2,1,HB_NORTH,HU,20,N\n"
    second = header + "11/03/2024,2,1,HB_NORTH,HU,21,Y\n"
    frame = read_texts(_texts(("a.csv", first), ("b.csv", second)), RT_PRICES)
    assert sorted(frame["interval_start_utc"].to_list()) == [
        datetime(2024, 11, 3, 6, tzinfo=UTC),
        datetime(2024, 11, 3, 7, tzinfo=UTC),
    ]


def test_as_prices() -> None:
    body = (
        "DeliveryDate,HourEnding,AncillaryType,MCPC,DSTFlag\n"
        "08/05/2025,01:00,ECRS,0.07,N\n08/05/2025,01:00,REGDN,0.89,N\n"
    )
    frame = read_texts(_texts(("as.csv", body)), AS_PRICES)
    assert frame.columns == list(AS_PRICES.schema)
    assert frame["product"].to_list() == ["ECRS", "REGDN"]
    assert frame["price"].to_list() == [0.07, 0.89]


def test_missing_column_names_file_and_column() -> None:
    drifted = (
        "DeliveryDate,HourEnding,SettlementPoint,Price,DSTFlag\n06/12/2026,01:00,HB_NORTH, 3,N\n"
    )
    with pytest.raises(FormatError) as info:
        read_texts(_texts(("drifted.csv", drifted)), DA_PRICES)
    assert info.value.file == "drifted.csv"
    assert "SettlementPointPrice" in str(info.value)


def test_non_numeric_price_names_file_and_line() -> None:
    good = _dam_day("06/12/2026", [("01:00", "N")])
    bad = _dam_day("06/12/2026", [("02:00", "N")]).replace(" 0.5", " n/a")
    with pytest.raises(FormatError) as info:
        read_texts(_texts(("good.csv", good), ("bad.csv", bad)), DA_PRICES)
    assert info.value.file == "bad.csv"
    assert "line 2" in str(info.value) and "n/a" in str(info.value)


def test_empty_file_is_an_error() -> None:
    with pytest.raises(FormatError, match="empty.csv"):
        read_texts(_texts(("empty.csv", "")), DA_PRICES)


def test_latin1_bom_and_crlf() -> None:
    body = ("\ufeff" + _dam_day("06/12/2026", [("01:00", "N")])).replace("\n", "\r\n")
    text = split_csv(body.encode("utf-8"), "bom.csv")
    frame = read_texts([text], DA_PRICES)
    assert frame["location"].to_list() == ["HB_NORTH"]
    latin = _dam_day("06/12/2026", [("01:00", "N")]).replace("HB_NORTH", "NODE_É").encode("latin-1")
    frame = read_texts([split_csv(latin, "latin.csv")], DA_PRICES)
    assert frame["location"].to_list() == ["NODE_É"]


def test_identify_dataset_by_header() -> None:
    assert identify_dataset(DAM_HEADER.strip().split(",")) is DA_PRICES
    assert identify_dataset(RT_HEADER.split(",")) is RT_PRICES
    assert (
        identify_dataset(["DeliveryDate", "HourEnding", "AncillaryType", "MCPC", "DSTFlag"])
        is AS_PRICES
    )
    assert identify_dataset(["foo", "bar"]) is None


# --------------------------------------------------------------------------- public API JSON


@pytest.mark.parametrize(
    ("spec", "intervals"), [(DA_PRICES, 25), (RT_PRICES, 100), (AS_PRICES, 25), (RT_LMP, 300)]
)
def test_api_json_reads_like_the_csv_on_the_fall_back_day(spec, intervals, tmp_path) -> None:
    docs = generate_documents(spec, [date(2024, 11, 3)], n_nodes=2)
    path = write_api_json(docs, tmp_path / f"{spec.dataset}.json")
    head = path.read_bytes()[:IDENTIFY_BYTES]
    assert identify(path.name, head) is spec
    from_json = read_files([path], spec)
    from_csv = read_texts(_texts(*((d.csv_name, d.csv_bytes.decode()) for d in docs)), spec)
    key = list(spec.unique_key)
    assert from_json.drop("source_file").sort(key).equals(from_csv.drop("source_file").sort(key))
    assert set(from_json["source_file"].unique()) == {path.name}
    per_series = from_json.group_by(spec.pivot_column, *key[2:]).agg(
        pl.col("interval_start_utc").n_unique()
    )
    assert per_series["interval_start_utc"].unique().to_list() == [intervals]
    assert expected_rows(path, spec, data_lines=0) == from_json.height


def test_api_json_true_row_first_and_iso_dates() -> None:
    """The real 2025-11-02 reply lists the DSTFlag=true row of HE 02 before the false one."""
    reply = {
        "fields": [
            {"name": n}
            for n in ("deliveryDate", "hourEnding", "settlementPoint", "settlementPointPrice")
        ]
        + [{"name": "DSTFlag", "dataType": "BOOLEAN"}],
        "data": [
            ["2025-11-02", "01:00", "HB_HUBAVG", 56.16, False],
            ["2025-11-02", "02:00", "HB_HUBAVG", 48.25, True],
            ["2025-11-02", "02:00", "HB_HUBAVG", 46.44, False],
        ],
    }
    frame = read_texts([json_to_text(json.dumps(reply).encode(), "api.json")], DA_PRICES)
    by_price = dict(zip(frame["lmp"], frame["interval_start_utc"], strict=True))
    assert by_price[48.25] == datetime(2025, 11, 2, 7, tzinfo=UTC)  # CST pass
    assert by_price[46.44] == datetime(2025, 11, 2, 6, tzinfo=UTC)  # CDT pass


def test_api_json_sced_timestamp_in_either_form() -> None:
    docs = generate_documents(RT_LMP, [date(2024, 11, 3)], n_nodes=1)[10:30]
    iso = read_texts([json_to_text(api_json_bytes(docs), "iso.json")], RT_LMP)
    mis = read_texts([json_to_text(api_json_bytes(docs, sced_time_style="mis"), "m.json")], RT_LMP)
    assert iso.drop("source_file").equals(mis.drop("source_file"))
    assert b'"SCEDTimestamp"' in api_json_bytes(docs) and b"T01:" in api_json_bytes(docs)


def test_api_json_drift_and_bad_shapes_name_the_file() -> None:
    docs = generate_documents(RT_LMP, [date(2024, 11, 3)], n_nodes=1)[:2]
    reply = json.loads(api_json_bytes(docs))
    reply["fields"][3]["name"] = "price"
    with pytest.raises(FormatError) as info:
        read_texts([json_to_text(json.dumps(reply).encode(), "drift.json")], RT_LMP)
    assert info.value.file == "drift.json" and "LMP" in info.value.problem
    reply = json.loads(api_json_bytes(docs))
    reply["data"][1] = reply["data"][1][:2]
    with pytest.raises(FormatError, match="data row 1 has 2 values"):
        json_to_text(json.dumps(reply).encode(), "short.json")
    with pytest.raises(FormatError, match='"fields" list'):
        json_to_text(b'{"data": []}', "nofields.json")
    with pytest.raises(FormatError, match="not valid JSON"):
        json_to_text(b'{"fields": [', "cut.json")
    reply = json.loads(api_json_bytes(docs))
    reply["data"][0][3] = "n/a"
    with pytest.raises(FormatError) as info:
        read_texts([json_to_text(json.dumps(reply).encode(), "cell.json")], RT_LMP)
    assert info.value.file == "cell.json" and "n/a" in str(info.value)


def test_identify_json_and_csv() -> None:
    assert identify("x.json", b'{"_meta":{},"fields":[{"name":"SCEDTimestamp"},') is None
    head = (
        b'{"_meta":{"query":{"parameters":{"name":"x"}}},"report":{"reportName":"lmp"},'
        b'"fields":[{"name":"SCEDTimestamp"},{"name":"repeatHourFlag"},'
        b'{"name":"settlementPoint"},{"name":"LMP"}],"data":[["2024-11-03T00:00:12",'
    )
    assert identify("reply.json", head) is RT_LMP
    assert identify("reply.json", b'{"something": "else"}') is None
    assert identify("x.csv", b"DeliveryDate,HourEnding,AncillaryType,MCPC,DSTFlag\n") is AS_PRICES
