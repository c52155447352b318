"""Battery (BESS) arbitrage value under perfect foresight, per location and operating day.

The interface the report assets call (issue 15): `Battery`, `bess_value` -> `BessResult`
(daily revenue, the schedule, ancillary capacity) and `monthly_summary`. Strategies:

- `da_only`, `rt_only`: the LP (transforms/bess_lp.py) on DA hourly or RT native-interval prices;
- `two_settlement`: an hourly DA position (a feasible battery schedule of its own) settled at
  DA plus the physical RT dispatch's deviation from it settled at RT;
- `rule_based_da`, `rule_based_rt`: charge the cheapest N hours, discharge the dearest N
  (transforms/bess_rules.py), the baseline that shows what the optimiser adds;
- `da_ancillary` (when AS prices are given): DA energy co-optimised with capacity products,
  per product in `BessResult.ancillary` (transforms/bess_ancillary.py).

Each operating day (the ISO-local `operating_day` column: 23, 24 or 25 hours) starts and ends
at the initial SOC. Method, assumptions, units and limits: docs/BESS.md.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from power_market_assets.transforms import bess_ancillary, bess_lp, bess_rules

STRATEGIES = ("da_only", "rt_only", "two_settlement", "rule_based_da", "rule_based_rt")

_BATTERY_TEXT = re.compile(
    r"^\s*(?P<power>[0-9]*\.?[0-9]+)\s*MW\s*/\s*(?P<hours>[0-9]*\.?[0-9]+)\s*h"
    r"(?:\s*/\s*(?P<eta>[0-9]*\.?[0-9]+))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Battery:
    """A battery as the LP sees it; power is at the grid connection, energy is nameplate."""

    power_mw: float = 100.0
    duration_hours: float = 2.0
    round_trip_efficiency: float = 0.86  # applied as sqrt on charge and on discharge
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    initial_soc_fraction: float = 0.5  # each day starts and ends here
    cycles_per_day: float | None = 1.0  # None = unlimited; limits discharged MWh/day
    degradation_usd_per_mwh: float = 0.0  # cost per MWh discharged

    def __post_init__(self) -> None:
        problems = battery_problems(self)
        if problems:
            raise ValueError(f"invalid battery {self!r}: " + "; ".join(problems))

    @property
    def energy_mwh(self) -> float:
        return self.power_mw * self.duration_hours

    @property
    def usable_energy_mwh(self) -> float:
        """The SOC window: what one full cycle moves."""
        return self.energy_mwh * (self.soc_max_fraction - self.soc_min_fraction)

    @classmethod
    def parse(cls, text: str) -> Battery:
        """ "100MW/2h/0.86" (efficiency optional, defaults kept); the error names what is wrong."""
        match = _BATTERY_TEXT.match(text or "")
        if match is None:
            raise ValueError(_parse_problem(text))
        eta = match["eta"]
        return cls(
            power_mw=float(match["power"]),
            duration_hours=float(match["hours"]),
            **({"round_trip_efficiency": float(eta)} if eta is not None else {}),
        )

    def label(self) -> str:
        eta = _num(self.round_trip_efficiency)
        return f"{_num(self.power_mw)}MW/{_num(self.duration_hours)}h/{eta}"


def battery_problems(b: Battery) -> list[str]:
    """Every value outside its domain, in words (empty when the battery is valid)."""
    problems = []
    if not b.power_mw > 0:
        problems.append(f"power_mw must be > 0, got {b.power_mw}")
    if not b.duration_hours > 0:
        problems.append(f"duration_hours must be > 0, got {b.duration_hours}")
    if not 0 < b.round_trip_efficiency <= 1:
        problems.append(f"round_trip_efficiency must be in (0, 1], got {b.round_trip_efficiency}")
    if not 0 <= b.soc_min_fraction < b.soc_max_fraction <= 1:
        problems.append(
            "need 0 <= soc_min_fraction < soc_max_fraction <= 1, got "
            f"{b.soc_min_fraction} and {b.soc_max_fraction}"
        )
    if not b.soc_min_fraction <= b.initial_soc_fraction <= b.soc_max_fraction:
        problems.append(
            f"initial_soc_fraction {b.initial_soc_fraction} is outside the SOC window "
            f"[{b.soc_min_fraction}, {b.soc_max_fraction}]"
        )
    if b.cycles_per_day is not None and not b.cycles_per_day > 0:
        problems.append(f"cycles_per_day must be > 0 or None, got {b.cycles_per_day}")
    if b.degradation_usd_per_mwh < 0:
        problems.append(f"degradation_usd_per_mwh must be >= 0, got {b.degradation_usd_per_mwh}")
    return problems


def _num(value: float) -> str:
    return f"{value:g}"


def _parse_problem(text: str) -> str:
    """Which part of a battery text is wrong, e.g. '100MW/2x': the duration '2x'."""
    expected = "expected POWER MW/HOURS h[/EFFICIENCY], e.g. '100MW/2h/0.86'"
    parts = [p.strip() for p in (text or "").split("/")]
    names = ("power", "duration", "round-trip efficiency")
    patterns = (r"[0-9]*\.?[0-9]+\s*MW", r"[0-9]*\.?[0-9]+\s*h", r"[0-9]*\.?[0-9]+")
    if not (text or "").strip():
        return f"empty battery text; {expected}"
    if len(parts) not in (2, 3):
        return f"battery {text!r} has {len(parts)} part(s) separated by '/'; {expected}"
    for part, name, pattern in zip(parts, names, patterns, strict=False):
        if not re.fullmatch(pattern, part, re.IGNORECASE):
            return f"battery {text!r}: the {name} {part!r} is not valid; {expected}"
    return f"battery {text!r} is not valid; {expected}"


ANCILLARY_STRATEGY = "da_ancillary"  # a row of `daily` beside STRATEGIES when AS prices are given
DAILY_SCHEMA = {
    "operating_day": pl.Date,
    "location": pl.Utf8,
    "strategy": pl.Utf8,
    "revenue_usd": pl.Float64,
    "energy_revenue_usd": pl.Float64,
    "ancillary_revenue_usd": pl.Float64,
    "degradation_cost_usd": pl.Float64,
    "charge_mwh": pl.Float64,
    "discharge_mwh": pl.Float64,
    "cycles": pl.Float64,
    "intervals": pl.Int64,
    "battery": pl.Utf8,
    "power_mw": pl.Float64,
}
SCHEDULE_SCHEMA = {
    "interval_start_utc": pl.Datetime("us", "UTC"),
    "operating_day": pl.Date,
    "location": pl.Utf8,
    "strategy": pl.Utf8,
    "interval_minutes": pl.Int64,
    "price_usd_per_mwh": pl.Float64,
    "charge_mw": pl.Float64,
    "discharge_mw": pl.Float64,
    "soc_mwh": pl.Float64,
}
ANCILLARY_SCHEMA = {
    "operating_day": pl.Date,
    "location": pl.Utf8,
    "product": pl.Utf8,
    "capacity_mw": pl.Float64,
    "revenue_usd": pl.Float64,
}
SOLVER_SCHEMA = {
    "strategy": pl.Utf8,
    "lps": pl.Int64,
    "lp_variables": pl.Int64,
    "intervals": pl.Int64,
    "wall_s": pl.Float64,
    "cpu_s": pl.Float64,
}
DAILY_COLUMNS = tuple(DAILY_SCHEMA)
SCHEDULE_COLUMNS = tuple(SCHEDULE_SCHEMA)
ANCILLARY_COLUMNS = tuple(ANCILLARY_SCHEMA)
DAYS_PER_LP = 7  # operating days stacked in one block-diagonal LP (docs/BESS.md, "Speed")


@dataclass(frozen=True)
class BessResult:
    daily: pl.DataFrame  # DAILY_COLUMNS, one row per operating day, location and strategy
    schedule: (
        pl.DataFrame
    )  # SCHEDULE_COLUMNS (+ da_position_mw, da_price_usd_per_mwh: two_settlement)
    ancillary: pl.DataFrame  # ANCILLARY_COLUMNS (empty frame when no AS prices are given)
    solver: pl.DataFrame = field(default_factory=lambda: _empty(SOLVER_SCHEMA))  # SOLVER_SCHEMA


def bess_value(
    da: pl.DataFrame | None,
    rt: pl.DataFrame | None,
    battery: Battery,
    ancillary: pl.DataFrame | None = None,
    strategies: tuple[str, ...] = STRATEGIES,
    days_per_lp: int = DAYS_PER_LP,
) -> BessResult:
    """Perfect-foresight value of `battery` at every location of the price tables.

    `da`, `rt`: long PRICE tables (interval_start_utc, interval_minutes, operating_day,
    location, lmp; an `_EW` location_type gets an `_EW` suffix as in the wide tables).
    Strategies needing a market that is None (or empty) are skipped. `ancillary`: a long
    ANCILLARY table; every product in it is offered at every location (filter it first to the
    products the battery may sell there).
    """
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")
    da_prices = prepare_prices(da)
    rt_prices = prepare_prices(rt)
    limits = battery_limits(battery)
    runs = _Runs()
    rt_schedule = None
    if rt_prices is not None and {"rt_only", "two_settlement"} & set(strategies):
        rt_schedule = runs.timed("rt_only", lambda: optimise(rt_prices, limits, days_per_lp))
        if "rt_only" not in strategies:
            runs.schedules.pop()
    if da_prices is not None and "da_only" in strategies:
        runs.timed("da_only", lambda: optimise(da_prices, limits, days_per_lp))
    if rt_schedule is not None and da_prices is not None and "two_settlement" in strategies:
        runs.timed(
            "two_settlement", lambda: two_settlement(da_prices, rt_schedule, limits, days_per_lp)
        )
    for market, prices in (("da", da_prices), ("rt", rt_prices)):
        if prices is not None and f"rule_based_{market}" in strategies:
            runs.timed(
                f"rule_based_{market}",
                lambda prices=prices: bess_rules.rule_based(prices, battery.duration_hours, limits),
            )
    daily = [daily_revenue(s, battery) for s in runs.schedules]
    as_frame = _empty_ancillary()
    if da_prices is not None and ancillary is not None and not ancillary.is_empty():
        as_frame = runs.timed(
            ANCILLARY_STRATEGY,
            lambda: bess_ancillary.co_optimise(da_prices, ancillary, limits, days_per_lp),
        )
        daily.append(daily_revenue(runs.schedules[-1], battery, as_frame))
    schedules = [s.select(_schedule_columns(s)) for s in runs.schedules]
    return BessResult(
        daily=pl.concat(daily, how="diagonal_relaxed").sort("location", "strategy", "operating_day")
        if daily
        else _empty(DAILY_SCHEMA),
        schedule=pl.concat(schedules, how="diagonal_relaxed")
        if schedules
        else _empty(SCHEDULE_SCHEMA),
        ancillary=as_frame,
        solver=pl.DataFrame(
            [s for s in runs.stats if s["strategy"] in (*strategies, ANCILLARY_STRATEGY)],
            schema=SOLVER_SCHEMA,
        ),
    )


class _Runs:
    """Each strategy's schedule and what it cost: LPs, LP variables, wall and CPU seconds.

    two_settlement's figures include the RT dispatch it reuses (its LPs and its time)."""

    def __init__(self) -> None:
        self.schedules: list[pl.DataFrame] = []
        self.stats: list[dict[str, object]] = []

    def timed(
        self, strategy: str, work: Callable[[], pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame]]
    ) -> pl.DataFrame:
        """Run `work` (a schedule, or a schedule and a side table), keep the schedule and its
        figures, return the side table if any, else the schedule."""
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        schedule, extra = result if isinstance(result, tuple) else (result, None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        schedule = schedule.with_columns(strategy=pl.lit(strategy))
        if strategy == "two_settlement" and self.stats and self.stats[0]["strategy"] == "rt_only":
            wall += float(self.stats[0]["wall_s"])
            cpu += float(self.stats[0]["cpu_s"])
        self.schedules.append(schedule)
        self.stats.append(
            {
                "strategy": strategy,
                "lps": int(schedule["lps"][0]) if schedule.height else 0,
                "lp_variables": int(schedule["lp_variables"][0]) if schedule.height else 0,
                "intervals": schedule.height,
                "wall_s": wall,
                "cpu_s": cpu,
            }
        )
        return schedule if extra is None else extra


def battery_limits(battery: Battery) -> bess_lp.Limits:
    one_way = math.sqrt(battery.round_trip_efficiency)
    return bess_lp.Limits(
        power_mw=battery.power_mw,
        soc_min_mwh=battery.energy_mwh * battery.soc_min_fraction,
        soc_max_mwh=battery.energy_mwh * battery.soc_max_fraction,
        soc_start_mwh=battery.energy_mwh * battery.initial_soc_fraction,
        charge_efficiency=one_way,
        discharge_efficiency=one_way,
        max_discharge_mwh_per_block=None
        if battery.cycles_per_day is None
        else battery.cycles_per_day * battery.usable_energy_mwh,
        degradation_usd_per_mwh=battery.degradation_usd_per_mwh,
    )


def prepare_prices(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    """One price per (location, interval), sorted by location and time; None when empty."""
    if frame is None or frame.is_empty():
        return None
    location = pl.col("location")
    if "location_type" in frame.columns:
        ew = pl.col("location_type").fill_null("").str.ends_with("_EW")
        location = pl.when(ew).then(location + pl.lit("_EW")).otherwise(location)
    prices = (
        frame.lazy()
        .filter(pl.col("lmp").is_not_null())
        .select(
            "interval_start_utc",
            pl.col("operating_day").cast(pl.Date),
            location.alias("location"),
            pl.col("interval_minutes").cast(pl.Int64),
            pl.col("lmp").cast(pl.Float64).alias("price_usd_per_mwh"),
        )
        .unique(["location", "interval_start_utc"], keep="first", maintain_order=True)
        .sort("location", "interval_start_utc")
        .collect()
    )
    return None if prices.is_empty() else prices


def optimise(prices: pl.DataFrame, limits: bess_lp.Limits, days_per_lp: int) -> pl.DataFrame:
    """The LP schedule for every (location, operating day) of `prices` (sorted as
    prepare_prices leaves it), `days_per_lp` consecutive days of a location per LP."""
    price, hours, block, pieces = bess_lp.lp_blocks(prices, days_per_lp)
    solutions = bess_lp.solve_pieces(price, hours, block, pieces, limits)
    charge, discharge, soc = (
        np.concatenate([getattr(s, name) for s in solutions]) if solutions else np.empty(0)
        for name in ("charge_mw", "discharge_mw", "soc_mwh")
    )
    variables = sum(s.variables for s in solutions)
    return prices.with_columns(
        charge_mw=np.clip(charge, 0.0, None),
        discharge_mw=np.clip(discharge, 0.0, None),
        soc_mwh=soc,
        lps=pl.lit(len(pieces)),
        lp_variables=pl.lit(variables),
    )


def two_settlement(
    da: pl.DataFrame, rt_schedule: pl.DataFrame, limits: bess_lp.Limits, days_per_lp: int
) -> pl.DataFrame:
    """DA position settled at DA plus (physical RT dispatch - position) settled at RT.

    The revenue separates: sum_t RT_t h_t (d_t - c_t) over the physical dispatch, plus
    sum_h (DA_h - RTavg_h) H_h (position_h) over the DA position. Both parts keep their own
    battery constraints, so the joint optimum is the RT optimum (reused) plus a DA-interval LP
    on the DA-RT spread (the position needs no degradation: it moves no energy).
    """
    rt_avg = _rt_per_da_interval(da, rt_schedule)
    spread = rt_avg.with_columns(
        price_usd_per_mwh=pl.col("da_price_usd_per_mwh") - pl.col("rt_avg_usd_per_mwh")
    )
    position = optimise(spread, _without_degradation(limits), days_per_lp).select(
        "location",
        "da_interval_start_utc",
        "da_price_usd_per_mwh",
        "rt_avg_usd_per_mwh",
        (pl.col("discharge_mw") - pl.col("charge_mw")).alias("da_position_mw"),
        pl.col("lps").alias("da_lps"),
        pl.col("lp_variables").alias("da_lp_variables"),
    )
    with_da = _attach_da_interval(rt_schedule, da).join(
        position, on=["location", "da_interval_start_utc"], how="left"
    )
    return with_da.with_columns(
        pl.col("da_position_mw").fill_null(0.0),
        pl.col("lps") + pl.col("da_lps").max(),
        pl.col("lp_variables") + pl.col("da_lp_variables").max(),
        strategy=pl.lit("two_settlement"),
        # per interval: the DA settlement of the position's share of its DA interval, and the
        # deviation at RT, so a day's sum is the two-settlement energy revenue
        energy_revenue_usd=(
            pl.col("da_price_usd_per_mwh").fill_null(0.0) * pl.col("da_position_mw").fill_null(0.0)
            + pl.col("price_usd_per_mwh")
            * (
                pl.col("discharge_mw")
                - pl.col("charge_mw")
                - pl.col("da_position_mw").fill_null(0.0)
            )
        )
        * pl.col("interval_minutes")
        / 60.0,
    ).drop("da_lps", "da_lp_variables", "rt_avg_usd_per_mwh", "da_interval_start_utc")


def _without_degradation(limits: bess_lp.Limits) -> bess_lp.Limits:
    return bess_lp.Limits(**{**limits.__dict__, "degradation_usd_per_mwh": 0.0})


def _attach_da_interval(rt: pl.DataFrame, da: pl.DataFrame) -> pl.DataFrame:
    """Each RT interval's DA interval: the latest DA start at or before it (same location)."""
    starts = da.select(
        "location",
        pl.col("interval_start_utc").alias("da_interval_start_utc"),
        pl.col("interval_minutes").alias("_da_minutes"),
    ).sort("location", "da_interval_start_utc")
    joined = rt.sort("location", "interval_start_utc").join_asof(
        starts,
        left_on="interval_start_utc",
        right_on="da_interval_start_utc",
        by="location",
        strategy="backward",
        check_sortedness=False,
    )
    inside = pl.col("interval_start_utc") < pl.col("da_interval_start_utc") + pl.duration(
        minutes=pl.col("_da_minutes")
    )
    return joined.with_columns(
        pl.when(inside).then(pl.col("da_interval_start_utc")).alias("da_interval_start_utc")
    ).drop("_da_minutes")


def _rt_per_da_interval(da: pl.DataFrame, rt: pl.DataFrame) -> pl.DataFrame:
    """DA intervals with the time-weighted RT price over each (DA intervals without RT are
    left out: no position there)."""
    rt_avg = (
        _attach_da_interval(rt, da)
        .filter(pl.col("da_interval_start_utc").is_not_null())
        .group_by("location", "da_interval_start_utc")
        .agg(
            rt_avg_usd_per_mwh=(pl.col("price_usd_per_mwh") * pl.col("interval_minutes")).sum()
            / pl.col("interval_minutes").sum()
        )
    )
    return (
        da.rename({"price_usd_per_mwh": "da_price_usd_per_mwh"})
        .with_columns(da_interval_start_utc=pl.col("interval_start_utc"))
        .join(rt_avg, on=["location", "da_interval_start_utc"], how="inner")
        .sort("location", "interval_start_utc")
    )


def daily_revenue(
    schedule: pl.DataFrame, battery: Battery, ancillary: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per (operating day, location, strategy) with revenue in $ and energy in MWh."""
    hours = pl.col("interval_minutes") / 60.0
    energy = (
        pl.col("energy_revenue_usd")
        if "energy_revenue_usd" in schedule.columns
        else pl.col("price_usd_per_mwh") * (pl.col("discharge_mw") - pl.col("charge_mw")) * hours
    )
    daily = schedule.group_by("operating_day", "location", "strategy").agg(
        energy_revenue_usd=energy.sum(),
        charge_mwh=(pl.col("charge_mw") * hours).sum(),
        discharge_mwh=(pl.col("discharge_mw") * hours).sum(),
        intervals=pl.len(),
    )
    as_revenue = pl.lit(0.0)
    if ancillary is not None and not ancillary.is_empty():
        per_day = ancillary.group_by("operating_day", "location").agg(
            ancillary_revenue_usd=pl.col("revenue_usd").sum()
        )
        daily = daily.join(per_day, on=["operating_day", "location"], how="left")
        as_revenue = pl.col("ancillary_revenue_usd").fill_null(0.0)
    degradation = pl.col("discharge_mwh") * battery.degradation_usd_per_mwh
    return daily.with_columns(
        ancillary_revenue_usd=as_revenue,
        degradation_cost_usd=degradation,
        revenue_usd=pl.col("energy_revenue_usd") + as_revenue - degradation,
        cycles=pl.col("discharge_mwh") / battery.usable_energy_mwh,
        intervals=pl.col("intervals").cast(pl.Int64),
        battery=pl.lit(battery.label()),
        power_mw=pl.lit(battery.power_mw),
    ).select(DAILY_COLUMNS)


def monthly_summary(daily: pl.DataFrame) -> pl.DataFrame:
    """Per month, location and strategy: revenue_usd, revenue_usd_per_kw_month (revenue per
    kW of power over the days present, scaled to a whole month), cycles, days.

    A month with missing days is scaled by days_in_month / days, so partial months compare
    with full ones; `days` says how many were present."""
    month = pl.col("operating_day").dt.truncate("1mo")
    summary = daily.group_by(month.alias("month"), "location", "strategy").agg(
        pl.col("revenue_usd").sum(),
        pl.col("cycles").sum(),
        days=pl.col("operating_day").n_unique(),
        power_mw=pl.col("power_mw").first(),
        battery=pl.col("battery").first(),
    )
    days_in_month = pl.col("month").dt.month_end().dt.day()
    return (
        summary.with_columns(
            revenue_usd_per_kw_month=pl.col("revenue_usd")
            / (pl.col("power_mw") * 1000.0)
            * days_in_month
            / pl.col("days"),
            month=pl.col("month").dt.strftime("%Y-%m"),
        )
        .select(
            "month",
            "location",
            "strategy",
            "battery",
            "revenue_usd",
            "revenue_usd_per_kw_month",
            "cycles",
            "days",
        )
        .sort("month", "location", "strategy")
    )


def _schedule_columns(schedule: pl.DataFrame) -> list[str]:
    optional = ("da_position_mw", "da_price_usd_per_mwh", "up_reserve_mw", "down_reserve_mw")
    extra = [c for c in optional if c in schedule.columns]
    return [*SCHEDULE_COLUMNS, *extra]


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _empty_ancillary() -> pl.DataFrame:
    return _empty(ANCILLARY_SCHEMA)
