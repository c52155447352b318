"""The CAISO datasets through Dagster (csv -> raw_parquet -> flattened) against the stand-in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.caiso_resource import CaisoSource
from power_market_assets.io.lake import Lake
from power_market_assets.registry import caiso
from power_market_standins.caiso_server import standin_server

pytestmark = pytest.mark.slow  # Dagster runs against the stand-in

FALL_BACK = date(2024, 11, 3)


@pytest.fixture(scope="module")
def server():
    with standin_server([FALL_BACK], n_locations=3) as srv:
        yield srv


def _resources(root: Path, server) -> dict:
    return {
        **lake_resources(root),
        "caiso_source": CaisoSource(
            base_url=server.base_url, min_request_interval_seconds=0.0, backoff_seconds=0.01
        ),
    }


# The price and AS datasets (the fundamentals: test_assets_caiso_fundamentals.py).
PRICE_SPECS = tuple(s for s in caiso.CAISO_DATASETS if s.table_kind in ("price", "ancillary"))


@pytest.mark.parametrize("spec", PRICE_SPECS, ids=lambda s: s.dataset)
def test_fall_back_day_end_to_end(tmp_path: Path, server, spec) -> None:
    assets = build_dataset_assets(spec)
    daily_assets, flat_asset = assets
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(tmp_path, server)
    daily = dg.materialize(
        assets,
        selection=list(daily_assets.keys),
        partition_key=FALL_BACK.isoformat(),
        resources=resources,
        instance=instance,
    )
    assert daily.success
    checks = {e.check_name: e.passed for e in daily.get_asset_check_evaluations()}
    assert checks == dict.fromkeys(
        ("schema", "duplicates", "row_count", "gaps", "price_range"), True
    )

    lake = Lake.at(tmp_path)
    raw = pl.read_parquet(lake.partition_file(f"caiso/{spec.dataset}/raw_parquet", "2024-11-03"))
    entity = "location" if spec.table_kind == "price" else "product"
    per_entity = raw.group_by(entity).agg(pl.col("interval_start_utc").n_unique())
    assert set(per_entity.get_column("interval_start_utc")) == {25 * 60 // spec.interval_minutes}

    monthly = dg.materialize(
        assets,
        selection=[flat_asset.key],
        partition_key="2024-11-01",
        resources=resources,
        instance=instance,
    )
    assert monthly.success
    flat = pl.read_parquet(lake.partition_file(f"caiso/{spec.dataset}/flattened", "2024-11-01"))
    assert flat.height == 25 * 60 // spec.interval_minutes
    assert all(e.passed for e in monthly.get_asset_check_evaluations())
