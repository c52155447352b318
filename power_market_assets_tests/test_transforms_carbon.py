"""Carbon intensity from a fuel-mix long table: hand-computed sums, treatments, DST."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from power_market_assets.quality.carbon import carbon_checks
from power_market_assets.registry.emission_factors import (
    DEFAULT_FACTORS,
    FACTORS_VERSION,
    factors_for,
    highest_factor,
)
from power_market_assets.registry.kinds import STANDARD_FUELS
from power_market_assets.transforms.carbon import (
    Treatment,
    carbon_intensity,
    category_mix,
    hourly_intensity,
    snap_to_grid,
)
from power_market_assets_tests.kind_frames import FUEL_MIX, finish, fuel_long

DAY = date(2024, 11, 1)


def one_interval(mw: dict[str, float], categories: dict[str, str]) -> pl.DataFrame:
    """A single quarter hour of the test fuel-mix spec with the given fuel rows."""
    start = pl.datetime(2024, 11, 1, 12, time_zone="UTC")
    frame = pl.DataFrame(
        {"fuel": list(mw), "mw": list(mw.values()), "iso_total_mw": [None] * len(mw)},
        schema={"fuel": pl.Utf8, "mw": pl.Float64, "iso_total_mw": pl.Float64},
    ).with_columns(
        interval_start_utc=start,
        fuel_category=pl.col("fuel").replace_strict(categories),
    )
    return finish(frame, FUEL_MIX)


def test_factor_table_covers_every_standard_category_with_sources():
    assert {f.category for f in DEFAULT_FACTORS} == set(STANDARD_FUELS)
    for factor in DEFAULT_FACTORS:
        assert factor.direct_source and factor.lifecycle_source
    table = factors_for("ERCOT")
    assert table["coal"].lifecycle == 820.0 and table["gas"].lifecycle == 490.0
    assert table["coal"].direct == pytest.approx(2.30 * 453.59237, abs=0.05)
    assert highest_factor("ERCOT", "lifecycle") == 840.0  # oil
    assert FACTORS_VERSION


def test_intensity_equals_the_hand_computed_weighted_sum():
    mix = one_interval(
        {"Gas": 100.0, "Coal": 50.0, "Wind": 50.0},
        {"Gas": "gas", "Coal": "coal", "Wind": "wind"},
    )
    row = carbon_intensity(mix, "ERCOT").row(0, named=True)
    # shares 0.5 / 0.25 / 0.25; direct: gas 0.97 lb, coal 2.30 lb, wind 0
    direct = 0.5 * 0.97 * 453.59237 + 0.25 * 2.30 * 453.59237
    lifecycle = 0.5 * 490 + 0.25 * 820 + 0.25 * 11
    assert row["gco2_per_kwh_direct"] == pytest.approx(direct, abs=0.1)
    assert row["gco2_per_kwh_lifecycle"] == pytest.approx(lifecycle)
    assert (row["share_gas"], row["share_coal"], row["share_wind"]) == (0.5, 0.25, 0.25)
    assert row["share_nuclear"] == 0.0 and row["supply_mw"] == 200.0
    assert row["factors_version"] == FACTORS_VERSION


def test_shares_sum_to_one_over_days():
    intensity = carbon_intensity(fuel_long(FUEL_MIX, [DAY]), "ERCOT")
    shares = intensity.select(pl.sum_horizontal(f"share_{c}" for c in STANDARD_FUELS))
    assert shares.to_series().to_list() == pytest.approx([1.0] * intensity.height)
    assert carbon_checks(intensity, "ERCOT").passed


STORAGE = {"Gas": "gas", "Power Storage": "storage", "WSL": "storage"}


def test_storage_charging_dropped_by_default_and_discharge_at_system_average():
    mix = one_interval({"Gas": 100.0, "Power Storage": 10.0, "WSL": -20.0}, STORAGE)
    row = carbon_intensity(mix, "ERCOT").row(0, named=True)
    assert row["mw_storage"] == 10.0 and row["supply_mw"] == 110.0
    assert row["share_storage"] == pytest.approx(10 / 110)
    assert row["gco2_per_kwh_lifecycle"] == pytest.approx(490.0)  # unchanged by discharge
    long = category_mix(mix, "ERCOT").filter(pl.col("fuel_category") == "storage")
    assert long["gco2_lifecycle"].item() == pytest.approx(490.0)


def test_storage_netted_or_excluded_per_parameter():
    mix = one_interval({"Gas": 100.0, "Power Storage": 10.0, "WSL": -20.0}, STORAGE)
    netted = carbon_intensity(mix, "ERCOT", Treatment(negative="net")).row(0, named=True)
    assert netted["mw_storage"] == 0.0 and netted["supply_mw"] == 100.0
    excluded = carbon_intensity(mix, "ERCOT", Treatment(storage="exclude")).row(0, named=True)
    assert excluded["share_storage"] is None and excluded["supply_mw"] == 100.0
    assert excluded["share_gas"] == 1.0


def test_factor_treatment_needs_a_factor():
    with pytest.raises(ValueError, match="needs a factor"):
        carbon_intensity(
            one_interval({"Gas": 1.0}, {"Gas": "gas"}), "ERCOT", Treatment(other="factor")
        )


def test_fall_back_day_gives_100_quarter_hours_and_25_hours():
    fall_back = date(2024, 11, 3)
    intensity = carbon_intensity(fuel_long(FUEL_MIX, [fall_back]), "ERCOT")
    assert intensity.height == 100
    assert intensity["interval_start_utc"].is_unique().all()
    hourly = hourly_intensity(intensity)
    assert hourly.height == 25 and hourly["intervals"].to_list() == [4] * 25
    # The repeated local 01:00 is two UTC hours with two values.
    repeated = hourly.filter(pl.col("interval_start_local").dt.hour() == 1)
    assert repeated.height == 2


def test_hourly_intensity_is_energy_weighted():
    first = one_interval({"Gas": 300.0}, {"Gas": "gas"})
    second = one_interval({"Wind": 100.0}, {"Wind": "wind"}).with_columns(
        pl.col("interval_start_utc").dt.offset_by("15m"),
        pl.col("interval_end_utc").dt.offset_by("15m"),
    )
    hourly = hourly_intensity(carbon_intensity(pl.concat([first, second]), "ERCOT"))
    row = hourly.row(0, named=True)
    assert row["gco2_per_kwh_lifecycle"] == pytest.approx((300 * 490 + 100 * 11) / 400)
    assert row["share_gas"] == pytest.approx(0.75) and row["intervals"] == 2


def test_checks_flag_shares_off_and_intensity_out_of_bounds():
    intensity = carbon_intensity(fuel_long(FUEL_MIX, [DAY]), "ERCOT")
    broken = intensity.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(0.9)
        .otherwise(pl.col("share_gas"))
        .alias("share_gas"),
        pl.when(pl.int_range(pl.len()) == 5)
        .then(5_000.0)
        .otherwise(pl.col("gco2_per_kwh_lifecycle"))
        .alias("gco2_per_kwh_lifecycle"),
    )
    result = carbon_checks(broken, "ERCOT")
    assert not result.passed
    assert result.shares_off == 1 and result.out_of_bounds == 1


def test_irregular_stamps_snap_onto_the_nominal_grid():
    base = one_interval({"Gas": 100.0, "Wind": 50.0}, {"Gas": "gas", "Wind": "wind"})
    late = base.with_columns(
        pl.col("interval_start_utc").dt.offset_by("5m12s"),
        pl.col("interval_start_local").dt.offset_by("5m12s"),
        pl.col("mw") * 3,
    )
    snapped = snap_to_grid(pl.concat([base, late]), 15)
    assert snapped.height == 2  # one row per fuel: both stamps are in the 12:00 quarter hour
    assert sorted(snapped["mw"].to_list()) == [100.0, 200.0]
    assert (
        snapped["interval_start_utc"].unique().to_list() == base["interval_start_utc"][:1].to_list()
    )
