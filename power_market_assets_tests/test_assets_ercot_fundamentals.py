"""ERCOT's fundamentals through Dagster: one demo day (the fall-back day) of every ERCOT dataset
from the stand-in, then the new datasets' raw_parquet partitions as stored in the lake (only the
stage-2 output is asserted here; the checks have tests of their own)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake
from power_market_assets.registry.ercot import FUEL_MIX, LOAD, LOAD_FORECAST, SOLAR, WIND
from power_market_standins.ercot_server import standin_server

pytestmark = pytest.mark.slow  # a Dagster run against the stand-in

DAY = date(2024, 11, 3)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    root = tmp_path_factory.mktemp("ercot_fundamentals")
    with standin_server([DAY], n_locations=2) as server:
        defs = build_definitions(data_root=str(root), ercot_mis_url=server.base_url)
        instance = dg.DagsterInstance.ephemeral()
        result = run_range(defs, "ercot_daily", DAY.isoformat(), DAY.isoformat(), instance)
    assert result.success
    return Lake.at(root)


def _raw(lake: Lake, spec) -> pl.DataFrame:
    path = lake.partition_file(f"ercot/{spec.dataset}/raw_parquet", DAY.isoformat())
    assert path.exists(), f"no raw_parquet partition for {spec.dataset} {DAY}"
    return pl.read_parquet(path)


def test_load_partition_has_25_hours_per_area(lake: Lake) -> None:
    frame = _raw(lake, LOAD)
    assert (
        frame.group_by("area")
        .agg(pl.col("interval_start_utc").n_unique())["interval_start_utc"]
        .to_list()
        == [25] * 9
    )


def test_forecast_and_renewable_partitions_keep_every_vintage(lake: Lake) -> None:
    for spec in (LOAD_FORECAST, WIND, SOLAR):
        frame = _raw(lake, spec)
        assert frame["published_at_utc"].n_unique() == 25, spec.dataset
        assert set(frame["operating_day"]) == {DAY}
        assert frame.select(spec.unique_key).is_duplicated().sum() == 0


def test_fuel_mix_partition_has_100_quarter_hours(lake: Lake) -> None:
    frame = _raw(lake, FUEL_MIX)
    per_fuel = frame.group_by("fuel").agg(pl.col("interval_start_utc").n_unique())
    assert set(per_fuel["interval_start_utc"]) == {100}
    assert frame.filter(pl.col("fuel_category") == "storage")["mw"].max() < 0
    assert Path(frame["source_file"][0]).name.startswith("IntGenbyFuel2024.xlsx[")
