"""`power-market bench --bess [--days 365] [--locations 15]`: the battery engine's speed (issue 15).

Generates seeded synthetic prices for `locations` hubs/zones over `days` ERCOT operating days
from 2024-01-01 (US/Central, so a year holds both DST days): hourly DA and 15-minute RT with a
daily shape (night trough, solar dip, evening peak), seasons, noise, a few spikes to the cap
and negative intervals. Then runs each strategy through `bess_value` and prints, per strategy,
LPs, LP variables, wall and CPU seconds, intervals/s and LP variables/s, and the issue's target:
RT and two-settlement (one call; two-settlement reuses the RT dispatch) under 30 s. rt_only
also runs at 1 and 31 days per LP beside the default, the figures behind `DAYS_PER_LP`.
Prints figures, never asserts on time.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from power_market_assets.transforms.bess import DAYS_PER_LP, Battery, bess_value

TARGET_S = 30.0
START = date(2024, 1, 1)
TZ = "US/Central"
RT_MINUTES = 15
SEED = 15


def synthetic_prices(
    days: int, locations: int, seed: int = SEED
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(DA hourly, RT 15-minute) long PRICE tables, DST-aware, vectorised (no loop per row)."""
    rng = np.random.default_rng(seed)
    first = datetime(START.year, START.month, START.day)
    bounds = (
        pl.Series([first, first + timedelta(days=days)])
        .dt.replace_time_zone(TZ)
        .dt.convert_time_zone("UTC")
    )
    starts = pl.datetime_range(
        bounds[0], bounds[1], f"{RT_MINUTES}m", closed="left", eager=True, time_zone="UTC"
    )
    local = starts.dt.convert_time_zone(TZ)
    hour = (local.dt.hour() + local.dt.minute() / 60.0).to_numpy()
    day_of_year = local.dt.ordinal_day().to_numpy()
    n = len(starts)
    season = 1.0 + 0.35 * np.cos((day_of_year - 200) / 365.0 * 2 * np.pi)  # summer high
    shape = (
        30.0
        - 8.0 * np.exp(-(((hour - 4.0) / 2.5) ** 2))  # night trough
        - 14.0 * np.exp(-(((hour - 13.0) / 2.5) ** 2))  # solar dip
        + 45.0 * np.exp(-(((hour - 19.0) / 1.8) ** 2))  # evening peak
    )
    frames_da, frames_rt = [], []
    for loc in range(locations):
        basis = rng.normal(0.0, 3.0)  # each location its own level and noise
        level = season * shape + basis
        noise = _ar1(rng, n, 0.9, 6.0)
        rt = level + noise
        spikes = rng.random(n) < 0.0004  # ~14 intervals a year; the cap ($5,000) now and then
        rt[spikes] = np.minimum(rng.pareto(1.5, spikes.sum()) * 200.0 + 150.0, 5000.0)
        negative = (rng.random(n) < 0.01) & (hour > 10) & (hour < 16)
        rt[negative] = rng.uniform(-40.0, -1.0, negative.sum())
        rt_frame = pl.DataFrame(
            {
                "interval_start_utc": starts,
                "interval_minutes": pl.Series([RT_MINUTES] * n, dtype=pl.Int64),
                "operating_day": local.dt.date(),
                "location": f"LOC_{loc:02d}",
                "location_type": "HUB",
                "lmp": np.round(rt, 2),
            }
        )
        da = (
            rt_frame.group_by(
                "location",
                "location_type",
                "operating_day",
                pl.col("interval_start_utc").dt.truncate("1h"),
            )
            .agg(pl.col("lmp").clip(-50, 300).mean())
            .sort("interval_start_utc")
        )
        da = da.with_columns(
            interval_minutes=pl.lit(60, pl.Int64),
            lmp=(pl.col("lmp") + pl.Series(rng.normal(0.0, 4.0, da.height))).round(2),
        )
        frames_rt.append(rt_frame)
        frames_da.append(da.select(rt_frame.columns))
    return pl.concat(frames_da), pl.concat(frames_rt)


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """AR(1) noise via an exponentially weighted cumulative sum (vectorised in chunks)."""
    shocks = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    chunk = 256  # phi**256 ~ 2e-12: chunks join without a visible seam
    powers = phi ** np.arange(chunk)
    carry = 0.0
    for lo in range(0, n, chunk):
        part = shocks[lo : lo + chunk]
        w = powers[: len(part)]
        out[lo : lo + len(part)] = w * (carry + np.cumsum(part / w))
        carry = out[lo + len(part) - 1]
    return out


