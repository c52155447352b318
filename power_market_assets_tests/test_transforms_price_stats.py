"""Issue 15: monthly price statistics (transforms/price_stats.py) on hand-made long price tables
with known answers: percentiles, negative-price hours at 15 and 5 minutes, intervals above
$1,000 and at the cap of each era, the DA-RT spread on the DA hour (fall-back day included),
a DST month's hours, the duration curve and the hub/zone filter."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from power_market_assets.registry.ercot import DA_PRICES, RT_PRICES
from power_market_assets.transforms import price_stats as ps
from power_market_assets.transforms.time import days_between, expected_interval_frame

TZ = "America/Chicago"
FALL_BACK = date(2024, 11, 3)
NOVEMBER = days_between(date(2024, 11, 1), date(2024, 11, 30))


def prices(
    days: list[date],
    minutes: int,
    values: list[float] | np.ndarray | None = None,
    location: str = "HB_NORTH",
    location_type: str = "HUB",
) -> pl.DataFrame:
    """A long price table (the columns the reports read) on the days' DST-aware grid."""
    grid = expected_interval_frame(days, TZ, minutes)
    lmp = np.arange(grid.height, dtype=float) if values is None else np.asarray(values, float)
    assert len(lmp) == grid.height, (len(lmp), grid.height)
    return grid.with_columns(
        interval_minutes=pl.lit(minutes, pl.Int16),
        location=pl.lit(location),
        location_type=pl.lit(location_type),
        lmp=pl.Series(lmp),
    )


def row(table: pl.DataFrame, market: str, location: str = "HB_NORTH") -> dict:
    found = table.filter((pl.col("market") == market) & (pl.col("location") == location))
    assert found.height == 1, found
    return found.row(0, named=True)


def test_percentiles_mean_and_std_are_numpys() -> None:
    values = np.random.default_rng(7).normal(40, 25, 24 * 4)
    table = ps.price_stats(prices(NOVEMBER[3:7], 60, values), None, "ERCOT")
    da = row(table, ps.DA)
    for p in ps.PERCENTILES:
        assert da[f"p{p}_usd_per_mwh"] == pytest.approx(np.percentile(values, p)), p
    assert da["mean_usd_per_mwh"] == pytest.approx(values.mean())
    assert da["std_usd_per_mwh"] == pytest.approx(values.std(ddof=1))
    assert (da["min_usd_per_mwh"], da["max_usd_per_mwh"]) == (values.min(), values.max())
    assert da["intervals"] == 96 and da["hours"] == 96.0


def test_percentiles_of_zero_to_a_hundred_are_the_percent() -> None:
    """101 hourly prices 0, 1, ..., 100: the p-th percentile is p (linear interpolation)."""
    frame = prices(NOVEMBER[:5], 60).filter(pl.col("lmp") <= 100)
    da = row(ps.price_stats(frame, None, "ERCOT"), ps.DA)
    assert [da[f"p{p}_usd_per_mwh"] for p in ps.PERCENTILES] == list(map(float, ps.PERCENTILES))


@pytest.mark.parametrize(("minutes", "negative", "hours"), [(15, 6, 1.5), (5, 6, 0.5), (60, 3, 3)])
def test_negative_hours_are_interval_hours(minutes: int, negative: int, hours: float) -> None:
    day = [date(2024, 11, 4)]
    n = 24 * 60 // minutes
    values = [-5.0] * negative + [0.0] + [20.0] * (n - negative - 1)  # 0 is not negative
    table = ps.price_stats(None, prices(day, minutes, values), "ERCOT")
    assert row(table, ps.RT)["negative_hours"] == hours


def test_above_a_thousand_and_at_the_cap_of_each_era() -> None:
    """ERCOT's cap is $9,000 before 2022-06-01 and $5,000 after: $5,000 is at the cap only in
    the second era; a cent below the cap counts, $1,000 itself is not above $1,000."""
    spiky = [1000.0, 1000.01, 4999.995, 5000.0, 9000.0] + [30.0] * 19
    old = prices([date(2022, 5, 31)], 60, spiky)
    new = prices([date(2022, 6, 1)], 60, spiky)
    table = ps.price_stats(None, pl.concat([old, new]), "ERCOT", rt_bounds=RT_PRICES.price_bounds)
    may, june = table.filter(pl.col("market") == ps.RT).sort("month").iter_rows(named=True)
    assert (may["intervals_above_1000"], june["intervals_above_1000"]) == (4, 4)
    assert (may["cap_usd_per_mwh"], may["intervals_at_cap"]) == (9000.0, 1)
    assert (june["cap_usd_per_mwh"], june["intervals_at_cap"]) == (5000.0, 3)


