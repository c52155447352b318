"""NYISO load, load forecast, fuel mix and BTM solar through Dagster (csv -> raw_parquet) for
the fall-back day against the stand-in mis.nyiso.com, on a temp data root. Asserts on the
raw_parquet output only (the checks are another change's)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.lake import Lake
from power_market_assets.io.nyiso_resource import NyisoSource
from power_market_assets.registry import nyiso
from power_market_standins.nyiso_server import standin_server

pytestmark = pytest.mark.slow  # a Dagster run against the stand-in

FALL_BACK = date(2024, 11, 3)
FUNDAMENTALS = (nyiso.LOAD, nyiso.LOAD_HOURLY, nyiso.LOAD_FORECAST, nyiso.FUEL_MIX, nyiso.BTM_SOLAR)


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory) -> Path:
    """One run: every new dataset's csv and raw_parquet for the fall-back day."""
    root = tmp_path_factory.mktemp("nyiso_fundamentals_lake")
    assets = [a for spec in FUNDAMENTALS for a in build_dataset_assets(spec)]
    keys = [key for a in assets for key in a.keys]
    daily = [key for key in keys if key.path[-1].endswith(("_csv", "_raw_parquet"))]
    with standin_server([FALL_BACK], n_locations=2) as server:
        source = NyisoSource(base_url=server.base_url, max_retries=1, backoff_seconds=0.01)
        resources = {**lake_resources(root), "nyiso_source": source}
        result = dg.materialize(
            assets,
            selection=daily,
            partition_key=FALL_BACK.isoformat(),
            resources=resources,
            raise_on_error=False,
        )
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {f"{spec.dataset}_raw_parquet" for spec in FUNDAMENTALS} <= materialized
    return root


def _raw(root: Path, spec) -> pl.DataFrame:
    stage = f"{spec.iso.lower()}/{spec.dataset}/raw_parquet"
    return pl.read_parquet(Lake.at(root).partition_file(stage, FALL_BACK.isoformat()))


@pytest.mark.parametrize(
    ("spec", "series", "intervals"),
    [(nyiso.LOAD, "area", 300), (nyiso.LOAD_HOURLY, "area", 25), (nyiso.FUEL_MIX, "fuel", 300)],
    ids=lambda v: getattr(v, "dataset", str(v)),
)
def test_actuals_land_with_every_interval(spec, series, intervals, lake_root: Path) -> None:
    raw = _raw(lake_root, spec)
    bucket = pl.col("interval_start_utc").dt.truncate(f"{spec.interval_minutes}m").n_unique()
    assert set(raw.group_by(series).agg(bucket)["interval_start_utc"]) == {intervals}
    assert set(raw["operating_day"]) == {FALL_BACK}
    assert raw.select(spec.unique_key).is_duplicated().sum() == 0


def test_load_forecast_lands_under_its_publication_day(lake_root: Path) -> None:
    raw = _raw(lake_root, nyiso.LOAD_FORECAST)
    assert set(raw["published_at_utc"]) == {datetime(2024, 11, 3, 13, 30, tzinfo=UTC)}
    assert raw.height == 145 * 12  # six days ahead, the repeated hour twice
    assert raw["interval_start_local"].dt.date().max() == date(2024, 11, 8)


def test_btm_solar_lands_actual_and_forecast(lake_root: Path) -> None:
    raw = _raw(lake_root, nyiso.BTM_SOLAR)
    per_model = dict(raw.group_by("model").len().iter_rows())
    assert per_model == {"ACTUAL": 25 * 12, "btmdaforecast": 24 * 12}
