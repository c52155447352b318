"""The main job on the embedded default: real-format ERCOT samples through every asset.

Generates byte-realistic ERCOT MIS files for a window around the 2024-11-03 fall-back day,
serves them from the stand-in server on 127.0.0.1, runs stages 1-2 as one single-run backfill
and stages 3-4 per month, all recorded in the persistent Dagster instance under
<data root>/dagster_home so `dagster dev` shows them afterwards.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from power_market_assets.automation.runs import failure_messages, months_between, run_range
from power_market_assets.io.catalog import connect_read_only
from power_market_assets.io.lake import Lake
from power_market_assets.registry import ercot
from power_market_assets.samples.ercot import generate_documents
from power_market_assets.samples.server import ErcotStandInServer

EXAMPLE_QUERY = """
SELECT location,
       count(*) AS hourly_intervals,
       count(DISTINCT interval_start_utc) AS distinct_starts,
       round(avg(lmp), 2) AS avg_da_price
FROM ercot.da_prices_raw_parquet
WHERE operating_day = DATE '2024-11-03' AND location IN ('HB_NORTH', 'HB_HOUSTON', 'LZ_WEST')
GROUP BY location ORDER BY location
""".strip()


def persistent_instance(root: Path) -> dg.DagsterInstance:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _print_summary(lake: Lake) -> None:
    with connect_read_only(lake) as con:
        views = con.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
            "ORDER BY schema_name, view_name"
        ).fetchall()
        print(f"\nDuckDB catalog {lake.warehouse_path}:")
        for schema, view in views:
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{view}"').fetchone()[0]
            print(f"  {schema}.{view:<28} {rows:>10,} rows")
        print("\nExample query (the fall-back day has 25 hourly DA intervals):\n")
        print(EXAMPLE_QUERY)
        print()
        print(con.sql(EXAMPLE_QUERY))


def _print_checks(instance: dg.DagsterInstance, results: list[dg.ExecuteInProcessResult]) -> None:
    print("Asset checks:")
    for result in results:
        for event in result.all_events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                state = "passed" if data.passed else "FAILED"
                print(f"  {data.asset_key.to_user_string():<32} {data.check_name:<16} {state}")


def run_demo(
    data_root: str = "data", start: str = "2024-11-01", end: str = "2024-11-04", nodes: int = 40
) -> int:
    from power_market_assets.definitions import build_definitions

    lake = Lake.at(data_root)
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    days = _days(first, last)
    instance = persistent_instance(lake.root)
    documents = [
        doc
        for spec in ercot.ERCOT_DATASETS
        for doc in generate_documents(spec, days, n_nodes=nodes, seed=0)
    ]
    print(f"Generated {len(documents):,} ERCOT documents for {first}..{last} ({nodes} nodes)")
    results = []
    with ErcotStandInServer(documents) as server:
        print(f"Stand-in ERCOT MIS serving on {server.base_url}")
        defs = build_definitions(data_root=str(lake.root), ercot_mis_url=server.base_url)
        daily = run_range(defs, "ercot_daily", first.isoformat(), last.isoformat(), instance)
        results.append(daily)
        print(f"ercot_daily {first}..{last}: {'success' if daily.success else 'FAILED'}")
        if daily.success:
            months = months_between(first, last)
            monthly = run_range(defs, "ercot_monthly", months[0], months[-1], instance)
            results.append(monthly)
            print(
                f"ercot_monthly {months[0]}..{months[-1]}: "
                f"{'success' if monthly.success else 'FAILED'}"
            )
    failures = [m for r in results for m in failure_messages(r)]
    _print_checks(instance, results)
    if failures:
        print("\nFailures:\n  " + "\n  ".join(failures))
        return 1
    _print_summary(lake)
    print(
        f"\nOpen the UI with the runs above:  DAGSTER_HOME={lake.root / 'dagster_home'} "
        ".venv/bin/dagster dev -w workspace.yaml"
    )
    print(f"Query with DuckDB:               duckdb {lake.warehouse_path}")
    return 0
