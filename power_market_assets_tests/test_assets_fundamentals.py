"""One Dagster materialization of fundamentals_hourly (assets/combined.py) from synthetic
stage-2 files: the month's partition reads its inputs' daily partitions through the partition
mappings (the forecast's from the month before: 11-01's day-ahead vintage was published on
10-31), writes the month and its yearly file, and the catalog shows it."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.assets.combined import (
    FUNDAMENTALS_KIND,
    build_fundamentals_asset,
    fundamentals_asset_key,
    fundamentals_ins,
)
from power_market_assets.assets.factory import lake_metadata
from power_market_assets.assets.partitions import daily_for
from power_market_assets.io import catalog
from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.io_manager import LakeIOManager
from power_market_assets.io.lake import Lake, stage_lake_path, write_parquet_files
from power_market_assets.io.resources import LakeResource
from power_market_assets.registry.ercot import DA_PRICES, RT_PRICES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets_tests.fundamentals_frames import (
    INPUTS,
    forecast_long,
    fuel_mix_long,
    load_long,
    price_long,
    renewables_long,
    utc,
)

DAYS = [date(2024, 11, 1) + timedelta(days=n) for n in range(4)]  # 11-03 falls back
MONTH = "2024-11-01"
# Published 10-31 19:00 CDT (00:00 UTC 11-01): the day-ahead vintage of 11-01 (the month
# before's partition); 11-01 18:00 UTC: of 11-02..04.
VINTAGES = [utc(2024, 11, 1, 0), utc(2024, 11, 1, 18)]


def _upstream(spec: DatasetSpec) -> dg.AssetSpec:
    """A stage-2 asset as the factory declares it (its lake path and daily partitions)."""
    key = dg.AssetKey(spec.asset_key_path("raw_parquet"))
    return dg.AssetSpec(
        key,
        partitions_def=daily_for(spec),
        metadata=lake_metadata(stage_lake_path(spec, "raw_parquet"), "daily", "view"),
    ).with_io_manager_key("lake_io")


def _write_days(lake: Lake, spec: DatasetSpec, frame: pl.DataFrame) -> None:
    path = stage_lake_path(spec, "raw_parquet")
    write_parquet_files(
        {
            lake.partition_file(path, day.isoformat()): part
            for (day,), part in frame.group_by("operating_day")
        }
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    lake = Lake.at(tmp_path_factory.mktemp("fundamentals") / "data")
    _write_days(lake, DA_PRICES, price_long(DA_PRICES, DAYS))
    _write_days(lake, RT_PRICES, price_long(RT_PRICES, DAYS))
    _write_days(lake, INPUTS.load, load_long(DAYS))
    _write_days(lake, INPUTS.fuel_mix, fuel_mix_long(DAYS))
    _write_days(lake, INPUTS.load_forecast, forecast_long(DAYS, VINTAGES))
    _write_days(lake, INPUTS.renewables[0], renewables_long(DAYS, utc(2024, 11, 1, 12)))
    asset = build_fundamentals_asset(INPUTS)
    upstream = [_upstream(spec) for spec, _ in fundamentals_ins(INPUTS).values()]
    root = str(lake.root)
    result = dg.materialize(
        [asset, *upstream],
        selection=[fundamentals_asset_key("ercot")],
        partition_key=MONTH,
        resources={"lake": LakeResource(data_root=root), "lake_io": LakeIOManager(data_root=root)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return lake


def test_the_month_is_written_with_the_forecast_of_the_month_before(lake: Lake) -> None:
    path = f"ercot/combined/{FUNDAMENTALS_KIND}"
    month = pl.read_parquet(lake.partition_file(path, MONTH))
    assert month.height == 24 + 24 + 25 + 24
    by_day = dict(month.group_by("operating_day").agg(pl.col("load_forecast_mw").first()).rows())
    # 11-01's vintage is in the 10-31 partition: read through the mapping to the month before
    assert by_day[date(2024, 11, 1)] == 50_000.0 and by_day[date(2024, 11, 2)] == 50_018.0
    assert month.get_column("net_load_mw").null_count() == 0
    yearly = list(lake.stage_dir(path).rglob("*2024*.parquet"))
    assert len(yearly) >= 2  # the month and its year (compacted like the other outputs)


def test_the_forecast_input_maps_to_the_month_before_too() -> None:
    asset = build_fundamentals_asset(INPUTS)
    forecast_key = dg.AssetKey(INPUTS.load_forecast.asset_key_path("raw_parquet"))
    mapping = asset.get_partition_mapping(forecast_key)
    monthly = asset.partitions_def
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        monthly.subset_with_partition_keys([MONTH]),
        monthly,
        daily_for(INPUTS.load_forecast),
    ).partitions_subset.get_partition_keys()
    assert "2024-10-31" in upstream and "2024-11-30" in upstream and "2024-12-01" not in upstream
    load_key = dg.AssetKey(INPUTS.load.asset_key_path("raw_parquet"))
    assert "2024-10-31" not in (
        asset.get_partition_mapping(load_key)
        .get_upstream_mapped_partitions_result_for_partitions(
            monthly.subset_with_partition_keys([MONTH]), monthly, daily_for(INPUTS.load)
        )
        .partitions_subset.get_partition_keys()
    )


def test_the_catalog_view_answers_net_load_against_rt_price(lake: Lake, monkeypatch) -> None:
    monkeypatch.setattr(catalog, "FUNDAMENTALS_INPUTS", {"ERCOT": INPUTS})
    refresh_catalog(lake)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        rows = con.sql(
            "select interval_start_local, utc_offset, net_load_mw, rt_price "
            "from ercot.combined_fundamentals_hourly where operating_day = '2024-11-03' "
            "order by interval_start_utc"
        ).fetchall()
    assert len(rows) == 25
    assert [r[1] for r in rows[1:3]] == ["-05:00", "-06:00"]  # 01:00 twice
