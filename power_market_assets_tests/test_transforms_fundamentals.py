"""fundamentals_hourly on synthetic long tables (transforms/fundamentals.py): hub prices, load,
the day-ahead forecast vintage, generation by standard fuel, wind, solar and net load per UTC
hour, 25 rows on the fall-back day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from power_market_assets.registry.ercot import DA_PRICES, RT_PRICES
from power_market_assets.registry.kinds import STANDARD_FUELS
from power_market_assets.transforms.fundamentals import (
    GEN_COLUMNS,
    TIME_COLUMNS,
    VALUE_COLUMNS,
    day_ahead_forecast,
    fundamentals_hourly,
)
from power_market_assets_tests.fundamentals_frames import (
    FALL_BACK,
    INPUTS,
    forecast_long,
    fuel_mix_long,
    load_long,
    price_long,
    renewables_long,
    utc,
)

NEXT_DAY = date(2024, 11, 4)
DAYS = [FALL_BACK, NEXT_DAY]
# Vintages around the day-ahead cut-off of 11-03 (00:00 CDT = 05:00 UTC) and of 11-04 (00:00
# CST = 06:00 UTC): 04:30 UTC on 11-03 is 23:30 on 11-02 local, the last one before 11-03;
# 05:00 UTC is 11-03's midnight itself (not before it) and 12:00 UTC is during 11-03.
VINTAGES = [
    utc(2024, 11, 2, 4),
    utc(2024, 11, 2, 12),
    utc(2024, 11, 3, 4, 30),
    utc(2024, 11, 3, 5),
    utc(2024, 11, 3, 12),
]


def _fundamentals(inputs=INPUTS, **overrides) -> pl.DataFrame:
    frames = {
        "da": price_long(DA_PRICES, DAYS),
        "rt": price_long(RT_PRICES, DAYS, offset=1.0),
        "load": load_long(DAYS),
        "load_forecast": forecast_long([FALL_BACK, NEXT_DAY], VINTAGES),
        "fuel_mix": fuel_mix_long(DAYS),
        "renewables": [renewables_long(DAYS, utc(2024, 11, 2, 12))],
    }
    return fundamentals_hourly(inputs, **{**frames, **overrides})


def _day(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    return frame.filter(pl.col("operating_day") == day)


def test_one_row_per_utc_hour_with_25_on_the_fall_back_day() -> None:
    out = _fundamentals()
    assert out.columns == [*TIME_COLUMNS, *VALUE_COLUMNS]
    assert _day(out, FALL_BACK).height == 25 and _day(out, NEXT_DAY).height == 24
    one_am = _day(out, FALL_BACK).filter(pl.col("interval_start_local").dt.hour() == 1)
    assert one_am.get_column("interval_start_utc").to_list() == [
        utc(2024, 11, 3, 6),
        utc(2024, 11, 3, 7),
    ]
    assert out.get_column("interval_start_utc").is_unique().all()


def test_prices_are_the_hubs_day_ahead_and_the_mean_of_its_rt_intervals() -> None:
    row = (
        _fundamentals()
        .filter(pl.col("interval_start_utc") == utc(2024, 11, 3, 7))
        .row(0, named=True)
    )
    assert row["hub"] == "HB_NORTH"
    assert row["da_price"] == 20.0 + 7
    # four quarter hours at 28, 28.25, 28.5, 28.75 (the other location is 100 more)
    assert row["rt_price"] == pytest.approx(28.375) and row["rt_intervals"] == 4


def test_load_generation_renewables_and_net_load() -> None:
    row = (
        _fundamentals()
        .filter(pl.col("interval_start_utc") == utc(2024, 11, 3, 7))
        .row(0, named=True)
    )
    assert row["load_mw"] == 40_700.0  # the SYSTEM area, not SYSTEM + NORTH
    assert (row["gen_gas"], row["gen_wind"], row["gen_solar"]) == (30_000.0, 8_000.0, 2_000.0)
    assert row["gen_storage"] == -500.0  # charging stays negative
    assert row["gen_coal"] is None  # the ISO reports no coal here
    assert (row["wind_mw"], row["solar_mw"]) == (9_000.0, 1_000.0)  # the ACTUAL rows
    assert row["net_load_mw"] == 40_700.0 - 9_000.0 - 1_000.0
    assert tuple(f"gen_{c}" for c in STANDARD_FUELS) == GEN_COLUMNS


def test_without_renewables_wind_and_solar_come_from_the_fuel_mix() -> None:
    out = _fundamentals(renewables=[])
    row = out.row(0, named=True)
    assert (row["wind_mw"], row["solar_mw"]) == (8_000.0, 2_000.0)
    assert row["net_load_mw"] == row["load_mw"] - 10_000.0


def test_without_a_load_area_the_areas_are_summed() -> None:
    out = _fundamentals(replace(INPUTS, load_area=None))
    assert out.row(0, named=True)["load_mw"] == 1.25 * (40_000.0 + 100 * 5)


def test_the_day_ahead_vintage_is_the_last_published_before_local_midnight() -> None:
    out = _fundamentals()
    fall_back = _day(out, FALL_BACK)
    assert set(fall_back.get_column("load_forecast_mw")) == {50_004.3}
    assert set(fall_back.get_column("load_forecast_published_at_utc")) == {utc(2024, 11, 3, 4, 30)}
    # 11-04 starts at 06:00 UTC (CST): the 12:00 UTC vintage of 11-03 is the last before it.
    assert set(_day(out, NEXT_DAY).get_column("load_forecast_mw")) == {50_012.0}
    assert set(out.get_column("load_forecast_model")) == {"E"}


def test_a_vintage_published_at_midnight_is_not_day_ahead() -> None:
    only_late = forecast_long([FALL_BACK], [utc(2024, 11, 3, 5), utc(2024, 11, 3, 12)])
    forecast = day_ahead_forecast(only_late, "SYSTEM", DA_PRICES.timezone).collect()
    assert forecast.height == 0


def test_models_published_together_pick_the_first_by_name() -> None:
    both = forecast_long([FALL_BACK], [utc(2024, 11, 2, 12)], models=("E1", "E"))
    out = _fundamentals(load_forecast=both)
    day = _day(out, FALL_BACK)
    assert set(day.get_column("load_forecast_model")) == {"E"}
    assert set(day.get_column("load_forecast_mw")) == {50_012.5}  # E is the second model here


def test_no_forecast_and_no_fuel_mix_give_null_columns() -> None:
    out = _fundamentals(load_forecast=None, fuel_mix=None)
    assert out.get_column("load_forecast_mw").null_count() == out.height
    assert out.select(pl.col(GEN_COLUMNS).null_count()).row(0) == (out.height,) * len(GEN_COLUMNS)
    assert out.get_column("wind_mw").null_count() == 0  # still from the renewables


def test_renewables_use_the_system_area_beside_regions_and_sum_regions_alone() -> None:
    base = renewables_long(DAYS, utc(2024, 11, 2, 12))
    west = base.with_columns(area=pl.lit("WEST"), mw=pl.col("mw") / 4)
    with_system = _fundamentals(renewables=[pl.concat([base, west])])
    assert with_system.row(0, named=True)["wind_mw"] == 9_000.0
    regions = pl.concat([west, west.with_columns(area=pl.lit("EAST"))])
    assert _fundamentals(renewables=[regions]).row(0, named=True)["wind_mw"] == 4_500.0


def test_a_technology_the_iso_reports_nowhere_counts_as_zero_in_net_load() -> None:
    """NYISO's fuel mix has no solar: solar_mw stays null, net load is load minus wind."""
    no_solar = fuel_mix_long(DAYS).filter(pl.col("fuel_category") != "solar")
    out = _fundamentals(fuel_mix=no_solar, renewables=[])
    row = out.row(0, named=True)
    assert row["solar_mw"] is None and row["gen_solar"] is None
    assert row["net_load_mw"] == row["load_mw"] - 8_000.0


def test_a_missing_hour_of_a_reported_technology_leaves_net_load_null() -> None:
    renewables = renewables_long(DAYS, utc(2024, 11, 2, 12))
    gap = renewables.filter(
        (pl.col("technology") != "wind") | (pl.col("interval_start_utc") != utc(2024, 11, 3, 7))
    )
    out = _fundamentals(renewables=[gap])
    hour = out.filter(pl.col("interval_start_utc") == utc(2024, 11, 3, 7)).row(0, named=True)
    assert hour["wind_mw"] is None and hour["net_load_mw"] is None
    assert out.get_column("net_load_mw").null_count() == 1


def test_spring_forward_has_23_rows() -> None:
    spring = [date(2024, 3, 10)]
    out = fundamentals_hourly(
        INPUTS,
        da=price_long(DA_PRICES, spring),
        rt=price_long(RT_PRICES, spring),
        load=load_long(spring),
    )
    assert out.height == 23 and out.get_column("operating_day").unique().to_list() == spring
    assert 2 not in out.get_column("interval_start_local").dt.hour().to_list()  # 02:00 skipped