def test_spread_is_da_minus_rt_mean_over_the_da_hour_on_the_fall_back_day() -> None:
    """25 DA hours; RT quarter hours whose hourly mean is DA - 3, with the repeated 01:00 hour
    (second occurrence) set far apart: each UTC hour pairs with its own RT intervals."""
    da = prices([FALL_BACK], 60, [10.0 * h for h in range(25)])
    quarter = np.array([10.0 * (i // 4) - 3 for i in range(100)])
    quarter += np.tile([-2.0, 2.0, -1.0, 1.0], 25)  # mean over each hour unchanged
    quarter[8:12] += 500  # the second 01:00 (UTC 07:00): its own DA hour moves with it
    da = da.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.col("lmp") + 500).otherwise(pl.col("lmp"))
    )
    spread = ps.da_rt_spread(da, prices([FALL_BACK], 15, quarter))
    assert spread.height == 25
    assert spread["lmp"].to_list() == pytest.approx([3.0] * 25)
    stats = row(ps.price_stats(da, prices([FALL_BACK], 15, quarter), "ERCOT"), ps.SPREAD)
    assert stats["intervals"] == 25 and stats["mean_usd_per_mwh"] == pytest.approx(3.0)
    assert stats["intervals_at_cap"] is None  # no cap for a spread


def test_spread_uses_only_hours_both_markets_have() -> None:
    da = prices([date(2024, 11, 4)], 60, [50.0] * 24)
    rt = prices([date(2024, 11, 4)], 5, [40.0] * 288).filter(
        pl.col("interval_start_utc").dt.hour() != 12
    )
    spread = ps.da_rt_spread(da, rt)
    assert spread.height == 23 and set(spread["lmp"]) == {10.0}


def test_a_dst_month_has_721_hours() -> None:
    """November 2024 in Texas: 30 days, one of 25 hours: 721 DA hours, 2,884 quarter hours."""
    da = prices(NOVEMBER, 60, [-1.0] * 721)
    rt = prices(NOVEMBER, 15, [-1.0] * 2884)
    table = ps.price_stats(da, rt, "ERCOT")
    assert (row(table, ps.DA)["intervals"], row(table, ps.RT)["intervals"]) == (721, 2884)
    assert row(table, ps.DA)["negative_hours"] == row(table, ps.RT)["negative_hours"] == 721.0
    assert row(table, ps.SPREAD)["intervals"] == 721
    assert set(table["month"]) == {date(2024, 11, 1)}


def test_hourly_change_std_uses_consecutive_hours_and_rt_hourly_means() -> None:
    """DA alternates 0, 10: changes +-10. RT quarter hours average to the same hourly series,
    whatever they do within the hour; a missing hour is not a change across two hours."""
    alternating = [10.0 * (h % 2) for h in range(24)]
    da = prices([date(2024, 11, 4)], 60, alternating)
    inside = np.repeat(alternating, 4) + np.tile([-7.0, 7.0, -3.0, 3.0], 24)
    rt = prices([date(2024, 11, 4)], 15, inside)
    expected = np.std(np.diff(alternating), ddof=1)
    table = ps.price_stats(da, rt, "ERCOT")
    assert row(table, ps.DA)["hourly_change_std_usd_per_mwh"] == pytest.approx(expected)
    assert row(table, ps.RT)["hourly_change_std_usd_per_mwh"] == pytest.approx(expected)
    gap = da.filter(pl.col("lmp") == 0).head(6)  # hours 0, 2, 4, ...: never consecutive
    assert row(ps.price_stats(gap, None, "ERCOT"), ps.DA)["hourly_change_std_usd_per_mwh"] is None


def test_only_hubs_and_zones_each_its_own_row() -> None:
    day = [date(2024, 11, 4)]
    frames = [
        prices(day, 60, [20.0] * 24, "HB_NORTH", "HUB"),
        prices(day, 60, [30.0] * 24, "LZ_AEN", "ZONE"),
        prices(day, 60, [99.0] * 24, "LZ_AEN", "ZONE_EW"),
        prices(day, 60, [99.0] * 24, "NODE_1", "NODE"),
    ]
    table = ps.price_stats(pl.concat(frames), None, "ERCOT", DA_PRICES.price_bounds)
    assert table.select("location", "location_type", "mean_usd_per_mwh").rows() == [
        ("HB_NORTH", "HUB", 20.0),
        ("LZ_AEN", "ZONE", 30.0),
    ]
    assert table.columns == list(ps.STATS_COLUMNS) and set(table["iso"]) == {"ERCOT"}


def test_duration_curve_runs_from_the_maximum_to_the_minimum() -> None:
    frame = prices(NOVEMBER[:5], 60).filter(pl.col("lmp") <= 100)  # 0..100
    curve = ps.price_duration(frame, None, "ERCOT")
    assert curve.height == ps.DURATION_POINTS
    assert curve["percent_of_time"].to_list() == [float(p) for p in range(101)]
    assert curve["price_usd_per_mwh"].to_list() == pytest.approx([100 - p for p in range(101)])
    rt = ps.price_duration(None, prices([date(2024, 11, 4)], 5), "ERCOT")
    assert rt["price_usd_per_mwh"].is_sorted(descending=True) and set(rt["market"]) == {ps.RT}


def test_months_are_kept_apart() -> None:
    oct_31, nov_1 = date(2024, 10, 31), date(2024, 11, 1)
    frame = pl.concat([prices([oct_31], 60, [10.0] * 24), prices([nov_1], 60, [20.0] * 24)])
    table = ps.price_stats(frame, None, "ERCOT")
    assert table.select("month", "mean_usd_per_mwh").rows() == [
        (date(2024, 10, 1), 10.0),
        (nov_1, 20.0),
    ]
    assert ps.price_stats(None, None, "ERCOT").columns == list(ps.STATS_COLUMNS)
