"""Crashes, re-runs, re-published files and concurrent runs (issue 5).

- A process SIGKILLed while writing a partition (or landing a day) leaves the previous
  version intact and nothing DuckDB's `*.parquet` views can see; leftovers are cleaned later.
- Re-materializing a partition any number of times gives the same rows.
- A re-published ISO file replaces the old values and the change is logged (io/changes.py).
- Several runs at once, in separate processes, with a user holding warehouse.duckdb open,
  leave a consistent lake and catalog.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.changes import diff_partition, read_change_log
from power_market_assets.io.lake import Lake, sweep_stale_temps, write_parquet_files
from power_market_assets.registry import ercot
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES
from power_market_assets.sources.landing import (
    land_operating_day,
    read_metadata,
    recover_interrupted_swaps,
)
from power_market_standins.ercot import SampleDocument, generate_documents, make_zip
from power_market_standins.ercot_fuel_mix import fuel_mix_workbooks
from power_market_standins.ercot_fundamentals import generate_any
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = pytest.mark.slow  # crashes, subprocesses and concurrent Dagster runs

DAYS = [date(2024, 11, 5), date(2024, 11, 6), date(2024, 11, 7)]
RAW_DA = "ercot/da_prices/raw_parquet"
REPO = Path(__file__).resolve().parents[1]


def _frame(rows: int, value: float) -> pl.DataFrame:
    return pl.DataFrame({"operating_day": [DAYS[0]] * rows, "lmp": [value] * rows})


def _start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


WRITER = """
    import sys
    from datetime import date
    from pathlib import Path
    import numpy as np
    import polars as pl
    from power_market_assets.io.lake import write_parquet_files
    target = Path(sys.argv[1])
    rng = np.random.default_rng(0)
    n = 3_000_000
    frame = pl.DataFrame({"operating_day": [date(2024, 11, 5)] * n, "lmp": rng.random(n)})
    while True:  # the raw_parquet write path, over and over, until killed
        write_parquet_files({target: frame})
"""


def test_sigkill_while_writing_a_partition_keeps_the_previous_version(tmp_path) -> None:
    lake = Lake.at(tmp_path)
    target = lake.partition_file(RAW_DA, DAYS[0].isoformat())
    write_parquet_files({target: _frame(5, 1.0)})
    refresh_catalog(lake)
    writer = _start(WRITER, str(target))
    try:
        caught = _wait_for(lambda: any(p.suffix == ".tmp" for p in target.parent.iterdir()))
        assert caught, writer.stderr.read() if writer.poll() is not None else "no temp file"
    finally:
        _kill(writer)
    assert writer.returncode == -signal.SIGKILL
    assert pl.read_parquet(target).equals(_frame(5, 1.0))  # previous version, whole
    leftovers = [p for p in target.parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers and all(p.name.startswith(".") for p in leftovers)
    refresh_catalog(lake)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        rows = con.sql("select count(*), sum(lmp) from ercot.da_prices_raw_parquet").fetchone()
    assert rows == (5, 5.0)  # the half-written temp file is invisible to the view
    assert sweep_stale_temps([target.parent]) == 0  # fresh: may belong to a live writer
    assert sweep_stale_temps([target.parent], older_than=0) == len(leftovers)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


LANDER = """
    import sys
    from datetime import date
    from pathlib import Path
    from power_market_assets.sources.landing import land_operating_day
    big = Path(sys.argv[1])
    while True:
        land_operating_day(date(2024, 11, 5), [big], Path(sys.argv[2]))
