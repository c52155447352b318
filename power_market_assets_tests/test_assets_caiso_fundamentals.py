"""CAISO load, load forecast, fuel mix and renewables through Dagster (csv -> raw_parquet) for
the demo's fall-back day against the stand-in. Only the raw_parquet output is asserted: the
checks of these kinds are being reworked elsewhere (quality/checks.py)."""

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
# (spec, the columns naming one series, intervals per series on the fall-back day)
CASES = [
    (caiso.LOAD, ("area",), 25),
    (caiso.FUEL_MIX, ("fuel",), 300),
    (caiso.RENEWABLES, ("technology", "area", "model"), None),
    (caiso.LOAD_FORECAST, ("area", "model"), None),
    (caiso.LOAD_FORECAST_15MIN, ("area",), 100),
]


@pytest.fixture(scope="module")
def server():
    with standin_server([date(2024, 11, 2), FALL_BACK], n_locations=2) as srv:
        yield srv


@pytest.mark.parametrize(
    ("spec", "series", "intervals"), CASES, ids=lambda c: getattr(c, "dataset", "")
)
def test_fall_back_day_lands_in_raw_parquet(
    tmp_path: Path, server, spec, series, intervals
) -> None:
    daily_assets, _ = build_dataset_assets(spec)
    resources = {
        **lake_resources(tmp_path),
        "caiso_source": CaisoSource(
            base_url=server.base_url,
            outlook_url=f"{server.base_url}/outlook",
            min_request_interval_seconds=0.0,
            backoff_seconds=0.01,
        ),
    }
    dg.materialize(
        [daily_assets],
        selection=list(daily_assets.keys),
        partition_key=FALL_BACK.isoformat(),
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    path = Lake.at(tmp_path).partition_file(f"caiso/{spec.dataset}/raw_parquet", "2024-11-03")
    raw = pl.read_parquet(path)
    assert raw.height > 0
    assert set(raw.get_column("operating_day")) == {FALL_BACK}
    per_series = raw.group_by(*series).agg(pl.col("interval_start_utc").n_unique().alias("n"))
    if intervals is not None:
        assert set(per_series.get_column("n")) == {intervals}
    else:  # forecasts: the fall-back day's own rows (ACTUAL, HASP) or days ahead: 24 or 25
        assert set(per_series.get_column("n")) <= {24, 25}
