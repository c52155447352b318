"""What every `power-market bench` phase process shares: the timed block (wall and CPU
seconds), peak memory, and the command line a phase is started with.

Each phase lives in its own module (bench_baselines, bench_pipeline, bench_dagster), so a
phase's process imports only what that phase needs and its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from power_market_assets.registry import ercot
from power_market_assets.registry.spec import DatasetSpec

DATASETS = {spec.dataset: spec for spec in ercot.ERCOT_DATASETS}


@dataclass
class Timing:
    wall_s: float = 0.0
    cpu_s: float = 0.0


def cpu_seconds() -> float:
    """User + system seconds of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def timed() -> Iterator[Timing]:
    """Wall and CPU seconds of the block (set when it ends)."""
    timing = Timing()
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield timing
    timing.wall_s, timing.cpu_s = time.perf_counter() - wall, cpu_seconds() - cpu


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class PhaseInput:
    """What a phase works on: the generated zips, its own data root, the dataset."""

    zips: list[Path]
    data_root: Path
    spec: DatasetSpec
    checks: bool


Phase = Callable[[PhaseInput], tuple[int, Timing]]  # -> (rows written, timed part)


def phase_main(phases: dict[str, Phase]) -> None:
    """`python -m <phase module> NAME --zips DIR --data-root DIR --dataset D [--checks]`:
    run the phase and print its figures as one JSON line (the parent reads the last line)."""
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=sorted(phases))
    parser.add_argument("--zips", required=True)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--checks", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    given = PhaseInput(
        zips=sorted(Path(args.zips).glob("*.zip")),
        data_root=Path(args.data_root),
        spec=DATASETS[args.dataset],
        checks=args.checks,
    )
    given.data_root.mkdir(parents=True, exist_ok=True)
    rows, timing = phases[args.phase](given)
    figures = {"wall_s": timing.wall_s, "cpu_s": timing.cpu_s, "rows": rows}
    print(json.dumps({**figures, "peak_mib": peak_mib()}))
