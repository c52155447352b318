"""Issue 9, items 9 and 13: the catalog SQL cannot be steered by folder names, and a crash
leaves nothing behind for long (stale temp files swept, dead runs marked failed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from power_market_assets.assets.combined import COMBINED_KINDS
from power_market_assets.automation import runs
from power_market_assets.io import catalog
from power_market_assets.io.catalog import (
    connect_read_only,
    quote_identifier,
    quote_literal,
    refresh_catalog,
    sweep_dead_rebuilds,
)
from power_market_assets.io.duckdb_safety import lock_to_lake
from power_market_assets.io.lake import Lake, write_parquet_files
from power_market_assets.io.sweep import sweep_stale_downloads

REPO = Path(__file__).resolve().parents[1]
RAW_DA = "ercot/da_prices/raw_parquet"
# A folder name cannot hold "/", so the path is built in SQL (this ran on the old rebuild).
INJECTION = (
    'x" as select 1; create table t as select * from '
    "read_text(chr(47) || 'etc' || chr(47) || 'passwd'); --"
)
HOSTILE_NAMES = (INJECTION, "o'brien", "a;b", "line\nbreak", 'q"uote')
LEGIT_VIEWS = ["ercot.da_prices_raw_parquet", "all_isos.da_prices"]


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"operating_day": [date(2024, 11, 5)] * 3, "lmp": [1.0, 2.0, 3.0]})


def _hostile_lake(root: Path) -> Lake:
    """A legitimate partition, plus Parquet files under hostile names at every folder level."""
    lake = Lake.at(root)
    write_parquet_files({lake.partition_file(RAW_DA, "2024-11-05"): _frame()})
    for name in HOSTILE_NAMES:
        for parts in ((name, "da_prices", "raw_parquet"), ("ercot", name, "raw_parquet")):
            folder = lake.lake_dir.joinpath(*parts, "year=2024")
            folder.mkdir(parents=True, exist_ok=True)
            _frame().write_parquet(folder / "2024-11-05.parquet")
        stage = lake.lake_dir / "ercot" / "da_prices" / name / "year=2024"
        stage.mkdir(parents=True, exist_ok=True)
        _frame().write_parquet(stage / "2024-11-05.parquet")
    return lake


def test_hostile_folder_names_never_reach_the_catalog_sql(tmp_path: Path, caplog) -> None:
    lake = _hostile_lake(tmp_path / "data")
    assert refresh_catalog(lake) == LEGIT_VIEWS
    assert repr(f"ercot/{INJECTION}/raw_parquet") in caplog.text  # named, not run
    with connect_read_only(lake) as con:
        assert con.sql("select * from duckdb_tables()").fetchall() == []  # no table t
        views = con.sql(
            "select schema_name || '.' || view_name from duckdb_views() where not internal"
        ).fetchall()
        assert sorted(v for (v,) in views) == sorted(LEGIT_VIEWS)
        assert con.sql("select sum(lmp) from ercot.da_prices_raw_parquet").fetchone() == (6.0,)
        assert con.sql("select count(*) from all_isos.da_prices").fetchone() == (3,)


def test_views_come_from_the_registry_and_its_combined_kinds() -> None:
    assert tuple(COMBINED_KINDS) == catalog.COMBINED_KIND_NAMES
    lake = Lake.at("/nonexistent-root")
    paths = {v.lake_path for v in catalog.registry_views(lake)}
    assert {"ercot/da_prices/flattened", "ercot/da_prices/changes"} <= paths
    assert "pjm/combined/da_as_hourly" in paths


def test_identifiers_and_literals_are_escaped() -> None:
    assert quote_identifier('a"b') == '"a""b"'
    assert quote_literal("o'brien") == "'o''brien'"
    with duckdb.connect() as con:
        assert con.sql(f"select 1 as {quote_identifier(INJECTION)}").columns == [INJECTION]
        assert con.sql(f"select {quote_literal(INJECTION)}").fetchone() == (INJECTION,)


def test_a_data_root_with_quotes_still_builds_working_views(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / 'o\'brien "data"')
    write_parquet_files({lake.partition_file(RAW_DA, "2024-11-05"): _frame()})
    assert refresh_catalog(lake) == LEGIT_VIEWS
    with connect_read_only(lake) as con:
        assert con.sql("select count(*) from ercot.da_prices_raw_parquet").fetchone() == (3,)


def test_the_rebuild_connection_reads_nothing_outside_the_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake.at(tmp_path / "data")
    write_parquet_files({lake.partition_file(RAW_DA, "2024-11-05"): _frame()})
    refresh_catalog(lake)
    before = lake.warehouse_path.read_bytes()
    outside = tmp_path / "outside"
    outside.mkdir()
    _frame().write_parquet(outside / "secret.parquet")
    escaping = catalog.CatalogView("ercot", "escape", "x", str(outside / "*.parquet"))
    monkeypatch.setattr(catalog, "existing_views", lambda _lake: [escaping])
    with pytest.raises(duckdb.PermissionException):
        refresh_catalog(lake)
    assert lake.warehouse_path.read_bytes() == before  # the old catalog stays
    assert sorted(p.name for p in lake.root.iterdir() if ".tmp" in p.name) == []


def test_lock_to_lake_refuses_files_and_settings_outside_the_lake(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "data")
    write_parquet_files({lake.partition_file(RAW_DA, "2024-11-05"): _frame()})
    with duckdb.connect() as con:
        lock_to_lake(con, lake)
        glob = quote_literal(str(lake.stage_dir(RAW_DA) / "year=*" / "*.parquet"))
        assert con.sql(f"select count(*) from read_parquet({glob})").fetchone() == (3,)
        with pytest.raises(duckdb.PermissionException):
            con.sql("select * from read_text('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")


HOLDER = """
    import fcntl, sys, time
    lock, temp = open(sys.argv[1], "w"), open(sys.argv[2], "wb")
    fcntl.flock(lock, fcntl.LOCK_EX)
    temp.write(b"half a download")
    temp.flush()
    print("holding", flush=True)
    time.sleep(60)
