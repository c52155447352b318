"""The battery engine (transforms/bess*.py): the LP against brute force and hand-computed
optima, conservation with losses, SOC bounds, the cycle limit, DST days, the two-settlement and
rule-based relations that hold by construction, and Battery's text form."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from power_market_assets.transforms.bess import (
    DAILY_COLUMNS,
    SCHEDULE_COLUMNS,
    STRATEGIES,
    Battery,
    bess_value,
    monthly_summary,
)

TZ = "US/Central"


def price_frame(
    day: date, minutes: int, prices: list[float] | np.ndarray, location: str = "HB_NORTH"
) -> pl.DataFrame:
    """A long PRICE table for one operating day: intervals from local midnight, in UTC."""
    start = (
        pl.Series([datetime(day.year, day.month, day.day)])
        .dt.replace_time_zone(TZ)
        .dt.convert_time_zone("UTC")[0]
    )
    n = len(prices)
    return pl.DataFrame(
        {
            "interval_start_utc": [start + timedelta(minutes=minutes * i) for i in range(n)],
            "interval_minutes": [minutes] * n,
            "operating_day": [day] * n,
            "location": [location] * n,
            "lmp": [float(p) for p in prices],
        }
    )


def intervals_in_day(day: date, minutes: int) -> int:
    """The DST-aware count: local midnight to local midnight, measured in UTC."""
    ends = (
        pl.Series(
            [
                datetime(day.year, day.month, day.day),
                datetime.combine(day, datetime.min.time()) + timedelta(days=1),
            ]
        )
        .dt.replace_time_zone(TZ)
        .dt.convert_time_zone("UTC")
    )
    return int((ends[1] - ends[0]).total_seconds() // 60 // minutes)


def revenue(result, strategy: str) -> float:  # noqa: ANN001 - a BessResult
    return float(result.daily.filter(pl.col("strategy") == strategy)["revenue_usd"].sum())


def one_day(prices: list[float], battery: Battery, minutes: int = 60, market: str = "da") -> float:
    frame = price_frame(date(2024, 7, 1), minutes, prices)
    da, rt = (frame, None) if market == "da" else (None, frame)
    strategy = "da_only" if market == "da" else "rt_only"
    return revenue(bess_value(da, rt, battery, strategies=(strategy,)), strategy)


# --- hand-computed optima -------------------------------------------------------------------


def test_two_prices_one_cycle_by_hand():
    """Charge at P for an hour at p_low, store P*sqrt(eta), deliver P*eta at p_high:
    revenue = P*h*(p_high*sqrt(eta)*sqrt(eta) - p_low)."""
    battery = Battery(
        power_mw=1.0, duration_hours=1.0, round_trip_efficiency=0.81, initial_soc_fraction=0.0
    )
    p_low, p_high, power, h = 10.0, 50.0, 1.0, 1.0
    expected = power * h * (p_high * math.sqrt(0.81) * math.sqrt(0.81) - p_low)  # 30.5
    assert one_day([p_low, p_high], battery) == pytest.approx(expected, abs=1e-6)


def test_energy_limited_by_hand():
    """A half-hour battery (0.5 MWh) in hourly prices: charge 0.5/0.9 MW (SOC full), deliver
    0.5*0.9 MWh: revenue = 50*0.45 - 10*0.5/0.9."""
    battery = Battery(
        power_mw=1.0, duration_hours=0.5, round_trip_efficiency=0.81, initial_soc_fraction=0.0
    )
    assert one_day([10.0, 50.0], battery) == pytest.approx(50 * 0.45 - 10 * 0.5 / 0.9, abs=1e-6)


def test_degradation_cost_per_mwh_discharged():
    """$5/MWh on the 0.81 MWh delivered; a spread below the cost leaves the battery idle."""
    battery = Battery(
        power_mw=1.0,
        duration_hours=1.0,
        round_trip_efficiency=0.81,
        initial_soc_fraction=0.0,
        degradation_usd_per_mwh=5.0,
    )
    assert one_day([10.0, 50.0], battery) == pytest.approx(50 * 0.81 - 10 - 5 * 0.81, abs=1e-6)
    assert one_day([10.0, 16.0], battery) == pytest.approx(0.0, abs=1e-6)


# --- brute force ----------------------------------------------------------------------------


def brute_force(prices: list[float], battery: Battery) -> float:
    """Best schedule on a grid: each hour charges 0, P/2 or P, or discharges eta*P/2 or eta*P
    (so stored and released energy are both multiples of sqrt(eta)*P/2 and a day can close
    exactly at its initial SOC); infeasible schedules are skipped."""
    a = math.sqrt(battery.round_trip_efficiency)
    p = battery.power_mw
    eta = battery.round_trip_efficiency
    actions = [(-p, 0.0), (-p / 2, 0.0), (0.0, 0.0), (0.0, eta * p / 2), (0.0, eta * p)]
    s0 = battery.energy_mwh * battery.initial_soc_fraction
    lo, hi = (
        battery.energy_mwh * battery.soc_min_fraction,
        battery.energy_mwh * battery.soc_max_fraction,
    )
    cap = (
        None
        if battery.cycles_per_day is None
        else battery.cycles_per_day * battery.usable_energy_mwh
    )
    best = -math.inf
    for plan in itertools.product(actions, repeat=len(prices)):
        soc, ok, value, delivered = s0, True, 0.0, 0.0
        for price, (charge, discharge) in zip(prices, plan, strict=True):
            soc += -charge * a - discharge / a
            ok = ok and lo - 1e-9 <= soc <= hi + 1e-9
            value += price * (discharge + charge) - battery.degradation_usd_per_mwh * discharge
            delivered += discharge
        ok = ok and abs(soc - s0) < 1e-9 and (cap is None or delivered <= cap + 1e-9)
        if ok:
            best = max(best, value)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_lp_at_least_every_brute_force_schedule(seed):
    rng = np.random.default_rng(seed)
    prices = list(rng.normal(30, 25, size=5).round(2))  # negative hours included
    battery = Battery(
        power_mw=1.0,
        duration_hours=2.0,
        round_trip_efficiency=0.85,
        cycles_per_day=None if seed % 2 else 1.0,
        degradation_usd_per_mwh=float(seed),
    )
    assert one_day(prices, battery) >= brute_force(prices, battery) - 1e-6


def test_lp_equals_brute_force_when_the_grid_holds_the_optimum():
    """Lossless, two cheap and two dear hours, room for both: full power in each."""
    battery = Battery(
        power_mw=1.0, duration_hours=4.0, round_trip_efficiency=1.0, cycles_per_day=None
    )
    prices = [10.0, 50.0, 5.0, 60.0]
    assert brute_force(prices, battery) == pytest.approx(95.0)
    assert one_day(prices, battery) == pytest.approx(95.0, abs=1e-6)
    lossy = Battery(
        power_mw=1.0, duration_hours=1.0, round_trip_efficiency=0.81, initial_soc_fraction=0.0
    )
    assert one_day([10.0, 50.0, 30.0], lossy) == pytest.approx(
        brute_force([10.0, 50.0, 30.0], lossy), abs=1e-6
    )


# --- physics of the schedule ----------------------------------------------------------------


def random_days(days: int, minutes: int, seed: int = 0, locations: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for loc in range(locations):
        for i in range(days):
            day = date(2024, 7, 1) + timedelta(days=i)
            n = intervals_in_day(day, minutes)
            shape = 40 + 25 * np.sin(np.arange(n) / n * 2 * np.pi - 2)
            frames.append(price_frame(day, minutes, shape + rng.normal(0, 20, n), f"LOC{loc}"))
    return pl.concat(frames)


def test_energy_conserved_with_losses_and_soc_inside_bounds():
    """Each day: delivered MWh = eta x drawn MWh (start SOC = end SOC); SOC within its window
    and equal to the dynamics recomputed from the flows."""
    battery = Battery(
        round_trip_efficiency=0.8,
        soc_min_fraction=0.1,
        soc_max_fraction=0.9,
        initial_soc_fraction=0.3,
        cycles_per_day=None,
    )
    result = bess_value(None, random_days(3, 15), battery, strategies=("rt_only", "rule_based_rt"))
    daily = result.daily
    assert set(daily.columns) == set(DAILY_COLUMNS)
    assert np.allclose(daily["discharge_mwh"], 0.8 * daily["charge_mwh"], atol=1e-6)
    assert (daily.filter(pl.col("strategy") == "rt_only")["discharge_mwh"] > 0).all()
    schedule = result.schedule
    assert schedule["soc_mwh"].min() >= 0.1 * 200 - 1e-6
    assert schedule["soc_mwh"].max() <= 0.9 * 200 + 1e-6
    assert schedule["charge_mw"].min() >= 0 and schedule["discharge_mw"].min() >= 0
    assert (schedule["charge_mw"] + schedule["discharge_mw"]).max() <= 100 + 1e-6
    a = math.sqrt(0.8)
    recomputed = schedule.with_columns(
        soc=60.0
        + (a * pl.col("charge_mw") * 0.25 - pl.col("discharge_mw") * 0.25 / a)
        .cum_sum()
        .over("strategy", "operating_day", order_by="interval_start_utc")
    )
    assert np.allclose(recomputed["soc"], recomputed["soc_mwh"], atol=1e-6)
    last = schedule.group_by("strategy", "operating_day").agg(pl.col("soc_mwh").last())
    assert np.allclose(last["soc_mwh"], 60.0, atol=1e-6)


@pytest.mark.parametrize("cycles", [0.5, 1.0])
def test_cycle_limit_binds(cycles):
    """Two daily peaks: the unlimited battery cycles more than once; the limited one exactly
    `cycles` times its usable energy."""
    day = [5.0] * 4 + [100.0] * 4 + [5.0] * 4 + [100.0] * 4 + [30.0] * 8
    limited = Battery(cycles_per_day=cycles, soc_min_fraction=0.1, soc_max_fraction=0.9)
    free = Battery(cycles_per_day=None, soc_min_fraction=0.1, soc_max_fraction=0.9)
    frame = price_frame(date(2024, 7, 1), 60, day)
    bound = bess_value(frame, None, limited, strategies=("da_only",)).daily
    loose = bess_value(frame, None, free, strategies=("da_only",)).daily
    assert bound["discharge_mwh"][0] == pytest.approx(cycles * 160.0, abs=1e-6)
    assert bound["cycles"][0] == pytest.approx(cycles, abs=1e-9)
    assert loose["cycles"][0] > 1.5
    assert loose["revenue_usd"][0] > bound["revenue_usd"][0]


@pytest.mark.parametrize(
    ("day", "minutes", "expected"),
    [
        (date(2024, 3, 10), 15, 92),
        (date(2024, 11, 3), 15, 100),
        (date(2024, 3, 10), 60, 23),
        (date(2024, 11, 3), 60, 25),
        (date(2024, 11, 3), 5, 300),
        (date(2024, 3, 10), 5, 276),
    ],
)
def test_dst_days_have_their_own_number_of_decisions(day, minutes, expected):
    n = intervals_in_day(day, minutes)
    assert n == expected
    rng = np.random.default_rng(3)
    frame = price_frame(day, minutes, rng.normal(40, 20, n))
    result = bess_value(None, frame, Battery(), strategies=("rt_only", "rule_based_rt"))
    assert result.daily["intervals"].to_list() == [expected, expected]
    assert result.schedule.filter(pl.col("strategy") == "rt_only").height == expected
    solver = result.solver.filter(pl.col("strategy") == "rt_only")
    assert solver["lp_variables"][0] == 3 * expected  # charge, discharge, SOC per interval
    last_soc = result.schedule.filter(pl.col("strategy") == "rt_only")["soc_mwh"][-1]
    assert last_soc == pytest.approx(100.0, abs=1e-6)


# --- strategies against each other ----------------------------------------------------------


def da_rt(days: int, seed: int, locations: int = 2) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hourly DA prices and 15-minute RT around them (noise, spikes, negative intervals)."""
    rt = random_days(days, 15, seed, locations)
    rng = np.random.default_rng(seed + 100)
    rt = rt.with_columns(
        pl.col("lmp") + pl.Series(rng.choice([0.0, 300.0, -60.0], rt.height, p=[0.97, 0.02, 0.01]))
    )
    da = (
        rt.group_by("location", "operating_day", pl.col("interval_start_utc").dt.truncate("1h"))
        .agg(pl.col("lmp").mean())
        .sort("location", "interval_start_utc")
        .with_columns(interval_minutes=pl.lit(60))
    )
    da = da.with_columns(pl.col("lmp") + pl.Series(rng.normal(0, 8, da.height)))
    return da, rt


