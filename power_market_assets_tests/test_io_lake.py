"""The Parquet lake and the DuckDB catalog: atomic files, views, readers never block writers."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from power_market_assets.io.catalog import connect_read_only, refresh_catalog
from power_market_assets.io.io_manager import split_by_partition
from power_market_assets.io.lake import Lake, safe_part, write_parquet_files


def _frame(days: list[date]) -> pl.DataFrame:
    return pl.DataFrame({"operating_day": days, "lmp": [float(i) for i in range(len(days))]})


def test_split_by_partition_daily_and_monthly() -> None:
    frame = _frame([date(2024, 11, 1), date(2024, 11, 3), date(2024, 11, 3)])
    daily = split_by_partition(frame, ["2024-11-01", "2024-11-02", "2024-11-03"], "daily")
    assert [f.height for f in daily.values()] == [1, 0, 2]
    monthly = split_by_partition(frame, ["2024-11-01"], "monthly")
    assert monthly["2024-11-01"].height == 3
    with pytest.raises(ValueError, match="outside the partitions"):
        split_by_partition(frame, ["2024-11-01"], "daily")


def test_paths_cannot_escape_the_root(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    for bad in ("..", "../x", "a/b", "/abs", ".hidden", ""):
        with pytest.raises(ValueError):
            safe_part(bad)
    with pytest.raises(ValueError):
        lake.stage_dir("ercot/../../etc")
    with pytest.raises(ValueError):
        lake.partition_file("ercot/da_prices/raw_parquet", "../2024-11-01")


def test_failed_write_keeps_previous_version(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    target = lake.partition_file("ercot/da_prices/raw_parquet", "2024-11-01")
    write_parquet_files({target: _frame([date(2024, 11, 1)])})

    class Boom(pl.DataFrame):
        def write_parquet(self, *args, **kwargs):  # type: ignore[override]
            raise OSError("disk full")

    other = lake.partition_file("ercot/da_prices/raw_parquet", "2024-11-02")
    with pytest.raises(OSError):
        write_parquet_files({other: _frame([date(2024, 11, 2)]), target: Boom(_frame([]))})
    assert pl.read_parquet(target).height == 1
    assert not other.exists()  # nothing renamed when any write of the step failed
    assert not [p for p in target.parent.iterdir() if p.suffix == ".tmp"]


def test_catalog_views_follow_the_lake(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    raw = lake.partition_file("ercot/da_prices/raw_parquet", "2024-11-01")
    combined = lake.partition_file("ercot/combined/da_as_hourly", "2024-11-01")
    write_parquet_files(
        {raw: _frame([date(2024, 11, 1)] * 3), combined: _frame([date(2024, 11, 1)])}
    )
    views = refresh_catalog(lake)
    assert views == [
        "ercot.combined_da_as_hourly",
        "ercot.da_prices_raw_parquet",
        "all_isos.da_prices",
    ]
    with connect_read_only(lake) as con:
        assert con.sql("select count(*) from ercot.da_prices_raw_parquet").fetchone()[0] == 3
        types = {r[0]: r[1] for r in con.sql("describe ercot.da_prices_raw_parquet").fetchall()}
        assert types["lmp"] == "DOUBLE"
    # A new partition shows up in the same view without any catalog change.
    write_parquet_files(
        {
            lake.partition_file("ercot/da_prices/raw_parquet", "2024-11-02"): _frame(
                [date(2024, 11, 2)]
            )
        }
    )
    with connect_read_only(lake) as con:
        assert con.sql("select count(*) from ercot.da_prices_raw_parquet").fetchone()[0] == 4


def test_all_isos_views_union_every_iso_by_column_name(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    day = date(2024, 11, 3)
    frames = {
        "ERCOT": pl.DataFrame(
            {"iso": ["ERCOT"] * 2, "operating_day": [day] * 2, "lmp": [1.0, 2.0]}
        ),
        # Another ISO's columns in another order, with one extra column: joined by name.
        "CAISO": pl.DataFrame({"lmp": [3.0], "operating_day": [day], "iso": ["CAISO"], "x": [1]}),
    }
    write_parquet_files(
        {
            lake.partition_file(f"{iso.lower()}/da_prices/raw_parquet", day.isoformat()): frame
            for iso, frame in frames.items()
        }
    )
    assert "all_isos.da_prices" in refresh_catalog(lake)
    with connect_read_only(lake) as con:
        counts = con.sql("select iso, count(*) from all_isos.da_prices group by iso order by iso")
        assert counts.fetchall() == [("CAISO", 1), ("ERCOT", 2)]


def test_open_reader_never_blocks_catalog_refresh(tmp_path: Path) -> None:
    """A user holding warehouse.duckdb open (read-write, as the CLI does) in another process."""
    lake = Lake.at(tmp_path)
    write_parquet_files(
        {
            lake.partition_file("ercot/da_prices/raw_parquet", "2024-11-01"): _frame(
                [date(2024, 11, 1)]
            )
        }
    )
    refresh_catalog(lake)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "c.sql('select count(*) from ercot.da_prices_raw_parquet').fetchall(); "
            "print('open', flush=True); time.sleep(30)",
            str(lake.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        write_parquet_files(
            {
                lake.partition_file("ercot/rt_prices/raw_parquet", "2024-11-01"): _frame(
                    [date(2024, 11, 1)]
                )
            }
        )
        views = refresh_catalog(lake)
        assert "ercot.rt_prices_raw_parquet" in views
        with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
            assert con.sql("select count(*) from ercot.rt_prices_raw_parquet").fetchone()[0] == 1
    finally:
        holder.kill()
        holder.wait()
