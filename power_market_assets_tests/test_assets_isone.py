"""ISO-NE datasets through Dagster against the stand-in server, on a temp data root:
csv + raw_parquet for the fall-back day, then flattened for November 2024."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.combined import COMBINED_KINDS, build_combined_assets
from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.isone_resource import resource_from_env
from power_market_assets.io.lake import Lake
from power_market_assets.registry import isone as registry
from power_market_assets.transforms.names import default_wide_columns
from power_market_assets_tests.helpers import isone_source
from power_market_standins.isone_server import standin_server

pytestmark = pytest.mark.slow  # Dagster runs against the stand-in

FALL = date(2024, 11, 3)
N = 10


@pytest.fixture(scope="module")
def server():
    with standin_server([FALL], n_locations=N) as running:
        yield running


def _materialize(assets, stages, partition, root: Path, source, instance, **kwargs):
    # keys are <iso>/<dataset>_<stage> and <iso>/combined_<kind>
    suffixes = tuple(f"_{stage}" for stage in stages)
    keys = [k for a in assets for k in a.keys if k.path[-1].endswith(suffixes)]
    return dg.materialize(
        assets,
        selection=dg.AssetSelection.assets(*keys),
        partition_key=partition,
        instance=instance,
        resources={**lake_resources(root), "isone_source": source},
        **kwargs,
    )


def _assert_fall_day(lake: Lake, spec) -> None:
    raw = pl.read_parquet(lake.partition_file(f"isone/{spec.dataset}/raw_parquet", "2024-11-03"))
    per_hour = 60 // spec.interval_minutes
    counts = raw.group_by(spec.pivot_column).agg(pl.col("interval_start_utc").n_unique())
    assert set(counts["interval_start_utc"]) == {25 * per_hour}, spec.dataset
    assert raw.height == counts.height * 25 * per_hour
    day_dir = lake.csv_day_dir(f"isone/{spec.dataset}/csv", "2024-11-03")
    assert (day_dir / "metadata.json").exists()


def test_every_dataset_fall_back_day_end_to_end(tmp_path: Path, server) -> None:
    """Reports channel: csv + raw_parquet of every ISO-NE dataset for 2024-11-03 in one run,
    then flattened and combined for 2024-11-01; every check passes."""
    instance = dg.DagsterInstance.ephemeral()
    # Prices only: load, fuel and forecasts in test_assets_isone_fundamentals.py.
    assets = [a for spec in registry.PRICE_DATASETS for a in build_dataset_assets(spec)]
    assets.append(build_combined_assets(*registry.COMBINED_INPUTS))
    source = isone_source(server, "reports")
    daily = _materialize(assets, {"csv", "raw_parquet"}, "2024-11-03", tmp_path, source, instance)
    assert daily.success
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in daily.get_asset_check_evaluations()
    }
    # as_prices (DASI) starts 2025-03-01: its 2024 days are not available, not failures.
    landed = [s for s in registry.PRICE_DATASETS if s.first_available <= FALL]
    assert registry.AS_PRICES not in landed
    assert len(checks) == 5 * len(landed) and all(checks.values()), checks
    lake = Lake.at(tmp_path)
    for spec in landed:
        _assert_fall_day(lake, spec)

    monthly = {"flattened", *COMBINED_KINDS}
    flat = _materialize(assets, monthly, "2024-11-01", tmp_path, source, instance)
    assert flat.success
    for spec in landed:
        path = lake.partition_file(f"isone/{spec.dataset}/flattened", "2024-11-01")
        wide = pl.read_parquet(path)
        assert wide.height == 25 * 60 // spec.interval_minutes
        assert set(default_wide_columns(spec).values()) <= set(wide.columns)
    native = pl.read_parquet(lake.partition_file("isone/combined/da_as_rt_native", "2024-11-01"))
    assert native.height == 300 and native["da_h_internal_hub"].null_count() == 0
    assert native["as_tmsr"].null_count() == 300  # no day-ahead reserve market before DASI


def test_webservices_channel_end_to_end_without_leaking_credentials(tmp_path: Path, server) -> None:
    instance = dg.DagsterInstance.ephemeral()
    specs = (registry.RT_PRICES_HOURLY, registry.RT_AS_PRICES)
    assets = [a for spec in specs for a in build_dataset_assets(spec)]
    source = isone_source(server, "webservices")
    daily = _materialize(assets, {"csv", "raw_parquet"}, "2024-11-03", tmp_path, source, instance)
    assert daily.success
    assert all(e.passed for e in daily.get_asset_check_evaluations())
    for spec in specs:
        _assert_fall_day(Lake.at(tmp_path), spec)
    for event in instance.all_logs(daily.run_id):
        assert server.password not in str(event) and server.username not in str(event)


def test_unpublished_day_is_reported_not_landed(tmp_path: Path, server) -> None:
    """The source leaves an unpublished day out; the csv stage then names the day (as a
    failure or as a 'not available' observation, per the factory) and lands nothing."""
    assets = build_dataset_assets(registry.DA_PRICES)
    instance = dg.DagsterInstance.ephemeral()
    source = isone_source(server, "reports")
    result = _materialize(
        assets, {"csv"}, "2024-11-05", tmp_path, source, instance, raise_on_error=False
    )
    assert not result.get_asset_materialization_events()
    assert any("2024-11-05" in str(event) for event in instance.all_logs(result.run_id))
    assert not Lake.at(tmp_path).csv_day_dir("isone/da_prices/csv", "2024-11-05").exists()


def test_resource_from_env(monkeypatch) -> None:
    monkeypatch.delenv("ISONE_USERNAME", raising=False)
    monkeypatch.setenv("ISONE_PASSWORD", "from-env-secret")
    monkeypatch.setenv("PMA_ISONE_CHANNEL", "webservices")
    resource = resource_from_env("http://127.0.0.1:9")
    assert resource.channel == "webservices"
    assert resource.resolved_webservices_url() == "http://127.0.0.1:9/api/v1.1"
    assert resource.username is None
    assert isinstance(resource.password, dg.EnvVar)
    monkeypatch.delenv("PMA_ISONE_URL", raising=False)
    default = resource_from_env()
    assert default.resolved_webservices_url() == registry.WEBSERVICES_BASE_URL
