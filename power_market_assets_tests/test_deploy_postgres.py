"""The instance on PostgreSQL (deploy/server/dagster.yaml): the CLI's backfill, a sensor's
cursor across instance re-opens, two runs at once and a killed run, against a real server."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.scheduler.instigation import InstigatorType
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._utils.tags import TagConcurrencyLimitsCounter

from power_market_assets.automation import runs
from power_market_assets.automation.instance import DATASET_TAG, ISO_TAG, render_instance_yaml
from power_market_assets.commands.backfill import month_chunks, run_backfill
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake
from power_market_assets.io.resources import LakeResource
from power_market_assets.registry import ercot
from power_market_assets_tests.services import PostgresServer
from power_market_assets_tests.test_automation_sensors import _tick
from power_market_assets_tests.test_io_catalog_lockdown import RUNNER as STUCK_RUNNER
from power_market_assets_tests.test_io_catalog_lockdown import _stop
from power_market_assets_tests.test_reliability_runs import REPO, _start
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = [pytest.mark.services, pytest.mark.slow]

SERVER_YAML = REPO / "deploy" / "server" / "dagster.yaml"
DAYS = [date(2024, 11, 2), date(2024, 11, 3)]
DEFINITIONS_MODULE = "power_market_assets.definitions"


def use_postgres(monkeypatch, root: Path, url: str, **extra: str) -> None:
    """The environment of a server deployment: its dagster.yaml, Postgres, the data root."""
    monkeypatch.setenv("PMA_INSTANCE_YAML", str(SERVER_YAML))
    monkeypatch.setenv("PMA_POSTGRES_URL", url)
    monkeypatch.setenv("PMA_DATA_ROOT", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def recorded_text(instance: dg.DagsterInstance) -> str:
    """Every run's config and tags and every event of the instance, as text to grep."""
    parts = []
    for run in instance.get_runs():
        parts.append(json.dumps(run.run_config, default=str) + json.dumps(dict(run.tags)))
        parts += [repr(event) for event in instance.all_logs(run.run_id)]
    return "\n".join(parts)


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


@pytest.fixture(scope="module")
def documents():
    return generate_documents(ercot.DA_PRICES, DAYS, n_nodes=3)


def test_rendered_yaml_carries_the_iso_limit_and_no_secret(monkeypatch) -> None:
    text = render_instance_yaml(SERVER_YAML.read_text(), str(SERVER_YAML), 3)
    config = yaml.safe_load(text)
    (limit,) = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert limit == {"key": ISO_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 3}
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "PMA_POSTGRES_URL"}


def test_the_run_queue_holds_each_iso_to_its_own_limit() -> None:
    """The limits as the daemon's queue reads them (Dagster's TagConcurrencyLimitsCounter, what
    the queued run coordinator dequeues by): with the limit at 1, a second ERCOT chunk waits
    while ERCOT runs, and a PJM chunk does not."""
    config = yaml.safe_load(render_instance_yaml(SERVER_YAML.read_text(), str(SERVER_YAML), 1))
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]

    def chunk(iso: str) -> dg.DagsterRun:
        return dg.DagsterRun(job_name=f"{iso.lower()}_daily", tags={ISO_TAG: iso})

    queue = TagConcurrencyLimitsCounter(limits, [chunk("ERCOT")])
    assert queue.is_blocked(chunk("ERCOT"))
    assert not queue.is_blocked(chunk("PJM"))
    queue.update_counters_with_launched_item(chunk("PJM"))
    assert queue.is_blocked(chunk("PJM"))