RUNS = (  # (row label, strategies, days per LP)
    ("rt_only + two_settlement", ("rt_only", "two_settlement"), DAYS_PER_LP),
    ("rt_only", ("rt_only",), DAYS_PER_LP),
    ("rt_only, 1 day per LP", ("rt_only",), 1),
    ("rt_only, 31 days per LP", ("rt_only",), 31),
    ("two_settlement", ("two_settlement",), DAYS_PER_LP),
    ("da_only", ("da_only",), DAYS_PER_LP),
    ("rule_based_da", ("rule_based_da",), DAYS_PER_LP),
    ("rule_based_rt", ("rule_based_rt",), DAYS_PER_LP),
)


def run_bess_benchmark(days: int = 365, locations: int = 15, json_path: Path | None = None) -> int:
    battery = Battery()
    t0 = time.perf_counter()
    da, rt = synthetic_prices(days, locations)
    print(
        f"BESS benchmark: {battery.label()}, {locations} locations x {days} days from {START} "
        f"(US/Central): {rt.height:,} RT {RT_MINUTES}-minute and {da.height:,} DA hourly prices, "
        f"generated in {time.perf_counter() - t0:.1f} s"
    )
    rows = []
    for label, strategies, per_lp in RUNS:
        wall, cpu = time.perf_counter(), time.process_time()
        result = bess_value(da, rt, battery, strategies=strategies, days_per_lp=per_lp)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        solver = result.solver
        intervals = int(solver.filter(pl.col("strategy") == strategies[-1])["intervals"].sum())
        lps = int(_without_reuse(solver, "lps"))
        variables = int(_without_reuse(solver, "lp_variables"))
        revenue = {
            s: float(result.daily.filter(pl.col("strategy") == s)["revenue_usd"].sum())
            for s in strategies
        }
        rows.append(
            {
                "run": label,
                "days_per_lp": per_lp,
                "lps": lps,
                "lp_variables": variables,
                "wall_s": wall,
                "cpu_s": cpu,
                "intervals_per_s": intervals / wall,
                "lp_variables_per_s": variables / wall,
                "revenue_usd_per_kw_year": {
                    s: v / locations / (battery.power_mw * 1000) * 365 / days
                    for s, v in revenue.items()
                },
            }
        )
    _print_table(rows)
    total = rows[0]["wall_s"]
    verdict = "meets" if total < TARGET_S else "misses"
    print(
        f"\ntarget: RT and two-settlement LPs for a year x ~15 locations under {TARGET_S:.0f} s; "
        f"this run ({days} days x {locations} locations): {total:.1f} s, {verdict} it"
        + ("" if days >= 365 and locations >= 15 else " (smaller than the target's window)")
    )
    print(
        "revenue per location, $/kW-year: "
        + ", ".join(
            f"{s} {v:.1f}"
            for row in rows[:1] + rows[5:]
            for s, v in row["revenue_usd_per_kw_year"].items()
        )
    )
    if json_path is not None:
        json_path.write_text(
            json.dumps({"days": days, "locations": locations, "runs": rows}, indent=2)
        )
    return 0


def _without_reuse(solver: pl.DataFrame, column: str) -> int:
    """LPs or variables solved in a call: two_settlement's figures include the RT LPs it
    reuses, so a call with both counts those once."""
    figures = dict(zip(solver["strategy"], solver[column], strict=True))
    if "two_settlement" in figures and "rt_only" in figures:
        return figures["two_settlement"] + sum(
            v for s, v in figures.items() if s not in ("two_settlement", "rt_only")
        )
    return sum(figures.values())


def _print_table(rows: list[dict]) -> None:
    header = (
        "run",
        "days/LP",
        "LPs",
        "LP variables",
        "wall s",
        "CPU s",
        "intervals/s",
        "LP vars/s",
    )
    lines = [
        (
            r["run"],
            str(r["days_per_lp"]),
            f"{r['lps']:,}",
            f"{r['lp_variables']:,}",
            f"{r['wall_s']:.2f}",
            f"{r['cpu_s']:.2f}",
            f"{r['intervals_per_s']:,.0f}",
            f"{r['lp_variables_per_s']:,.0f}",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print()
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for line in lines:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
