"""Stage 1 -> 2 benchmark on generated ERCOT files in the real format (issue 12).

Default: one month of RT settlement point prices (NP6-905-CD, 96 files a day); `--days N`
takes N days from the month's first day instead (`--days 365` from 2024-01 is a year with both
DST days). `--dataset rt_lmp` benchmarks SCED LMPs (NP6-788-CD, one file per SCED run, 288 a
day and 300 on the fall-back day; >100,000 files a year) from 2024-11-02, so that the 25-hour
fall-back day is in the window; `--datasets rt_prices,rt_lmp` runs both, one table each:

    python -m power_market_assets.commands.bench --datasets rt_prices,rt_lmp --days 3 --nodes 100

Phases: floor-sum and pandas (commands/bench_baselines.py), the pipeline without Dagster, with
its checks, and one Dagster run. Prints figures, never asserts on time. Each phase runs in its
own process (so peak memory and CPU seconds are its own), phases alternate within each repeat
(the machines are noisy), and every figure is also a paired ratio against the floor-sum and
the pandas script measured in the same repeat. `--json FILE` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from power_market_assets.commands import bench_distributed
from power_market_assets.commands import bench_report as report
from power_market_assets.commands.bench_args import (
    LONG_WINDOW_DAYS,
    PHASES,
    add_bench_arguments,
    chosen_datasets,
    default_skipped,
    skipped_phases,
)
from power_market_assets.commands.bench_baselines import has_pandas_baseline, long_rows_per_line
from power_market_assets.commands.bench_bess import run_bess_benchmark
from power_market_assets.commands.bench_measure import DATASETS
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.transforms.time import days_of_month
from power_market_standins.ercot_fundamentals import generate_any

SCED_START = date(2024, 11, 2)  # rt_lmp windows start here: the fall-back day comes second
GENERATE_CHUNK_DAYS = 7  # days generated per call: bounded memory, little per-call set-up
GENERATE_WORKERS = 2  # zlib and Polars release the GIL
PACKAGE = "power_market_assets.commands"
MEASURE = f"{PACKAGE}.bench_measure"  # each phase runs in its own process, with this main
PHASE_COMMANDS = {  # phase -> the module arguments of its process
    "floor-sum": [MEASURE, "bench_baselines", "floor-sum"],
    "pandas": [MEASURE, "bench_baselines", "pandas"],
    "pipeline": [MEASURE, "bench_pipeline", "pipeline"],
    "pipeline+checks": [MEASURE, "bench_pipeline", "pipeline", "--checks"],
    "dagster run": [MEASURE, "bench_dagster", "dagster run"],
    "dagster run, persistent": [MEASURE, "bench_dagster", "dagster run, persistent"],
}


def month_days(month: str) -> list[date]:
    return days_of_month(date.fromisoformat(f"{month}-01"))


def bench_days(spec: DatasetSpec, month: str, days: int | None) -> tuple[list[date], str]:
    """The operating days a benchmark covers and their label: by default a month of a regular
    dataset; with `days` that many days from the month's first day (across months and years);
    for irregular SCED data `days` (default 3) from 2024-11-02, so the fall-back day is in."""
    if days is None and not spec.irregular_intervals:
        return month_days(month), month
    first = SCED_START if spec.irregular_intervals else month_days(month)[0]
    window = [first + timedelta(days=i) for i in range(days or 3)]
    return window, f"{window[0]}..{window[-1]}"


# ---------------------------------------------------------------------------------------------
# Orchestration (the parent process)


@dataclass(frozen=True)
class Generated:
    zips: int
    rows: int
    csv_mb: float
    zip_mb: float
    seconds: float


def _write_days(
    spec: DatasetSpec, days: list[date], nodes: int, folder: Path, level: int
) -> tuple[int, int, int, int]:
    """Generate and write some days' zips; only their counts are kept (memory stays flat)."""
    documents = generate_any(spec, days, n_nodes=nodes, seed=0, compresslevel=level)
    for doc in documents:  # scratch files: no fsync, unlike write_documents
        (folder / doc.constructed_name).write_bytes(doc.zip_bytes)
    return (
        len(documents),
        sum(
            d.data_rows * long_rows_per_line(spec.file_layout, d.csv_bytes.split(b"\n", 1)[0])
            for d in documents
        ),
        sum(len(d.csv_bytes) for d in documents),
        sum(len(d.zip_bytes) for d in documents),
    )