def test_backfill_through_the_cli_records_its_runs_in_postgres(
    tmp_path, postgres_server, database, documents, monkeypatch
) -> None:
    root = tmp_path / "data"
    with ErcotStandInServer(documents) as server:
        use_postgres(
            monkeypatch, root, database, PMA_ERCOT_MIS_URL=server.base_url, PMA_ISO_RUN_LIMIT="3"
        )
        err = io.StringIO()
        code = run_backfill(
            "ERCOT", "da_prices", "2024-11-02", "2024-11-03", data_root=str(root),
            chunk_days=1, monthly=False, err=err,
        )  # fmt: skip
        assert code == 0, err.getvalue()
    home = root / "dagster_home"
    assert "limit: 3" in (home / "dagster.yaml").read_text()  # PMA_ISO_RUN_LIMIT
    assert not list(home.rglob("*.db"))  # no SQLite storage beside Postgres
    instance = runs.persistent_instance(root)
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        queue = instance.run_coordinator.get_run_queue_config()
        assert {"key": ISO_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 3} in (
            queue.tag_concurrency_limits
        )
        done = instance.get_runs(filters=dg.RunsFilter(job_name="ercot_da_prices_daily"))
        assert sorted(r.tags["dagster/asset_partition_range_start"] for r in done) == [
            d.isoformat() for d in DAYS
        ]
        assert {r.status for r in done} == {dg.DagsterRunStatus.SUCCESS}
        key = dg.AssetKey(ercot.DA_PRICES.asset_key_path("raw_parquet"))
        assert instance.get_materialized_partitions(key) == {d.isoformat() for d in DAYS}
        text = recorded_text(instance)
        assert postgres_server.password not in text
        assert postgres_server.password not in (home / "dagster.yaml").read_text()
    finally:
        instance.dispose()
    raw = Lake.at(root).all_partition_files("ercot/da_prices/raw_parquet")
    assert [p.stem for p in raw] == [d.isoformat() for d in DAYS]


def _tick_inbox_sensor(instance: dg.DagsterInstance) -> None:
    """One iteration of the daemon's sensor loop over the project's code location."""
    target = ModuleTarget(
        module_name=DEFINITIONS_MODULE, attribute="defs", working_directory=str(REPO),
        location_name=DEFINITIONS_MODULE,
    )  # fmt: skip
    with WorkspaceProcessContext(instance, target) as context:
        location = context.create_request_context().get_code_location(DEFINITIONS_MODULE)
        (repository,) = location.get_repositories().values()
        sensor = repository.get_sensor("landing_inbox")
        if instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id) is None:
            instance.start_sensor(sensor)
        list(execute_sensor_iteration(context, logging.getLogger("sensor"), None, None))


def _inbox_cursor(instance: dg.DagsterInstance) -> str | None:
    (state,) = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    return state.instigator_data.cursor


def _drop(lake: Lake, source: Path) -> None:
    lake.inbox_dir.mkdir(parents=True, exist_ok=True)
    target = lake.inbox_dir / source.name
    target.write_bytes(source.read_bytes())
    settled = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    os.utime(target, (settled, settled))


def test_sensor_cursor_survives_reopening_the_instance(
    tmp_path, database, real_ercot_dir, monkeypatch
) -> None:
    root = tmp_path / "data"
    use_postgres(monkeypatch, root, database)
    lake = Lake.at(root)
    _drop(lake, real_ercot_dir / "rtm-spp.zip")
    instance = runs.persistent_instance(root)
    try:
        _tick_inbox_sensor(instance)
        cursor = _inbox_cursor(instance)
        (queued,) = instance.get_runs()
        assert queued.status == dg.DagsterRunStatus.QUEUED  # the queued run coordinator's
        assert queued.job_name == "ercot_rt_prices_daily"
    finally:
        instance.dispose()
    assert cursor and "rtm-spp.zip" in cursor

    # A restart: a new instance from the same dagster.yaml reads the cursor back from Postgres,
    # and the sensor given it (test_automation_sensors' tick) runs the same bytes no second time.
    _drop(lake, real_ercot_dir / "rtm-spp.zip")
    reopened = runs.persistent_instance(root)
    try:
        assert _inbox_cursor(reopened) == cursor
        defs = build_definitions(data_root=str(root), inbox_settle_seconds=0)
        sensor = defs.resolve_sensor_def("landing_inbox")
        resources = {"lake": LakeResource(data_root=str(root))}
        again = _tick(sensor, reopened, _inbox_cursor(reopened), resources, defs)
        assert again.run_requests == []
        ticks = reopened.get_ticks(*_sensor_ids(reopened))
        assert [t.status.value for t in ticks] == ["SUCCESS"]
    finally:
        reopened.dispose()


