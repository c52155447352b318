"""The rule-based baseline: charge in the cheapest N hours, discharge in the dearest N hours.

N = the battery's duration. Vectorised in Polars over every (location, operating day) at once:

1. rank each day's intervals by price; the cheapest N hours' worth of intervals charge, the
   dearest N hours' worth discharge (never the same interval; at most half the day each);
2. rates that balance the day: charge at full power, discharge at round-trip efficiency x
   power, so the energy released equals the energy stored and the day ends where it started
   (both rates scaled together if the discharge intervals are fewer than the charge ones);
3. one factor k <= 1 per day scales every flow so that the SOC path stays inside its window
   and the discharged MWh inside the cycle limit (a day that discharges before it charges
   starts from the initial SOC and is limited by it: the rule does not look ahead);
4. a day whose rule schedule would lose money (after degradation) sits out (k = 0).

Every rule schedule is feasible for the LP, so the LP optimum is never below it.
"""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

from power_market_assets.transforms.bess_lp import Limits

DAY = ("location", "operating_day")


def rule_based(prices: pl.DataFrame, duration_hours: float, limits: Limits) -> pl.DataFrame:
    """`prices` as bess.prepare_prices leaves it -> the same rows with charge_mw,
    discharge_mw, soc_mwh (end of interval), lps 0 and lp_variables 0."""
    hours = pl.col("interval_minutes") / 60.0
    price = pl.col("price_usd_per_mwh")
    eta_c, eta_d = limits.charge_efficiency, limits.discharge_efficiency
    p = limits.power_mw
    # 1. the N hours' worth of intervals at each end of the day's price ranking
    count = (pl.lit(duration_hours) * 60.0 / pl.col("interval_minutes")).round().cast(pl.Int64)
    n_each = pl.min_horizontal(count, pl.len().over(DAY) // 2)
    cheap = price.rank("ordinal").over(DAY) <= n_each
    dear = price.rank("ordinal", descending=True).over(DAY) <= n_each
    ranked = prices.with_columns(_cheap=cheap, _dear=dear, _h=hours)
    # 2. balancing rates: stored (eta_c * c * Hc) = released (d * Hd / eta_d)
    per_day = ranked.group_by(DAY).agg(
        _hc=pl.col("_h").filter(pl.col("_cheap")).sum(),
        _hd=pl.col("_h").filter(pl.col("_dear")).sum(),
    )
    rt_eff = eta_c * eta_d
    ratio = pl.col("_hd") / (rt_eff * pl.col("_hc"))
    charge_rate = pl.when(pl.col("_hc") > 0).then(p * pl.min_horizontal(pl.lit(1.0), ratio))
    discharge_rate = pl.when(pl.col("_hd") > 0).then(
        rt_eff * pl.col("_c_rate") * pl.col("_hc") / pl.col("_hd")
    )
    per_day = per_day.with_columns(_c_rate=charge_rate.fill_null(0.0)).with_columns(
        _d_rate=discharge_rate.fill_null(0.0)
    )
    flows = ranked.join(per_day, on=list(DAY), how="left").with_columns(
        _c=pl.when(pl.col("_cheap")).then(pl.col("_c_rate")).otherwise(0.0),
        _d=pl.when(pl.col("_dear")).then(pl.col("_d_rate")).otherwise(0.0),
    )
    # 3. the SOC path at full scale, and the factor that keeps it (and the cycles) in bounds
    delta = eta_c * pl.col("_c") * pl.col("_h") - pl.col("_d") * pl.col("_h") / eta_d
    flows = flows.with_columns(_path=delta.cum_sum().over(DAY, order_by="interval_start_utc"))
    head_up = limits.soc_max_mwh - limits.soc_start_mwh
    head_down = limits.soc_start_mwh - limits.soc_min_mwh
    discharged = (pl.col("_d") * pl.col("_h")).sum().over(DAY)
    bounds = [
        _room(head_up, pl.col("_path").max().over(DAY)),
        _room(head_down, (-pl.col("_path")).max().over(DAY)),
    ]
    if limits.max_discharge_mwh_per_block is not None:
        bounds.append(_room(limits.max_discharge_mwh_per_block, discharged))
    # 4. sit out a losing day
    revenue = (price * (pl.col("_d") - pl.col("_c")) * pl.col("_h")).sum().over(
        DAY
    ) - limits.degradation_usd_per_mwh * discharged
    k = pl.when(revenue > 0).then(pl.min_horizontal(pl.lit(1.0), *bounds)).otherwise(0.0)
    return (
        flows.with_columns(_k=k)
        .with_columns(
            charge_mw=pl.col("_k") * pl.col("_c"),
            discharge_mw=pl.col("_k") * pl.col("_d"),
            soc_mwh=limits.soc_start_mwh + pl.col("_k") * pl.col("_path"),
            lps=pl.lit(0),
            lp_variables=pl.lit(0),
        )
        .drop(cs.starts_with("_"))
        .sort("location", "interval_start_utc")
    )


def _room(headroom: float, need: pl.Expr) -> pl.Expr:
    """The scale factor that fits `need` (>= 0) into `headroom` (1 when nothing is needed)."""
    return pl.when(need > 1e-12).then(pl.lit(headroom) / need).otherwise(1.0)
