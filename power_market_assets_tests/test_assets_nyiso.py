"""Every NYISO dataset through Dagster (csv -> raw_parquet -> flattened) against the stand-in
mis.nyiso.com, on a temp data root."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.lake import Lake
from power_market_assets.io.nyiso_resource import NyisoSource
from power_market_assets.registry import nyiso
from power_market_assets.transforms.names import default_wide_columns
from power_market_standins.nyiso_server import standin_server

pytestmark = pytest.mark.slow  # Dagster runs against the stand-in

FALL_BACK = date(2024, 11, 3)
# Load, forecast, fuel mix and BTM solar: test_assets_nyiso_fundamentals.py.
PRICE_DATASETS = [s for s in nyiso.NYISO_DATASETS if s.table_kind in ("price", "ancillary")]


@pytest.fixture(scope="module")
def server():
    with standin_server([date(2024, 11, 2), FALL_BACK], n_locations=3) as running:
        yield running


def _resources(root: Path, server) -> dict:
    return {
        **lake_resources(root),
        "nyiso_source": NyisoSource(base_url=server.base_url, max_retries=1, backoff_seconds=0.01),
    }


def _stage(spec, stage: str) -> str:
    return f"{spec.iso.lower()}/{spec.dataset}/{stage}"


@pytest.fixture(scope="module")
def lake_root(server, tmp_path_factory) -> Path:
    """One run for every dataset's fall-back day (csv + raw_parquet), one for the month."""
    root = tmp_path_factory.mktemp("nyiso_lake")
    assets = [a for spec in PRICE_DATASETS for a in build_dataset_assets(spec)]
    keys = [key for a in assets for key in a.keys]
    daily_keys = [key for key in keys if key.path[-1].endswith(("_csv", "_raw_parquet"))]
    resources = _resources(root, server)
    daily = dg.materialize(
        assets, selection=daily_keys, partition_key=FALL_BACK.isoformat(), resources=resources
    )
    assert daily.success
    failed = [
        (e.asset_key.to_user_string(), e.check_name)
        for e in daily.get_asset_check_evaluations()
        if not e.passed
    ]
    assert failed == []
    assert {e.check_name for e in daily.get_asset_check_evaluations()} >= {"gaps", "row_count"}
    flat_keys = [key for key in keys if key.path[-1].endswith("_flattened")]
    monthly = dg.materialize(
        assets, selection=flat_keys, partition_key="2024-11-01", resources=resources
    )
    assert monthly.success
    return root


@pytest.mark.parametrize("spec", PRICE_DATASETS, ids=lambda s: s.dataset)
def test_fall_back_day_and_month_in_the_lake(spec, lake_root: Path) -> None:
    lake = Lake.at(lake_root)
    day_dir = lake.csv_day_dir(_stage(spec, "csv"), FALL_BACK.isoformat())
    stems = list(spec.source.file_names)
    assert sorted(p.name for p in day_dir.glob("*.csv")) == sorted(
        f"20241103{stem}.csv" for stem in stems
    )
    assert (day_dir / "metadata.json").exists()
    raw = pl.read_parquet(lake.partition_file(_stage(spec, "raw_parquet"), "2024-11-03"))
    hours = raw.group_by(spec.pivot_column).agg(
        pl.col("interval_start_utc").dt.truncate("1h").n_unique().alias("hours"), pl.len()
    )
    assert set(hours["hours"]) == {25}
    assert set(hours["len"]) == {25 * 60 // spec.interval_minutes}
    assert raw.select(spec.unique_key).is_duplicated().sum() == 0
    if spec.table_kind == "price":
        assert {"ZONE", "NODE"} == set(raw["location_type"])

    flat = pl.read_parquet(lake.partition_file(_stage(spec, "flattened"), "2024-11-01"))
    day = flat.filter(pl.col("operating_day") == FALL_BACK)
    if spec.irregular_intervals:
        assert day.height >= 300  # rows at the observed RTD stamps
    else:
        assert day.height == 25
    assert set(default_wide_columns(spec).values()) <= set(flat.columns)