@pytest.mark.parametrize("seed", range(3))
def test_two_settlement_and_rules_against_the_optima(seed):
    """By construction: two_settlement >= rt_only (a zero DA position is feasible) and
    >= da_only (physical dispatch = the DA schedule, deviations zero); rule-based <= the LP on
    the same prices (the rule schedule is feasible for the LP)."""
    da, rt = da_rt(4, seed)
    battery = Battery(degradation_usd_per_mwh=2.0, soc_min_fraction=0.05)
    result = bess_value(da, rt, battery)
    daily = result.daily.pivot(
        on="strategy", index=["operating_day", "location"], values="revenue_usd"
    )
    assert set(STRATEGIES) <= set(daily.columns)
    tol = 1e-5
    assert (daily["two_settlement"] >= daily["rt_only"] - tol).all()
    assert (daily["two_settlement"] >= daily["da_only"] - tol).all()
    assert (daily["rule_based_da"] <= daily["da_only"] + tol).all()
    assert (daily["rule_based_rt"] <= daily["rt_only"] + tol).all()
    schedule = result.schedule
    assert set(SCHEDULE_COLUMNS) <= set(schedule.columns)
    two = schedule.filter(pl.col("strategy") == "two_settlement")
    assert two["da_position_mw"].abs().max() <= 100 + 1e-6
    assert two["da_position_mw"].abs().max() > 1  # the spread is traded


