"""PJM's five-minute marginal emission rates (issue 14): the emission-rate kind, the reader of
`fivemin_marginal_emissions` replies and exports, identify, the raw checks, flatten, and one
day through stand-in -> source -> landing -> reader. Its own dataset, never the average
carbon intensity."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import pjm as fmt
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.pjm_resource import PjmSource
from power_market_assets.quality.checks import frame_check_names, frame_checks
from power_market_assets.registry import pjm
from power_market_assets.registry.kinds import EMISSION_RATE, KINDS, kind_named
from power_market_assets.registry.schema import COLUMN_UNITS, column_comment, wide_view_comment
from power_market_assets.sources.landing import land_operating_day
from power_market_assets.transforms.flatten import flatten
from power_market_standins.pjm import csv_export, json_reply
from power_market_standins.pjm_fundamentals import EMISSION_PNODE_IDS, feed_day_items
from power_market_standins.pjm_server import standin_server

SPEC = pjm.MARGINAL_EMISSIONS
FEED = pjm.FIVEMIN_MARGINAL_EMISSIONS
FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
ORDINARY = date(2024, 11, 4)
INTERVALS = {FALL_BACK: 300, SPRING_FORWARD: 276, ORDINARY: 288}
LOCATIONS = len(pjm.EMISSION_LOCATIONS)


def _write(items: list[dict], day: date, folder: Path, *, csv: bool = False) -> Path:
    if csv:
        body = csv_export(items, FEED.field_names, datetime_style="ampm")
        path = folder / f"{FEED.feed}_{day}.csv"
    else:
        body = json_reply(FEED.feed, items, total_rows=len(items), fields=FEED.field_names)
        path = folder / f"{FEED.feed}_{day}_p001.json"
    path.write_bytes(body)
    return path


def _read(day: date, folder: Path, *, csv: bool = False) -> pl.DataFrame:
    path = _write(feed_day_items(FEED, [day]), day, folder, csv=csv)
    frame = fmt.read_files([path], SPEC)
    assert dict(frame.schema) == SPEC.schema
    assert fmt.expected_rows(path, SPEC, 0) == frame.height
    return frame


# --------------------------------------------------------------------------- the kind


def test_the_kind_is_registered_with_its_unit_and_no_combine_role() -> None:
    assert EMISSION_RATE in KINDS and kind_named("emission_rate") is EMISSION_RATE
    assert SPEC.table_kind is EMISSION_RATE and SPEC in pjm.PJM_DATASETS
    assert EMISSION_RATE.unit == SPEC.unit == "lb/MWh"
    assert EMISSION_RATE.key == ("interval_start_utc", "location")
    assert (SPEC.pivot_column, SPEC.value_column) == ("location", "co2")
    assert EMISSION_RATE.role("DAM") is None and EMISSION_RATE.role("RTM") is None
    assert {c: COLUMN_UNITS[c] for c in ("co2", "so2", "nox")} == dict.fromkeys(
        ("co2", "so2", "nox"), "lb/MWh"
    )
    # Never the average intensity: not an input of the combined or fundamentals tables.
    assert SPEC not in pjm.COMBINED_INPUTS
    assert SPEC not in vars(pjm.FUNDAMENTALS_INPUTS).values()


# --------------------------------------------------------------------------- the reader


@pytest.mark.parametrize("day", list(INTERVALS), ids=str)
def test_every_five_minute_interval_of_each_pnode(day, tmp_path) -> None:
    frame = _read(day, tmp_path)
    per_location = frame.group_by("location").agg(pl.col("interval_start_utc").n_unique())
    assert per_location.height == LOCATIONS
    assert set(per_location["interval_start_utc"]) == {INTERVALS[day]}
    assert frame.height == INTERVALS[day] * LOCATIONS
    assert (frame["operating_day"] == day).all()
    assert frame.select(SPEC.unique_key).is_duplicated().sum() == 0


def test_fall_back_repeated_hour_is_two_utc_hours(tmp_path) -> None:
    frame = _read(FALL_BACK, tmp_path).filter(pl.col("location") == "AEP")
    one_am = frame.filter(pl.col("interval_start_local").dt.hour() == 1)
    assert one_am.height == 24  # 01:00-01:55 EDT, then again in EST
    assert one_am["interval_start_utc"].dt.hour().unique().sort().to_list() == [5, 6]


def test_rates_locations_and_ids(tmp_path) -> None:
    frame = _read(ORDINARY, tmp_path)
    assert set(frame["location"]) == set(pjm.EMISSION_LOCATIONS)
    ids = frame.select("location", "location_id").unique()
    assert dict(ids.iter_rows()) == EMISSION_PNODE_IDS
    # Gas or coal on the margin: 800-2,000 lb CO2/MWh; SO2 and NOx small, never negative.
    assert frame["co2"].min() >= 800 and frame["co2"].max() <= 2000
    assert frame["so2"].min() >= 0 and frame["nox"].min() >= 0
    assert frame["so2"].max() < 5 and frame["nox"].max() < 5
    evening = frame.filter(pl.col("interval_start_local").dt.hour() == 19)["co2"].mean()
    midday = frame.filter(pl.col("interval_start_local").dt.hour() == 12)["co2"].mean()
    assert evening > midday  # peakers on the margin at the evening peak


def test_csv_export_reads_like_the_json_reply(tmp_path) -> None:
    (tmp_path / "j").mkdir()
    (tmp_path / "c").mkdir()
    from_json = _read(FALL_BACK, tmp_path / "j").drop("source_file")
    from_csv = _read(FALL_BACK, tmp_path / "c", csv=True).drop("source_file")
    assert from_csv.equals(from_json)


@pytest.mark.parametrize("csv", [False, True], ids=["json", "csv"])
def test_identify(csv, tmp_path) -> None:
    path = _write(feed_day_items(FEED, [ORDINARY])[:500], ORDINARY, tmp_path, csv=csv)
    renamed = path.rename(tmp_path / ("download" + path.suffix))  # not the feed's name
    assert fmt.identify(renamed.name, renamed.read_bytes()[:65536]) is SPEC
    load = feed_day_items(pjm.HRL_LOAD_METERED, [ORDINARY])
    other = tmp_path / "other.json"
    other.write_bytes(json_reply(pjm.HRL_LOAD_METERED.feed, load, total_rows=len(load)))
    assert fmt.identify(other.name, other.read_bytes()[:65536]) is pjm.LOAD
    with pytest.raises(FormatError, match="not one of marginal_emissions"):
        fmt.read_files([other], SPEC)


def _items(**change) -> list[dict]:
    items = feed_day_items(FEED, [ORDINARY])[:50]
    items[7] = {**items[7], **change}
    return items


def test_a_rate_that_is_not_a_number_is_an_error(tmp_path) -> None:
    path = _write(_items(marginal_nox_rate="n/a"), ORDINARY, tmp_path)
    with pytest.raises(FormatError, match="marginal_nox_rate record 8: 'n/a'"):
        fmt.read_files([path], SPEC)


def test_a_missing_so2_rate_is_null_but_co2_is_required(tmp_path) -> None:
    path = _write(_items(marginal_so2_rate=None), ORDINARY, tmp_path)
    frame = fmt.read_files([path], SPEC)
    assert frame["so2"].null_count() == 1 and frame["co2"].null_count() == 0
    path = _write(_items(marginal_co2_rate=None), ORDINARY, tmp_path)
    with pytest.raises(FormatError, match="marginal_co2_rate record 8"):
        fmt.read_files([path], SPEC)


def test_a_reply_without_pnode_id_leaves_location_id_null(tmp_path) -> None:
    items = [{k: v for k, v in i.items() if k != "pnode_id"} for i in _items()]
    frame = fmt.read_files([_write(items, ORDINARY, tmp_path)], SPEC)
    assert frame.height == 50 and frame["location_id"].null_count() == 50


def test_ept_disagreeing_with_utc_is_an_error(tmp_path) -> None:
    path = _write(_items(datetime_beginning_ept="2024-11-04T09:00:00"), ORDINARY, tmp_path)
    with pytest.raises(FormatError, match="disagrees with datetime_beginning_utc"):
        fmt.read_files([path], SPEC)


# --------------------------------------------------------------------------- checks, flatten


def test_raw_checks_pass_and_a_rate_above_cap_fails_value_range(tmp_path) -> None:
    frame = _read(ORDINARY, tmp_path)
    assert frame_check_names(SPEC) == ("schema", "duplicates", "gaps", "value_range")
    assert all(o.passed for o in frame_checks(frame, SPEC).values())
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(9999.0).otherwise(pl.col("co2")).alias("co2")
    )
    outcome = frame_checks(bad, SPEC)["value_range"]
    assert not outcome.passed and "lb/MWh" in outcome.summary
    assert outcome.metadata["above_cap"] == 1


def test_flatten_pivots_locations_with_the_co2_rate(tmp_path) -> None:
    frame = _read(FALL_BACK, tmp_path)
    wide = flatten(frame, SPEC).frame
    assert wide.height == 300
    assert {"aep", "comed", "dom"} <= set(wide.columns)
    aep = frame.filter(pl.col("location") == "AEP").sort("interval_start_utc")["co2"]
    assert wide.sort("interval_start_utc")["aep"].to_list() == aep.to_list()
    # The catalog's comments say lb/MWh and the marginal CO2 rate, never a price or MW.
    assert wide_view_comment(EMISSION_RATE).startswith("one column per location: lb/MWh")
    comment = column_comment("aep", wide=True, kind=EMISSION_RATE) or ""
    assert "marginal CO2" in comment and comment.endswith("lb/MWh")
    assert column_comment("nox") == "marginal NOx emission rate at the location, lb/MWh"


# --------------------------------------------------------------------------- end to end


def test_stand_in_source_landing_reader(tmp_path) -> None:
    """One day fetched from the stand-in Data Miner through the PJM source, landed as stage 1
    and read: every pnode's 300 fall-back intervals, expected_rows agreeing."""
    server = standin_server([FALL_BACK])
    with server:
        source = PjmSource(
            base_url=server.base_url,
            api_key=server.subscription_key,
            min_request_interval_seconds=0.0,
        )
        fetched = source.fetch(SPEC, [FALL_BACK], tmp_path / "download")[FALL_BACK]
    rows = land_operating_day(FALL_BACK, fetched, tmp_path / "csv")
    paths = [Path(r["csv_path"]) for r in rows]
    assert paths and all(p.name.startswith(FEED.feed) for p in paths)
    frame = fmt.read_files(paths, SPEC)
    assert frame.height == 300 * LOCATIONS
    assert sum(fmt.expected_rows(Path(r["csv_path"]), SPEC, r["data_rows"]) for r in rows) == (
        frame.height
    )
    assert all(fmt.identify(p.name, p.read_bytes()[:65536]) is SPEC for p in paths)