def generate_zips(
    spec: DatasetSpec, window: list[date], nodes: int, folder: Path, level: int
) -> Generated:
    """Stream the window's documents to `folder` a week at a time on two threads (a year
    never sits in memory; each day's bytes do not depend on the other days generated)."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [
        window[i : i + GENERATE_CHUNK_DAYS] for i in range(0, len(window), GENERATE_CHUNK_DAYS)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=GENERATE_WORKERS) as pool:
        counts = list(pool.map(lambda days: _write_days(spec, days, nodes, folder, level), chunks))
    zips, rows, csv_bytes, zip_bytes = (sum(c[i] for c in counts) for i in range(4))
    return Generated(zips, rows, csv_bytes / 1e6, zip_bytes / 1e6, time.perf_counter() - started)


def _run_phase(args: list[str]) -> dict:
    """One phase in a fresh interpreter; adds the whole process's wall seconds (imports too).
    A failed phase gives its error's last lines instead of figures."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:  # reported, and the benchmark goes on with the other phases
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        print(f"!! bench phase {args[2]!r} failed:\n{tail}", file=sys.stderr, flush=True)
        return {"error": tail}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "process_s": time.perf_counter() - started}


@dataclass(frozen=True)
class Options:
    month: str
    days: int | None
    nodes: int
    repeats: int | None
    skip: frozenset[str] | None  # None: default_skipped for the window
    dagster: bool
    compresslevel: int | None

    def phases(self, days: int) -> list[str]:
        skip = default_skipped(days) if self.skip is None else self.skip
        wanted = [p for p in PHASES if p not in skip]
        return [p for p in wanted if self.dagster or not p.startswith("dagster")]


def bench_dataset(spec: DatasetSpec, options: Options, work: Path) -> report.DatasetRun:
    """Generate one dataset's window, then run every phase once per repeat, in turn."""
    window, label = bench_days(spec, options.month, options.days)
    long_window = len(window) > LONG_WINDOW_DAYS
    level = options.compresslevel or (1 if long_window else 6)
    repeats = options.repeats or (1 if long_window else 3)
    zips_dir = work / f"zips-{spec.dataset}"
    made = generate_zips(spec, window, options.nodes, zips_dir, level)
    print(
        f"\ngenerated {made.zips:,} {spec.report_code} zips ({spec.dataset}) for {label} "
        f"({len(window)} days, {options.nodes} nodes, zlib level {level}): {made.rows:,} rows, "
        f"{made.csv_mb:,.0f} MB CSV, {made.zip_mb:,.0f} MB zipped in {made.seconds:.1f} s",
        flush=True,
    )
    run = report.DatasetRun(
        spec.dataset, label, len(window), options.nodes, made.zips, made.rows,
        made.csv_mb, made.zip_mb, made.seconds, level, repeats,
    )  # fmt: skip
    common = ["--zips", str(zips_dir), "--dataset", spec.dataset]
    phases = options.phases(len(window))
    if options.skip is None and "pandas" not in phases:
        print(f"pandas left out above {LONG_WINDOW_DAYS} days (--skip-phases '' keeps it)")
    if not has_pandas_baseline(spec.file_layout) and "pandas" in phases:
        phases.remove("pandas")
        print(f"no pandas baseline for {spec.dataset}'s layout {spec.file_layout}")
    for _ in range(repeats):
        for phase in phases:
            root = work / f"lake-{spec.dataset}"
            shutil.rmtree(root, ignore_errors=True)
            figures = _run_phase([*PHASE_COMMANDS[phase], *common, "--data-root", str(root)])
            run.runs.setdefault(phase, []).append(figures)
            shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(zips_dir, ignore_errors=True)
    return run


