"""ISO-NE load, fuel mix and forecasts through Dagster against the stand-in (issue 13): csv +
raw_parquet of every new dataset for the fall-back day in one run, on a temp data root.
Only the raw_parquet output is asserted (the checks are being reworked elsewhere)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.lake import Lake
from power_market_assets.registry import isone as registry
from power_market_assets_tests.helpers import isone_source
from power_market_standins.isone_server import standin_server

pytestmark = pytest.mark.slow  # a Dagster run against the stand-in

FALL = date(2024, 11, 3)


def test_every_new_dataset_lands_the_fall_back_day(tmp_path: Path) -> None:
    specs = registry.FUNDAMENTAL_DATASETS
    assets = [a for spec in specs for a in build_dataset_assets(spec)]
    keys = [k for a in assets for k in a.keys if k.path[-1].endswith(("_csv", "_raw_parquet"))]
    with standin_server([FALL], n_locations=2) as server:
        result = dg.materialize(
            assets,
            selection=dg.AssetSelection.assets(*keys),
            partition_key=FALL.isoformat(),
            instance=dg.DagsterInstance.ephemeral(),
            resources={**lake_resources(tmp_path), "isone_source": isone_source(server, "reports")},
            raise_on_error=False,
        )
    lake = Lake.at(tmp_path)
    raw = {
        spec.dataset: pl.read_parquet(
            lake.partition_file(f"isone/{spec.dataset}/raw_parquet", FALL.isoformat())
        )
        for spec in specs
    }
    for spec in specs:
        assert raw[spec.dataset].schema == pl.Schema(spec.schema), spec.dataset
        assert raw[spec.dataset]["operating_day"].unique().to_list() == [FALL]
    per_area = raw["zonal_load"].group_by("area").agg(pl.col("interval_start_utc").n_unique())
    assert set(per_area["interval_start_utc"]) == {300} and per_area.height == 16
    assert raw["load"].filter(pl.col("area") == registry.SYSTEM_LOAD_AREA).height == 300
    forecast = raw["load_forecast"]
    assert forecast.group_by("area", "published_at_utc").len()["len"].unique().to_list() == [25]
    assert forecast["published_at_utc"].n_unique() == 3
    fuel = raw["fuel_mix"]
    assert (fuel.filter(pl.col("fuel_category") == "storage")["mw"] < 0).any()
    renewables = raw["renewables"]
    assert set(renewables["technology"]) == {"wind", "solar"}
    assert renewables["interval_start_utc"].n_unique() == 7 * 24 + 1
    assert result.success
