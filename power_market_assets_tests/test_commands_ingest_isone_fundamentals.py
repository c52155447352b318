"""Issue 13 "Done when": an ISO-NE five-minute estimated zonal load report for one day (8 zones x
288 intervals) and an intraday snapshot of it (the same report as published at 16:00: cut
after the 16:00 interval, same header lines) ingest with `power-market ingest`: the snapshot
lands as incomplete with its missing tail reported as not yet published, the final one
replaces it and the change is logged in `isone.zonal_load_changes`.

No real ISO Express file of this report was found in public repositories, so both files are
built by the stand-in generator in the documented layout (docs/reference/fundamentals/
isone.md); the reader and checks see exactly those bytes.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.io.lake import Lake
from power_market_assets.registry import isone as registry
from power_market_assets_tests.helpers import ingest_paths
from power_market_standins.isone_fundamentals import zonal_file, zonal_snapshot

pytestmark = pytest.mark.slow  # two Dagster runs on a temp data root

DAY = date(2024, 11, 4)
RAW = "isone/zonal_load/raw_parquet"
SERIES = 16  # 8 zones and their behind-the-meter PV
PUBLISHED_BY_16 = 16 * 12 + 1  # 00:00 .. 16:00 inclusive


@pytest.fixture(autouse=True)
def _dagster_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))


def _drop(folder: Path, sample, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or sample.name)
    path.write_bytes(sample.body)
    return path


def _gaps_evaluations(root: Path) -> list[dg.AssetCheckEvaluation]:
    """Every `gaps` evaluation of the zonal load, oldest first."""
    instance = dg.DagsterInstance.from_config(str(Lake.at(root).dagster_home))
    found = []
    for run in reversed(instance.get_runs()):
        for event in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ):
            evaluation = event.dagster_event.event_specific_data
            if evaluation.check_name == "gaps" and "zonal_load" in str(evaluation.asset_key):
                found.append(evaluation)
    return found


def _meta(evaluation: dg.AssetCheckEvaluation, key: str):
    value = evaluation.metadata.get(key)
    return getattr(value, "value", value)


# The snapshot saved under the ISO's own name (the final one then overwrites it in the day's
# landing folder) or under another (the final one then retires it: it covers all its rows).
@pytest.mark.parametrize("snapshot_name", [None, "zonal_load_2024-11-04_at_1600.csv"])
def test_snapshot_lands_incomplete_and_the_final_report_replaces_it(
    tmp_path: Path, snapshot_name: str | None
) -> None:
    root = tmp_path / "data"
    snapshot = zonal_snapshot(DAY, time(16, 0))
    final = zonal_file(DAY)
    assert snapshot.records == 8 * PUBLISHED_BY_16 and final.records == 8 * 288

    assert ingest_paths([_drop(tmp_path / "at_1600", snapshot, snapshot_name)], str(root)) == 0
    lake = Lake.at(root)
    raw = pl.read_parquet(lake.partition_file(RAW, DAY.isoformat()))
    assert raw.height == SERIES * PUBLISHED_BY_16
    assert raw["interval_start_local"].max().time() == time(16, 0)

    assert ingest_paths([_drop(tmp_path / "final", final)], str(root)) == 0
    raw = pl.read_parquet(lake.partition_file(RAW, DAY.isoformat()))
    assert raw.height == SERIES * 288
    assert raw.group_by("area").len()["len"].unique().to_list() == [288]
    assert raw["source_file"].unique().to_list() == [final.name]  # the snapshot is not read

    changes = pl.concat(
        [pl.read_parquet(p) for p in sorted(root.rglob("isone/zonal_load/changes/**/*.parquet"))]
    )
    (logged,) = changes.filter(pl.col("operating_day") == DAY.isoformat()).iter_rows(named=True)
    assert logged["rows_before"] == SERIES * PUBLISHED_BY_16
    assert logged["rows_after"] == SERIES * 288
    assert logged["values_added"] == SERIES * (288 - PUBLISHED_BY_16)
    assert logged["values_changed"] == 0 and logged["values_removed"] == 0
    assert registry.ZONAL_LOAD.intraday_snapshots

    # The snapshot's day was incomplete, its tail not yet published; the final one complete.
    snapshot_gaps, final_gaps = _gaps_evaluations(root)
    missing = 288 - PUBLISHED_BY_16
    assert snapshot_gaps.passed and _meta(snapshot_gaps, "complete") is False
    assert _meta(snapshot_gaps, "not_yet_published") == missing * SERIES
    assert _meta(snapshot_gaps, "not_yet_published_intervals") == missing
    assert _meta(snapshot_gaps, "data_ends_at") == f"{DAY}T16:05-05:00"
    assert final_gaps.passed and _meta(final_gaps, "complete") is True
    assert _meta(final_gaps, "not_yet_published") == 0
