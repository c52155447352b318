"""Stage 1 -> 2 benchmark on generated ERCOT files in the real format.

Default: one month of RT settlement point prices (NP6-905-CD, 96 files a day). With
`--dataset rt_lmp`: days of SCED LMPs (NP6-788-CD, one file per SCED run, 288 a day and
300 on the fall-back day; >100,000 files a year), starting 2024-11-02 so that the 25-hour
fall-back day is in the window:

    python -m power_market_assets.commands.bench --dataset rt_lmp --days 3 --nodes 1000

Prints figures, never asserts on time. Each phase runs in its own process (so peak memory is
its own), phases alternate (the machines are noisy), and every figure is also given as a
ratio against the floor measured in the same run: inflate every zip member into memory and
parse the concatenated CSV once with Polars.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from power_market_assets.automation.runs import daily_job_name, landing_run_config, run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake, stage_lake_path, write_parquet_files
from power_market_assets.io.stages import land_days, parse_days
from power_market_assets.registry import ercot
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources.ercot import operating_day_for
from power_market_assets.sources.landing import LandedSource
from power_market_assets.transforms.time import days_between, next_month
from power_market_standins.ercot import generate_documents, write_documents

DATASETS = {spec.dataset: spec for spec in ercot.ERCOT_DATASETS}
SCED_START = date(2024, 11, 2)  # rt_lmp windows start here: the fall-back day comes second


def month_days(month: str) -> list[date]:
    first = date.fromisoformat(f"{month}-01")
    return days_between(first, next_month(first) - timedelta(days=1))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_floor(zips: list[Path]) -> int:
    """Inflate every member into memory, join the bodies under one header, parse once."""
    parts: list[bytes] = []
    for index, path in enumerate(zips):
        with zipfile.ZipFile(path) as archive:
            data = archive.read(archive.namelist()[0])
        parts.append(data if index == 0 else data[data.index(b"\n") + 1 :])
    frame = pl.read_csv(io.BytesIO(b"".join(parts)))
    return frame.height


def _zips_by_day(zips: list[Path], spec: DatasetSpec) -> dict[date, list[Path]]:
    by_day: dict[date, list[Path]] = defaultdict(list)
    for path in zips:
        stem = path.name.split(".")[-2].removesuffix("_csv")  # ConstructedName's friendly part
        day = operating_day_for(spec, stem, datetime.now())
        by_day[day].append(path)
    return by_day


def phase_pipeline(zips: list[Path], data_root: Path, with_checks: bool, spec: DatasetSpec) -> int:
    """The code the csv and raw_parquet assets run, minus Dagster: land, parse, write."""
    lake = Lake.at(data_root)
    sources = {
        day: [LandedSource(path=p, original_name=p.name) for p in paths]
        for day, paths in _zips_by_day(zips, spec).items()
    }
    manifest = land_days(lake, stage_lake_path(spec, "csv"), sources)
    rows = 0
    for parsed in parse_days(spec, sorted(sources), manifest, lake.root, with_checks):
        if parsed.error is not None:
            raise parsed.error
        assert all(o.passed for o in parsed.outcomes.values()), parsed.outcomes
        key = parsed.day.isoformat()
        target = lake.partition_file(stage_lake_path(spec, "raw_parquet"), key)
        write_parquet_files({target: parsed.frame})
        rows += parsed.frame.height
    return rows


def phase_dagster(zips: list[Path], data_root: Path, spec: DatasetSpec) -> tuple[int, float]:
    """A single-run backfill of csv + raw_parquet through Dagster, checks included.

    The zips are placed in the landing folders first (not timed), as `power-market ingest`
    does, so the figure compares with the pipeline phase; downloading 2,976 documents from
    the in-process stand-in server would add the HTTP round trips on top.
    """
    import dagster as dg

    lake = Lake.at(data_root)
    by_day = _zips_by_day(zips, spec)
    for day, paths in by_day.items():
        folder = lake.landing_day_dir("ERCOT", spec.dataset, day.isoformat())
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copyfile(path, folder / path.name)
    defs = build_definitions(data_root=str(lake.root))
    days = sorted(by_day)
    started = time.perf_counter()
    result = run_range(
        defs,
        daily_job_name(spec),
        days[0].isoformat(),
        days[-1].isoformat(),
        dg.DagsterInstance.ephemeral(),
        run_config=landing_run_config(spec),
    )
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("the Dagster backfill failed")
    files = lake.all_partition_files(stage_lake_path(spec, "raw_parquet"))
    return sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files), seconds


def _run_phase(args: list[str]) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "power_market_assets.commands.bench", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def bench_days(spec: DatasetSpec, month: str, days: int | None) -> tuple[list[date], str]:
    """The operating days a benchmark covers and their label: by default a month of a regular
    dataset; for irregular SCED data (or with `days`) that many days (default 3), SCED
    windows starting 2024-11-02 so the fall-back day is included."""
    if days is None and not spec.irregular_intervals:
        return month_days(month), month
    first = SCED_START if spec.irregular_intervals else month_days(month)[0]
    window = [first + timedelta(days=i) for i in range(days or 3)]
    return window, f"{window[0]}..{window[-1]}"


def run_from_args(args) -> int:
    """The benchmark as `power-market bench` and `python -m ...bench` are asked for it."""
    return run_benchmark(
        month=args.month,
        nodes=args.nodes,
        repeats=args.repeats,
        dagster=not args.no_dagster,
        dataset=args.dataset,
        days=args.days,
    )


def run_benchmark(
    month: str = "2024-07",
    nodes: int = 1000,
    repeats: int = 3,
    dagster: bool = True,
    dataset: str = "rt_prices",
    days: int | None = None,
) -> int:
    spec = DATASETS[dataset]
    window, label = bench_days(spec, month, days)

    # Under the data root, on the lake's own file system (file creation in /tmp is several
    # times slower on these machines, which would measure the wrong thing).
    data_root = Path(Settings.from_env(os.environ).data_root)
    data_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=data_root)).resolve()
    try:
        started = time.perf_counter()
        documents = generate_documents(spec, window, n_nodes=nodes, seed=0, compresslevel=6)
        write_documents(documents, work / "zips")
        csv_mb = sum(len(d.csv_bytes) for d in documents) / 1e6
        zip_mb = sum(len(d.zip_bytes) for d in documents) / 1e6
        rows = sum(d.data_rows for d in documents)
        print(
            f"generated {len(documents):,} {spec.report_code} zips ({spec.dataset}) for {label} "
            f"({nodes} nodes): {rows:,} rows, {csv_mb:.0f} MB CSV, {zip_mb:.0f} MB zipped in "
            f"{time.perf_counter() - started:.1f} s"
        )
        del documents
        zips_dir = str(work / "zips")
        figures: dict[str, list[dict]] = defaultdict(list)
        common = ["--zips", zips_dir, "--dataset", spec.dataset]
        variants = {
            "floor": ["--phase", "floor", *common],
            "pipeline": ["--phase", "pipeline", *common],
            "pipeline+checks": ["--phase", "pipeline", "--checks", *common],
        }
        for _ in range(repeats):  # alternate the phases within each repeat
            for name, args in variants.items():
                root = work / f"lake-{name}"
                shutil.rmtree(root, ignore_errors=True)
                figures[name].append(_run_phase([*args, "--data-root", str(root)]))
        if dagster:
            root = work / "lake-dagster"
            figures["dagster backfill"].append(
                _run_phase(["--phase", "dagster", *common, "--data-root", str(root)])
            )
        _print_table(figures, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _print_table(figures: dict[str, list[dict]], rows: int) -> None:
    floor = statistics.median(f["seconds"] for f in figures["floor"])
    print(f"\n{'phase':<18}{'median s':>10}{'rows/s':>14}{'x floor':>9}{'peak MiB':>10}{'runs':>6}")
    for name, runs in figures.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        if runs[0]["rows"] != rows:
            print(f"  !! {name} returned {runs[0]['rows']:,} rows, expected {rows:,}")
        peak = max(r["peak_mib"] for r in runs)
        print(
            f"{name:<18}{seconds:>10.2f}{rows / seconds:>14,.0f}{seconds / floor:>9.2f}"
            f"{peak:>10.0f}{len(runs):>6}"
        )
    print(
        "\nfloor = inflate every member in memory + one Polars parse of the joined CSV; "
        "pipeline = the assets' code without Dagster (safe extraction to the lake with "
        "metadata.json, sha256 and row counts, parse per day, zstd Parquet per day); "
        "+checks adds the raw_parquet asset checks; dagster backfill = csv + raw_parquet as "
        "one single-run backfill from the landing folder, with checks, manifests and catalog."
    )


def _main() -> None:
    parser = argparse.ArgumentParser(
        description="Without --phase: run the whole benchmark (phases in subprocesses)."
    )
    parser.add_argument("--phase", choices=["floor", "pipeline", "dagster"])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="rt_prices")
    parser.add_argument("--zips")
    parser.add_argument("--data-root")
    parser.add_argument("--checks", action="store_true")
    parser.add_argument("--month", default="2024-07", help="YYYY-MM (rt_prices)")
    parser.add_argument("--days", type=int, help="number of days (rt_lmp default 3)")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-dagster", action="store_true")
    args = parser.parse_args()
    if args.phase is None:
        raise SystemExit(run_from_args(args))
    spec = DATASETS[args.dataset]
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    zips = sorted(Path(args.zips).glob("*.zip")) if args.zips else []
    started = time.perf_counter()
    if args.phase == "floor":
        rows = phase_floor(zips)
    elif args.phase == "pipeline":
        rows = phase_pipeline(zips, Path(args.data_root), args.checks, spec)
    else:
        rows, seconds = phase_dagster(zips, Path(args.data_root), spec)
        started = time.perf_counter() - seconds
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mib": _peak_mib()}))


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    _main()
