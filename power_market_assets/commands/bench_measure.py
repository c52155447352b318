"""What every `power-market bench` phase process shares: the timed block (wall and CPU
seconds), peak memory, and the command line a phase is started with.

Each phase lives in its own module (bench_baselines, bench_pipeline, bench_dagster), so a
phase's process imports only what that phase needs and its peak memory is its own.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from power_market_assets.io.stages import PARSE_WORKERS
from power_market_assets.registry import ercot
from power_market_assets.registry.spec import DatasetSpec

DATASETS = {spec.dataset: spec for spec in ercot.ERCOT_DATASETS}


@dataclass
class Timing:
    wall_s: float = 0.0
    cpu_s: float = 0.0


def cpu_seconds() -> float:
    """User + system seconds of this process, every thread included, and of the worker
    processes it has started and waited for (a long range lands and parses on two)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


@contextmanager
def timed() -> Iterator[Timing]:
    """Wall and CPU seconds of the block (set when it ends)."""
    timing = Timing()
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield timing
    timing.wall_s, timing.cpu_s = time.perf_counter() - wall, cpu_seconds() - cpu


def peak_mib() -> float:
    """Peak resident memory of this process plus, when it used worker processes, each of
    them at the largest peak any of them reached (an upper bound: they may not peak at once)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + (PARSE_WORKERS * worker if worker else 0)) / 1024


@dataclass(frozen=True)
class PhaseInput:
    """What a phase works on: the generated zips, its own data root, the dataset."""

    zips: list[Path]
    data_root: Path
    spec: DatasetSpec
    checks: bool


Phase = Callable[[PhaseInput], tuple[int, Timing]]  # -> (rows written, timed part)
PHASE_MODULES = ("bench_baselines", "bench_pipeline", "bench_dagster")  # each has PHASES


def phase_main() -> None:
    """`python -m power_market_assets.commands.bench_measure MODULE NAME --zips DIR --data-root
    DIR --dataset D [--checks]`: run phase NAME of the phase module MODULE (its PHASES) and
    print its figures as one JSON line (the parent reads the last line).

    This small module is the phase process's main, not the phase module: a long range lands
    and parses on worker processes, and each of those imports the main module first."""
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("module", choices=PHASE_MODULES)
    parser.add_argument("phase")
    parser.add_argument("--zips", required=True)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--checks", action="store_true")
    args = parser.parse_args()
    phases: dict[str, Phase] = importlib.import_module(f"{__package__}.{args.module}").PHASES
    if args.phase not in phases:
        parser.error(f"{args.module} has no phase {args.phase!r}; it has {sorted(phases)}")
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


if __name__ == "__main__":
    phase_main()
