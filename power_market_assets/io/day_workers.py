"""Where the days of a range run, and in which order their results come back.

Landing and parsing a day is half Python, holding the GIL (zip entries, manifest rows, the
glue between Polars calls), and half zlib and Polars, releasing it. Two threads therefore keep
two cores busy only part of the time. A long range runs on one thread of this process plus
one spawned worker process instead: two interpreters, no GIL between them. Measured here on a
year of ERCOT RT prices, stages 1 and 2 with checks: 24 s on two processes, 42 s on two
threads (see README "Benchmark" for the Dagster run).

A worker process starts by importing its modules (about 1.2 s), so the thread takes every
day until the process says it is ready: nothing waits for the start-up. Spawned, never forked:
a fork of a process whose Polars thread pool is running can deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from typing import Any


@dataclass
class _Lane:
    """Workers of one kind: how many days they may hold at once, how many they hold, and
    (a worker process) the start-up they must finish before taking any."""

    executor: Executor
    capacity: int
    busy: int = 0
    started: Future | None = None

    def free(self) -> bool:
        return self.busy < self.capacity and self.ready()

    def ready(self) -> bool:
        """Started (a worker process that failed to start stays out: the thread does all)."""
        return self.started is None or (self.started.done() and not self.started.exception())

    def starting(self) -> bool:
        return self.started is not None and not self.started.done()


def _started() -> None:
    """Run first in a worker process: done once it has imported what the work needs."""


def in_order_ahead(
    work: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    discard: Callable[[Any], None] | None = None,
    processes: bool = False,
) -> Iterator:
    """`work(item)` for each item on `workers` threads (`processes`: one thread and
    `workers - 1` worker processes, `work` and items picklable), results in item order, at
    most `workers` + 1 items ahead of the consumer: memory holds a few days whatever the
    range's length (a plain `pool.map` would run through a year while its consumer is still
    writing January). When the consumer stops early, `discard` gets each result it did not
    take."""
    lanes = _lanes(workers, processes)
    try:
        yield from _in_order(work, list(items), lanes, workers + 1, discard)
    finally:
        for lane in lanes:
            lane.executor.shutdown(wait=True, cancel_futures=True)


def _lanes(workers: int, processes: bool) -> list[_Lane]:
    if not processes or workers < 2:
        return [_Lane(ThreadPoolExecutor(max_workers=workers), workers)]
    # Each worker's Polars on one thread (a pool sized at import, from the environment the
    # spawned process inherits): the workers already fill the cores, and two Polars threads
    # each measured 10% slower on a year. A value the user set is kept.
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    context = multiprocessing.get_context("spawn")
    spawned = ProcessPoolExecutor(max_workers=workers - 1, mp_context=context)
    started = spawned.submit(_started)
    return [_Lane(ThreadPoolExecutor(max_workers=1), 1), _Lane(spawned, workers - 1, 0, started)]


def _in_order(
    work: Callable[[Any], Any],
    items: list[Any],
    lanes: list[_Lane],
    ahead: int,
    discard: Callable[[Any], None] | None,
) -> Iterator:
    """Give each free lane the next item (while fewer than `ahead` are untaken), wait for a
    lane to finish or start, yield the results that are next in order."""
    results: dict[int, Future] = {}  # item index -> its future, until taken
    running: dict[Future, _Lane] = {}  # futures whose lane has not been freed yet
    submitted = taken = 0
    try:
        while taken < len(items):
            for lane in lanes:
                while lane.free() and submitted < len(items) and submitted - taken < ahead:
                    future = lane.executor.submit(work, items[submitted])
                    results[submitted], running[future] = future, lane
                    lane.busy += 1
                    submitted += 1
            if taken not in results or not results[taken].done():
                starting = [lane.started for lane in lanes if lane.starting()]
                if not running and not starting:  # no lane could start
                    raise next(lane.started.exception() for lane in lanes if lane.started)
                wait([*running, *starting], return_when=FIRST_COMPLETED)
            for future in [f for f in running if f.done()]:
                running.pop(future).busy -= 1
            while taken in results and results[taken].done():
                yield results.pop(taken).result()
                taken += 1
    finally:
        _discard(list(results.values()), discard)


def _discard(untaken: list[Future], discard: Callable[[Any], None] | None) -> None:
    """Wait for the work not taken and hand each result to `discard` (failures dropped: the
    consumer is already handling the error that stopped it)."""
    for future in untaken:
        future.cancel()
    for future in untaken:
        if future.cancelled() or discard is None:
            continue
        if future.exception() is None:
            discard(future.result())


def picklable(value: Any) -> bool:
    """Whether `value` can be sent to a worker process (a closure cannot: it runs on threads)."""
    try:
        pickle.dumps(value)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True
