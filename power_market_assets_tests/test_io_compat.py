"""The pinned versions work together: write then read back through each IO manager.

polars 2.x breaks dagster-polars and duckdb 2.x breaks dagster-duckdb-polars, and both only
fail when an input is *loaded* (docs/reference/DAGSTER_NOTES.md), so every IO manager
the platform could use is exercised with a write followed by a read.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb_polars import DuckDBPolarsIOManager
from dagster_polars import PolarsParquetIOManager

from power_market_assets.io.io_manager import LakeIOManager

DAILY = dg.DailyPartitionsDefinition(start_date="2024-11-01", timezone="America/Chicago")


def _pair(io_manager_key: str, upstream_metadata: dict | None = None):
    @dg.asset(
        key=["compat", "prices"],
        partitions_def=DAILY,
        io_manager_key=io_manager_key,
        metadata=upstream_metadata or {},
    )
    def prices(context: dg.AssetExecutionContext) -> pl.DataFrame:
        day = date.fromisoformat(context.partition_key)
        return pl.DataFrame({"operating_day": [day, day], "lmp": [25.5, -3.0]})

    @dg.asset(
        key=["compat", "summary"],
        ins={"prices": dg.AssetIn(key=["compat", "prices"])},
        partitions_def=DAILY,
        io_manager_key="mem",
    )
    def summary(prices: pl.DataFrame) -> pl.DataFrame:
        return prices.select(pl.col("lmp").sum())

    return [prices, summary]


def _check(assets, resources) -> float:
    result = dg.materialize(assets, partition_key="2024-11-03", resources=resources)
    assert result.success
    return result.output_for_node("compat__summary")["lmp"][0]


def test_versions_are_the_pinned_majors() -> None:
    assert pl.__version__.startswith("1.")
    assert duckdb.__version__.startswith("1.")


def test_lake_io_manager_roundtrip(tmp_path: Path) -> None:
    meta = {"lake_path": "compat/prices/raw_parquet", "partition_granularity": "daily"}
    resources = {"lake_io": LakeIOManager(data_root=str(tmp_path)), "mem": dg.InMemoryIOManager()}
    assert _check(_pair("lake_io", meta), resources) == 22.5


def test_dagster_polars_parquet_roundtrip(tmp_path: Path) -> None:
    resources = {
        "parquet": PolarsParquetIOManager(base_dir=str(tmp_path)),
        "mem": dg.InMemoryIOManager(),
    }
    assert _check(_pair("parquet"), resources) == 22.5


def test_dagster_duckdb_polars_roundtrip(tmp_path: Path) -> None:
    resources = {
        "duck": DuckDBPolarsIOManager(database=str(tmp_path / "roundtrip.duckdb")),
        "mem": dg.InMemoryIOManager(),
    }
    meta = {"partition_expr": "operating_day"}
    assert _check(_pair("duck", meta), resources) == 22.5