def test_two_settlement_equals_both_when_rt_repeats_da():
    """RT flat within each hour at the DA price: no spread, so all three optima agree."""
    hourly = list(np.random.default_rng(5).normal(40, 20, 24))
    da = price_frame(date(2024, 7, 1), 60, hourly)
    rt = price_frame(date(2024, 7, 1), 15, np.repeat(hourly, 4))
    result = bess_value(da, rt, Battery(), strategies=("da_only", "rt_only", "two_settlement"))
    values = [revenue(result, s) for s in ("da_only", "rt_only", "two_settlement")]
    assert values[1] == pytest.approx(values[0], rel=1e-7)
    assert values[2] == pytest.approx(values[0], rel=1e-7)


def test_rule_based_schedule_is_feasible():
    da, _ = da_rt(3, 7)
    battery = Battery(soc_min_fraction=0.2, initial_soc_fraction=0.6)
    schedule = bess_value(da, None, battery, strategies=("rule_based_da",)).schedule
    assert schedule["soc_mwh"].min() >= 40 - 1e-6 and schedule["soc_mwh"].max() <= 200 + 1e-6
    assert schedule["charge_mw"].max() <= 100 + 1e-9
    assert schedule["discharge_mw"].max() <= 100 + 1e-9
    ends = schedule.group_by("location", "operating_day").agg(pl.col("soc_mwh").last())
    assert np.allclose(ends["soc_mwh"], 120.0)
    hours_each = schedule.group_by("location", "operating_day").agg(
        (pl.col("charge_mw") > 0).sum().alias("charging"),
        (pl.col("discharge_mw") > 0).sum().alias("discharging"),
    )
    assert set(hours_each["charging"]) <= {0, 2} and set(hours_each["discharging"]) <= {0, 2}