"""


def test_sigkill_while_landing_a_day_keeps_the_previous_day(tmp_path) -> None:
    day_dir = tmp_path / "csv" / "2024-11-05"
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    land_operating_day(DAYS[0], [small], day_dir)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 5_000_000)
    lander = _start(LANDER, str(big), str(day_dir))
    try:
        assert _wait_for(lambda: any(".tmp-" in p.name for p in day_dir.parent.iterdir()))
    finally:
        _kill(lander)
    names = {p.name for p in day_dir.iterdir()} if day_dir.exists() else set()
    # Either the old day or a complete new one; never a mix, never nothing for long.
    land_operating_day(DAYS[0], [small], day_dir)  # the next landing recovers and cleans
    assert names in ({"small.csv", "metadata.json"}, {"big.csv", "metadata.json"}, set())
    assert sorted(p.name for p in day_dir.iterdir()) == ["metadata.json", "small.csv"]


def test_crash_between_the_two_renames_is_recovered(tmp_path) -> None:
    day_dir = tmp_path / "csv" / "2024-11-05"
    one = tmp_path / "one.csv"
    one.write_text("a,b\n1,2\n")
    land_operating_day(DAYS[0], [one], day_dir)
    # What a SIGKILL right after "rename day_dir away" leaves: no day folder, only .old-.
    leftover = day_dir.with_name(".2024-11-05.old-deadbeef0000")
    os.replace(day_dir, leftover)
    # Landing another day in the same folder leaves it alone: from outside, another thread's
    # swap in progress looks exactly like this.
    other = tmp_path / "other.csv"
    other.write_text("a,b\n3,4\n")
    land_operating_day(DAYS[1], [other], tmp_path / "csv" / "2024-11-06")
    assert leftover.exists()
    # The next landing of that day first puts the previous version back, then replaces it.
    assert recover_interrupted_swaps(day_dir.parent, "2024-11-05") == [day_dir]
    assert read_metadata(day_dir)["files"][0]["original_name"] == "one.csv"
    os.replace(day_dir, leftover)
    land_operating_day(DAYS[0], [other], day_dir)
    assert read_metadata(day_dir)["files"][0]["original_name"] == "other.csv"
    assert sorted(p.name for p in day_dir.parent.iterdir()) == ["2024-11-05", "2024-11-06"]


# -- re-runs and re-published files ----------------------------------------------------------


@pytest.fixture(scope="module")
def documents() -> list[SampleDocument]:
    return [d for spec in ercot.ERCOT_DATASETS for d in generate_any(spec, DAYS[:1], n_nodes=2)]


def _raw_frames(lake: Lake) -> dict[str, pl.DataFrame]:
    return {
        spec.dataset: pl.read_parquet(
            lake.partition_file(f"ercot/{spec.dataset}/raw_parquet", DAYS[0].isoformat())
        ).sort(list(spec.unique_key))
        for spec in ercot.ERCOT_DATASETS
    }


def test_rematerializing_every_dataset_gives_the_same_rows(tmp_path, documents) -> None:
    lake = Lake.at(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    key = DAYS[0].isoformat()
    with ErcotStandInServer(documents, fuel_mix=fuel_mix_workbooks(DAYS[:1])) as server:
        defs = build_definitions(data_root=str(tmp_path), ercot_mis_url=server.base_url)
        results = []
        for _ in range(3):
            assert run_range(defs, "ercot_daily", key, key, instance).success
            results.append(_raw_frames(lake))
    for spec in ercot.ERCOT_DATASETS:
        first = results[0][spec.dataset]
        assert first.height and first.select(spec.unique_key).is_unique().all()
        for later in results[1:]:
            assert later[spec.dataset].equals(first), spec.dataset
        assert read_change_log(lake, "ERCOT", spec.dataset).height == 0  # nothing changed
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        rows = con.sql("select count(*) from ercot.da_prices_raw_parquet").fetchone()[0]
    assert rows == results[0]["da_prices"].height


def republish(doc: SampleDocument, rows: list[int], price: str) -> SampleDocument:
    """The ISO's correction: a new document (id, time, names) with changed prices."""
    lines = doc.csv_bytes.decode("ascii").split("\n")
    for row in rows:
        cells = lines[row].split(",")
        cells[3] = price
        lines[row] = ",".join(cells)
    csv_bytes = "\n".join(lines).encode("ascii")
    publish = doc.publish_time + timedelta(hours=3)
    old_stamp, new_stamp = f"{doc.publish_time:%H%M%S}", f"{publish:%H%M%S}"
    csv_name = doc.csv_name.replace(f".{old_stamp}.", f".{new_stamp}.")
    constructed = doc.constructed_name.replace(f".{old_stamp}", f".{new_stamp}")
    zip_bytes = make_zip(csv_name, csv_bytes, publish)
    doc_id = str(int(doc.doc_id) + 1_000_000)
    entry = {
        **doc.listing_entry,
        "DocID": doc_id,
        "PublishDate": publish.isoformat(timespec="seconds"),
        "ContentSize": str(len(zip_bytes)),
        "ConstructedName": constructed,
    }
    return dataclasses.replace(
        doc, doc_id=doc_id, publish_time=publish, csv_name=csv_name, csv_bytes=csv_bytes,
        zip_bytes=zip_bytes, constructed_name=constructed, listing_entry=entry,
    )  # fmt: skip


