"""A run on the persistent instance holds its SQLite databases open, and lets go after."""

import sqlite3

import dagster as dg
import pytest
import sqlalchemy

from power_market_assets.automation.instance_db import sqlite_databases_held_open
from power_market_assets.automation.runs import run_range

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def counted_days(context: dg.AssetExecutionContext) -> None:
    context.log.info(f"{len(context.partition_keys)} days")


def test_a_range_run_on_a_persistent_instance_is_recorded_in_full(tmp_path):
    defs = dg.Definitions(
        assets=[counted_days], jobs=[dg.define_asset_job("days", selection=[counted_days])]
    )
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = run_range(defs, "days", "2024-01-01", "2024-01-31", instance)
        assert result.success
        materialized = instance.get_materialized_partitions(counted_days.key)
    assert len(materialized) == 31


def test_databases_are_held_while_inside_and_released_after(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'events.db'}")
    with sqlite_databases_held_open() as held:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("create table t (x int)"))
            connection.commit()
        assert list(held) == [str(tmp_path / "events.db")]
        (kept,) = held.values()
        assert kept.execute("select count(*) from t").fetchone() == (0,)
    with pytest.raises(sqlite3.ProgrammingError):
        kept.execute("select 1")  # closed on exit
    engine.dispose()
    with engine.connect() as connection:  # the listener is gone: nothing is held any more
        connection.execute(sqlalchemy.text("select 1"))
    assert held == {}
