"""The ERCOT asset chain through Dagster against the stand-in server, on a temp data root."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake
from power_market_assets.registry import ercot
from power_market_assets_tests.helpers import use_ercot_api
from power_market_standins.ercot import corrupt_document
from power_market_standins.ercot_fuel_mix import fuel_mix_workbooks
from power_market_standins.ercot_fundamentals import generate_any
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = pytest.mark.slow  # Dagster runs against the stand-in

DAYS = [date(2024, 11, 2) + timedelta(days=i) for i in range(3)]  # includes the fall-back day


@pytest.fixture(scope="module")
def documents():
    return [d for spec in ercot.ERCOT_DATASETS for d in generate_any(spec, DAYS, n_nodes=6)]


@pytest.fixture
def server(documents):
    with ErcotStandInServer(documents, fuel_mix=fuel_mix_workbooks(DAYS)) as running:
        yield running


def _defs(root: Path, server: ErcotStandInServer) -> dg.Definitions:
    return build_definitions(data_root=str(root), ercot_mis_url=server.base_url)


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def test_range_backfill_is_one_run_one_file_per_day(tmp_path: Path, server) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path, server)
    daily = run_range(defs, "ercot_daily", "2024-11-02", "2024-11-04", instance)
    assert daily.success
    assert len(instance.get_run_records()) == 1
    lake = Lake.at(tmp_path)
    for spec in ercot.ERCOT_DATASETS:
        files = lake.all_partition_files(f"ercot/{spec.dataset}/raw_parquet")
        assert [f.stem for f in files] == [d.isoformat() for d in DAYS]
        metadata = json.loads(
            (
                lake.csv_day_dir(f"ercot/{spec.dataset}/csv", "2024-11-03") / "metadata.json"
            ).read_text()
        )
        assert metadata
    assert all(e.passed for e in daily.get_asset_check_evaluations())

    monthly = run_range(defs, "ercot_monthly", "2024-11-01", "2024-11-01", instance)
    assert monthly.success
    # What the UI shows of a month: rows, span, a preview and a PNG plot of the hubs.
    for materialization in monthly.get_asset_materialization_events():
        metadata = materialization.materialization.metadata
        if materialization.asset_key.path[-1] == "cds_export":  # JSON segments, not rows
            assert metadata["segments"].value > 0
            continue
        assert metadata["rows"].value > 0, materialization.asset_key
        if materialization.asset_key.path[-1] == "combined_fundamentals_hourly":
            continue  # issue 13's new combined output: its plot is not asserted here (yet)
        assert metadata["plot"].value.startswith("!["), materialization.asset_key
        assert "data:image/png;base64," in metadata["plot"].value
    combined_dir = lake.stage_dir("ercot/combined/da_as_rt_hourly")
    assert (combined_dir / "yearly" / "2024.parquet").exists()
    assert (combined_dir / "ercot_combined_da_as_rt_hourly_all.parquet").exists()

    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        views = {
            r[0]
            for r in con.sql(
                "select view_name from duckdb_views() where schema_name='ercot'"
            ).fetchall()
        }
        assert {"da_prices_raw_parquet", "rt_prices_flattened", "combined_da_as_rt_native"} <= views
        per_location = con.sql(
            "select location, count(*), count(distinct interval_start_utc) "
            "from ercot.da_prices_raw_parquet where operating_day = '2024-11-03' group by 1"
        ).fetchall()
        assert per_location and all(n == 25 and d == 25 for _, n, d in per_location)
        duplicates = con.sql(
            "select count(*) from (select interval_start_utc, location, location_type "
            "from ercot.rt_prices_raw_parquet group by all having count(*) > 1)"
        ).fetchone()[0]
        assert duplicates == 0
        numeric = con.sql(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where schema_name = 'ercot' and table_name not like '%csv' "
            "and data_type not in ('VARCHAR', 'DATE', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP') "
            "and column_name not in ('interval_minutes', 'rt_intervals', 'intervals')"
        ).fetchall()
        assert numeric and [c for c in numeric if c[2] != "DOUBLE"] == []
        hours = con.sql(
            "select count(*) from ercot.combined_da_as_hourly where operating_day = '2024-11-03'"
        ).fetchone()[0]
        assert hours == 25
        rt = con.sql(
            "select count(*) from ercot.combined_da_as_rt_native where operating_day = '2024-11-03'"
        ).fetchone()[0]
        assert rt == 100


def test_rematerializing_a_day_replaces_it(tmp_path: Path, server) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(tmp_path, server)
    for _ in range(2):
        assert run_range(
            defs, "ercot_da_prices_daily", "2024-11-03", "2024-11-03", instance
        ).success
    lake = Lake.at(tmp_path)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        rows, distinct = con.sql(
            "select count(*), count(distinct (interval_start_utc, location)) "
            "from ercot.da_prices_raw_parquet"
        ).fetchone()
    assert rows == distinct == 25 * (6 + 19)


def test_corrupted_day_fails_checks_and_blocks_downstream(tmp_path: Path, documents) -> None:
    bad_day = date(2024, 11, 3)
    served = [
        corrupt_document(d) if d.spec is ercot.DA_PRICES and d.operating_day == bad_day else d
        for d in documents
    ]
    instance = dg.DagsterInstance.ephemeral()
    lake = Lake.at(tmp_path)
    with ErcotStandInServer(served) as server:
        defs = _defs(tmp_path, server)
        result = run_range(defs, "ercot_da_prices_daily", "2024-11-02", "2024-11-04", instance)
    assert not result.success
    checks = _checks(result)
    duplicates = checks[("ercot/da_prices_raw_parquet", "duplicates")]
    assert not duplicates.passed
    assert duplicates.metadata["failed_partitions"].value == "2024-11-03"
    assert "offending_rows" in duplicates.metadata
    price = checks[("ercot/da_prices_raw_parquet", "price_range")]
    assert not price.passed
    assert "99999" in price.metadata["offending_rows"].value
    # Nothing of the failed run is visible, and the failed day is marked.
    assert lake.all_partition_files("ercot/da_prices/raw_parquet") == []
    leftovers = list(lake.stage_dir("ercot/da_prices/raw_parquet").rglob("*.tmp"))
    assert leftovers == []  # the days staged before the checks failed were discarded
    assert lake.failure_marker("ercot/da_prices/raw_parquet", "2024-11-03").exists()

    # Downstream: the month refuses to flatten over the failed day.
    flat = dg.materialize(
        [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
        selection=dg.AssetSelection.assets(dg.AssetKey(["ercot", "da_prices_flattened"])),
        partition_key="2024-11-01",
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
    )
    assert not flat.success
    failure = [e for e in flat.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "2024-11-03" in failure.step_failure_data.error.message
    assert lake.all_partition_files("ercot/da_prices/flattened") == []


def test_public_api_channel_bulk_download(tmp_path: Path, server, monkeypatch) -> None:
    use_ercot_api(
        monkeypatch, server, server.api_username, server.api_password, server.subscription_key
    )
    defs = build_definitions(data_root=str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    result = run_range(defs, "ercot_rt_prices_daily", "2024-11-03", "2024-11-03", instance)
    assert result.success
    raw = pl.read_parquet(
        Lake.at(tmp_path).partition_file("ercot/rt_prices/raw_parquet", "2024-11-03")
    )
    assert raw["interval_start_utc"].n_unique() == 100
    for event in instance.all_logs(result.run_id):
        assert server.subscription_key not in str(event)
        assert server.api_password not in str(event)


def test_ingest_real_dam_file(tmp_path: Path, real_ercot_dir: Path, monkeypatch) -> None:
    from power_market_assets_tests.helpers import ingest_paths

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    junk = tmp_path / "x7Qz_random.txt"
    junk.write_text("hello,world\n1,2\n")
    code = ingest_paths([real_ercot_dir / "dam-spp.zip", junk], data_root=str(tmp_path / "data"))
    assert code == 1  # the junk file is refused ...
    assert junk.exists()  # ... and left where it was
    lake = Lake.at(tmp_path / "data")
    raw = pl.read_parquet(lake.partition_file("ercot/da_prices/raw_parquet", "2026-06-12"))
    assert raw.height == 26_664
    north = raw.filter(pl.col("location") == "HB_NORTH").sort("interval_start_utc")
    assert north["interval_start_utc"][0] == datetime(2026, 6, 12, 5, tzinfo=UTC)


def test_spring_forward_day_end_to_end(tmp_path: Path) -> None:
    day = date(2024, 3, 10)
    docs = [d for spec in ercot.ERCOT_DATASETS for d in generate_any(spec, [day], n_nodes=3)]
    instance = dg.DagsterInstance.ephemeral()
    with ErcotStandInServer(docs, fuel_mix=fuel_mix_workbooks([day])) as server:
        defs = _defs(tmp_path, server)
        assert run_range(defs, "ercot_daily", "2024-03-10", "2024-03-10", instance).success
        assert run_range(defs, "ercot_monthly", "2024-03-01", "2024-03-01", instance).success
    with duckdb.connect(str(Lake.at(tmp_path).warehouse_path), read_only=True) as con:
        da = con.sql(
            "select count(distinct interval_start_utc), min(interval_start_utc), "
            "max(interval_end_utc) from ercot.da_prices_raw_parquet"
        ).fetchone()
        rt = con.sql("select count(distinct interval_start_utc) from ercot.rt_prices_raw_parquet")
        flat = con.sql("select count(*) from ercot.rt_prices_flattened").fetchone()[0]
        native = con.sql("select count(*), count(da_hb_north) from ercot.combined_da_as_rt_native")
        manifest = con.sql("select count(*), sum(data_rows) from ercot.rt_prices_csv").fetchone()
        native_rows, with_da = native.fetchone()
        rt_intervals = rt.fetchone()[0]
    assert da[0] == 23  # no 02:00-03:00 local hour
    assert da[1] == datetime(2024, 3, 10, 6, tzinfo=UTC)  # 00:00 CST
    assert da[2] == datetime(2024, 3, 11, 5, tzinfo=UTC)  # 24:00 CDT
    assert rt_intervals == flat == native_rows == with_da == 92
    # 3 nodes + 7 hubs + 8 zones and 4 DC ties, each zone and tie twice (LZ and LZEW)
    assert manifest[0] == 92 and manifest[1] == 92 * (3 + 7 + 2 * (8 + 4))
