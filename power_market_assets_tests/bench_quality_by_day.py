"""Benchmark: the raw checks of a generated month, per day (row-level, as before) vs by day.

    .venv/bin/python -m power_market_assets_tests.bench_quality_by_day [--nodes 1000] [--rounds 3]

Generates ERCOT rt_prices for 2024-07 with the stand-in ISO (real file format), parses it with
the dataset's reader, then times in alternating rounds, in one process: the row-level checks
(ROW_LEVEL_CHECKS, the implementation before the screens) on each day's rows, the per-frame
check functions on each day's rows, and raw_checks_by_day on the month. Prints median CPU and
wall seconds and CPU ratios against the row-level run; the outcomes must be identical.
Not a test (no timed asserts): run it by hand.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from power_market_assets.formats import read_dataset_files
from power_market_assets.quality import checks as quality
from power_market_assets.registry.ercot import RT_PRICES
from power_market_standins.ercot import generate_documents

MONTH = [date(2024, 7, 1) + timedelta(days=i) for i in range(31)]


def generated_month(nodes: int) -> pl.DataFrame:
    """The month's standard long table, parsed day by day from the generated CSV files."""
    frames = []
    with tempfile.TemporaryDirectory() as folder:
        for day in MONTH:
            paths = []
            for doc in generate_documents(RT_PRICES, [day], n_nodes=nodes, compresslevel=1):
                path = Path(folder) / doc.csv_name
                path.write_bytes(doc.csv_bytes)
                paths.append(path)
            frames.append(read_dataset_files(paths, RT_PRICES))
            for path in paths:
                path.unlink()
    return pl.concat(frames)


def runs(month: pl.DataFrame) -> dict[str, Callable[[], dict]]:
    days = month.partition_by("operating_day", as_dict=True, maintain_order=True)

    def per_day(checks: dict[str, Callable]) -> dict:
        return {
            day: {name: checks[name](rows, RT_PRICES) for name in quality.FRAME_CHECKS}
            for (day,), rows in days.items()
        }

    per_frame = {name: getattr(quality, f"check_{name}") for name in quality.FRAME_CHECKS}
    return {
        "row-level, per day (before)": lambda: per_day(quality.ROW_LEVEL_CHECKS),
        "check_* functions, per day": lambda: per_day(per_frame),
        "raw_checks_by_day, month": lambda: quality.raw_checks_by_day(month, RT_PRICES),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    month = generated_month(args.nodes)
    print(f"ERCOT rt_prices 2024-07: {month.height:,} rows, {len(MONTH)} days")
    timed = runs(month)
    cpu: dict[str, list[float]] = {name: [] for name in timed}
    wall: dict[str, list[float]] = {name: [] for name in timed}
    outcomes = {}
    for _ in range(args.rounds):
        for name, run in timed.items():
            started_cpu, started = time.process_time(), time.perf_counter()
            outcomes[name] = run()
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    first = next(iter(timed))
    assert all(result == outcomes[first] for result in outcomes.values()), "outcomes differ"
    base = statistics.median(cpu[first])
    for name in timed:
        median_cpu = statistics.median(cpu[name])
        print(
            f"{name:30s} cpu {median_cpu:6.3f} s  wall {statistics.median(wall[name]):6.3f} s"
            f"  cpu x before {median_cpu / base:5.2f}"
        )


if __name__ == "__main__":
    main()
