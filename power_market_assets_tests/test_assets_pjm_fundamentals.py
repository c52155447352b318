"""One Dagster run of stages 1-2 of every PJM fundamentals dataset for the fall-back day from the
stand-in Data Miner. Only the raw_parquet output is asserted: the checks of the new kinds are
being reworked elsewhere (quality/checks.py), so their outcome is not this test's subject."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.lake import Lake
from power_market_assets.io.pjm_resource import PjmSource
from power_market_assets.registry import pjm
from power_market_assets.registry.kinds import ACTUAL_MODEL
from power_market_standins.pjm_server import standin_server

pytestmark = pytest.mark.slow  # a Dagster run against the stand-in

FALL_BACK = date(2024, 11, 3)
KEY = "pjm-fundamentals-key-7"
FUNDAMENTALS = [s for s in pjm.PJM_DATASETS if s.source.feeds]
# Native intervals of the fall-back day per series of the day's actuals.
INTERVALS = {"load": 25, "load_instantaneous": 300, "fuel_mix": 25, "wind": 25, "solar": 25,
             "marginal_emissions": 300}  # fmt: skip


@pytest.fixture(scope="module")
def raw_tables(tmp_path_factory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("lake")
    server = standin_server([FALL_BACK])
    server.subscription_key = KEY
    by_spec = {spec: build_dataset_assets(spec) for spec in FUNDAMENTALS}
    everything = [a for assets in by_spec.values() for a in assets]
    stages = ("csv", "raw_parquet")
    keys = [dg.AssetKey(s.asset_key_path(stage)) for s in by_spec for stage in stages]
    with server:
        resources = {
            **lake_resources(root),
            "pjm_source": PjmSource(
                base_url=server.base_url, api_key=KEY, min_request_interval_seconds=0.0
            ),
        }
        dg.materialize(
            everything,
            selection=keys,
            partition_key=FALL_BACK.isoformat(),
            resources=resources,
            raise_on_error=False,
        )
    lake = Lake.at(root)
    tables = {}
    for spec in FUNDAMENTALS:
        day_dir = lake.csv_day_dir(f"pjm/{spec.dataset}/csv", FALL_BACK.isoformat())
        metadata = json.loads((day_dir / "metadata.json").read_text())
        assert KEY not in json.dumps(metadata)
        assert {f["original_name"].rsplit("_", 2)[0] for f in metadata["files"]} == {
            feed.feed for feed in spec.source.feeds
        }
        path = lake.partition_file(f"pjm/{spec.dataset}/raw_parquet", FALL_BACK.isoformat())
        tables[spec.dataset] = pl.read_parquet(path)
    return tables


@pytest.mark.parametrize("spec", FUNDAMENTALS, ids=lambda s: s.dataset)
def test_raw_parquet_of_the_fall_back_day(spec, raw_tables) -> None:
    raw = raw_tables[spec.dataset]
    assert raw.height and (raw["operating_day"] == FALL_BACK).all()
    assert raw.select(spec.unique_key).is_duplicated().sum() == 0
    if spec.table_kind.vintage_column is None:
        series = raw.group_by(spec.pivot_column).agg(pl.col("interval_start_utc").n_unique())
    else:
        series = (
            raw.filter(pl.col("model") == ACTUAL_MODEL)
            .group_by("area")
            .agg(pl.col("interval_start_utc").n_unique())
        )
    if spec.dataset in INTERVALS:
        assert set(series["interval_start_utc"]) == {INTERVALS[spec.dataset]}
    elif spec is pjm.LOAD_FORECAST:  # every vintage published that day, seven days each
        assert raw["published_at_utc"].n_unique() > 1
        assert raw["interval_start_local"].dt.date().n_unique() == 7
    else:  # five-minute forecasts: a vintage every ten minutes of the 25-hour day
        assert raw["published_at_utc"].n_unique() == 150
