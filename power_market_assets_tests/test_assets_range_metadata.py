"""Issue 10 item 6: in a range run, every partition's materialization and the check results
describe what was really checked (the fall-back day's 25 hours included), not one day."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake
from power_market_assets.registry import ercot
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = pytest.mark.slow  # a range run through Dagster

DAYS = [date(2024, 11, 1) + timedelta(days=i) for i in range(4)]  # 2024-11-03 has 25 hours
RAW = "ercot/da_prices/raw_parquet"


@pytest.fixture(scope="module")
def range_run(tmp_path_factory):
    """One run of stages 1-2 of ERCOT DA prices for four days, kept for the module."""
    root = tmp_path_factory.mktemp("lake")
    documents = generate_documents(ercot.DA_PRICES, DAYS, n_nodes=3)
    instance = dg.DagsterInstance.ephemeral()
    with ErcotStandInServer(documents) as server:
        defs = build_definitions(data_root=str(root), ercot_mis_url=server.base_url)
        result = run_range(defs, "ercot_da_prices_daily", "2024-11-01", "2024-11-04", instance)
    assert result.success
    return root, result


def _materializations(result, stage: str) -> dict[str, dict]:
    """Partition -> metadata of the run's materializations of ERCOT DA prices at `stage`."""
    events = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if "_".join(e.asset_key.path).endswith(f"da_prices_{stage}")
    ]
    return {m.partition: {k: v.value for k, v in m.metadata.items()} for m in events}


def test_each_raw_partition_shows_its_own_rows(range_run) -> None:
    root, result = range_run
    lake = Lake.at(root)
    by_partition = _materializations(result, "raw_parquet")
    assert sorted(by_partition) == [d.isoformat() for d in DAYS]
    day_rows = {
        d.isoformat(): pl.read_parquet(lake.partition_file(RAW, d.isoformat())).height for d in DAYS
    }
    for key, metadata in by_partition.items():
        assert metadata["rows"] == day_rows[key], key
        assert metadata["run_rows"] == sum(day_rows.values())
        assert metadata["run_partitions"] == "2024-11-01..2024-11-04"
    # The fall-back day really is bigger: 25 hours against 24.
    assert day_rows["2024-11-03"] * 24 == day_rows["2024-11-01"] * 25


def test_each_csv_partition_shows_its_own_files(range_run) -> None:
    _, result = range_run
    by_partition = _materializations(result, "csv")
    assert {m["operating_day"] for m in by_partition.values()} == {d.isoformat() for d in DAYS}
    for key, metadata in by_partition.items():
        assert metadata["operating_day"] == key
        assert metadata["files"] >= 1
        assert metadata["data_rows"] > 0


def test_check_results_describe_the_whole_range(range_run) -> None:
    root, result = range_run
    lake = Lake.at(root)
    total = sum(pl.read_parquet(lake.partition_file(RAW, d.isoformat())).height for d in DAYS)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    duplicates = checks["duplicates"]
    assert duplicates.passed
    assert duplicates.metadata["rows"].value == total
    assert duplicates.metadata["partitions_checked"].value == 4
    assert "4 partitions 2024-11-01..2024-11-04" in duplicates.description
    table = duplicates.metadata["per_partition"].value
    assert all(d.isoformat() in table for d in DAYS)
    gaps = checks["gaps"]
    # The grid of the four days: 24 + 24 + 25 + 24 hours (it said 24 and 1 day before).
    assert gaps.metadata["operating_days"].value == 4
    assert gaps.metadata["expected_intervals"].value == 97