def test_days_per_lp_does_not_change_the_answer():
    _, rt = da_rt(5, 11, locations=2)
    one = bess_value(None, rt, Battery(), strategies=("rt_only",), days_per_lp=1)
    many = bess_value(None, rt, Battery(), strategies=("rt_only",), days_per_lp=31)
    assert one.solver["lps"][0] == 10 and many.solver["lps"][0] == 2
    assert revenue(one, "rt_only") == pytest.approx(revenue(many, "rt_only"), rel=1e-8)


def test_missing_markets_are_skipped_and_frames_keep_their_columns():
    _, rt = da_rt(1, 2)
    result = bess_value(None, rt, Battery())
    assert set(result.daily["strategy"]) == {"rt_only", "rule_based_rt"}
    assert result.ancillary.columns == [
        "operating_day",
        "location",
        "product",
        "capacity_mw",
        "revenue_usd",
    ]
    assert result.ancillary.is_empty()
    empty = bess_value(None, None, Battery())
    assert empty.daily.columns == list(DAILY_COLUMNS) and empty.daily.is_empty()
    with pytest.raises(ValueError, match="unknown strategies"):
        bess_value(None, rt, Battery(), strategies=("rt_optimal",))


def test_ew_locations_stay_apart():
    """ERCOT's load zones come twice (ZONE and ZONE_EW): two locations, as in the wide tables."""
    frame = price_frame(date(2024, 7, 1), 60, [10.0, 60.0] * 12, "LZ_AEN")
    both = pl.concat(
        [
            frame.with_columns(location_type=pl.lit("ZONE")),
            frame.with_columns(location_type=pl.lit("ZONE_EW"), lmp=pl.col("lmp") * 2),
        ]
    )
    daily = bess_value(both, None, Battery(), strategies=("da_only",)).daily
    assert sorted(daily["location"]) == ["LZ_AEN", "LZ_AEN_EW"]


