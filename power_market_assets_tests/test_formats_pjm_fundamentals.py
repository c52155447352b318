"""PJM fundamentals (issue 13): load, instantaneous load, the seven-day load forecast, the fuel
mix, wind and solar, from Data Miner replies (real ones where found) into their long tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import pjm as fmt
from power_market_assets.formats.errors import FormatError
from power_market_assets.registry import pjm
from power_market_assets.registry.kinds import ACTUAL_MODEL
from power_market_standins.pjm import csv_export, json_reply
from power_market_standins.pjm_fundamentals import LOAD_FORECAST_VINTAGES, feed_day_items

REAL = Path(__file__).parent / "fixtures" / "real" / "pjm"
FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
HOURS = {FALL_BACK: 25, SPRING_FORWARD: 23}
FEEDS = [(feed, spec) for spec in pjm.PJM_DATASETS for feed in spec.source.feeds]


def _write(feed: pjm.PjmFeed, day: date, folder: Path, *, csv: bool = False) -> Path:
    """One day of a feed as the stand-in serves it: a JSON reply page or a CSV export."""
    items = feed_day_items(feed, [day])
    if csv:
        body = csv_export(items, feed.field_names, datetime_style="ampm")
        path = folder / f"{feed.feed}_{day}.csv"
    else:
        body = json_reply(feed.feed, items, total_rows=len(items), fields=feed.field_names)
        path = folder / f"{feed.feed}_{day}_p001.json"
    path.write_bytes(body)
    return path


def _sub(folder: Path, name: str) -> Path:
    (folder / name).mkdir()
    return folder / name


def _day(spec: pjm.DatasetSpec, day: date, folder: Path, **style) -> pl.DataFrame:
    paths = [_write(feed, day, folder, **style) for feed in spec.source.feeds]
    frame = fmt.read_files(paths, spec)
    assert dict(frame.schema) == spec.schema
    assert sum(fmt.expected_rows(p, spec, 0) for p in paths) == frame.height
    assert frame.select(spec.unique_key).is_duplicated().sum() == 0
    return frame


# --------------------------------------------------------------------------- real bytes


def test_real_hourly_solar_forecast_reply() -> None:
    path = REAL / "pjm_hourly_solar_forecast_response.json"
    items = json.loads(path.read_bytes())["items"]
    assert fmt.identify(path.name, path.read_bytes()[:65536]) is pjm.SOLAR
    frame = fmt.read_files([path], pjm.SOLAR)
    assert frame.height == 2 * len(items) == fmt.expected_rows(path, pjm.SOLAR, 0)
    assert set(frame["model"]) == {"HOURLY", "HOURLY_BTM"}
    assert set(frame["technology"]) == {"solar"} and set(frame["area"]) == {"RTO"}
    # 24 hourly vintages published on 2024-10-01 EPT, each 48 hours ahead, all kept.
    per_vintage = frame.filter(pl.col("model") == "HOURLY").group_by("published_at_utc").len()
    assert per_vintage.height == 24 and set(per_vintage["len"]) == {48}
    assert set(frame["operating_day"]) == {date(2024, 10, 1)}
    first = frame.filter(pl.col("published_at_utc") == datetime(2024, 10, 1, 4, tzinfo=UTC))
    assert first["interval_start_utc"].min() == datetime(2024, 10, 1, 4, tzinfo=UTC)
    btm = frame.filter(pl.col("model") == "HOURLY_BTM")["mw"].max()
    assert btm == max(i["solar_forecast_btm_mwh"] for i in items)


def test_real_hourly_wind_forecast_reply() -> None:
    path = REAL / "pjm_hourly_wind_forecast_response.json"
    assert fmt.identify(path.name, path.read_bytes()[:65536]) is pjm.WIND
    frame = fmt.read_files([path], pjm.WIND)
    assert frame.height == 6072 == fmt.expected_rows(path, pjm.WIND, 0)
    assert frame["published_at_utc"].n_unique() == 144  # every ten minutes
    # The first item of the reply: evaluated 04:00 UTC for the hour starting 09:00 UTC.
    first = frame.filter(
        (pl.col("published_at_utc") == datetime(2024, 10, 1, 4, tzinfo=UTC))
        & (pl.col("interval_start_utc") == datetime(2024, 10, 1, 9, tzinfo=UTC))
    )
    assert first["mw"].to_list() == [2725.585]
    assert first["interval_start_local"].dt.hour().to_list() == [5]  # 05:00 EDT


# --------------------------------------------------------------------------- DST days


@pytest.mark.parametrize("day", [FALL_BACK, SPRING_FORWARD])
@pytest.mark.parametrize(
    ("spec", "per_day"),
    [(pjm.LOAD, 1), (pjm.LOAD_INSTANTANEOUS, 12), (pjm.FUEL_MIX, 1)],
    ids=lambda v: getattr(v, "dataset", str(v)),
)
def test_actuals_have_every_interval_of_dst_days(spec, per_day, day, tmp_path) -> None:
    frame = _day(spec, day, tmp_path)
    counts = frame.group_by(spec.pivot_column).agg(pl.col("interval_start_utc").n_unique())
    assert set(counts["interval_start_utc"]) == {HOURS[day] * per_day}
    assert (frame["operating_day"] == day).all()


@pytest.mark.parametrize("day", [FALL_BACK, SPRING_FORWARD])
@pytest.mark.parametrize("spec", [pjm.WIND, pjm.SOLAR], ids=lambda s: s.dataset)
def test_renewable_actuals_on_dst_days(spec, day, tmp_path) -> None:
    frame = _day(spec, day, tmp_path)
    actual = frame.filter(pl.col("model") == ACTUAL_MODEL)
    counts = actual.group_by("area").agg(pl.col("interval_start_utc").n_unique())
    assert set(counts["area"]) == set(pjm.RENEWABLE_AREAS)
    assert set(counts["interval_start_utc"]) == {HOURS[day]}
    # No publication time from PJM: the interval end, yet filed under the interval's day
    # (the 23:00 hour ends on the next day).
    assert (actual["published_at_utc"] == actual["interval_end_utc"]).all()
    assert (frame["operating_day"] == day).all()


def test_fall_back_hour_of_load_is_two_utc_hours(tmp_path) -> None:
    frame = _day(pjm.LOAD, FALL_BACK, tmp_path, csv=True)  # US 12-hour EPT labels
    rto = frame.filter(pl.col("area") == pjm.LOAD_TOTAL_AREA)
    one_am = rto.filter(pl.col("interval_start_local").dt.hour() == 1)["interval_start_utc"]
    assert one_am.to_list() == [
        datetime(2024, 11, 3, 5, tzinfo=UTC),
        datetime(2024, 11, 3, 6, tzinfo=UTC),
    ]


def test_csv_export_reads_like_the_json_reply(tmp_path) -> None:
    for spec in (pjm.LOAD, pjm.FUEL_MIX, pjm.SOLAR):
        by_json = _day(spec, FALL_BACK, _sub(tmp_path, f"{spec.dataset}_json"))
        by_csv = _day(spec, FALL_BACK, _sub(tmp_path, f"{spec.dataset}_csv"), csv=True)
        assert by_json.drop("source_file").equals(by_csv.drop("source_file")), spec.dataset


# --------------------------------------------------------------------------- forecasts


def test_load_forecast_keeps_every_vintage(tmp_path) -> None:
    frame = _day(pjm.LOAD_FORECAST, FALL_BACK, tmp_path)
    vintages = len(LOAD_FORECAST_VINTAGES)
    assert frame["published_at_utc"].n_unique() == vintages
    assert set(frame["model"]) == {pjm.LOAD_FORECAST_MODEL}
    assert set(frame["area"]) == set(pjm.FORECAST_AREAS)
    # Two publications of one hour are two rows, with different values.
    noon = frame.filter(
        (pl.col("area") == pjm.FORECAST_TOTAL_AREA)
        & (pl.col("interval_start_utc") == datetime(2024, 11, 4, 17, tzinfo=UTC))
    )
    assert noon.height == vintages and noon["mw"].n_unique() == vintages
    # Each vintage covers its publication day (25 hours on the fall-back day) and six more.
    one = frame.filter(
        (pl.col("published_at_utc") == frame["published_at_utc"].min())
        & (pl.col("area") == pjm.FORECAST_TOTAL_AREA)
    )
    local_days = one["interval_start_local"].dt.date()
    assert (local_days == FALL_BACK).sum() == 25
    assert local_days.n_unique() == 7 and one.height == 25 + 6 * 24
    assert (frame["operating_day"] == FALL_BACK).all()  # the publication day


def test_spring_forward_forecast_day_has_23_hours(tmp_path) -> None:
    frame = _day(pjm.LOAD_FORECAST, SPRING_FORWARD, tmp_path)
    one = frame.filter(
        (pl.col("published_at_utc") == frame["published_at_utc"].min())
        & (pl.col("area") == pjm.FORECAST_TOTAL_AREA)
    )
    assert (one["interval_start_local"].dt.date() == SPRING_FORWARD).sum() == 23


def test_regions_and_totals_add_up(tmp_path) -> None:
    frame = _day(pjm.LOAD_FORECAST, FALL_BACK, tmp_path)
    areas = [a for a in pjm.FORECAST_AREAS if "REGION" not in a and a != pjm.FORECAST_TOTAL_AREA]
    sums = (
        frame.filter(pl.col("area").is_in(areas))
        .group_by("interval_start_utc", "published_at_utc")
        .agg(pl.col("mw").sum())
    )
    totals = frame.filter(pl.col("area") == pjm.FORECAST_TOTAL_AREA).join(
        sums, on=["interval_start_utc", "published_at_utc"], suffix="_areas"
    )
    assert totals.height and (totals["mw"] == totals["mw_areas"]).all()
    assert totals["mw"].min() > 50000 and totals["mw"].max() < 120000  # tens of GW


# --------------------------------------------------------------------------- fuel mix


def test_fuel_categories_mapped_and_storage_charging_kept(tmp_path) -> None:
    frame = _day(pjm.FUEL_MIX, FALL_BACK, tmp_path)
    mapping = dict(frame.select("fuel", "fuel_category").unique().iter_rows())
    assert mapping == dict(pjm.FUEL_CATEGORIES)
    assert mapping["Other Renewables"] == "biomass" and mapping["Storage"] == "storage"
    storage = frame.filter(pl.col("fuel") == "Storage")
    assert storage.height == 25 and (storage["mw"] < 0).sum() > 0  # charging, not dropped
    assert frame["iso_total_mw"].is_null().all()  # PJM gives shares, not a total in MW


def test_fuel_mix_adds_up_to_load_and_solar_sleeps_at_night(tmp_path) -> None:
    mix = _day(pjm.FUEL_MIX, FALL_BACK, _sub(tmp_path, "mix"))
    load = _day(pjm.LOAD, FALL_BACK, _sub(tmp_path, "load")).filter(pl.col("area") == "RTO")
    both = (
        mix.group_by("interval_start_utc")
        .agg(pl.col("mw").sum().alias("gen"))
        .join(load, on="interval_start_utc")
    )
    assert both.height == 25
    assert ((both["gen"] / both["mw"] - 1).abs() < 0.05).all()
    night = mix.filter((pl.col("fuel") == "Solar") & (pl.col("interval_start_local").dt.hour() < 5))
    assert night.height and (night["mw"] == 0).all()


# --------------------------------------------------------------------------- identify


@pytest.mark.parametrize("csv", [False, True], ids=["json", "csv"])
@pytest.mark.parametrize("pair", FEEDS, ids=lambda p: p[0].feed)
def test_identify_recognizes_each_feed(pair, csv, tmp_path) -> None:
    feed, spec = pair
    path = _write(feed, FALL_BACK, tmp_path, csv=csv)
    head = path.read_bytes()[:65536]
    assert fmt.identify(path.name, head) is spec
    # Content alone decides too (a renamed download).
    assert fmt.identify("download" + path.suffix, head) is spec


def test_a_feed_of_another_dataset_is_refused(tmp_path) -> None:
    path = _write(pjm.WIND_GEN, FALL_BACK, tmp_path)
    with pytest.raises(FormatError, match="not one of solar's feeds"):
        fmt.read_files([path], pjm.SOLAR)


def test_ept_disagreeing_with_utc_is_an_error(tmp_path) -> None:
    items = feed_day_items(pjm.HRL_LOAD_METERED, [FALL_BACK])
    items[0]["datetime_beginning_ept"] = "2024-11-03T02:00:00"
    path = tmp_path / "hrl_load_metered_bad.json"
    path.write_bytes(json_reply("hrl_load_metered", items, total_rows=len(items)))
    with pytest.raises(FormatError, match="disagrees with datetime_beginning_utc"):
        fmt.read_files([path], pjm.LOAD)


def test_a_value_that_is_not_a_number_is_an_error(tmp_path) -> None:
    items = feed_day_items(pjm.GEN_BY_FUEL, [FALL_BACK])
    items[3]["mw"] = "n/a"
    path = tmp_path / "gen_by_fuel_bad.json"
    path.write_bytes(json_reply("gen_by_fuel", items, total_rows=len(items)))
    with pytest.raises(FormatError, match="column mw record 4"):
        fmt.read_files([path], pjm.FUEL_MIX)


def test_inst_load_stamps_off_the_grid_are_kept(tmp_path) -> None:
    items = feed_day_items(pjm.INST_LOAD, [FALL_BACK])
    for item in items[:25]:  # the first stamp of every area, 13 s late
        for field in ("datetime_beginning_utc", "datetime_beginning_ept"):
            late = datetime.fromisoformat(item[field]) + timedelta(seconds=13)
            item[field] = late.isoformat()
    path = tmp_path / "inst_load_2024-11-03_p001.json"
    path.write_bytes(json_reply("inst_load", items, total_rows=len(items)))
    frame = fmt.read_files([path], pjm.LOAD_INSTANTANEOUS)
    assert frame["interval_start_utc"].min() == datetime(2024, 11, 3, 4, 0, 13, tzinfo=UTC)
    assert frame.height == len(items)


def test_csv_export_with_bom_and_a_ragged_line(tmp_path) -> None:
    path = _write(pjm.WIND_GEN, FALL_BACK, tmp_path, csv=True)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert fmt.identify(path.name, path.read_bytes()[:65536]) is pjm.WIND
    assert fmt.read_files([path], pjm.WIND).height == 25 * len(pjm.RENEWABLE_AREAS)
    path.write_bytes(path.read_bytes() + b"11/3/2024 11:00:00 PM,11/3/2024 6:00:00 PM,RTO,1,2\r\n")
    with pytest.raises(FormatError, match="malformed CSV"):
        fmt.read_files([path], pjm.WIND)


# --------------------------------------------------------------------------- five-minute


def test_real_five_minute_solar_forecast_reply() -> None:
    path = REAL / "pjm_5min_solar_forecast_response.json"
    assert fmt.identify(path.name, path.read_bytes()[:65536]) is pjm.SOLAR_FORECAST_5MIN
    frame = fmt.read_files([path], pjm.SOLAR_FORECAST_5MIN)
    assert frame.height == 4 == fmt.expected_rows(path, pjm.SOLAR_FORECAST_5MIN, 0)
    assert set(frame["model"]) == {"FIVE_MIN", "FIVE_MIN_BTM"}
    assert (frame["interval_end_utc"] - frame["interval_start_utc"]).dt.total_minutes().eq(5).all()
    last = frame.filter(pl.col("published_at_utc") == frame["published_at_utc"].max())
    assert last["published_at_utc"].to_list()[0] == datetime(2024, 10, 2, 3, 50, tzinfo=UTC)
    assert set(frame["operating_day"]) == {date(2024, 10, 1)}  # 23:50 EDT is still Oct 1


@pytest.mark.parametrize("day", [FALL_BACK, SPRING_FORWARD])
@pytest.mark.parametrize(
    ("spec", "intervals"),
    [(pjm.WIND_FORECAST_5MIN, 71), (pjm.SOLAR_FORECAST_5MIN, 72)],
    ids=lambda v: getattr(v, "dataset", str(v)),
)
def test_five_minute_forecast_vintages_on_dst_days(spec, intervals, day, tmp_path) -> None:
    frame = _day(spec, day, tmp_path)
    per_vintage = frame.group_by("published_at_utc", "model").agg(
        pl.col("interval_start_utc").n_unique()
    )
    assert per_vintage["published_at_utc"].n_unique() == HOURS[day] * 6  # every ten minutes
    assert set(per_vintage["interval_start_utc"]) == {intervals}
    assert (frame["operating_day"] == day).all()


def test_hourly_and_five_minute_exports_told_apart_by_their_intervals(tmp_path) -> None:
    """The same fields: a CSV export named neither way is placed by its first interval."""
    for feed, spec in ((pjm.HOURLY_WIND_FORECAST, pjm.WIND),
                       (pjm.FIVE_MIN_WIND_FORECAST, pjm.WIND_FORECAST_5MIN)):  # fmt: skip
        path = _write(feed, FALL_BACK, _sub(tmp_path, feed.feed), csv=True)
        assert fmt.identify("export.csv", path.read_bytes()[:65536]) is spec
