"""Benchmark: stages 1-2 of generated ERCOT RT prices on a local data root and on an `s3://`
root served by moto's S3 server on 127.0.0.1, in one process.

    .venv/bin/python -m power_market_assets_tests.bench_s3_lake [--days 7] [--nodes 200]

Serves the days from the ERCOT stand-in (real file format), runs `ercot_rt_prices_daily` over
them as one run on each root (an in-memory Dagster instance) after a one-day warm-up run, and
prints rows, wall seconds and rows/s of each and the S3 run's share of the local rate.
`measure_stages_1_2(root, ...)` is the function a benchmark command can call with any root
(`lake_for` in io/lake.py gives the Lake of an `s3://` root with an explicit work directory and
endpoint). Not a test (no timed asserts).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from power_market_assets.automation.runs import daily_job_name, run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake
from power_market_assets.registry.ercot import RT_PRICES
from power_market_assets_tests.s3_service import (
    TEST_ACCESS_KEY,
    TEST_REGION,
    TEST_SECRET_KEY,
    running_moto,
)
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

FIRST_DAY = date(2024, 7, 1)


@dataclass(frozen=True)
class Measured:
    root: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-9)


def measure_stages_1_2(root: str, mis_url: str, days: list[date]) -> Measured:
    """One single-run backfill of stages 1-2 of ERCOT RT prices over `days` on `root`."""
    defs = build_definitions(data_root=root, ercot_mis_url=mis_url)
    started = time.perf_counter()
    result = run_range(
        defs,
        daily_job_name(RT_PRICES),
        days[0].isoformat(),
        days[-1].isoformat(),
        dg.DagsterInstance.ephemeral(),
    )
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"the run on {root} failed")
    files = Lake.at(root).all_partition_files("ercot/rt_prices/raw_parquet")
    rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
    return Measured(root, rows, seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=200)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    days = [FIRST_DAY + timedelta(days=i) for i in range(args.days)]
    documents = generate_documents(RT_PRICES, days, n_nodes=args.nodes, compresslevel=1)
    with (
        tempfile.TemporaryDirectory() as folder,
        ErcotStandInServer(documents) as ercot,
        running_moto() as s3,
    ):
        s3.client().create_bucket(Bucket="pma-bench")
        os.environ.update(
            PMA_S3_ENDPOINT_URL=s3.endpoint_url,
            PMA_WORK_DIR=str(Path(folder) / "work"),
            AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY,
            AWS_REGION=TEST_REGION,
        )
        measure_stages_1_2(str(Path(folder) / "warm-up"), ercot.base_url, days[:1])
        local = measure_stages_1_2(str(Path(folder) / "local"), ercot.base_url, days)
        remote = measure_stages_1_2("s3://pma-bench/lake", ercot.base_url, days)
    print(f"ERCOT rt_prices, {args.days} days, {args.nodes} nodes, stages 1-2 in one run")
    for measured in (local, remote):
        print(
            f"  {measured.root:<24} {measured.rows:>10,} rows {measured.seconds:>7.2f} s "
            f"{measured.rows_per_second:>10,.0f} rows/s"
        )
    print(f"  s3 / local rate: {remote.rows_per_second / local.rows_per_second:.2f}")


if __name__ == "__main__":
    main()
