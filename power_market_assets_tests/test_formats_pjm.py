"""formats/pjm.py: Data Miner JSON replies and CSV exports into the standard long tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import identify_file
from power_market_assets.formats import pjm as fmt
from power_market_assets.formats.errors import FormatError
from power_market_assets.quality import checks as quality
from power_market_assets.registry import pjm
from power_market_assets.registry.schema import AGGREGATE, HUB, INTERFACE, NODE, ZONE
from power_market_standins.pjm import (
    as_items,
    csv_export,
    feed_items,
    json_reply,
    sample_locations,
    select_fields,
    spec_fields,
    write_csv_day,
    write_json_day,
)

FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
HOURS = {FALL_BACK: 25, SPRING_FORWARD: 23, date(2024, 11, 4): 24}
LAYOUTS = {
    "json": {},
    "csv_ampm_crlf": {"datetime_style": "ampm", "quoting": "none", "line_ending": "\r\n"},
    "csv_iso_quoted_lf": {"datetime_style": "iso", "quoting": "all", "line_ending": "\n"},
    "csv_text_quoted": {"datetime_style": "ampm", "quoting": "text", "line_ending": "\r\n"},
}
N = 5


def _write(spec, day: date, folder: Path, layout: str, n: int = N) -> Path:
    if layout == "json":
        return write_json_day(spec, day, folder, n)
    return write_csv_day(spec, day, folder, n, **LAYOUTS[layout])


def _checks(frame: pl.DataFrame, spec) -> dict[str, bool]:
    return {
        "schema": quality.check_schema(frame, spec).passed,
        "duplicates": quality.check_duplicates(frame, spec).passed,
        "gaps": quality.check_gaps(frame, spec).passed,
        "price_range": quality.check_price_range(frame, spec).passed,
    }


# Forecasts and renewables (a vintage per row) have their own DST tests in
# test_formats_pjm_fundamentals.py: a vintage covers days ahead, not one day.
ONE_DAY_SPECS = [s for s in pjm.PJM_DATASETS if not s.table_kind.vintage_column]


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("day", [FALL_BACK, SPRING_FORWARD])
@pytest.mark.parametrize("spec", ONE_DAY_SPECS, ids=lambda s: s.dataset)
def test_every_dataset_and_layout_on_dst_days(spec, day, layout, tmp_path) -> None:
    path = _write(spec, day, tmp_path, layout)
    frame = fmt.read_files([path], spec)
    assert list(frame.schema.items()) == list(spec.schema.items())
    per_series = frame.group_by(spec.pivot_column).agg(
        pl.len(), pl.col("interval_start_utc").n_unique().alias("distinct")
    )
    intervals = HOURS[day] * 60 // spec.interval_minutes
    assert per_series["len"].to_list() == [intervals] * per_series.height
    assert per_series["distinct"].to_list() == [intervals] * per_series.height
    assert all(_checks(frame, spec).values()), _checks(frame, spec)
    assert fmt.expected_rows(path, spec, path.read_bytes().count(b"\n") - 1) == frame.height
    assert (frame["operating_day"] == day).all()
    assert fmt.identify(path.name, path.read_bytes()[:65536]) is spec


def test_fall_back_hour_is_told_apart_by_the_utc_column(tmp_path) -> None:
    path = _write(pjm.DA_PRICES, FALL_BACK, tmp_path, "csv_ampm_crlf")
    assert b"11/3/2024 1:00:00 AM" in path.read_bytes()  # the EPT label, twice per pnode
    frame = fmt.read_files([path], pjm.DA_PRICES)
    west = frame.filter(pl.col("location") == "WESTERN HUB").sort("interval_start_utc")
    one_am = west.filter(pl.col("interval_start_local").dt.hour() == 1)
    assert one_am["interval_start_utc"].to_list() == [
        datetime(2024, 11, 3, 5, tzinfo=UTC),
        datetime(2024, 11, 3, 6, tzinfo=UTC),
    ]
    assert (west["interval_end_utc"] - west["interval_start_utc"]).dt.total_minutes().eq(60).all()


def test_components_location_types_and_names(tmp_path) -> None:
    path = _write(pjm.DA_PRICES, date(2024, 11, 4), tmp_path, "json", n=16)
    frame = fmt.read_files([path], pjm.DA_PRICES)
    types = dict(frame.select("iso_location_type", "location_type").unique().iter_rows())
    assert types["HUB"] == HUB and types["ZONE"] == ZONE and types["GEN"] == NODE
    assert types["AGGREGATE"] == AGGREGATE and types["INTERFACE"] == INTERFACE
    assert types["RESIDUAL_METERED_EDC"] == AGGREGATE
    total = frame["energy"] + frame["congestion"] + frame["loss"]
    assert (frame["lmp"] - total).abs().max() < 1e-6
    names = {loc.name for loc in sample_locations(16)}
    assert set(frame["location"].unique()) == names  # PJM's own names, unchanged


def test_hub_blanks_as_empty_strings_and_bare_download_list(tmp_path) -> None:
    items = select_fields(
        feed_items(pjm.DA_PRICES, [FALL_BACK], N, blank="empty"), spec_fields(pjm.DA_PRICES)
    )
    path = tmp_path / "da_hrl_lmps.json"
    path.write_bytes(json.dumps(items).encode())  # download=true: the bare list
    frame = fmt.read_files([path], pjm.DA_PRICES)
    assert frame.height == len(items) == 25 * N
    assert fmt.identify(path.name, path.read_bytes()) is pjm.DA_PRICES


def test_pages_of_one_day_read_together(tmp_path) -> None:
    spec = pjm.RT_PRICES
    items = select_fields(feed_items(spec, [FALL_BACK], 3), spec_fields(spec))
    paths = []
    for n, start in enumerate(range(0, len(items), 250)):
        body = json_reply("rt_fivemin_hrl_lmps", items[start : start + 250],
                          total_rows=len(items), start_row=start + 1, row_count=250)  # fmt: skip
        paths.append(tmp_path / f"rt_fivemin_hrl_lmps_{FALL_BACK}_p{n + 1:03d}.json")
        paths[-1].write_bytes(body)
    frame = fmt.read_files(paths, spec)
    assert frame.height == 300 * 3 and frame["source_file"].n_unique() == len(paths)
    assert quality.check_gaps(frame, spec).passed


def test_superseded_and_non_price_rows_are_dropped_and_counted_out(tmp_path) -> None:
    items = select_fields(feed_items(pjm.DA_PRICES, [FALL_BACK], 2), spec_fields(pjm.DA_PRICES))
    old = dict(items[0], row_is_current=False, version_nbr=0, total_lmp_da=999.0)
    path = tmp_path / "da.json"
    path.write_bytes(json_reply("da_hrl_lmps", [old, *items], total_rows=len(items) + 1))
    frame = fmt.read_files([path], pjm.DA_PRICES)
    assert frame.height == len(items) and 999.0 not in frame["lmp"].to_list()
    assert fmt.expected_rows(path, pjm.DA_PRICES, 0) == len(items)
    csv_path = tmp_path / "da.csv"
    csv_path.write_bytes(csv_export([old, *items], spec_fields(pjm.DA_PRICES)))
    assert fmt.read_files([csv_path], pjm.DA_PRICES).height == len(items)
    assert fmt.expected_rows(csv_path, pjm.DA_PRICES, len(items) + 1) == len(items)

    with_ratio = as_items(pjm.AS_PRICES, FALL_BACK, ratio_rows=True)
    as_path = tmp_path / "as.json"
    as_path.write_bytes(json_reply("da_ancillary_services", with_ratio, total_rows=len(with_ratio)))
    as_frame = fmt.read_files([as_path], pjm.AS_PRICES)
    assert as_frame.height == 25 * len(pjm.AS_PRODUCTS) < len(with_ratio)
    assert fmt.expected_rows(as_path, pjm.AS_PRICES, 0) == as_frame.height


@pytest.mark.parametrize("layout", ["json", "csv_ampm_crlf"])
@pytest.mark.parametrize(
    ("old", "new"), [("total_lmp_da", "total_lmp"), ("congestion_price_da", None)]
)
def test_drifted_header_names_file_and_column(tmp_path, layout, old, new) -> None:
    items = select_fields(feed_items(pjm.DA_PRICES, [FALL_BACK], 2), spec_fields(pjm.DA_PRICES))
    drifted = []
    for item in items:
        value = item.pop(old)
        if new:
            item[new] = value
        drifted.append(item)
    name = "drifted." + ("json" if layout == "json" else "csv")
    path = tmp_path / name
    fields = list(drifted[0])
    body = json_reply("da_hrl_lmps", drifted, total_rows=len(drifted))
    path.write_bytes(body if layout == "json" else csv_export(drifted, fields))
    with pytest.raises(FormatError) as err:
        fmt.read_files([path], pjm.DA_PRICES)
    assert err.value.file == name and old in err.value.problem


@pytest.mark.parametrize("layout", ["json", "csv"])
def test_non_numeric_price_names_file_column_and_value(tmp_path, layout) -> None:
    items = select_fields(feed_items(pjm.DA_PRICES, [FALL_BACK], 2), spec_fields(pjm.DA_PRICES))
    items[3]["congestion_price_da"] = "n/a"
    path = tmp_path / f"bad.{layout}"
    body = json_reply("da_hrl_lmps", items, total_rows=len(items))
    path.write_bytes(body if layout == "json" else csv_export(items, spec_fields(pjm.DA_PRICES)))
    with pytest.raises(FormatError) as err:
        fmt.read_files([path], pjm.DA_PRICES)
    assert err.value.file == path.name
    assert "congestion_price_da" in err.value.problem and "'n/a'" in err.value.problem


def test_ept_that_disagrees_with_utc_is_an_error(tmp_path) -> None:
    items = select_fields(feed_items(pjm.DA_PRICES, [FALL_BACK], 2), spec_fields(pjm.DA_PRICES))
    items[0]["datetime_beginning_ept"] = "2024-11-03T05:00:00"  # the UTC label, not EPT
    path = tmp_path / "shifted.json"
    path.write_bytes(json_reply("da_hrl_lmps", items, total_rows=len(items)))
    with pytest.raises(FormatError, match="datetime_beginning_ept") as err:
        fmt.read_files([path], pjm.DA_PRICES)
    assert err.value.file == "shifted.json"


def test_error_reply_saved_as_a_page_is_a_format_error(tmp_path) -> None:
    path = tmp_path / "page.json"
    path.write_text('{"errors":[{"message":"bad"}],"code":400,"message":"The request is invalid."}')
    with pytest.raises(FormatError, match="error reply"):
        fmt.read_files([path], pjm.DA_PRICES)


def test_identify_does_not_confuse_feeds(tmp_path) -> None:
    spec5, spec60 = pjm.RT_PRICES, pjm.RT_PRICES_HOURLY
    five = write_csv_day(spec5, FALL_BACK, tmp_path / "a", 2).read_bytes()
    hourly = write_csv_day(spec60, FALL_BACK, tmp_path / "b", 2).read_bytes()
    # Same fields: the interval starts decide when the name says nothing.
    assert fmt.identify("export.csv", five) is spec5
    assert fmt.identify("export.csv", hourly) is spec60
    # A head that shows a single interval start is not enough without a name ...
    one_start = b"\r\n".join(hourly.split(b"\r\n")[:3]) + b"\r\n"
    assert fmt.identify("export.csv", one_start) is None
    # ... but the feed name in the file name or the reply's links is.
    assert fmt.identify("rt_hrl_lmps (3).csv", one_start) is spec60
    json5 = write_json_day(spec5, FALL_BACK, tmp_path, 2).read_bytes()
    assert fmt.identify("page.json", json5[:2000]) is spec5
    da = write_json_day(pjm.DA_PRICES, FALL_BACK, tmp_path, 2).read_bytes()
    assert fmt.identify("rt_fivemin_hrl_lmps.json", da) is pjm.DA_PRICES  # fields win
    assert identify_file("x.json", da) is pjm.DA_PRICES
    assert (
        fmt.identify("x.csv", b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice\n")
        is None
    )
    assert fmt.identify("x.csv", b"a,b,c\n1,2,3\n") is None
