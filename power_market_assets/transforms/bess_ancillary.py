"""Ancillary-service capacity co-optimised with DA energy, per location and operating day.

Each product of the ANCILLARY table is a capacity payment ($/MW per hour) for MW held in
reserve. The battery may sell several at once under the same limits as its energy schedule
(transforms/bess_lp.py): discharge + up-products <= power, charge + down-products <= power,
and enough SOC, at the start and the end of every interval, to deliver every up-product for its
sustain hours (down-products: enough room to absorb them). A product's direction and sustain
hours come from `PRODUCT_RULES`, matched on the product name's last token (so zonal names like
`N.Y.C._SPIN_10` or `AS_CAISO_EXP_RU` find their rule); an unknown product is an up-reserve
held for `DEFAULT_SUSTAIN_HOURS`. Deployment energy is not modelled (capacity only).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from power_market_assets.transforms import bess_lp
from power_market_assets.transforms.bess_lp import BOTH, DOWN, UP

DEFAULT_SUSTAIN_HOURS = 1.0
FLOWS = ("charge_mw", "discharge_mw", "soc_mwh")
# (suffix, direction, sustain hours). Sustain hours: ERCOT Non-Spin 4 h (NPRR1096) and ECRS
# 2 h (NPRR1096; 1 h under RTC+B from 2025-12, NPRR1282) [3P]; the rest 1 h (UNCONFIRMED: an
# assumption, one DA hour of capacity).
PRODUCT_RULES: tuple[tuple[str, str, float], ...] = (
    ("REGDN", DOWN, 1.0),  # ERCOT regulation down
    ("REGDOWN", DOWN, 1.0),
    ("RD", DOWN, 1.0),  # CAISO regulation down
    ("REGUP", UP, 1.0),  # ERCOT regulation up
    ("RU", UP, 1.0),  # CAISO regulation up
    ("REG_CAP", BOTH, 1.0),  # NYISO regulation capacity: symmetric
    ("RRS", UP, 1.0),  # ERCOT responsive reserve
    ("ECRS", UP, 2.0),  # ERCOT contingency reserve
    ("NSPIN", UP, 4.0),  # ERCOT non-spinning reserve
    ("SR", UP, 1.0),  # CAISO spinning
    ("NR", UP, 1.0),  # CAISO non-spinning
    ("SPIN_10", UP, 1.0),  # NYISO
    ("NON_SYNC_10", UP, 1.0),
    ("OPER_30", UP, 1.0),
    ("TMSR", UP, 1.0),  # ISO-NE ten-minute spinning
    ("TMNSR", UP, 1.0),
    ("TMOR", UP, 1.0),
    ("EIR", UP, 1.0),  # ISO-NE energy imbalance reserve
)


def product_rule(product: str) -> tuple[str, float]:
    """(direction, sustain hours) of a product name; unknown names: an up-reserve, 1 h."""
    name = product.strip().upper()
    for suffix, direction, hours in sorted(PRODUCT_RULES, key=lambda r: -len(r[0])):
        if name == suffix or re.search(rf"[_\s.]{re.escape(suffix)}$", name):
            return direction, hours
    return UP, DEFAULT_SUSTAIN_HOURS


def co_optimise(
    da: pl.DataFrame, ancillary: pl.DataFrame, limits: bess_lp.Limits, days_per_lp: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(schedule with strategy `da_ancillary`, per-day capacity and revenue per product).

    `da` as bess.prepare_prices leaves it; AS prices join each DA interval on the hour it
    starts in (the AS tables are hourly); a missing AS price is 0 (nothing sold then)."""
    wide = _as_wide(ancillary)
    products = [c for c in wide.columns if c != "_hour"]
    frame = da.with_columns(_hour=pl.col("interval_start_utc").dt.truncate("1h")).join(
        wide, on="_hour", how="left"
    )
    frame = frame.with_columns(pl.col(products).fill_null(0.0)).sort(
        "location", "interval_start_utc"
    )
    rules = [product_rule(p) for p in products]
    reserve_prices = frame.select(products).to_numpy().T.astype(float)
    price, hours, block, pieces = bess_lp.lp_blocks(frame, days_per_lp)
    solutions = bess_lp.solve_pieces(
        price,
        hours,
        block,
        pieces,
        limits,
        bess_lp.Reserves(
            prices=reserve_prices,
            directions=tuple(d for d, _ in rules),
            sustain_hours=np.array([h for _, h in rules]),
        ),
    )
    flows = [np.concatenate([getattr(s, f) for s in solutions]) for f in FLOWS]
    reserve = np.concatenate([s.reserve_mw for s in solutions], axis=1)
    variables = sum(s.variables for s in solutions)
    reserve = np.clip(reserve, 0.0, None)
    directions = np.array([d for d, _ in rules])
    up = reserve[np.isin(directions, (UP, BOTH))].sum(axis=0)
    down = reserve[np.isin(directions, (DOWN, BOTH))].sum(axis=0)
    schedule = frame.select(da.columns).with_columns(
        up_reserve_mw=up,
        down_reserve_mw=down,
        charge_mw=np.clip(flows[0], 0.0, None),
        discharge_mw=np.clip(flows[1], 0.0, None),
        soc_mwh=flows[2],
        lps=pl.lit(len(pieces)),
        lp_variables=pl.lit(variables),
        strategy=pl.lit("da_ancillary"),
    )
    return schedule, _per_product(frame, products, reserve, reserve_prices)


def _as_wide(ancillary: pl.DataFrame) -> pl.DataFrame:
    """One row per hour, one column per product (mean price when a product repeats)."""
    return (
        ancillary.filter(pl.col("price").is_not_null())
        .with_columns(_hour=pl.col("interval_start_utc").dt.truncate("1h"))
        .pivot(on="product", index="_hour", values="price", aggregate_function="mean")
    )


def _per_product(
    frame: pl.DataFrame, products: list[str], reserve: np.ndarray, prices: np.ndarray
) -> pl.DataFrame:
    """Daily capacity (time-weighted mean MW) and revenue ($) per product."""
    hours = frame["interval_minutes"].to_numpy() / 60.0
    base = frame.select("operating_day", "location")
    long = pl.concat(
        [
            base.with_columns(
                product=pl.lit(name),
                _mwh=reserve[i] * hours,
                _h=hours,
                revenue_usd=reserve[i] * prices[i] * hours,
            )
            for i, name in enumerate(products)
        ]
    )
    return (
        long.group_by("operating_day", "location", "product")
        .agg(
            capacity_mw=pl.col("_mwh").sum() / pl.col("_h").sum(),
            revenue_usd=pl.col("revenue_usd").sum(),
        )
        .sort("location", "operating_day", "product")
    )
