"""The PJM asset chain through Dagster against the stand-in Data Miner, on a temp data root."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.formats import pjm as fmt
from power_market_assets.io.lake import Lake
from power_market_assets.io.pjm_resource import PjmSource
from power_market_assets.registry import pjm
from power_market_standins.pjm_server import standin_server

pytestmark = pytest.mark.slow  # Dagster runs against the stand-in

FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
KEY = "pjm-asset-key-42"


@pytest.fixture(scope="module")
def server():
    srv = standin_server([FALL_BACK, SPRING_FORWARD], n_locations=4)
    srv.subscription_key = KEY
    with srv as running:
        yield running


def _resources(root: Path, server) -> dict:
    return {
        **lake_resources(root),
        "pjm_source": PjmSource(
            base_url=server.base_url, api_key=KEY, min_request_interval_seconds=0.0
        ),
    }


def _keys(specs, *stages: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(spec.asset_key_path(stage)) for spec in specs for stage in stages]


def test_fall_back_day_end_to_end(tmp_path: Path, server) -> None:
    """csv + raw_parquet of every PJM dataset for the fall-back day in one run, then the
    flattened month: 25 hours of native intervals per series, every check passing."""
    # The price datasets; the fundamentals' run is in test_assets_pjm_fundamentals.py.
    prices = [s for s in pjm.PJM_DATASETS if s.file_layout in fmt.PRICE_LAYOUTS]
    by_spec = {spec: build_dataset_assets(spec) for spec in prices}
    everything = [a for assets in by_spec.values() for a in assets]
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(tmp_path, server)
    daily = dg.materialize(
        everything,
        selection=_keys(by_spec, "csv", "raw_parquet"),
        partition_key=FALL_BACK.isoformat(),
        resources=resources,
        instance=instance,
    )
    assert daily.success
    evaluations = daily.get_asset_check_evaluations()
    assert len(evaluations) == 5 * len(by_spec) and all(e.passed for e in evaluations)
    for event in instance.all_logs(daily.run_id):
        assert KEY not in str(event)

    flat = dg.materialize(
        everything,
        selection=_keys(by_spec, "flattened"),
        partition_key="2024-11-01",
        resources=resources,
        instance=instance,
    )
    assert flat.success

    lake = Lake.at(tmp_path)
    for spec in by_spec:
        intervals = 25 * 60 // spec.interval_minutes
        raw = pl.read_parquet(lake.partition_file(f"pjm/{spec.dataset}/raw_parquet", "2024-11-03"))
        per_series = raw.group_by(spec.pivot_column).agg(pl.col("interval_start_utc").n_unique())
        assert per_series["interval_start_utc"].to_list() == [intervals] * per_series.height
        # Stage 1 keeps the JSON pages byte for byte, with their source URL (no key anywhere).
        day_dir = lake.csv_day_dir(f"pjm/{spec.dataset}/csv", "2024-11-03")
        metadata = json.loads((day_dir / "metadata.json").read_text())
        pages = [p for p in sorted(day_dir.glob("*.json")) if p.name != "metadata.json"]
        assert [f["original_name"] for f in metadata["files"]] == [p.name for p in pages]
        assert all(spec.source.feed in f["source_url"] for f in metadata["files"])
        assert KEY not in json.dumps(metadata)
        wide = pl.read_parquet(lake.partition_file(f"pjm/{spec.dataset}/flattened", "2024-11-01"))
        assert wide.height == intervals and wide.width > 4


def test_spring_forward_day_and_unpublished_day(tmp_path: Path, server) -> None:
    spec = pjm.DA_PRICES
    assets = build_dataset_assets(spec)
    daily = {"assets": assets, "selection": _keys([spec], "csv", "raw_parquet")}
    resources = _resources(tmp_path, server)
    result = dg.materialize(**daily, partition_key=SPRING_FORWARD.isoformat(), resources=resources)
    assert result.success
    raw = pl.read_parquet(
        Lake.at(tmp_path).partition_file("pjm/da_prices/raw_parquet", "2024-03-10")
    )
    assert raw.group_by("location").len()["len"].unique().to_list() == [23]
    missing = dg.materialize(
        **daily, partition_key="2024-11-05", resources=resources, raise_on_error=False
    )
    # Nothing published yet: the run succeeds, nothing is written and the day is observed
    # as not available (a later run or the sensor picks it up).
    assert missing.success
    lake = Lake.at(tmp_path)
    assert not lake.partition_file("pjm/da_prices/raw_parquet", "2024-11-05").exists()
    observed = [
        e.event_specific_data.asset_observation.metadata
        for e in missing.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert any("2024-11-05" in str(m.get("not_available_days")) for m in observed)
