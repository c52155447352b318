"""The raw-stage checks of the quantity kinds (load, fuel mix, forecast, renewable): a clean
table passes every check, and each fault fails (or warns) the check it belongs to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import polars as pl
import pytest

from power_market_assets.assets.checks import BLOCKING_RAW_CHECKS, raw_checks_for
from power_market_assets.io.changes import diff_partition
from power_market_assets.quality import checks as quality
from power_market_assets.quality.checks import (
    FUEL_TOTAL_TOLERANCE,
    CheckOutcome,
    frame_check_names,
    frame_checks,
    raw_checks_by_day,
)
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.registry.ercot import DA_PRICES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets_tests.kind_frames import (
    FUEL_MIX,
    ISONE_ZONES,
    KIND_SPECS,
    LOAD,
    LOAD_FORECAST,
    RENEWABLES,
    SNAPSHOT_LOAD,
    forecast_long,
    fuel_long,
    load_long,
    renewable_long,
)

FALL_BACK = date(2024, 11, 3)
DAYS = [date(2024, 11, 2), FALL_BACK, date(2024, 11, 4)]
PUBLISHED = [datetime(2024, 11, 2, 6, tzinfo=UTC), datetime(2024, 11, 2, 12, tzinfo=UTC)]


def clean(spec: DatasetSpec) -> pl.DataFrame:
    if spec is FUEL_MIX:
        return fuel_long(spec, DAYS)
    if spec is LOAD_FORECAST:
        return forecast_long(spec, PUBLISHED)
    if spec is RENEWABLES:
        return renewable_long(spec, PUBLISHED)
    if spec is SNAPSHOT_LOAD:
        return load_long(spec, DAYS, ISONE_ZONES)
    return load_long(spec, DAYS)


def day_checks(frame: pl.DataFrame, spec: DatasetSpec, day: date) -> dict[str, CheckOutcome]:
    """The checks of one operating day's rows, as the parse workers run them."""
    return frame_checks(frame.filter(pl.col("operating_day") == day), spec)


def failing(outcomes: dict[str, CheckOutcome]) -> list[str]:
    return [name for name, outcome in outcomes.items() if not outcome.passed]