def _sensor_ids(instance: dg.DagsterInstance) -> tuple[str, str]:
    (state,) = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    return state.instigator_origin_id, state.selector_id


CHUNK_RUNNER = """
    import sys
    from pathlib import Path
    from power_market_assets.automation.runs import persistent_instance, run_range
    from power_market_assets.definitions import build_definitions
    root, url, job, key = sys.argv[1:5]
    defs = build_definitions(data_root=root, ercot_mis_url=url)
    result = run_range(defs, job, key, key, persistent_instance(Path(root)))
    sys.exit(0 if result.success else 1)
"""


def test_two_runs_at_once_are_both_recorded(tmp_path, database, documents, monkeypatch) -> None:
    root = tmp_path / "data"
    use_postgres(monkeypatch, root, database)
    runs.persistent_instance(root).dispose()  # the home and its dagster.yaml, created once
    with ErcotStandInServer(documents) as server:
        runners = [
            _start(CHUNK_RUNNER, str(root), server.base_url, "ercot_da_prices_daily", d.isoformat())
            for d in DAYS
        ]
        codes = [r.wait(timeout=120) for r in runners]
    assert codes == [0, 0], [r.stderr.read()[-2000:] for r in runners]
    instance = runs.persistent_instance(root)
    try:
        done = instance.get_runs()
        assert len(done) == 2 and {r.status for r in done} == {dg.DagsterRunStatus.SUCCESS}
        key = dg.AssetKey(ercot.DA_PRICES.asset_key_path("raw_parquet"))
        assert instance.get_materialized_partitions(key) == {d.isoformat() for d in DAYS}
    finally:
        instance.dispose()


def test_a_killed_run_is_marked_failed_at_the_next_start(tmp_path, database, monkeypatch) -> None:
    root = tmp_path / "data"
    use_postgres(monkeypatch, root, database)
    runner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STUCK_RUNNER), str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout.readline().strip() == "started"
    finally:
        _stop(runner)
    assert runner.returncode == -signal.SIGKILL
    instance = runs.persistent_instance(root)  # the next start
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE
        (failure,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert f"process {runner.pid}" in failure.message and "died" in failure.message
    finally:
        instance.dispose()


def test_submit_queues_month_chunks_with_their_tags(tmp_path, monkeypatch) -> None:
    """Also on the embedded SQLite instance, whose default run coordinator queues: the chunks
    wait for a daemon (`power-market ui` runs one), tagged with their ISO, dataset and range."""
    days = [date(2024, 1, 30) + timedelta(days=i) for i in range(35)]  # 01-30 .. 03-04
    assert month_chunks(days, 31) == [
        (date(2024, 1, 30), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 4)),
    ]
    assert month_chunks(days[:10], 5)[:2] == [
        (date(2024, 1, 30), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 5)),
    ]
    monkeypatch.delenv("PMA_INSTANCE_YAML", raising=False)
    err = io.StringIO()
    code = run_backfill(
        "ERCOT", "da_prices", "2024-10-31", "2024-11-01", data_root=str(tmp_path), err=err,
        submit=True,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    assert "ercot/da_prices 2024-10-31..2024-10-31: QUEUED" in err.getvalue()
    instance = runs.persistent_instance(tmp_path)
    try:
        queued = instance.get_runs()
        assert {r.status for r in queued} == {dg.DagsterRunStatus.QUEUED}
        assert sorted(
            (r.tags[ISO_TAG], r.tags[DATASET_TAG], r.tags["dagster/asset_partition_range_start"])
            for r in queued
        ) == [("ERCOT", "da_prices", "2024-10-31"), ("ERCOT", "da_prices", "2024-11-01")]
    finally:
        instance.dispose()
