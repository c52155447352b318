"""Distributed execution on 127.0.0.1: `backfill --submit --wait` queues month chunks on the
Postgres instance, `dagster-daemon run` launches them and two Celery worker processes on Redis
(standing for two machines) execute their steps; the lake gets exactly the rows of a
single-process backfill. The processes and their environment are the bench's
(commands/bench_distributed.py), with deploy/cluster/dagster.yaml."""

from __future__ import annotations

import io
import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from power_market_assets.automation import runs
from power_market_assets.automation.instance import ISO_TAG
from power_market_assets.commands.backfill import run_backfill
from power_market_assets.commands.bench_distributed import (
    daemon_command,
    deployment_env,
    processes,
    worker_command,
)
from power_market_assets.io.lake import Lake
from power_market_assets.registry import ercot
from power_market_assets_tests.services import PostgresServer, RedisServer
from power_market_assets_tests.test_deploy_postgres import recorded_text
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = [pytest.mark.services, pytest.mark.slow]

RAW = "ercot/da_prices/raw_parquet"
# Two calendar months' chunks, kept to a few days so the test stays fast (the bench runs two
# whole months): 10-30..10-31 and 11-01..11-02.
DAYS = [date(2024, 10, 30) + timedelta(days=i) for i in range(4)]


def raw_rows(root: Path) -> pl.DataFrame:
    """Every raw_parquet row of the range, in one order."""
    files = Lake.at(root).all_partition_files(RAW)
    frame = pl.concat([pl.read_parquet(f) for f in files])
    return frame.sort(frame.columns)


def test_two_celery_workers_backfill_the_rows_of_a_single_process(
    tmp_path,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    monkeypatch,
) -> None:
    docs = generate_documents(ercot.DA_PRICES, DAYS, n_nodes=3)
    local, distributed = tmp_path / "local", tmp_path / "distributed"
    database = postgres_server.create_database()
    with ErcotStandInServer(docs) as server:
        monkeypatch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
        span = {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat(), "monthly": False}
        err = io.StringIO()
        assert run_backfill("ERCOT", "da_prices", data_root=str(local), err=err, **span) == 0

        env = deployment_env(
            os.environ, str(distributed), server.base_url, database, redis_server.url()
        )
        for name in ("PMA_INSTANCE_YAML", "PMA_POSTGRES_URL", "PMA_DATA_ROOT", "DAGSTER_HOME"):
            monkeypatch.setenv(name, env[name])  # this process submits as the deployment's CLI
        runs.persistent_instance(distributed).dispose()  # the home's dagster.yaml, for the daemon
        workers = [worker_command(f"worker{i}") for i in (1, 2)]
        log = tmp_path / "services.log"
        with processes([(command, env) for command in [daemon_command(), *workers]], log):
            err = io.StringIO()
            code = run_backfill(
                "ERCOT", "da_prices", data_root=str(distributed), err=err, submit=True,
                wait=True, **span,
            )  # fmt: skip
        assert code == 0, err.getvalue() + log.read_text()[-3000:]
    printed = err.getvalue()
    assert "ercot/da_prices 2024-10-30..2024-10-31: SUCCESS" in printed
    assert "ercot/da_prices 2024-11-01..2024-11-02: SUCCESS" in printed

    assert_frame_equal(raw_rows(distributed), raw_rows(local))
    instance = runs.persistent_instance(distributed)
    try:
        chunk_runs = instance.get_runs(filters=dg.RunsFilter(job_name="ercot_da_prices_daily"))
        assert len(chunk_runs) == 2 and {r.tags[ISO_TAG] for r in chunk_runs} == {"ERCOT"}
        workers_seen = set()
        for run in chunk_runs:
            for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                data = event.dagster_event.engine_event_data if event.dagster_event else None
                worker = data.metadata.get("Celery worker") if data else None
                if worker is not None:
                    workers_seen.add(str(worker.value).split("@")[0])
        assert workers_seen and workers_seen <= {"worker1", "worker2"}  # steps ran on workers
        text = recorded_text(instance)
    finally:
        instance.dispose()
    assert postgres_server.password not in text and redis_server.password not in text
    assert postgres_server.password not in log.read_text()
    assert redis_server.password not in log.read_text()