def _raw_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if "raw_parquet" in str(e.asset_key)
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_republished_file_replaces_values_and_is_logged(tmp_path, documents) -> None:
    (original,) = [d for d in documents if d.spec is DA_PRICES]
    corrected = republish(original, rows=[1, 2, 3, 4, 5], price=" 123.45")
    lake = Lake.at(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    key = DAYS[0].isoformat()
    for served in ([original], [corrected]):  # the ISO withdrew the first document
        with ErcotStandInServer(served) as server:
            defs = build_definitions(data_root=str(tmp_path), ercot_mis_url=server.base_url)
            result = run_range(defs, "ercot_da_prices_daily", key, key, instance)
            assert result.success
    raw = pl.read_parquet(lake.partition_file(RAW_DA, key))
    assert raw.filter(pl.col("lmp") == 123.45).height == 5
    assert set(raw["source_file"]) == {corrected.csv_name}
    metadata = _raw_metadata(result)
    assert metadata["values_changed"] == 5 and metadata["values_added"] == 0
    assert corrected.csv_name in metadata["changed_source_files"]
    log = read_change_log(lake, "ERCOT", "da_prices")
    assert log.height == 1
    entry = log.row(0, named=True)
    assert entry["operating_day"] == key and entry["run_id"] == result.run_id
    assert entry["source_files"] == corrected.csv_name
    assert entry["previous_source_files"] == original.csv_name
    assert (entry["values_changed"], entry["values_added"], entry["values_removed"]) == (5, 0, 0)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        logged = con.sql("select sum(values_changed) from ercot.da_prices_changes").fetchone()
    assert logged == (5,)


def test_correction_listed_beside_the_original_replaces_it(tmp_path, documents) -> None:
    """ERCOT keeps the original in its listing next to the correction: only the newest
    document of a name is landed, so the day has no duplicate rows."""
    (original,) = [d for d in documents if d.spec is DA_PRICES]
    corrected = republish(original, rows=[1, 2], price=" 99.5")
    key = DAYS[0].isoformat()
    with ErcotStandInServer([original, corrected]) as server:
        defs = build_definitions(data_root=str(tmp_path), ercot_mis_url=server.base_url)
        result = run_range(defs, "ercot_da_prices_daily", key, key, dg.DagsterInstance.ephemeral())
    assert result.success
    raw = pl.read_parquet(Lake.at(tmp_path).partition_file(RAW_DA, key))
    assert set(raw["source_file"]) == {corrected.csv_name}
    assert raw.filter(pl.col("lmp") == 99.5).height == 2


def test_diff_partition_counts_changed_added_removed() -> None:
    key = ["interval_start_utc", "location", "location_type"]
    base = {"interval_start_utc": [1, 2, 3], "location": ["A"] * 3, "location_type": ["HUB"] * 3}
    old = pl.DataFrame({**base, "lmp": [1.0, 2.0, 3.0], "source_file": ["f1"] * 3})
    new = pl.DataFrame(
        {
            "interval_start_utc": [2, 3, 4],
            "location": ["A"] * 3,
            "location_type": ["HUB"] * 3,
            "lmp": [2.0, 7.5, 4.0],
            "source_file": ["f2"] * 3,
        }
    )
    changes = diff_partition(old, new, key)
    assert changes is not None and changes.any
    assert (changes.values_changed, changes.values_added, changes.values_removed) == (1, 1, 1)
    assert changes.max_abs_change == 4.5 and changes.source_files == ("f2",)
    assert not diff_partition(old, old, key).any
    assert diff_partition(None, new, key) is None


# -- concurrency -----------------------------------------------------------------------------

RUNNER = """
    import sys
    import dagster as dg
    from power_market_assets.automation.runs import run_range
    from power_market_assets.definitions import build_definitions
    root, url, job, key = sys.argv[1:5]
    defs = build_definitions(data_root=root, ercot_mis_url=url)
    result = run_range(defs, job, key, key, dg.DagsterInstance.ephemeral())
    sys.exit(0 if result.success else 1)
"""
HOLDER = """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.sql("select count(*) from ercot.da_prices_raw_parquet").fetchall()
    print("open", flush=True)
    time.sleep(60)
"""


def test_concurrent_runs_and_an_open_reader_leave_a_consistent_lake(tmp_path) -> None:
    docs = [d for spec in (DA_PRICES, AS_PRICES) for d in generate_documents(spec, DAYS, 2)]
    lake = Lake.at(tmp_path)
    jobs = [
        ("ercot_da_prices_daily", DAYS[0]),
        ("ercot_da_prices_daily", DAYS[1]),
        ("ercot_as_prices_daily", DAYS[0]),
        ("ercot_as_prices_daily", DAYS[1]),
    ]
    with ErcotStandInServer(docs) as server:
        defs = build_definitions(data_root=str(tmp_path), ercot_mis_url=server.base_url)
        first = DAYS[2].isoformat()
        assert run_range(
            defs, "ercot_da_prices_daily", first, first, dg.DagsterInstance.ephemeral()
        ).success
        holder = _start(HOLDER, str(lake.warehouse_path))
        try:
            assert holder.stdout.readline().strip() == "open"
            runners = [
                _start(RUNNER, str(tmp_path), server.base_url, job, day.isoformat())
                for job, day in jobs
            ]
            codes = [r.wait(timeout=120) for r in runners]
            assert codes == [0] * len(jobs), [r.stderr.read()[-2000:] for r in runners]
        finally:
            _kill(holder)
    expected = {}
    for spec in (DA_PRICES, AS_PRICES):
        lake_path = f"ercot/{spec.dataset}/raw_parquet"
        files = lake.all_partition_files(lake_path)
        frames = [pl.read_parquet(f) for f in files]
        assert all(f.select(spec.unique_key).is_unique().all() for f in frames)
        expected[spec.dataset] = sum(f.height for f in frames)
    assert len(lake.all_partition_files(RAW_DA)) == 3
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        da = con.sql("select count(*) from ercot.da_prices_raw_parquet").fetchone()[0]
        asp = con.sql("select count(*) from ercot.as_prices_raw_parquet").fetchone()[0]
        days = con.sql("select count(distinct operating_day) from all_isos.da_prices").fetchone()
    assert (da, asp) == (expected["da_prices"], expected["as_prices"])
    assert days == (3,)


def ercot_da_and_as_job() -> dg.JobDefinition:
    """Module-level, so the multiprocess executor can rebuild the job in each step process
    (settings come from the environment the test sets)."""
    return build_definitions().resolve_job_def("ercot_daily")


def test_multiprocess_executor_runs_leave_a_consistent_lake(tmp_path, monkeypatch) -> None:
    """The multiprocess executor: the three datasets' steps run in their own processes at the
    same time, writing the lake and rebuilding the catalog concurrently. (Runs at once in
    separate processes: test_concurrent_runs_and_an_open_reader_leave_a_consistent_lake.)"""
    specs = ercot.ERCOT_DATASETS[:3]
    docs = [d for spec in specs for d in generate_documents(spec, DAYS[:1], 2)]
    monkeypatch.setenv("PMA_DATA_ROOT", str(tmp_path))
    multiprocess = {"execution": {"config": {"multiprocess": {"max_concurrent": 3}}}}
    stages = ("csv", "raw_parquet")
    selection = [dg.AssetKey(s.asset_key_path(stage)) for s in specs for stage in stages]
    (tmp_path / "home").mkdir()
    server = ErcotStandInServer(docs)
    with server, dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        monkeypatch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
        job = dg.reconstructable(ercot_da_and_as_job)

        def run(day: date) -> dg.ExecutionResult:
            return dg.execute_job(
                job,
                instance=instance,
                run_config=multiprocess,
                tags={"dagster/partition": day.isoformat()},
                asset_selection=selection,
                raise_on_error=False,
            )

        assert run(DAYS[0]).success
    lake = Lake.at(tmp_path)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        for spec in specs:
            files = lake.all_partition_files(f"ercot/{spec.dataset}/raw_parquet")
            frames = [pl.read_parquet(f) for f in files]
            assert len(frames) == 1
            assert all(f.select(spec.unique_key).is_unique().all() for f in frames)
            view = f"ercot.{spec.dataset}_raw_parquet"
            rows = con.sql(f"select count(*) from {view}").fetchone()[0]
            assert rows == sum(f.height for f in frames)
