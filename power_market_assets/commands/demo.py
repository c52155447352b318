"""The main job on the embedded default: real-format samples of every ISO through every asset.

For each ISO in the registry: generates byte-realistic sample files for a window around the
2024-11-03 fall-back day, serves them from that ISO's stand-in server on 127.0.0.1, runs
stages 1-2 as one single-run backfill and stages 3-4 per month, all recorded in the persistent
Dagster instance under <data root>/dagster_home so `power-market ui` shows them afterwards.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import dagster as dg

from power_market_assets.automation.runs import (
    failure_messages,
    months_between,
    persistent_instance,
    run_range,
)
from power_market_assets.commands.report import run_report
from power_market_assets.definitions import build_definitions
from power_market_assets.io.catalog import connect_read_only
from power_market_assets.io.lake import Lake
from power_market_assets.registry import DATASETS_BY_ISO, FUNDAMENTALS_INPUTS
from power_market_assets.settings import DEFAULT_DATA_ROOT
from power_market_assets.transforms.time import days_between
from power_market_standins.servers import environment, standin_environment, standin_server

EXAMPLE_QUERIES = {
    "The fall-back day has 25 hourly DA intervals per location, in every ISO": """
SELECT iso,
       count(DISTINCT location) AS locations,
       count(*) // count(DISTINCT location) AS hourly_intervals_per_location,
       round(avg(lmp), 2) AS avg_da_price
FROM all_isos.da_prices
WHERE operating_day = DATE '2024-11-03'
GROUP BY iso ORDER BY iso""",
    "Every ISO in one view": "SELECT iso, count(*) AS rows FROM all_isos.da_prices "
    "GROUP BY iso ORDER BY iso",
}


NET_LOAD_TITLE = "Net load against the hub's RT price, per hour (fundamentals_hourly)"


def net_load_query() -> str:
    """Net load (load minus wind and solar) against the hub's RT price, hour by hour, per ISO
    (its fundamentals_hourly): the fall-back day's 25 hours, means and their correlation."""
    parts = [
        f"""SELECT '{iso}' AS iso, hub,
       count(*) FILTER (WHERE operating_day = DATE '2024-11-03') AS fall_back_hours,
       round(avg(load_mw)) AS load_mw, round(avg(net_load_mw)) AS net_load_mw,
       round(avg(rt_price), 2) AS rt_price, round(corr(net_load_mw, rt_price), 2) AS corr
FROM {iso.lower()}.combined_fundamentals_hourly GROUP BY hub"""
        for iso, inputs in FUNDAMENTALS_INPUTS.items()
        if inputs is not None
    ]
    return "\nUNION ALL\n".join(parts) + "\nORDER BY iso"


def _print_summary(lake: Lake) -> None:
    with connect_read_only(lake) as con:
        views = con.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
            "ORDER BY schema_name, view_name"
        ).fetchall()
        print(f"\nDuckDB catalog {lake.warehouse_path}:")
        for schema, view in views:
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{view}"').fetchone()[0]
            print(f"  {schema + '.' + view:<40} {rows:>10,} rows")
        closing = {NET_LOAD_TITLE: net_load_query()}
        for title, query in {**EXAMPLE_QUERIES, **closing}.items():
            print(f"\n{title}:\n{query.strip()}\n")
            print(con.sql(query))


def _print_checks(instance: dg.DagsterInstance, results: list[dg.ExecuteInProcessResult]) -> None:
    print("Asset checks:")
    for result in results:
        for event in result.all_events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                state = "passed" if data.passed else "FAILED"
                print(f"  {data.asset_key.to_user_string():<32} {data.check_name:<16} {state}")


def _run_iso(
    iso: str, days: list[date], lake: Lake, instance: dg.DagsterInstance, nodes: int
) -> list[dg.ExecuteInProcessResult]:
    """Stages 1-2 over the days, then 3-4 over their months, against the ISO's stand-in."""
    first, last = days[0].isoformat(), days[-1].isoformat()
    name = iso.lower()
    with ExitStack() as stack:
        server = stack.enter_context(standin_server(iso, days, n_locations=nodes, seed=0))
        stack.enter_context(environment(standin_environment(iso, server)))
        print(f"{iso}: stand-in server on {server.base_url}")
        defs = build_definitions(data_root=str(lake.root), source_urls={iso: server.base_url})
        daily = run_range(defs, f"{name}_daily", first, last, instance)
        print(f"  {name}_daily {first}..{last}: {'success' if daily.success else 'FAILED'}")
        if not daily.success:
            return [daily]
        months = months_between(days[0], days[-1])
        monthly = run_range(defs, f"{name}_monthly", months[0], months[-1], instance)
        state = "success" if monthly.success else "FAILED"
        print(f"  {name}_monthly {months[0]}..{months[-1]}: {state}")
        return [daily, monthly]


def run_demo(
    data_root: str = DEFAULT_DATA_ROOT,
    start: str = "2024-11-01",
    end: str = "2024-11-04",
    nodes: int = 20,
) -> int:
    lake = Lake.at(data_root)
    days = days_between(date.fromisoformat(start), date.fromisoformat(end))
    instance = persistent_instance(lake.root)
    print(f"Materializing {', '.join(DATASETS_BY_ISO)} for {start}..{end} ({nodes} locations)")
    results = [r for iso in DATASETS_BY_ISO for r in _run_iso(iso, days, lake, instance, nodes)]
    failures = [m for r in results for m in failure_messages(r)]
    _print_checks(instance, results)
    if failures:
        print("\nFailures:\n  " + "\n  ".join(failures))
        return 1
    _print_summary(lake)
    report = _write_report(lake, start)
    for line in next_steps(lake, report):
        print(line)
    return 0


def _write_report(lake: Lake, start: str, iso: str = "ERCOT") -> Path:
    """The month's market report of one ISO (price statistics, battery value), as
    `power-market report` writes it: the demo's days are a few days of that month."""
    month = start[:7]
    target = lake.root / "reports" / f"{iso.lower()}-{month}.html"
    print(f"\nMarket report ({iso} {month}, docs/REPORTS.md):")
    run_report(iso, month, str(target), data_root=str(lake.root))
    return target


def next_steps(lake: Lake, report: Path | None = None) -> list[str]:
    """Commands that work as printed, from the current folder: the venv's own executables
    (the duckdb CLI is pinned with the project), the data root spelled out."""
    tools = shown_path(Path(sys.executable).parent)
    root = shown_path(lake.root)
    warehouse = shown_path(lake.warehouse_path)
    opened = [f"\nOpen the report in a browser:     {shown_path(report)}"] if report else []
    return opened + [
        f"\nOpen the UI with the runs above:  {tools}/power-market ui --data-root {root}",
        f"Query with SQL (read-only):       {tools}/power-market query --data-root {root} "
        '"show tables"',
        f"Or the DuckDB CLI:                {tools}/duckdb -readonly {warehouse}",
    ]


def shown_path(path: Path) -> str:
    """`path` relative to the current folder when inside it (shorter to copy), else absolute."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
