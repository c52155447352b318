"""Unit tests for transforms/ (time grids, flatten, combine) on small hand-built long tables.

The long-table builders live in helpers.py (no format readers); the quality tests use them too.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_LMP, RT_PRICES
from power_market_assets.transforms.combine import (
    combine_da_as_hourly,
    combine_da_as_rt_hourly,
    combine_da_as_rt_native,
)
from power_market_assets.transforms.flatten import (
    FlattenResult,
    fill_short_gaps,
    flatten,
)
from power_market_assets.transforms.names import wide_key, wide_key_expr
from power_market_assets.transforms.time import (
    day_bounds_utc,
    expected_interval_count,
    expected_interval_starts,
)
from power_market_assets_tests.helpers import (
    FALL_BACK,
    NORMAL_DAY,
    SPRING_FORWARD,
    TIME_COLUMNS,
    TZ,
    ancillary_long,
    drop_intervals,
    irregular_long,
    price_long,
    utc,
)

# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (FALL_BACK, utc(2024, 11, 3, 5), utc(2024, 11, 4, 6)),
        (SPRING_FORWARD, utc(2024, 3, 10, 6), utc(2024, 3, 11, 5)),
        (NORMAL_DAY, utc(2024, 11, 4, 6), utc(2024, 11, 5, 6)),
    ],
)
def test_day_bounds_utc(day: date, start: datetime, end: datetime) -> None:
    assert day_bounds_utc(day, TZ) == (start, end)


@pytest.mark.parametrize(
    ("day", "minutes", "count"),
    [
        (FALL_BACK, 60, 25),
        (SPRING_FORWARD, 60, 23),
        (NORMAL_DAY, 60, 24),
        (FALL_BACK, 15, 100),
        (SPRING_FORWARD, 15, 92),
        (NORMAL_DAY, 15, 96),
        (NORMAL_DAY, 5, 288),
    ],
)
def test_expected_interval_count_and_starts(day: date, minutes: int, count: int) -> None:
    assert expected_interval_count(day, TZ, minutes) == count
    starts = expected_interval_starts([day], TZ, minutes)
    assert starts.dtype == pl.Datetime("us", "UTC")
    assert starts.len() == count
    assert starts.n_unique() == count
    assert starts.is_sorted()
    start, end = day_bounds_utc(day, TZ)
    assert starts[0] == start
    assert starts[-1] == end - timedelta(minutes=minutes)


def test_expected_interval_starts_several_days_any_order() -> None:
    starts = expected_interval_starts([NORMAL_DAY, FALL_BACK, FALL_BACK], TZ, 60)
    assert starts.len() == 25 + 24
    assert starts.is_sorted()
    assert starts.diff().drop_nulls().unique().to_list() == [timedelta(hours=1)]
    assert expected_interval_starts([], TZ, 60).len() == 0


def test_fall_back_grid_repeats_local_one_am() -> None:
    local = expected_interval_starts([FALL_BACK], TZ, 60).dt.convert_time_zone(TZ)
    hours = local.dt.hour().to_list()
    assert hours == [0, 1, 1, *range(2, 24)]
    spring = expected_interval_starts([SPRING_FORWARD], TZ, 60).dt.convert_time_zone(TZ)
    assert 2 not in spring.dt.hour().to_list()


# --------------------------------------------------------------------------- flatten


def test_wide_key_rule_and_expr_agree() -> None:
    assert wide_key("LZ_AEN", "ZONE") == "LZ_AEN"
    assert wide_key("LZ_AEN", "ZONE_EW") == "LZ_AEN_EW"
    assert wide_key("DC_E", "DC_TIE_EW") == "DC_E_EW"
    assert wide_key("HB_NORTH", "HUB") == "HB_NORTH"
    assert wide_key("X", None) == "X"
    frame = pl.DataFrame(
        {
            "location": ["LZ_AEN", "LZ_AEN", "DC_E", "HB_NORTH"],
            "location_type": ["ZONE", "ZONE_EW", "DC_TIE_EW", "HUB"],
        }
    )
    got = frame.select(wide_key_expr(RT_PRICES)).to_series().to_list()
    assert got == [wide_key(*row) for row in frame.iter_rows()]


def test_flatten_da_fall_back_day() -> None:
    long = price_long(DA_PRICES, [FALL_BACK], [("HB_NORTH", "HUB"), ("LZ_AEN", "ZONE")])
    result = flatten(long, DA_PRICES)
    assert isinstance(result, FlattenResult)
    wide = result.frame
    assert wide.columns == [*TIME_COLUMNS, "hb_north", "lz_aen"]
    assert wide.height == 25 == result.expected_intervals
    assert wide.schema["interval_start_utc"] == pl.Datetime("us", "UTC")
    assert wide.schema["interval_end_utc"] == pl.Datetime("us", "UTC")
    assert wide.schema["interval_start_local"] == pl.Datetime("us", TZ)
    assert wide.schema["hb_north"] == pl.Float64
    assert wide.get_column("operating_day").unique().to_list() == [FALL_BACK]
    assert wide.get_column("interval_start_local").dt.hour().to_list()[:4] == [0, 1, 1, 2]
    assert wide.select(
        (pl.col("interval_end_utc") - pl.col("interval_start_utc")).unique()
    ).to_series().to_list() == [timedelta(hours=1)]
    # The values landed in the right rows (index order == UTC order).
    offset = long.filter(pl.col("location") == "HB_NORTH").get_column("lmp")[0]
    assert wide.get_column("hb_north").to_list() == [offset + i for i in range(25)]
    assert (result.filled_cells, result.unfilled_null_cells, result.missing_intervals) == (0, 0, 0)
    assert result.filled_by_column == {"hb_north": 0, "lz_aen": 0}


@pytest.mark.parametrize(
    ("day", "rows"), [(FALL_BACK, 100), (SPRING_FORWARD, 92), (NORMAL_DAY, 96)]
)
def test_flatten_rt_dst_days_and_ew_twins(day: date, rows: int) -> None:
    series = [("LZ_AEN", "ZONE"), ("LZ_AEN", "ZONE_EW"), ("HB_NORTH", "HUB")]
    values = {"LZ_AEN": lambda i: i * 1.0, "LZ_AEN_EW": lambda i: i * 2.0}
    long = price_long(RT_PRICES, [day], series, values)
    result = flatten(long.lazy(), RT_PRICES)
    wide = result.frame
    assert wide.height == rows
    assert wide.columns == [*TIME_COLUMNS, "hb_north", "lz_aen", "lz_aen_ew"]
    assert wide.get_column("lz_aen").to_list() == [float(i) for i in range(rows)]
    assert wide.get_column("lz_aen_ew").to_list() == [2.0 * i for i in range(rows)]
    assert result.unfilled_null_cells == 0


def test_flatten_ancillary_columns_sorted_by_product() -> None:
    long = ancillary_long(AS_PRICES, [SPRING_FORWARD], ["RRS", "REGUP", "ECRS"])
    wide = flatten(long, AS_PRICES).frame
    assert wide.columns == [*TIME_COLUMNS, "ecrs", "regup", "rrs"]
    assert wide.height == 23


def test_flatten_fills_short_gap_and_counts() -> None:
    long = price_long(RT_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")], {"HB_NORTH": lambda i: i})
    # 2 quarter-hours missing (30 minutes < 60): forward-filled from index 9.
    long = drop_intervals(long, RT_PRICES, [10, 11], "HB_NORTH")
    result = flatten(long, RT_PRICES)
    column = result.frame.get_column("hb_north").to_list()
    assert column[9:13] == [9.0, 9.0, 9.0, 12.0]
    assert result.filled_cells == 2
    assert result.filled_by_column == {"hb_north": 2}
    assert result.unfilled_null_cells == 0
    assert result.missing_intervals == 2  # the only series had no row there


def test_flatten_leaves_long_gap_entirely_null() -> None:
    series = [("HB_NORTH", "HUB"), ("HB_WEST", "HUB")]
    long = price_long(RT_PRICES, [FALL_BACK], series, {"HB_NORTH": lambda i: i})
    # 5 quarter-hours (75 minutes) missing in HB_NORTH only: not filled, not even partly.
    long = drop_intervals(long, RT_PRICES, [20, 21, 22, 23, 24], "HB_NORTH")
    result = flatten(long, RT_PRICES)
    column = result.frame.get_column("hb_north").to_list()
    assert column[19] == 19.0
    assert column[20:25] == [None] * 5
    assert column[25] == 25.0
    assert result.filled_cells == 0
    assert result.unfilled_null_cells == 5
    assert result.missing_intervals == 0  # HB_WEST still had data
    assert result.frame.height == 100


def test_flatten_gap_of_exactly_max_fill_is_not_filled() -> None:
    long = price_long(RT_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")], {"HB_NORTH": lambda i: i})
    four = drop_intervals(long, RT_PRICES, [30, 31, 32, 33])  # 60 minutes: not < 60
    assert flatten(four, RT_PRICES).filled_cells == 0
    assert flatten(four, RT_PRICES, max_fill_minutes=61).filled_cells == 4
    three = drop_intervals(long, RT_PRICES, [30, 31, 32])  # 45 minutes
    assert flatten(three, RT_PRICES).filled_cells == 3
    # Hourly data: a single missing hour is 60 minutes, so it stays null.
    da = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    result = flatten(drop_intervals(da, DA_PRICES, [5]), DA_PRICES)
    assert (result.filled_cells, result.unfilled_null_cells, result.missing_intervals) == (0, 1, 1)


def test_flatten_leading_gap_stays_null_and_fill_crosses_midnight() -> None:
    days = [FALL_BACK, NORMAL_DAY]
    long = price_long(RT_PRICES, days, [("HB_NORTH", "HUB")], {"HB_NORTH": lambda i: i})
    long = drop_intervals(long, RT_PRICES, [0, 99, 100])  # leading + across midnight
    result = flatten(long, RT_PRICES)
    column = result.frame.get_column("hb_north").to_list()
    assert result.frame.height == 196
    assert column[0] is None
    assert column[98:101] == [98.0, 98.0, 98.0]
    assert result.frame.get_column("operating_day")[100] == NORMAL_DAY
    assert (result.filled_cells, result.unfilled_null_cells) == (2, 1)


def test_flatten_rejects_duplicates() -> None:
    long = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    doubled = pl.concat([long, long.head(1).with_columns(pl.col("lmp") + 1)])
    with pytest.raises(ValueError, match="unique key"):
        flatten(doubled, DA_PRICES)
    ancillary = ancillary_long(AS_PRICES, [NORMAL_DAY], ["REGUP"])
    with pytest.raises(ValueError, match="unique key"):
        flatten(pl.concat([ancillary, ancillary.tail(1)]), AS_PRICES)


def test_flatten_rejects_two_series_mapping_to_one_column() -> None:
    long = price_long(RT_PRICES, [NORMAL_DAY], [("LZ_X", "ZONE_EW"), ("LZ_X_EW", "ZONE")])
    with pytest.raises(ValueError, match="wide cell"):
        flatten(long, RT_PRICES)


def test_flatten_rejects_rows_off_grid() -> None:
    long = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    shifted = long.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.col("interval_start_utc").dt.offset_by("7m"))
        .otherwise(pl.col("interval_start_utc"))
        .alias("interval_start_utc")
    )
    with pytest.raises(ValueError, match="not on the 60-minute grid"):
        flatten(shifted, DA_PRICES)


def test_flatten_empty_input() -> None:
    long = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")]).head(0)
    result = flatten(long, DA_PRICES)
    assert result.frame.columns == TIME_COLUMNS
    assert result.frame.height == 0
    assert result.expected_intervals == 0


# --------------------------------------------------------------------------- combine


def _wide_inputs(day: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """DA = 1000 + hour index, AS = 2000 + hour index, RT = quarter-hour index (EW = x10)."""
    da = price_long(
        DA_PRICES,
        [day],
        [("HB_NORTH", "HUB"), ("LZ_AEN", "ZONE")],
        {"HB_NORTH": lambda i: 1000 + i, "LZ_AEN": lambda i: 3000 + i},
    )
    asp = ancillary_long(AS_PRICES, [day], ["REGUP"], {"REGUP": lambda i: 2000 + i})
    rt = price_long(
        RT_PRICES,
        [day],
        [("HB_NORTH", "HUB"), ("LZ_AEN", "ZONE"), ("LZ_AEN", "ZONE_EW")],
        {
            "HB_NORTH": lambda i: i,
            "LZ_AEN": lambda i: 500 + i,
            "LZ_AEN_EW": lambda i: (500 + i) * 10,
        },
    )
    return (
        flatten(da, DA_PRICES).frame,
        flatten(asp, AS_PRICES).frame,
        flatten(rt, RT_PRICES).frame,
    )


LOCATIONS = ["hb_north", "lz_aen", "lz_aen_ew", "hb_missing"]
PRODUCTS = ["regup", "ecrs"]


def test_combine_da_as_hourly_fall_back_and_null_columns() -> None:
    da, asp, _ = _wide_inputs(FALL_BACK)
    out = combine_da_as_hourly(da, asp, LOCATIONS, PRODUCTS)
    assert out.columns == [
        *TIME_COLUMNS,
        "da_hb_north",
        "da_lz_aen",
        "da_lz_aen_ew",
        "da_hb_missing",
        "as_regup",
        "as_ecrs",
    ]
    assert out.height == 25
    assert out.get_column("da_hb_north").to_list() == [1000.0 + h for h in range(25)]
    assert out.get_column("as_regup").to_list() == [2000.0 + h for h in range(25)]
    for missing in ("da_lz_aen_ew", "da_hb_missing", "as_ecrs"):
        assert out.schema[missing] == pl.Float64
        assert out.get_column(missing).null_count() == 25


def test_combine_da_as_hourly_union_of_hours() -> None:
    da, _, _ = _wide_inputs(FALL_BACK)
    _, asp, _ = _wide_inputs(NORMAL_DAY)
    out = combine_da_as_hourly(da, asp, ["hb_north"], ["regup"])
    assert out.height == 49
    assert out.get_column("interval_start_utc").is_sorted()
    assert out.filter(pl.col("operating_day") == FALL_BACK)["as_regup"].null_count() == 25
    assert out.filter(pl.col("operating_day") == NORMAL_DAY)["da_hb_north"].null_count() == 24


@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23)])
def test_combine_da_as_rt_hourly_dst(day: date, hours: int) -> None:
    da, asp, rt = _wide_inputs(day)
    out = combine_da_as_rt_hourly(da, asp, rt, LOCATIONS, PRODUCTS)
    assert out.height == hours
    stats = [f"rt_{loc}_{s}" for loc in LOCATIONS for s in ("mean", "max", "min", "std")]
    assert out.columns == [
        *TIME_COLUMNS,
        *(f"da_{loc}" for loc in LOCATIONS),
        "as_regup",
        "as_ecrs",
        *stats,
        "rt_intervals",
    ]
    # Hour h holds quarter hours 4h..4h+3 of HB_NORTH (value = quarter-hour index).
    assert out.get_column("rt_hb_north_mean").to_list() == [4 * h + 1.5 for h in range(hours)]
    assert out.get_column("rt_hb_north_max").to_list() == [4.0 * h + 3 for h in range(hours)]
    assert out.get_column("rt_hb_north_min").to_list() == [4.0 * h for h in range(hours)]
    std = out.get_column("rt_hb_north_std").to_list()
    assert all(math.isclose(s, math.sqrt(5 / 3)) for s in std)
    assert out.get_column("rt_lz_aen_ew_mean").to_list() == [
        (500 + 4 * h + 1.5) * 10 for h in range(hours)
    ]
    assert out.get_column("rt_intervals").to_list() == [4] * hours
    assert out.get_column("rt_hb_missing_mean").null_count() == hours
    assert out.get_column("da_hb_north").to_list() == [1000.0 + h for h in range(hours)]


def test_combine_da_as_rt_hourly_partial_hour_and_missing_rt_hours() -> None:
    da, asp, rt = _wide_inputs(FALL_BACK)
    rt = rt.with_columns(
        pl.when(pl.int_range(pl.len()) == 9)
        .then(None)
        .otherwise(pl.col("hb_north"))
        .alias("hb_north")
    )
    rt = rt.filter(pl.int_range(pl.len()) < 96)  # the last hour has no RT rows at all
    out = combine_da_as_rt_hourly(da, asp, rt, ["hb_north"], ["regup"])
    assert out.height == 25
    # Hour 2 (second 01:00 CST) kept 3 of its 4 RT values for HB_NORTH (8, 10, 11).
    assert out.get_column("rt_hb_north_mean")[2] == pytest.approx((8 + 10 + 11) / 3)
    assert out.get_column("rt_intervals").to_list() == [4, 4, 3, *([4] * 21), 0]
    assert out.get_column("rt_hb_north_mean")[24] is None


def test_combine_da_as_rt_native_fall_back_repeated_hour() -> None:
    da, asp, rt = _wide_inputs(FALL_BACK)
    out = combine_da_as_rt_native(da, asp, rt, LOCATIONS, PRODUCTS)
    assert out.height == 100
    assert out.columns == [
        *TIME_COLUMNS,
        *(f"rt_{loc}" for loc in LOCATIONS),
        *(f"da_{loc}" for loc in LOCATIONS),
        "as_regup",
        "as_ecrs",
    ]
    assert out.get_column("rt_hb_north").to_list() == [float(j) for j in range(100)]
    assert out.get_column("da_hb_north").to_list() == [1000.0 + j // 4 for j in range(100)]
    assert out.get_column("as_regup").to_list() == [2000.0 + j // 4 for j in range(100)]
    # Both 01:15 local quarter hours exist; the CST one joins the second DA 01:00 hour.
    quarter = out.filter(
        (pl.col("interval_start_local").dt.hour() == 1)
        & (pl.col("interval_start_local").dt.minute() == 15)
    )
    assert quarter.height == 2
    assert quarter.get_column("da_hb_north").to_list() == [1001.0, 1002.0]
    assert quarter.get_column("interval_start_utc").to_list() == [
        utc(2024, 11, 3, 6, 15),
        utc(2024, 11, 3, 7, 15),
    ]
    assert out.get_column("rt_hb_missing").null_count() == 100
    assert out.get_column("da_lz_aen_ew").null_count() == 100


def test_combine_da_as_rt_native_spring_forward() -> None:
    da, asp, rt = _wide_inputs(SPRING_FORWARD)
    out = combine_da_as_rt_native(da.lazy(), asp, rt, ["lz_aen"], ["regup"])
    assert out.height == 92
    assert out.get_column("da_lz_aen").to_list() == [3000.0 + j // 4 for j in range(92)]
    assert out.get_column("rt_lz_aen").to_list() == [500.0 + j for j in range(92)]


def test_combine_with_an_empty_input_keeps_the_schema() -> None:
    da, asp, rt = _wide_inputs(NORMAL_DAY)
    empty_as = flatten(ancillary_long(AS_PRICES, [NORMAL_DAY], ["REGUP"]).head(0), AS_PRICES).frame
    hourly = combine_da_as_rt_hourly(da, empty_as, rt, ["hb_north"], ["regup"])
    assert hourly.height == 24
    assert hourly.schema["as_regup"] == pl.Float64
    assert hourly.get_column("as_regup").null_count() == 24
    native = combine_da_as_rt_native(da, empty_as, rt, ["hb_north"], ["regup"])
    assert native.height == 96
    assert native.get_column("as_regup").null_count() == 96
    rt_only = combine_da_as_rt_hourly(da.head(0), empty_as, rt, ["hb_north"], ["regup"])
    assert rt_only.height == 24
    assert rt_only.get_column("operating_day").unique().to_list() == [NORMAL_DAY]
    assert rt_only.schema["interval_start_local"] == pl.Datetime("us", TZ)
    assert rt_only.get_column("interval_start_local").dt.hour().to_list() == list(range(24))


# --------------------------------------------------------------------------- irregular (SCED)


def test_flatten_irregular_keeps_observed_stamps_on_dst_days() -> None:
    for day, runs in ((FALL_BACK, 300), (SPRING_FORWARD, 276)):
        long = irregular_long([day], [("HB_NORTH", "HUB"), ("LZ_AEN", "ZONE")])
        result = flatten(long, RT_LMP)
        frame = result.frame
        assert frame.height == runs == result.expected_intervals
        assert (frame["interval_start_utc"].dt.second() == 12).all()
        assert frame["interval_start_utc"].is_sorted()
        assert (frame["interval_end_utc"] - frame["interval_start_utc"]).unique().to_list() == [
            timedelta(minutes=5)
        ]
        assert result.missing_intervals == 0 and result.filled_cells == 0


def test_flatten_irregular_extra_stamp_in_a_bucket_is_its_own_row() -> None:
    long = irregular_long([NORMAL_DAY], [("HB_NORTH", "HUB")])
    rerun = long.slice(10, 1).with_columns(
        pl.col("interval_start_utc") + pl.duration(seconds=150), pl.col("lmp") + 0.5
    )
    result = flatten(pl.concat([long, rerun]), RT_LMP)
    assert result.frame.height == 289
    assert result.missing_intervals == 0


def test_flatten_irregular_fill_rule_is_elapsed_time() -> None:
    series = [("HB_NORTH", "HUB"), ("HB_WEST", "HUB")]
    long = irregular_long([NORMAL_DAY], series, {"HB_NORTH": lambda i: i})
    # 11 runs (55 minutes) without HB_NORTH: filled; 12 runs (60 minutes): left null.
    short = flatten(drop_intervals(long, RT_LMP, range(20, 31), "HB_NORTH"), RT_LMP)
    assert short.filled_cells == 11
    assert short.frame["hb_north"].to_list()[20:31] == [19.0] * 11
    long_gap = flatten(drop_intervals(long, RT_LMP, range(20, 32), "HB_NORTH"), RT_LMP)
    assert (long_gap.filled_cells, long_gap.unfilled_null_cells) == (0, 12)
    # Whole runs missing (no row at all) stretch the elapsed time of a one-row hole: HB_NORTH
    # absent from the run at index 40 only, but the next run comes 65 minutes later.
    holed = drop_intervals(long, RT_LMP, range(41, 53))
    holed = drop_intervals(holed, RT_LMP, [40], "HB_NORTH")
    result = flatten(holed, RT_LMP)
    assert result.missing_intervals == 12
    assert result.frame.height == 288 - 12
    assert (result.filled_cells, result.unfilled_null_cells) == (0, 1)
    # ... while with the runs present the same one-run hole is filled.
    assert flatten(drop_intervals(long, RT_LMP, [40], "HB_NORTH"), RT_LMP).filled_cells == 1


def test_fill_short_gaps_irregular_equals_regular_on_a_complete_grid() -> None:
    long = price_long(RT_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")], {"HB_NORTH": lambda i: i})
    wide = flatten(
        drop_intervals(long, RT_PRICES, [5, 6, 30, 31, 32, 33]), RT_PRICES, max_fill_minutes=0
    )
    args = {"interval_minutes": 15, "max_fill_minutes": 60}
    regular = fill_short_gaps(wide.frame, ["hb_north"], **args)
    irregular = fill_short_gaps(wide.frame, ["hb_north"], irregular=True, **args)
    assert regular.equals(irregular)
    assert regular["hb_north"].null_count() == 4


def test_flatten_irregular_rejects_stamps_outside_their_day() -> None:
    long = irregular_long([NORMAL_DAY], [("HB_NORTH", "HUB")])
    moved = long.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("interval_start_utc") - pl.duration(minutes=10))
        .otherwise(pl.col("interval_start_utc"))
        .alias("interval_start_utc")
    )
    with pytest.raises(ValueError, match="outside their operating day"):
        flatten(moved, RT_LMP)