def test_monthly_summary_per_kw_month():
    daily = pl.DataFrame(
        {
            "operating_day": [date(2024, 11, 1), date(2024, 11, 2), date(2024, 12, 1)],
            "location": ["HB_NORTH"] * 3,
            "strategy": ["da_only"] * 3,
            "revenue_usd": [1000.0, 2000.0, 3100.0],
            "cycles": [1.0, 0.5, 1.0],
            "battery": ["100MW/2h/0.86"] * 3,
            "power_mw": [100.0] * 3,
        }
    )
    summary = monthly_summary(daily)
    nov = summary.filter(pl.col("month") == "2024-11").row(0, named=True)
    assert nov["revenue_usd"] == 3000.0 and nov["days"] == 2 and nov["cycles"] == 1.5
    assert nov["revenue_usd_per_kw_month"] == pytest.approx(3000.0 / 100_000 * 30 / 2)
    dec = summary.filter(pl.col("month") == "2024-12").row(0, named=True)
    assert dec["revenue_usd_per_kw_month"] == pytest.approx(3100.0 / 100_000 * 31)


# --- Battery --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["100MW/2h/0.86", "50MW/4h/0.9", "2.5MW/0.5h/0.75"])
def test_battery_text_round_trip(text):
    battery = Battery.parse(text)
    assert battery.label() == text
    assert Battery.parse(battery.label()) == battery


def test_battery_parse_values_and_defaults():
    battery = Battery.parse(" 100 mw / 4 H ")
    assert battery == Battery(power_mw=100.0, duration_hours=4.0)
    assert battery.energy_mwh == 400.0
    assert Battery.parse("100MW/2h/0.9").round_trip_efficiency == 0.9


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("100MW/2x", "the duration '2x'"),
        ("100/2h", "the power '100'"),
        ("100MW/2h/eighty", "the round-trip efficiency 'eighty'"),
        ("100MW", "1 part"),
        ("", "empty battery text"),
        ("100MW/2h/1.5", "round_trip_efficiency must be in (0, 1]"),
        ("0MW/2h", "power_mw must be > 0"),
    ],
)
def test_battery_parse_names_the_problem(text, names):
    with pytest.raises(ValueError) as error:
        Battery.parse(text)
    assert names in str(error.value)


def test_battery_rejects_bad_fields():
    with pytest.raises(ValueError, match="initial_soc_fraction 0.05 is outside"):
        Battery(soc_min_fraction=0.1, initial_soc_fraction=0.05)
    with pytest.raises(ValueError, match="cycles_per_day must be > 0"):
        Battery(cycles_per_day=0)