"""


def _hold(lock: Path, temp: Path) -> subprocess.Popen:
    """Another process holding `lock` (flock) and writing `temp`, as a live writer does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(lock), str(temp)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_rebuild_sweeps_temp_databases_left_by_a_killed_rebuild(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "data")
    write_parquet_files({lake.partition_file(RAW_DA, "2024-11-05"): _frame()})
    lake.root.mkdir(parents=True, exist_ok=True)
    leftovers = [lake.root / ".warehouse.duckdb.0123456789ab.tmp"]
    leftovers.append(leftovers[0].with_name(leftovers[0].name + ".wal"))
    for path in leftovers:
        path.write_bytes(b"partial")
    refresh_catalog(lake)
    assert not any(p.exists() for p in leftovers)
    assert lake.warehouse_path.exists()


def test_the_start_sweep_skips_a_rebuild_in_progress(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "data")
    lake.root.mkdir(parents=True)
    live = lake.root / ".warehouse.duckdb.aaaaaaaaaaaa.tmp"
    holder = _hold(lake.root / ".warehouse.lock", live)
    try:
        _age(live, 7200)
        assert sweep_dead_rebuilds(lake) == 0
        assert live.exists()  # a live rebuild's database is never deleted
    finally:
        _stop(holder)
    assert sweep_dead_rebuilds(lake) == 1
    assert not live.exists()


def test_stale_download_temps_go_but_a_live_download_stays(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "data")
    folder = lake.downloads_dir / "ercot" / "da_prices"
    folder.mkdir(parents=True)
    dead = folder / ".doc1.zip.0123456789ab.tmp"
    fresh = folder / ".doc2.zip.0123456789ab.tmp"
    live = folder / ".doc3.zip.0123456789ab.tmp"
    done = folder / "doc0.zip"
    for path in (dead, fresh, done):
        path.write_bytes(b"zip")
    holder = _hold(tmp_path / "unrelated.lock", live)
    try:
        for path in (dead, live, done):
            _age(path, 7200)  # the live download has stalled for two hours
        assert sweep_stale_downloads(lake) == 1
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in (fresh, live, done)
        )
    finally:
        _stop(holder)


def _monitoring(home: Path) -> dict:
    """The run_monitoring settings Dagster validates from <home>/dagster.yaml."""
    config, _ = dagster_instance_config(str(home))
    return config["run_monitoring"]


def test_instance_config_turns_on_run_monitoring_and_keeps_user_settings(tmp_path) -> None:
    runs.ensure_instance_config(tmp_path / "fresh" / "dagster.yaml")
    assert _monitoring(tmp_path / "fresh")["enabled"] is True
    old = tmp_path / "old"
    old.mkdir()
    (old / "dagster.yaml").write_text("# mine\ntelemetry:\n  enabled: false")
    runs.ensure_instance_config(old / "dagster.yaml")
    assert _monitoring(old)["enabled"] is True
    text = (old / "dagster.yaml").read_text()
    assert text.startswith("# mine\n")
    assert yaml.safe_load(text)["telemetry"] == {"enabled": False}
    (old / "dagster.yaml").write_text("run_monitoring:\n  enabled: false\n")
    runs.ensure_instance_config(old / "dagster.yaml")
    assert _monitoring(old)["enabled"] is False  # a user's explicit choice stays


RUNNER = """
    import sys, time
    from pathlib import Path
    import dagster as dg
    from power_market_assets.automation.runs import persistent_instance

    @dg.op
    def hang() -> None:
        print("started", flush=True)
        time.sleep(60)

    @dg.job
    def stuck():
        hang()

    stuck.execute_in_process(instance=persistent_instance(Path(sys.argv[1])))
"""


def _only_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    (run,) = instance.get_runs()
    return run


@pytest.mark.slow
def test_a_run_whose_process_died_is_marked_failed_at_the_next_start(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    root = tmp_path / "data"
    runner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RUNNER), str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout.readline().strip() == "started"
        alive = runs.persistent_instance(root)  # a start while the run is alive
        assert _only_run(alive).status == dg.DagsterRunStatus.STARTED
    finally:
        _stop(runner)
    assert runner.returncode == -signal.SIGKILL
    instance = runs.persistent_instance(root)  # the next start
    assert instance.run_monitoring_enabled
    run = _only_run(instance)
    assert run.status == dg.DagsterRunStatus.FAILURE
    (failure,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert f"process {runner.pid}" in failure.message and "died" in failure.message
