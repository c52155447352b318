"""Issue 15: the report tables around the battery engine (transforms/report_tables.py): the
value table's product rows add up to the co-optimised strategy's AS revenue, a zone sells only
its own zonal AS products (NYISO), the headline's uplift is optimiser minus rule-based, and the
HTML page holds its plots inline."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from power_market_assets.reporting.report_html import format_cell, render_report
from power_market_assets.transforms import report_tables as rt
from power_market_assets.transforms.bess import ANCILLARY_STRATEGY, Battery
from power_market_assets.transforms.time import expected_interval_frame

TZ = "America/New_York"
DAYS = [date(2024, 11, 4), date(2024, 11, 5)]
BATTERY = Battery(power_mw=10.0, duration_hours=2.0)


def prices(minutes: int, location: str, location_type: str, scale: float) -> pl.DataFrame:
    grid = expected_interval_frame(DAYS, TZ, minutes)
    hours = np.arange(grid.height) * minutes / 60
    return grid.with_columns(
        interval_minutes=pl.lit(minutes, pl.Int16),
        location=pl.lit(location),
        location_type=pl.lit(location_type),
        lmp=pl.Series(scale * (30 + 25 * np.sin(hours * 2 * np.pi / 24))),
    )


def reserves(products: dict[str, float]) -> pl.DataFrame:
    grid = expected_interval_frame(DAYS, TZ, 60).with_columns(interval_minutes=pl.lit(60))
    return pl.concat(
        grid.with_columns(product=pl.lit(name), price=pl.lit(price))
        for name, price in products.items()
    )


@pytest.fixture(scope="module")
def zonal() -> rt.BessReport:
    """Two NYISO-style zones with their own zonal spinning reserve, one far dearer."""
    da = pl.concat([prices(60, "WEST", "ZONE", 1.0), prices(60, "N.Y.C.", "ZONE", 1.5)])
    real_time = pl.concat([prices(5, "WEST", "ZONE", 1.0), prices(5, "N.Y.C.", "ZONE", 1.5)])
    products = reserves({"WEST_SPIN_10": 2.0, "N.Y.C._SPIN_10": 40.0})
    return rt.bess_report(da, real_time, products, BATTERY, "NYISO")


def test_each_zone_sells_only_its_own_zonal_products(zonal: rt.BessReport) -> None:
    sold = zonal.value.filter(pl.col("product").is_not_null())
    pairs = set(sold.select("location", "product").unique().iter_rows())
    assert pairs == {("WEST", "WEST_SPIN_10"), ("N.Y.C.", "N.Y.C._SPIN_10")}
    west = sold.filter(pl.col("location") == "WEST")["revenue_usd"].sum()
    # at most 10 MW x 48 h x $2/MW-h: the N.Y.C. price would have paid 20 times more
    assert 0 < west <= 10 * 48 * 2.0 + 1e-6


def test_product_rows_add_up_to_the_co_optimised_strategys_ancillary_revenue(
    zonal: rt.BessReport,
) -> None:
    value = zonal.value
    products = (
        value.filter(pl.col("product").is_not_null())
        .group_by("operating_day", "location")
        .agg(pl.col("revenue_usd").sum().alias("products_usd"))
    )
    strategy = value.filter(
        pl.col("product").is_null() & (pl.col("strategy") == ANCILLARY_STRATEGY)
    ).join(products, on=["operating_day", "location"])
    assert strategy.height == 4
    assert (strategy["ancillary_revenue_usd"] - strategy["products_usd"]).abs().max() < 1e-6
    assert value.columns == list(rt.VALUE_COLUMNS)
    assert set(value["battery"]) == {"10MW/2h/0.86"} and set(value["iso"]) == {"NYISO"}


def test_a_system_wide_product_is_offered_at_every_location() -> None:
    products = reserves({"REGUP": 5.0})
    assert rt.zonal_products(products, ["HB_NORTH", "HB_WEST"]) is None
    assert rt.zonal_products(None, ["HB_NORTH"]) is None


def test_headline_uplift_is_best_optimised_minus_best_rule_based() -> None:
    da = prices(60, "HUB_A", "HUB", 1.0)
    report = rt.month_report("PJM", "2024-11", da, prices(5, "HUB_A", "HUB", 1.2), None, BATTERY)
    monthly = report.bess.monthly.filter(pl.col("location") == "HUB_A")
    per_kw = dict(zip(monthly["strategy"], monthly["revenue_usd_per_kw_month"], strict=True))
    (row,) = rt.headline(report).iter_rows(named=True)
    optimised = max(per_kw[s] for s in rt.OPTIMISED)
    rule_based = max(per_kw[s] for s in rt.RULE_BASED)
    assert row["uplift_usd_per_kw_month"] == pytest.approx(optimised - rule_based)
    assert optimised >= rule_based - 1e-9  # perfect foresight never loses to the rule
    assert row["best_usd_per_kw_month"] == pytest.approx(max(per_kw.values()))
    assert row["ancillary_usd_per_kw_month"] is None  # no AS prices given
    assert row["da_mean_usd_per_mwh"] == pytest.approx(da["lmp"].mean())
    page = render_report(report)
    assert page.count('src="data:image/png;base64,') == 3
    assert f"<td>{format_cell(row['uplift_usd_per_kw_month'])}</td>" in page
    assert any("valued on energy only" in note for note in report.notes)