FOOTNOTE = (
    "floor-sum = inflate every member in memory + one Polars parse of the joined CSV + UTC "
    "starts per distinct label + one zstd Parquet write; pandas = zipfile + read_csv per file, "
    "concat, the same columns, one to_parquet; pipeline = the assets' code without Dagster "
    "(land, parse, Parquet per day); +checks adds the raw_parquet checks; dagster run = csv + "
    "raw_parquet as one single-run backfill from the landing folder (checks, manifests, "
    "catalog) on an in-memory instance; persistent: the same, recorded in the data root's "
    "instance (SQLite, what ingest, backfill and the UI use). wall/CPU s: medians of the timed "
    "part (CPU = user+sys of the phase's process, threads included, and of the worker process "
    "a range of 60+ days also lands and parses on); x ratios: medians of per-repeat ratios; "
    "peak MiB: the phase process, or with a worker process the largest sum of both sampled "
    "every 50 ms."
)


def run_benchmark(
    month: str = "2024-07",
    nodes: int = 1000,
    repeats: int | None = None,
    datasets: Sequence[str] = ("rt_prices",),
    days: int | None = None,
    skip: frozenset[str] | None = None,
    dagster: bool = True,
    compresslevel: int | None = None,
    json_path: Path | None = None,
) -> int:
    """Every dataset's table, then the targets; 1 if a phase failed or wrote the wrong row
    count."""
    options = Options(month, days, nodes, repeats, skip, dagster, compresslevel)
    # Under the data root, on the lake's own file system (file creation in /tmp is several
    # times slower on these machines, which would measure the wrong thing).
    data_root = Path(Settings.from_env(os.environ).data_root)
    data_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=data_root)).resolve()
    results: list[report.Result] = []
    try:
        for name in datasets:
            run = bench_dataset(DATASETS[name], options, work)
            summary = report.summarize(run)
            print(f"\n{run.dataset} {run.window}: {run.zips:,} zips, {run.rows:,} rows")
            print("\n".join(report.table_lines(run, summary)))
            print(report.rows_line(run, summary), flush=True)
            results.append((run, summary, {}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n" + textwrap.fill(FOOTNOTE, width=100) + "\n")
    rt_rate = _dagster_rate(results, "rt_prices")
    for index, (run, summary, _) in enumerate(results):
        found = report.targets(run, summary, rt_rate)
        results[index] = (run, summary, found)
        print(report.targets_line(run, found))
    if json_path is not None:
        report.write_json(json_path, sys.argv, results)
    return 0 if all(s["rows_ok"] for _, summary, _ in results for s in summary.values()) else 1


def _dagster_rate(results: list[report.Result], dataset: str) -> float | None:
    for run, summary, _ in results:
        if run.dataset == dataset and report.DAGSTER in summary:
            return summary[report.DAGSTER]["rows_per_s"]
    return None


def run_from_args(args: argparse.Namespace) -> int:
    """The benchmark as `power-market bench` and `python -m ...bench` are asked for it."""
    if args.distributed:
        return bench_distributed.run_from_args(args)
    if args.bess:
        return run_bess_benchmark(args.days or 365, args.locations, args.json and Path(args.json))
    return run_benchmark(
        month=args.month,
        nodes=args.nodes,
        repeats=args.repeats,
        datasets=chosen_datasets(args),
        days=args.days,
        skip=skipped_phases(args),
        dagster=not args.no_dagster,
        compresslevel=args.compresslevel,
        json_path=Path(args.json) if args.json else None,
    )


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_bench_arguments(parser)
    raise SystemExit(run_from_args(parser.parse_args()))


if __name__ == "__main__":
    _main()
