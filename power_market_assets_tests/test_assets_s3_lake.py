"""The ERCOT asset chain with the lake in a bucket (moto's S3 server on 127.0.0.1): stages 1-4
from the stand-in on `s3://bucket/prefix` give the rows of the same run on a local data root,
the bucket holds the full lake (stage 1 included), another machine's catalog reads it, a day
failing its checks puts nothing in the bucket, and no credential shows in logs or events."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.combined import combined_asset_keys, fundamentals_asset_key
from power_market_assets.automation.runs import daily_job_name, run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.catalog import connect_read_only, refresh_catalog
from power_market_assets.io.lake import Lake, lake_for
from power_market_assets.registry import ercot
from power_market_assets_tests.s3_service import TEST_ACCESS_KEY, TEST_SECRET_KEY, S3Root
from power_market_standins.ercot import corrupt_document
from power_market_standins.ercot_fundamentals import generate_any
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = [pytest.mark.slow, pytest.mark.services]

DAYS = [date(2024, 11, 2), date(2024, 11, 3)]  # the fall-back day included
FIRST, LAST = DAYS[0].isoformat(), DAYS[-1].isoformat()
MONTH = "2024-11-01"
PRICES = ercot.COMBINED_INPUTS  # da_prices, as_prices, rt_prices: what stage 4 joins
COMPARED_VIEWS = (
    "ercot.da_prices_raw_parquet",
    "ercot.rt_prices_raw_parquet",
    "ercot.as_prices_raw_parquet",
    "ercot.rt_prices_flattened",
    "ercot.combined_da_as_rt_hourly",
    "ercot.combined_da_as_rt_native",
    "all_isos.da_prices",
)


@pytest.fixture(scope="module")
def documents():
    days = [*DAYS, DAYS[-1] + timedelta(days=1)]
    return [d for spec in PRICES for d in generate_any(spec, days, n_nodes=3)]


@pytest.fixture(scope="module")
def server(documents):
    with ErcotStandInServer(documents) as running:
        yield running


def _materialize_stages_1_to_4(root: str, server, instance: dg.DagsterInstance) -> None:
    """Stages 1-2 of the three price datasets (one run each), then their month: stage 3 and
    the combined outputs (fundamentals_hourly left out: its inputs are not fetched here)."""
    defs = build_definitions(data_root=root, ercot_mis_url=server.base_url)
    for spec in PRICES:
        assert run_range(defs, daily_job_name(spec), FIRST, LAST, instance).success, spec.dataset
    monthly = [dg.AssetKey(spec.asset_key_path("flattened")) for spec in PRICES]
    monthly += [k for k in combined_asset_keys("ERCOT") if k != fundamentals_asset_key("ERCOT")]
    result = dg.materialize(
        [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
        selection=dg.AssetSelection.assets(*monthly),
        partition_key=MONTH,
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
    )
    assert result.success


def _rows(lake: Lake, view: str) -> pl.DataFrame:
    with connect_read_only(lake) as con:
        return con.sql(f"select * from {view} order by all").pl()


def _text_of_every_file(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_the_chain_on_a_bucket_matches_the_local_lake(
    s3_root: S3Root, server, tmp_path: Path
) -> None:
    local_root = tmp_path / "local"
    _materialize_stages_1_to_4(str(local_root), server, dg.DagsterInstance.ephemeral())
    local = Lake.at(local_root)

    instance = dg.DagsterInstance.ephemeral()
    _materialize_stages_1_to_4(s3_root.url, server, instance)
    for run in instance.get_run_records():
        events = "\n".join(str(e) for e in instance.all_logs(run.dagster_run.run_id))
        config = str(run.dagster_run.run_config)
        for credential in (TEST_SECRET_KEY, TEST_ACCESS_KEY):
            assert credential not in events and credential not in config
    written = Lake.at(s3_root.url)
    assert written.root == s3_root.work_dir

    # The bucket is the full lake: stage 1 (folder and manifest), stages 2-4.
    keys = set(s3_root.keys("lake/ercot/"))
    for spec in PRICES:
        base = f"lake/ercot/{spec.dataset}"
        for day in (FIRST, LAST):
            assert f"{base}/csv/year=2024/{day}.parquet" in keys
            assert f"{base}/csv/year=2024/{day}/metadata.json" in keys
            assert f"{base}/raw_parquet/year=2024/{day}.parquet" in keys
        assert f"{base}/flattened/year=2024/{MONTH}.parquet" in keys
    combined = "lake/ercot/combined/da_as_rt_hourly"
    assert {f"{combined}/year=2024/{MONTH}.parquet", f"{combined}/yearly/2024.parquet"} <= keys
    assert not [k for k in keys if k.endswith(".tmp")]
    local_files = {
        p.relative_to(local.root).as_posix() for p in local.lake_dir.rglob("*") if p.is_file()
    }
    assert local_files <= keys | {k for k in local_files if not k.startswith("lake/ercot/")}

    # Another machine, nothing local: its catalog over the bucket shows the same rows.
    reader = lake_for(s3_root.url, work_dir=tmp_path / "reader")
    assert set(refresh_catalog(reader)) == set(refresh_catalog(local))
    for view in COMPARED_VIEWS:
        expected = _rows(local, view)
        assert expected.height > 0, view
        assert _rows(written, view).equals(expected), view
        assert _rows(reader, view).equals(expected), view
    fall_back = _rows(reader, "ercot.combined_da_as_hourly").filter(
        pl.col("operating_day") == DAYS[-1]
    )
    assert fall_back.height == 25

    for folder in (s3_root.work_dir, tmp_path / "reader"):
        everything = _text_of_every_file(folder)
        assert TEST_SECRET_KEY.encode() not in everything, folder


def test_a_day_failing_its_checks_puts_nothing_in_the_bucket(
    s3_root: S3Root, documents, tmp_path: Path
) -> None:
    bad_day = DAYS[-1]
    served = [
        corrupt_document(d) if d.spec is ercot.DA_PRICES and d.operating_day == bad_day else d
        for d in documents
        if d.spec is ercot.DA_PRICES
    ]
    instance = dg.DagsterInstance.ephemeral()
    with ErcotStandInServer(served) as server:
        defs = build_definitions(data_root=s3_root.url, ercot_mis_url=server.base_url)
        result = run_range(defs, daily_job_name(ercot.DA_PRICES), FIRST, LAST, instance)
    assert not result.success
    keys = s3_root.keys("lake/ercot/da_prices/")
    assert not [k for k in keys if "/raw_parquet/" in k and k.endswith(".parquet")]
    # The failed day's marker is in the bucket: another machine's downstream refuses it too.
    assert f"lake/ercot/da_prices/raw_parquet/year=2024/{LAST}.failed.json" in keys
    reader = lake_for(s3_root.url, work_dir=tmp_path / "reader")
    assert reader.existing_partition_files("ercot/da_prices/raw_parquet", [LAST]) == []
    assert reader.failure_marker("ercot/da_prices/raw_parquet", LAST).exists()
    # Stage 1 of the run's days landed (its output comes first), each with its manifest.
    assert {f"lake/ercot/da_prices/csv/year=2024/{d}.parquet" for d in (FIRST, LAST)} <= set(keys)
