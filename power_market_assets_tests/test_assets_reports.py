"""Issue 15: ERCOT's report assets materialized once for 2024-11 on a small lake of stand-in
days (2024-11-01..04, the fall-back day included): the month's daily raw_parquet read through
the partition mapping, the tables written per month as the pure functions compute them, the
battery from the run config, plots in the metadata, and the DuckDB views (all_isos too)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.assets import all_assets
from power_market_assets.assets.combined import combined_asset_keys
from power_market_assets.assets.factory import lake_metadata
from power_market_assets.assets.partitions import daily_for, monthly_for
from power_market_assets.assets.reports import (
    BESS_VALUE,
    PRICE_STATS,
    BatteryConfig,
    build_report_assets,
    report_asset_keys,
    report_key,
)
from power_market_assets.io.catalog import REPORT_VIEWS, report_lake_path
from power_market_assets.io.io_manager import LakeIOManager
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.io.resources import LakeResource
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_PRICES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms import price_stats as ps
from power_market_assets.transforms.bess import Battery
from power_market_assets_tests.report_lake import MONTH, SPECS, build_report_lake

pytestmark = pytest.mark.slow  # a Dagster run

BATTERY = {"power_mw": 50.0, "duration_hours": 4.0, "round_trip_efficiency": 0.9}


def _upstream(spec: DatasetSpec) -> dg.AssetSpec:
    """A stage-2 asset as the factory declares it (its lake path and daily partitions)."""
    return dg.AssetSpec(
        dg.AssetKey(spec.asset_key_path("raw_parquet")),
        partitions_def=daily_for(spec),
        metadata=lake_metadata(stage_lake_path(spec, "raw_parquet"), "daily", "view"),
    ).with_io_manager_key("lake_io")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Lake, dg.ExecuteInProcessResult]:
    lake = build_report_lake(tmp_path_factory.mktemp("reports") / "data")
    combined = [
        dg.AssetSpec(k, partitions_def=monthly_for(DA_PRICES)) for k in combined_asset_keys("ercot")
    ]
    root = str(lake.root)
    result = dg.materialize(
        [*build_report_assets(DA_PRICES, AS_PRICES, RT_PRICES), *map(_upstream, SPECS), *combined],
        selection=report_asset_keys("ercot"),
        partition_key=MONTH,
        resources={"lake": LakeResource(data_root=root), "lake_io": LakeIOManager(data_root=root)},
        run_config={"ops": {"ercot_report_bess": {"config": BATTERY}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return lake, result


def _read(lake: Lake, view: str) -> pl.DataFrame:
    path = lake.partition_file(report_lake_path("ERCOT", view), MONTH)
    assert path.exists(), view
    return pl.read_parquet(path)


def _raw(lake: Lake, spec: DatasetSpec) -> pl.DataFrame:
    files = lake.all_partition_files(stage_lake_path(spec, "raw_parquet"))
    return pl.concat([pl.read_parquet(f) for f in files])


def test_price_stats_are_the_functions_on_the_months_days(run) -> None:
    lake, _ = run
    written = _read(lake, PRICE_STATS)
    expected = ps.price_stats(
        _raw(lake, DA_PRICES),
        _raw(lake, RT_PRICES),
        "ERCOT",
        DA_PRICES.price_bounds,
        RT_PRICES.price_bounds,
    )
    assert written.equals(expected)
    north = written.filter(pl.col("location") == "HB_NORTH")
    # four days, one of 25 hours: 97 DA hours, 388 quarter hours, 97 spread hours
    assert dict(zip(north["market"], north["intervals"], strict=True)) == {
        "DA": 97,
        "RT": 388,
        "DA-RT": 97,
    }
    assert set(written["location_type"]) == {"HUB", "ZONE"}
    duration = _read(lake, "report_price_duration")
    assert duration.height == written.filter(pl.col("market") != "DA-RT").height * 101


def test_bess_value_is_for_the_configured_battery(run) -> None:
    lake, _ = run
    value = _read(lake, BESS_VALUE)
    battery = Battery(**BATTERY)
    assert set(value["battery"]) == {battery.label()} == {"50MW/4h/0.9"}
    assert set(value["energy_mwh"]) == {200.0}
    strategies = set(value.filter(pl.col("product").is_null())["strategy"])
    assert {"da_only", "rt_only", "two_settlement", "rule_based_da", "rule_based_rt"} <= strategies
    assert set(value["operating_day"]) == {date(2024, 11, d) for d in range(1, 5)}
    products = set(value["product"].drop_nulls())
    assert products and products <= set(_raw(lake, AS_PRICES)["product"])
    schedule = _read(lake, "report_bess_schedule")
    rt_only = schedule.filter(
        (pl.col("strategy") == "rt_only") & (pl.col("location") == "HB_NORTH")
    )
    assert rt_only.height == 388  # every quarter hour of the four days
    assert rt_only["discharge_mw"].max() <= 50.0 + 1e-6
    assert BatteryConfig().battery() == Battery()


def test_plots_are_in_each_partitions_metadata(run) -> None:
    _, result = run
    events = result.get_asset_materialization_events()
    by_key = {e.asset_key: e.materialization.metadata for e in events}
    for key in (report_key("ercot", PRICE_STATS), report_key("ercot", BESS_VALUE)):
        plots = [v for k, v in by_key[key].items() if k.startswith("plot_")]
        assert plots, key
        assert all("data:image/png;base64," in v.value for v in plots)
    assert len([k for k in by_key[report_key("ercot", PRICE_STATS)] if k.startswith("plot_")]) == 2


def test_views_in_the_catalog(run) -> None:
    lake, _ = run
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        for view in REPORT_VIEWS:
            (rows,) = con.sql(f"select count(*) from ercot.{view}").fetchone()
            assert rows == _read(lake, view).height, view
        cross = con.sql(
            "select iso, market, count(*) from all_isos.report_price_stats group by all order by 2"
        ).fetchall()
        mean = con.sql(
            "select mean_usd_per_mwh from all_isos.report_price_stats "
            "where location = 'HB_NORTH' and market = 'RT'"
        ).fetchone()[0]
    assert [(iso, market) for iso, market, _ in cross] == [
        ("ERCOT", "DA"),
        ("ERCOT", "DA-RT"),
        ("ERCOT", "RT"),
    ]
    rt = _raw(lake, RT_PRICES).filter(
        (pl.col("location") == "HB_NORTH") & (pl.col("location_type") == "HUB")
    )
    assert mean == pytest.approx(rt["lmp"].mean())


def test_every_iso_has_its_report_assets_in_its_own_group() -> None:
    groups = {
        key: a.group_names_by_key[key]
        for a in all_assets()
        for key in a.keys
        if key.path[-1].startswith("report_")
    }
    assert len(groups) == 5 * len(REPORT_VIEWS)
    assert {g for g in groups.values()} == {
        f"{iso}_reports" for iso in ("ercot", "caiso", "nyiso", "isone", "pjm")
    }
    report = next(a for a in all_assets() if report_key("ercot", PRICE_STATS) in a.keys)
    condition = report.automation_conditions_by_key[report_key("ercot", PRICE_STATS)]
    assert "combined month updated" in condition.get_label()
    deps = report.asset_deps[report_key("ercot", PRICE_STATS)]
    assert set(combined_asset_keys("ercot")) <= set(deps)


def test_automation_waits_for_the_combined_month() -> None:
    """A day's raw update alone requests nothing; the combined month's update requests the
    month's four report outputs, once."""
    combined = [
        dg.AssetSpec(k, partitions_def=monthly_for(DA_PRICES)) for k in combined_asset_keys("ercot")
    ]
    defs = dg.Definitions(
        assets=[
            *build_report_assets(DA_PRICES, AS_PRICES, RT_PRICES),
            *map(_upstream, SPECS),
            *combined,
        ],
        resources={"lake_io": LakeIOManager(data_root="unused")},
    )
    instance = dg.DagsterInstance.ephemeral()
    now = datetime(2024, 11, 5, tzinfo=UTC)

    def evaluate(cursor=None):
        return dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=now
        )

    def update(key: dg.AssetKey, partition: str) -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))

    first = evaluate()
    update(dg.AssetKey(DA_PRICES.asset_key_path("raw_parquet")), "2024-11-02")
    after_raw = evaluate(first.cursor)
    update(combined_asset_keys("ercot")[0], MONTH)
    after_combined = evaluate(after_raw.cursor)
    requested = {
        r.key
        for r in after_combined.results
        if r.true_subset.size and r.key in report_asset_keys("ercot")
    }
    assert (first.total_requested, after_raw.total_requested) == (0, 0)
    assert requested == set(report_asset_keys("ercot")) and after_combined.total_requested == 4
    assert evaluate(after_combined.cursor).total_requested == 0
