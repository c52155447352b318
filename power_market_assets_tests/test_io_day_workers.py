"""Days landed and parsed on worker processes (a long range, io/stages.worker_pool) must give
exactly what the worker threads give, send errors back naming the file, and leave no temp
file behind when the run stops early. Short ranges here: PROCESS_MIN_DAYS is lowered."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from power_market_assets.formats.archive import ArchiveError
from power_market_assets.formats.errors import FormatError
from power_market_assets.io import day_workers, stages
from power_market_assets.io.lake import Lake
from power_market_assets.io.staged_days import DayStager, StagedDay
from power_market_assets.registry import ALL_DATASETS, ercot
from power_market_assets.registry.kinds import PRICE
from power_market_assets.sources.landing import LandedSource
from power_market_standins.ercot_fundamentals import generate_any

RT = next(s for s in ercot.ERCOT_DATASETS if s.dataset == "rt_prices")
DAYS = [date(2024, 11, 2) + timedelta(days=i) for i in range(3)]  # the fall-back day inside


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[date, list[Path]]:
    folder = tmp_path_factory.mktemp("zips")
    by_day: dict[date, list[Path]] = {}
    for day in DAYS:
        for doc in generate_any(RT, [day], n_nodes=5, seed=3, compresslevel=1):
            path = folder / doc.constructed_name
            path.write_bytes(doc.zip_bytes)
            by_day.setdefault(day, []).append(path)
    return by_day


def _sources(zips: dict[date, list[Path]]) -> dict[date, list[LandedSource]]:
    return {day: [LandedSource(p, p.name) for p in paths] for day, paths in zips.items()}


def _only_a_worker_process(workers: int, processes: bool) -> list:
    """Lanes with no thread (a long range's thread would take every day of a short one
    while the worker process starts), so that every day goes through the process."""
    if not processes:
        return [day_workers._Lane(ThreadPoolExecutor(max_workers=workers), workers)]
    spawned = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return [day_workers._Lane(spawned, 1, 0, spawned.submit(day_workers._started))]


def _stage(root: Path, sources, processes: bool, monkeypatch) -> list[StagedDay]:
    """The days as the raw_parquet asset takes them (discarding those it took on an error)."""
    monkeypatch.setattr(stages, "PROCESS_MIN_DAYS", 1 if processes else 10_000)
    monkeypatch.setattr(day_workers, "_lanes", _only_a_worker_process)
    monkeypatch.setenv("POLARS_MAX_THREADS", "1")  # what _lanes would set, undone after
    lake = Lake.at(root)
    taken: list[StagedDay] = []
    try:
        for day in stages.land_and_parse_days(
            lake, RT, sources, True, DayStager(lake, RT), StagedDay.discard
        ):
            taken.append(day)
    except BaseException:
        for day in taken:
            day.discard()
        raise
    return taken


def test_worker_processes_stage_the_same_days_as_threads(zips, tmp_path, monkeypatch):
    on_threads = _stage(tmp_path / "threads", _sources(zips), False, monkeypatch)
    on_processes = _stage(tmp_path / "processes", _sources(zips), True, monkeypatch)
    assert [d.key for d in on_processes] == [d.isoformat() for d in DAYS]
    for threaded, spawned in zip(on_threads, on_processes, strict=True):
        assert spawned.error is None and spawned.outcomes.keys() == threaded.outcomes.keys()
        assert all(o.passed for o in spawned.outcomes.values())
        assert spawned.summary == threaded.summary
        assert_frame_equal(
            pl.read_parquet(spawned.raw_file[0]), pl.read_parquet(threaded.raw_file[0])
        )
        landed = pl.read_parquet(spawned.manifest_file[0]).drop("downloaded_at_utc")
        assert landed.height == len(zips[date.fromisoformat(spawned.key)])
    fall_back = pl.read_parquet(on_processes[1].raw_file[0])
    series = fall_back.select("location", "iso_location_type").unique().height
    assert fall_back.height == 100 * series  # 25 hours of quarter hours each


def test_a_bad_archive_fails_with_its_name_from_a_worker_process(zips, tmp_path, monkeypatch):
    sources = _sources(zips)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    sources[DAYS[2]] = [*sources[DAYS[2]], LandedSource(broken, broken.name)]
    with pytest.raises(ArchiveError, match="broken.zip: bad zip"):
        _stage(tmp_path / "lake", sources, True, monkeypatch)
    leftovers = [p for p in (tmp_path / "lake").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []  # the days staged before the failure were discarded


def test_errors_and_registry_objects_survive_the_trip_to_a_worker():
    error = pickle.loads(pickle.dumps(FormatError("a.csv", "column 'x' is missing")))
    assert (error.file, error.problem, str(error)) == (
        "a.csv",
        "column 'x' is missing",
        "a.csv: column 'x' is missing",
    )
    archive_error = pickle.loads(pickle.dumps(ArchiveError("b.zip", "too deep")))
    assert (archive_error.source_name, archive_error.problem) == ("b.zip", "too deep")
    for spec in ALL_DATASETS:  # readers test kinds by identity (spec.table_kind is PRICE)
        assert pickle.loads(pickle.dumps(spec)).table_kind is spec.table_kind
    assert pickle.loads(pickle.dumps(RT)).table_kind is PRICE


def test_a_closure_finisher_keeps_the_days_on_threads():
    assert day_workers.picklable(DayStager(Lake.at("/tmp/lake"), RT))
    assert not day_workers.picklable(lambda files, parsed: parsed)


def test_a_long_range_shares_its_days_between_a_thread_and_a_worker_process():
    """In order, every item once, some on this process's thread and some on the worker."""
    items = list(range(40))
    ran = list(day_workers.in_order_ahead(_slow_pid, items, 2, processes=True))
    assert [item for item, _ in ran] == items
    pids = {pid for _, pid in ran}
    assert os.getpid() in pids and len(pids) == 2


def _slow_pid(item: int) -> tuple[int, int]:
    """Long enough a task that the worker process is up before the thread has done them all."""
    time.sleep(0.1)
    return item, os.getpid()
