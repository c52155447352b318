"""Ancillary capacity co-optimised with DA energy (transforms/bess_ancillary.py)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from power_market_assets.transforms.bess import ANCILLARY_STRATEGY, Battery, bess_value
from power_market_assets.transforms.bess_ancillary import product_rule
from power_market_assets_tests.test_transforms_bess import price_frame

DAY = date(2024, 7, 1)


def as_frame(prices: dict[str, list[float]], da: pl.DataFrame) -> pl.DataFrame:
    """A long ANCILLARY table on the DA frame's hours."""
    hours = da["interval_start_utc"].to_list()
    return pl.DataFrame(
        {
            "interval_start_utc": hours * len(prices),
            "interval_minutes": [60] * len(hours) * len(prices),
            "operating_day": [DAY] * len(hours) * len(prices),
            "product": [p for p in prices for _ in hours],
            "price": [v for values in prices.values() for v in values],
        }
    )


@pytest.mark.parametrize(
    ("product", "direction", "hours"),
    [
        ("REGUP", "up", 1.0),
        ("REGDN", "down", 1.0),
        ("NSPIN", "up", 4.0),
        ("ECRS", "up", 2.0),
        ("AS_CAISO_EXP_RD", "down", 1.0),
        ("AS_CAISO_EXP_RU", "up", 1.0),
        ("N.Y.C._SPIN_10", "up", 1.0),
        ("WEST_REG_CAP", "both", 1.0),
        ("ROS_TMSR", "up", 1.0),
        ("PJM RTO Synchronized Reserve", "up", 1.0),  # unknown: an up-reserve
        ("SOMETHING_NEW", "up", 1.0),
    ],
)
def test_product_directions(product, direction, hours):
    assert product_rule(product) == (direction, hours)


def test_zero_as_prices_leave_the_da_optimum():
    da = price_frame(DAY, 60, list(np.random.default_rng(1).normal(40, 20, 24)))
    result = bess_value(da, None, Battery(), as_frame({"REGUP": [0.0] * 24}, da))
    daily = {r["strategy"]: r for r in result.daily.iter_rows(named=True)}
    assert daily[ANCILLARY_STRATEGY]["revenue_usd"] == pytest.approx(
        daily["da_only"]["revenue_usd"], rel=1e-7
    )
    assert result.ancillary["revenue_usd"].sum() == pytest.approx(0.0, abs=1e-6)


def test_capacity_limits_and_value():
    """Up-capacity shares the power limit with discharge and needs SOC for its sustain hours;
    the co-optimum is at least the DA optimum (no capacity is feasible)."""
    rng = np.random.default_rng(4)
    da = price_frame(DAY, 60, list(rng.normal(40, 30, 24)))
    prices = {
        "REGUP": list(rng.uniform(0, 20, 24)),
        "REGDN": list(rng.uniform(0, 10, 24)),
        "NSPIN": list(rng.uniform(0, 15, 24)),
    }
    battery = Battery(soc_min_fraction=0.1)
    result = bess_value(da, None, battery, as_frame(prices, da), strategies=("da_only",))
    daily = {r["strategy"]: r for r in result.daily.iter_rows(named=True)}
    both = daily[ANCILLARY_STRATEGY]
    assert both["revenue_usd"] >= daily["da_only"]["revenue_usd"] - 1e-6
    assert both["ancillary_revenue_usd"] == pytest.approx(result.ancillary["revenue_usd"].sum())
    assert both["revenue_usd"] == pytest.approx(
        both["energy_revenue_usd"] + both["ancillary_revenue_usd"]
    )
    assert sorted(result.ancillary["product"]) == ["NSPIN", "REGDN", "REGUP"]
    capacity = dict(zip(result.ancillary["product"], result.ancillary["capacity_mw"], strict=True))
    assert capacity["REGUP"] > 0 and capacity["REGDN"] > 0  # NSPIN needs 4 h of SOC per MW
    # hour by hour: power shared by direction, SOC enough to sustain the up-capacity
    s = result.schedule.filter(pl.col("strategy") == ANCILLARY_STRATEGY)
    assert s.height == 24
    assert (s["discharge_mw"] + s["up_reserve_mw"]).max() <= 100 + 1e-6
    assert (s["charge_mw"] + s["down_reserve_mw"]).max() <= 100 + 1e-6
    assert s["up_reserve_mw"].max() > 0 and s["down_reserve_mw"].max() > 0
    a = math.sqrt(0.86)
    assert (s["soc_mwh"] - 20.0 >= s["up_reserve_mw"] / a - 1e-6).all()  # >= 1 h of REGUP
    assert (200.0 - s["soc_mwh"] >= s["down_reserve_mw"] * a - 1e-6).all()


def test_up_capacity_needs_stored_energy():
    """An empty battery (start = SOC min) with flat energy prices cannot sell up-reserve in
    the first hour: nothing stored to sustain it; four-hour NSPIN on a 2 h battery is capped
    at what the SOC can sustain for four hours."""
    battery = Battery(initial_soc_fraction=0.0, cycles_per_day=None)
    da = price_frame(DAY, 60, [30.0] * 24)
    result = bess_value(
        da, None, battery, as_frame({"NSPIN": [10.0] * 24}, da), strategies=("da_only",)
    )
    nspin = result.ancillary.row(0, named=True)
    a = math.sqrt(0.86)
    # the SOC can hold at most 200 MWh -> 200 * a / 4 MW of four-hour capacity
    assert nspin["capacity_mw"] < 200 * a / 4 + 1e-6
    assert nspin["capacity_mw"] > 0
    schedule = result.schedule.filter(pl.col("strategy") == ANCILLARY_STRATEGY)
    assert schedule["up_reserve_mw"][0] == pytest.approx(0.0, abs=1e-9)  # nothing stored yet
    assert schedule["up_reserve_mw"].max() > 0
