"""A tiny hand-built lake for the CLI tests that need no Dagster run (query, export, catalog).

Frames follow the lake layout and column names of the real stages, with a few locations
and days, so the commands are tested on what they read, fast.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.lake import Lake, write_failure_marker, write_parquet_files
from power_market_assets.transforms.names import assign_wide_columns

LOCATIONS = ("HB_NORTH", "HB_WEST", "LZ_HOUSTON")
DAYS = (date(2024, 11, 1), date(2024, 11, 2), date(2024, 11, 4))  # 11-03 missing on purpose
FAILED_DAY = date(2024, 11, 4)  # its file exists, but a later re-run failed its checks
RAW = "ercot/da_prices/raw_parquet"
FLAT = "ercot/da_prices/flattened"


def raw_day(day: date) -> pl.DataFrame:
    """24 hourly rows per location for one operating day (UTC-6 is close enough here)."""
    start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    rows = [
        {
            "interval_start_utc": start + timedelta(hours=h),
            "operating_day": day,
            "location": location,
            "lmp": float(10 * n + h),
        }
        for n, location in enumerate(LOCATIONS)
        for h in range(24)
    ]
    return pl.DataFrame(rows)


def flat_month(frames: list[pl.DataFrame]) -> pl.DataFrame:
    long = pl.concat(frames)
    columns = assign_wide_columns(LOCATIONS)  # the stage's wide names: HB_NORTH -> hb_north
    long = long.with_columns(pl.col("location").replace_strict(columns))
    return long.pivot(on="location", index=["interval_start_utc", "operating_day"], values="lmp")


def build_lake(root: Path) -> Lake:
    lake = Lake.at(root)
    frames = {day: raw_day(day) for day in DAYS}
    files = {lake.partition_file(RAW, d.isoformat()): f for d, f in frames.items()}
    files[lake.partition_file(FLAT, "2024-11-01")] = flat_month(list(frames.values()))
    write_parquet_files(files)
    write_failure_marker(lake.failure_marker(RAW, FAILED_DAY.isoformat()), "duplicates: 2 rows")
    refresh_catalog(lake)
    return lake


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query_text(sql: str, lake: Lake, **kwargs) -> tuple[int, str]:
    """`power-market query` on a lake: its exit code and what it printed."""
    from power_market_assets.commands.query import run_query

    out = io.StringIO()
    code = run_query(sql, str(lake.root), out=out, **kwargs)
    return code, out.getvalue()
