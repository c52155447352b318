"""Stage 3 of issue 13's kinds: load by area, generation by fuel, forecasts and wind/solar.

Quantity kinds flatten on the DST-aware day grid like prices; kinds with vintages flatten their
latest vintage per interval and series at the observed interval starts, with the pivot value
qualified by the kind's qualifiers only where the table holds more than one of them."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from power_market_assets.quality.checks import check_pivot_accuracy
from power_market_assets.registry.kinds import FORECAST, RENEWABLE
from power_market_assets.transforms.flatten import flatten, flatten_input, wide_value_columns
from power_market_assets.transforms.names import varying_qualifiers
from power_market_assets.transforms.vintage import latest
from power_market_assets_tests.fundamentals_frames import (
    FALL_BACK,
    FUEL_MIX,
    LOAD,
    LOAD_FORECAST,
    RENEWABLES,
    forecast_long,
    fuel_mix_long,
    load_long,
    renewables_long,
    standard,
    utc,
)

NEXT_DAY = date(2024, 11, 4)


def test_load_by_area_has_one_column_per_area_and_100_quarter_hours_on_fall_back() -> None:
    long = load_long([FALL_BACK])
    result = flatten(long, LOAD)
    wide = result.frame
    assert wide.height == 100 and result.expected_intervals == 100
    assert wide_value_columns(wide) == ["north", "system"]
    assert result.missing_intervals == 0 and result.filled_cells == 0
    one_am = wide.filter(pl.col("interval_start_local").dt.hour() == 1)
    assert one_am.height == 8  # the repeated 01:00 hour, twice four quarter hours
    assert one_am.get_column("system").to_list() == [40_600.0] * 4 + [40_700.0] * 4
    assert dict(result.locations.select("wide_column", "location").iter_rows()) == {
        "north": "NORTH",
        "system": "SYSTEM",
    }
    assert check_pivot_accuracy(long, wide, LOAD, result.locations).passed


def test_fuel_mix_has_one_column_per_iso_fuel_and_keeps_storage_charging_negative() -> None:
    long = fuel_mix_long([FALL_BACK])
    result = flatten(long, FUEL_MIX)
    assert result.frame.height == 100
    assert wide_value_columns(result.frame) == ["natural_gas", "solar", "storage", "wind"]
    assert set(result.frame.get_column("storage")) == {-500.0}
    # The map names the ISO's fuel; the long table its standard category.
    assert dict(result.locations.select("wide_column", "product").iter_rows())["natural_gas"] == (
        "Natural Gas"
    )
    assert set(long.get_column("fuel_category")) == {"gas", "wind", "solar", "storage"}


def test_forecast_flattens_the_latest_vintage_at_the_observed_intervals() -> None:
    """Vintages published on 11-02 (06:00, 18:00 UTC) and on 11-03 (12:00 UTC) of 11-03 and
    11-04: the flattened table holds the newest vintage of each hour, beyond the publication
    days, 25 hours on the fall-back day, each row's operating_day the hour's own day."""
    vintages = [utc(2024, 11, 2, 6), utc(2024, 11, 2, 18), utc(2024, 11, 3, 12)]
    long = forecast_long([FALL_BACK, NEXT_DAY], vintages)
    assert set(long.get_column("operating_day")) == {date(2024, 11, 2), FALL_BACK}
    result = flatten(long, LOAD_FORECAST)
    wide = result.frame
    assert wide_value_columns(wide) == ["system"]  # one model: no qualifier
    assert wide.height == 25 + 24 and result.missing_intervals == 0
    assert set(wide.get_column("system")) == {50_012.0}  # the 12:00 vintage everywhere
    days = wide.group_by("operating_day").len().sort("operating_day").rows()
    assert days == [(FALL_BACK, 25), (NEXT_DAY, 24)]
    # Before the 11-03 vintage existed, the 18:00 one was the latest.
    older = flatten(long.filter(pl.col("published_at_utc") < utc(2024, 11, 3)), LOAD_FORECAST)
    assert set(older.frame.get_column("system")) == {50_018.0}
    compared = flatten_input(long, LOAD_FORECAST)
    assert check_pivot_accuracy(compared, wide, LOAD_FORECAST, result.locations).passed
    # The whole table holds three values per cell: not what a wide cell shows.
    assert not check_pivot_accuracy(long, wide, LOAD_FORECAST, result.locations).passed


def test_forecast_of_several_models_qualifies_the_area_by_model() -> None:
    long = forecast_long([FALL_BACK], [utc(2024, 11, 2, 6)], models=("E", "E1"))
    result = flatten(long, LOAD_FORECAST)
    assert wide_value_columns(result.frame) == ["system_e", "system_e1"]
    row = result.frame.row(0, named=True)
    assert (row["system_e"], row["system_e1"]) == (50_006.0, 50_006.5)
    mapping = result.locations.select("wide_column", "location", "product").rows()
    assert mapping == [("system_e", "SYSTEM", "E"), ("system_e1", "SYSTEM", "E1")]
    assert check_pivot_accuracy(flatten_input(long, LOAD_FORECAST), result.frame, LOAD_FORECAST,
                                result.locations).passed  # fmt: skip


def test_renewables_qualify_technology_by_the_areas_and_models_they_hold() -> None:
    one_area = renewables_long([FALL_BACK], utc(2024, 11, 2, 12))
    result = flatten(one_area, RENEWABLES)
    assert wide_value_columns(result.frame) == [
        "solar_actual",
        "solar_stwpf",
        "wind_actual",
        "wind_stwpf",
    ]
    assert result.frame.height == 25
    assert set(result.frame.get_column("wind_actual")) == {9_000.0}
    assert varying_qualifiers(one_area, RENEWABLES) == ["model"]
    west = one_area.filter(pl.col("technology") == "wind").with_columns(
        area=pl.lit("WEST"), mw=pl.col("mw") / 3
    )
    two_areas = pl.concat([one_area, west])
    flat = flatten(two_areas, RENEWABLES)
    assert "wind_system_stwpf" in wide_value_columns(flat.frame)
    assert "wind_west_actual" in wide_value_columns(flat.frame)
    by_column = {r["wide_column"]: r for r in flat.locations.iter_rows(named=True)}
    assert by_column["wind_west_actual"] | {} == {
        "wide_column": "wind_west_actual",
        "location": "WEST",
        "location_type": None,
        "iso_location_type": None,
        "product": "wind",
        "zone": None,
        "model": "ACTUAL",
    }
    compared = flatten_input(two_areas, RENEWABLES)
    assert check_pivot_accuracy(compared, flat.frame, RENEWABLES, flat.locations).passed


def test_a_republished_actual_keeps_its_newest_vintage() -> None:
    base = renewables_long([FALL_BACK], utc(2024, 11, 2, 12))
    first = base.filter(pl.col("model") == "ACTUAL").head(1)
    revised = first.with_columns(
        pl.col("published_at_utc").dt.offset_by("1d"), pl.lit(1.0).alias("mw")
    )
    table = pl.concat([base, revised])
    newest = latest(table, RENEWABLE)
    assert newest.height == base.height
    start = first.get_column("interval_start_utc")[0]
    kept = newest.filter(
        (pl.col("interval_start_utc") == start) & (pl.col("model") == "ACTUAL")
        & (pl.col("technology") == first.get_column("technology")[0])
    )  # fmt: skip
    assert kept.get_column("mw").to_list() == [1.0]
    with pytest.raises(ValueError, match="no vintage"):
        latest(load_long([FALL_BACK]), LOAD.table_kind)


def test_a_forecast_gap_is_counted_not_invented() -> None:
    long = forecast_long([FALL_BACK], [utc(2024, 11, 2, 6)])
    hole = long.filter(pl.col("interval_start_utc") != utc(2024, 11, 3, 12))
    result = flatten(hole, LOAD_FORECAST)
    assert result.frame.height == 24 and result.missing_intervals == 1
    assert result.expected_intervals == 25


def test_an_empty_forecast_month_flattens_to_no_rows() -> None:
    empty = standard(LOAD_FORECAST, forecast_long([FALL_BACK], [utc(2024, 11, 2, 6)]).head(0))
    result = flatten(empty, LOAD_FORECAST)
    assert result.frame.height == 0 and FORECAST.vintage_column in empty.columns
