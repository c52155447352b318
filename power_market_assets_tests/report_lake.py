"""A small lake for the issue 15 report tests: ERCOT's DA, RT and AS long tables of
2024-11-01..04 (the fall-back day included) from the stand-in's real-format files, read by the
ERCOT reader and written as raw_parquet days, without a Dagster run (a second)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from power_market_assets.formats import FORMATS
from power_market_assets.io.lake import Lake, stage_lake_path, write_parquet_files
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_PRICES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import days_between
from power_market_standins.ercot import generate_documents

DAYS = days_between(date(2024, 11, 1), date(2024, 11, 4))
MONTH = "2024-11-01"
SPECS = (DA_PRICES, RT_PRICES, AS_PRICES)


def standin_long(spec: DatasetSpec, work: Path, days: list[date] = DAYS) -> pl.DataFrame:
    """The stand-in's files of `spec` for `days` through the ERCOT reader."""
    folder = work / spec.dataset
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc in generate_documents(spec, days, n_nodes=2):
        path = folder / doc.csv_name
        path.write_bytes(doc.csv_bytes)
        paths.append(path)
    return FORMATS[spec.iso].read_files(paths, spec)


def write_days(lake: Lake, spec: DatasetSpec, frame: pl.DataFrame) -> None:
    path = stage_lake_path(spec, "raw_parquet")
    write_parquet_files(
        {
            lake.partition_file(path, day.isoformat()): part
            for (day,), part in frame.group_by("operating_day")
        }
    )


def build_report_lake(root: Path, specs: tuple[DatasetSpec, ...] = SPECS) -> Lake:
    """raw_parquet days of `specs` under `root` (the standin files in `root`/../files)."""
    lake = Lake.at(root)
    for spec in specs:
        write_days(lake, spec, standin_long(spec, root.parent / "files"))
    return lake
