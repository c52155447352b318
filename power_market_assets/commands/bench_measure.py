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
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from power_market_assets.io.stages import PARSE_WORKERS
from power_market_assets.registry import ercot
from power_market_assets.registry.spec import DatasetSpec

MIB = 1024 * 1024
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
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


def peak_mib(tree_peak_bytes: int = 0) -> float:
    """Peak resident memory of the phase: this process's own peak, or, when it used worker
    processes, the largest sum of its and their resident memory sampled while it ran
    (`sampled_tree_peak`; without /proc, the upper bound of its peak plus each worker at the
    largest peak any of them reached)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if worker and not tree_peak_bytes:
        return (own + PARSE_WORKERS * worker) / MIB
    return max(own, tree_peak_bytes) / MIB


@contextmanager
def sampled_tree_peak(interval_s: float = 0.05) -> Iterator[list[int]]:
    """The largest resident memory of this process and its child processes together, sampled
    every `interval_s` on a background thread (Linux /proc; [0] elsewhere)."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval_s):
            peak[0] = max(peak[0], sum(map(_resident_bytes, _process_tree(os.getpid()))))

    if Path("/proc/self/statm").exists():
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield peak
        finally:
            done.set()
            sampler.join()
    else:
        yield peak


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (each thread's /proc children list)."""
    tree = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            tree += [p for child in children.read_text().split() for p in _process_tree(int(child))]
        except OSError:  # the thread or process has gone meanwhile
            continue
    return tree


def _resident_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


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
    given = PhaseInput(
        zips=sorted(Path(args.zips).glob("*.zip")),
        data_root=Path(args.data_root),
        spec=DATASETS[args.dataset],
        checks=args.checks,
    )
    given.data_root.mkdir(parents=True, exist_ok=True)
    with sampled_tree_peak() as tree_peak:
        rows, timing = phases[args.phase](given)
    figures = {"wall_s": timing.wall_s, "cpu_s": timing.cpu_s, "rows": rows}
    print(json.dumps({**figures, "peak_mib": peak_mib(tree_peak[0])}))


if __name__ == "__main__":
    phase_main()