def set_rows(frame: pl.DataFrame, where: pl.Expr, **values: object) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(where).then(pl.lit(v, frame.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, v in values.items()
    )


def at_local(spec: DatasetSpec, day: date, hour: int, minute: int = 0) -> pl.Expr:
    local = pl.col("interval_start_local")
    return (
        (pl.col("operating_day") == day) & (local.dt.hour() == hour) & (local.dt.minute() == minute)
    )


# ------------------------------------------------------------------ which checks


@pytest.mark.parametrize("spec", KIND_SPECS, ids=lambda s: s.dataset)
def test_clean_tables_pass_every_check(spec: DatasetSpec) -> None:
    frame = clean(spec)
    by_day = raw_checks_by_day(frame, spec)
    assert by_day
    for day, outcomes in by_day.items():
        assert list(outcomes) == list(frame_check_names(spec))
        assert failing(outcomes) == [], (day, {n: o.summary for n, o in outcomes.items()})


def test_check_names_follow_the_kind() -> None:
    assert frame_check_names(DA_PRICES) == ("schema", "duplicates", "gaps", "price_range")
    assert frame_check_names(LOAD) == ("schema", "duplicates", "gaps", "value_range")
    assert frame_check_names(FUEL_MIX)[-2:] == ("value_range", "fuel_total")
    assert [c.name for c in raw_checks_for(FUEL_MIX)] == [
        "schema",
        "duplicates",
        "row_count",
        "gaps",
        "value_range",
        "fuel_total",
    ]
    assert {"schema", "duplicates", "row_count"} == BLOCKING_RAW_CHECKS
    assert not any(c.blocking for c in raw_checks_for(FUEL_MIX) if c.name == "fuel_total")


@pytest.mark.parametrize("spec", ALL_DATASETS, ids=lambda s: f"{s.iso}/{s.dataset}")
def test_every_registry_spec_declares_the_checks_it_gets(spec: DatasetSpec) -> None:
    """The factory's check specs (raw_checks_for) are the frame checks plus row_count, and
    each has a per-frame and a row-level function."""
    declared = [c.name for c in raw_checks_for(spec) if c.name != "row_count"]
    assert declared == list(frame_check_names(spec))
    for name in declared:
        assert name in quality.ROW_LEVEL_CHECKS and name in quality.PER_FRAME_CHECKS


# ------------------------------------------------------------------ range


def test_negative_load_fails_value_range() -> None:
    frame = set_rows(clean(LOAD), at_local(LOAD, DAYS[0], 4) & (pl.col("area") == "NORTH"), mw=-5.0)
    outcomes = day_checks(frame, LOAD, DAYS[0])
    assert failing(outcomes) == ["value_range"]
    assert outcomes["value_range"].metadata["below_floor"] == 1
    assert "NORTH" in (outcomes["value_range"].sample_markdown or "")


def test_load_without_bounds_is_never_negative_and_has_no_cap() -> None:
    spec = replace(LOAD, price_bounds=())
    huge = set_rows(clean(spec), at_local(spec, DAYS[0], 4), mw=1e9)
    assert day_checks(huge, spec, DAYS[0])["value_range"].passed
    negative = set_rows(clean(spec), at_local(spec, DAYS[0], 4), mw=-0.5)
    assert not day_checks(negative, spec, DAYS[0])["value_range"].passed


def test_fuel_bounds_per_category() -> None:
    frame = clean(FUEL_MIX)
    day = DAYS[2]
    over_cap = set_rows(frame, at_local(FUEL_MIX, day, 15) & (pl.col("fuel") == "Gas"), mw=90_000.0)
    outcome = day_checks(over_cap, FUEL_MIX, day)["value_range"]
    assert not outcome.passed and outcome.metadata["above_cap"] == 1
    assert "gas" in (outcome.sample_markdown or "") and "80000.0" in (outcome.sample_markdown or "")
    # Storage charging within its bounds passes; beyond its floor fails.
    storage = at_local(FUEL_MIX, day, 10) & (pl.col("fuel") == "Storage")
    assert day_checks(set_rows(frame, storage, mw=-7_999.0), FUEL_MIX, day)["value_range"].passed
    assert not day_checks(set_rows(frame, storage, mw=-8_001.0), FUEL_MIX, day)[
        "value_range"
    ].passed
    # Imports have no bounds of their own and no floor; coal has none either, but floor 0.
    imports = at_local(FUEL_MIX, day, 15) & (pl.col("fuel") == "Imports")
    assert day_checks(set_rows(frame, imports, mw=-12_000.0), FUEL_MIX, day)["value_range"].passed
    coal = at_local(FUEL_MIX, day, 15) & (pl.col("fuel") == "Coal")
    assert not day_checks(set_rows(frame, coal, mw=-1.0), FUEL_MIX, day)["value_range"].passed


def test_solar_actual_slightly_negative_passes_with_its_floor() -> None:
    frame = clean(RENEWABLES)
    night_solar = (pl.col("technology") == "solar") & (pl.col("model") == "ACTUAL")
    night_solar = night_solar & (pl.col("interval_start_local").dt.hour() == 2)
    slightly = set_rows(frame, night_solar, mw=-3.0)
    assert all(o["value_range"].passed for o in raw_checks_by_day(slightly, RENEWABLES).values())
    far = set_rows(frame, night_solar, mw=-300.0)
    assert any(not o["value_range"].passed for o in raw_checks_by_day(far, RENEWABLES).values())


# ------------------------------------------------------------------ vintages


def test_a_missing_hour_inside_a_forecast_vintage_fails_gaps() -> None:
    frame = clean(LOAD_FORECAST)
    hole = (
        (pl.col("published_at_utc") == PUBLISHED[1])
        & (pl.col("area") == "NORTH")
        & (pl.col("model") == "E")
        & (pl.col("interval_start_utc") == datetime(2024, 11, 3, 7, tzinfo=UTC))
    )  # 07:00 UTC: the second 01:00 of the fall-back day in Chicago (CST)
    outcomes = day_checks(frame.filter(~hole), LOAD_FORECAST, DAYS[0])
    assert failing(outcomes) == ["gaps"]
    gaps = outcomes["gaps"]
    assert gaps.metadata["missing_pairs"] == 1 and gaps.metadata["series"] == 8
    sample = gaps.sample_markdown or ""
    assert "2024-11-03 07:00:00+00:00" in sample and "2024-11-03 01:00:00-06:00" in sample


def test_forecast_vintages_of_any_length_are_not_gaps() -> None:
    """A vintage may end earlier than another (or start later): only holes inside count."""
    frame = clean(LOAD_FORECAST)
    short = (pl.col("published_at_utc") == PUBLISHED[0]) & (
        pl.col("interval_start_utc") > datetime(2024, 11, 3, 12, tzinfo=UTC)
    )
    late_start = (pl.col("published_at_utc") == PUBLISHED[1]) & (
        pl.col("interval_start_utc") < datetime(2024, 11, 2, 20, tzinfo=UTC)
    )
    outcomes = day_checks(frame.filter(~short & ~late_start), LOAD_FORECAST, DAYS[0])
    assert failing(outcomes) == []


def test_two_rows_of_one_vintage_fail_duplicates() -> None:
    frame = clean(LOAD_FORECAST)
    twice = pl.concat([frame, frame.filter(pl.col("published_at_utc") == PUBLISHED[1])[10:11]])
    outcomes = day_checks(twice, LOAD_FORECAST, DAYS[0])
    assert failing(outcomes) == ["duplicates"]
    duplicates = outcomes["duplicates"]
    assert duplicates.metadata["duplicate_keys"] == 1
    assert "published_at_utc" in duplicates.summary and "vintage" in duplicates.summary
    assert "published_at_utc" in (duplicates.sample_markdown or "")


def test_a_renewable_forecast_hole_fails_gaps_per_technology() -> None:
    frame = clean(RENEWABLES)
    hole = (
        (pl.col("technology") == "wind")
        & (pl.col("model") == "STWPF")
        & (pl.col("interval_start_utc") == datetime(2024, 11, 3, 3, tzinfo=UTC))
    )
    by_day = raw_checks_by_day(frame.filter(~hole), RENEWABLES)
    assert [day for day, o in by_day.items() if not o["gaps"].passed] == [DAYS[0]]
    assert by_day[DAYS[0]]["gaps"].metadata["missing_pairs"] == 2  # in both vintages


# ------------------------------------------------------------------ intraday snapshots


@pytest.mark.parametrize(("day", "present"), [(DAYS[2], 16 * 12), (FALL_BACK, 17 * 12)])
def test_a_snapshot_day_cut_at_16_is_incomplete_not_a_gap(day: date, present: int) -> None:
    """ISO-NE's five-minute zonal load published at 16:00: 8 zones, the rest of the day (96
    five-minute intervals per zone) not yet published; the fall-back day's 16:00 comes after
    17 elapsed hours."""
    frame = clean(SNAPSHOT_LOAD).filter(pl.col("operating_day") == day)
    snapshot = frame.filter(pl.col("interval_start_local").dt.hour() < 16)
    assert snapshot.height == present * len(ISONE_ZONES)
    outcomes = frame_checks(snapshot, SNAPSHOT_LOAD)
    assert failing(outcomes) == []
    gaps = outcomes["gaps"]
    assert gaps.metadata["complete"] is False
    assert gaps.metadata["not_yet_published_intervals"] == 96
    assert gaps.metadata["not_yet_published"] == 96 * len(ISONE_ZONES)
    assert gaps.metadata["missing_pairs"] == 0
    assert gaps.metadata["data_ends_at"] == f"{day.isoformat()}T16:00-05:00"
    assert "not yet published" in gaps.summary
    complete = frame_checks(frame, SNAPSHOT_LOAD)["gaps"]
    assert complete.passed and complete.metadata["complete"] is True
    assert complete.metadata["not_yet_published"] == 0
    end = "2024-11-05T00:00-05:00" if day == DAYS[2] else "2024-11-04T00:00-05:00"
    assert complete.metadata["data_ends_at"] == end


def test_a_hole_inside_a_snapshot_day_fails() -> None:
    day = DAYS[2]
    frame = clean(SNAPSHOT_LOAD).filter(pl.col("operating_day") == day)
    snapshot = frame.filter(pl.col("interval_start_local").dt.hour() < 16)
    hole = snapshot.filter(~(at_local(SNAPSHOT_LOAD, day, 9, 5) & (pl.col("area") == "CT")))
    gaps = frame_checks(hole, SNAPSHOT_LOAD)["gaps"]
    assert not gaps.passed and gaps.metadata["complete"] is False
    assert gaps.metadata["missing_pairs"] == 1 + 96 * len(ISONE_ZONES)
    # One zone stopping earlier than the others is a gap too.
    ragged = snapshot.filter(
        ~((pl.col("area") == "ME") & (pl.col("interval_start_local").dt.hour() == 15))
    )
    assert not frame_checks(ragged, SNAPSHOT_LOAD)["gaps"].passed
    # Without intraday snapshots, the cut day is a gap.
    plain = replace(SNAPSHOT_LOAD, intraday_snapshots=False)
    assert not frame_checks(snapshot, plain)["gaps"].passed
    assert "complete" not in frame_checks(frame, plain)["gaps"].metadata


def test_the_final_file_replacing_a_snapshot_is_a_logged_change() -> None:
    day = DAYS[2]
    final = clean(SNAPSHOT_LOAD).filter(pl.col("operating_day") == day)
    snapshot = final.filter(pl.col("interval_start_local").dt.hour() < 16)
    revised = set_rows(final, at_local(SNAPSHOT_LOAD, day, 15, 55), mw=1.0)
    changes = diff_partition(snapshot, revised, SNAPSHOT_LOAD.unique_key)
    assert changes is not None
    assert changes.values_added == 96 * len(ISONE_ZONES)
    assert changes.values_changed == len(ISONE_ZONES)


# ------------------------------------------------------------------ fuel total


def test_fuel_total_off_by_five_percent_warns() -> None:
    frame = clean(FUEL_MIX)
    day = DAYS[2]
    off = at_local(FUEL_MIX, day, 18, 15)
    outcomes = day_checks(
        frame.with_columns(
            pl.when(off).then(pl.col("iso_total_mw") * 1.05).otherwise(pl.col("iso_total_mw"))
        ),
        FUEL_MIX,
        day,
    )
    assert failing(outcomes) == ["fuel_total"]
    total = outcomes["fuel_total"]
    assert total.metadata["intervals_outside_tolerance"] == 1
    assert total.metadata["max_difference_pct"] == pytest.approx(100 * 0.05 / 1.05, rel=1e-3)
    assert "18:15" in (total.sample_markdown or "")
    within = frame.with_columns(pl.col("iso_total_mw") * (1 + FUEL_TOTAL_TOLERANCE / 2))
    assert day_checks(within, FUEL_MIX, day)["fuel_total"].passed


def test_fuel_total_passes_where_the_iso_publishes_none() -> None:
    outcome = day_checks(fuel_long(FUEL_MIX, DAYS, with_total=False), FUEL_MIX, DAYS[0])
    total = outcome["fuel_total"]
    assert total.passed and total.metadata["total_published"] == "no"
    assert total.metadata["intervals_with_total"] == 0 and "no total" in total.summary


def test_unmapped_fuels_are_named_as_a_warning() -> None:
    mapped = tuple(pair for pair in FUEL_MIX.fuel_categories if pair[0] != "Coal")
    spec = replace(FUEL_MIX, fuel_categories=mapped)
    frame = clean(FUEL_MIX).with_columns(
        fuel_category=pl.when(pl.col("fuel") == "Coal")
        .then(pl.lit("other"))
        .otherwise(pl.col("fuel_category"))
    )
    outcomes = day_checks(frame, spec, DAYS[0])
    assert failing(outcomes) == ["fuel_total"]
    assert outcomes["fuel_total"].metadata["unmapped_fuels"] == "Coal"
    assert "Coal" in outcomes["fuel_total"].summary


# ------------------------------------------------------------------ schema


def test_labels_outside_their_closed_lists_fail_schema() -> None:
    fuel = set_rows(clean(FUEL_MIX), pl.col("fuel") == "Gas", fuel_category="Gas")
    assert failing(day_checks(fuel, FUEL_MIX, DAYS[0])) == ["schema"]
    renewable = set_rows(clean(RENEWABLES), pl.col("technology") == "wind", technology="Wind")
    assert "schema" in failing(day_checks(renewable, RENEWABLES, DAYS[0]))
    null_total_allowed = clean(FUEL_MIX).with_columns(iso_total_mw=pl.lit(None, pl.Float64))
    assert day_checks(null_total_allowed, FUEL_MIX, DAYS[0])["schema"].passed
    no_vintage = set_rows(clean(LOAD_FORECAST), pl.col("area") == "NORTH", published_at_utc=None)
    assert "schema" in failing(day_checks(no_vintage, LOAD_FORECAST, DAYS[0]))
