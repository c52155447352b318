"""`power-market`: US electricity-market prices of ERCOT, CAISO, NYISO, ISO-NE and PJM as
Dagster assets over a Parquet lake with a DuckDB catalog. The demo, ingest of dropped files,
the stage 1 -> 2 benchmark, the analyst commands (catalog, query, export, backfill) and the
Dagster UI, each over one data root."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

from power_market_assets.commands.bench_args import add_bench_arguments

# `Settings.data_root`, read here without importing settings.py (which loads every ISO source
# client): `query` and `catalog` must start in well under a second. A test keeps them in step.
DATA_ROOT_VARIABLE = "PMA_DATA_ROOT"
DEFAULT_DATA_ROOT = "data"


def _cmd_demo(args: argparse.Namespace) -> int:
    from power_market_assets.commands.demo import run_demo

    return run_demo(data_root=args.data_root, start=args.start, end=args.end, nodes=args.nodes)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from power_market_assets.commands.ingest import ingest_paths
    from power_market_assets.definitions import build_definitions

    return ingest_paths(
        [Path(p) for p in args.paths],
        data_root=args.data_root,
        dataset=args.dataset,
        build_definitions=build_definitions,
    )


def _cmd_bench(args: argparse.Namespace) -> int:
    from power_market_assets.commands.bench import run_from_args

    return run_from_args(args)


def _cmd_catalog(args: argparse.Namespace) -> int:
    from power_market_assets.commands.catalog import run_catalog

    return run_catalog(args.data_root, as_json=args.json, refresh=args.refresh)


def _cmd_query(args: argparse.Namespace) -> int:
    from power_market_assets.commands.query import run_query

    return run_query(
        args.sql,
        args.data_root,
        csv=args.csv,
        parquet=args.parquet,
        limit=args.limit,
        force=args.force,
        memory_limit=args.memory_limit,
        timeout=args.timeout,
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from power_market_assets.commands.export import run_export

    if args.format == "cds":  # the ISO's fuel mix as Carbon Data Spec usage segments
        from power_market_assets.commands.export_cds import run_export_cds

        return run_export_cds(
            args.iso, args.start, args.end, args.out, args.data_root, args.with_history
        )
    if args.dataset is None:
        print("export: --dataset is required (except with --format cds)", file=sys.stderr)
        return 2
    return run_export(
        args.iso,
        args.dataset,
        args.start,
        args.end,
        args.out,
        stage=args.stage,
        locations=args.locations,
        data_root=args.data_root,
        kind=args.kind,
    )


def _cmd_backfill(args: argparse.Namespace) -> int:
    from power_market_assets.commands.backfill import run_backfill

    return run_backfill(
        args.iso,
        args.dataset,
        args.start,
        args.end,
        data_root=args.data_root,
        force=args.force,
        chunk_days=args.chunk_days,
        monthly=not args.no_monthly,
        submit=args.submit,
        wait=args.wait,
    )


def _cmd_report(args: argparse.Namespace) -> int:
    from power_market_assets.commands.report import run_report

    return run_report(args.iso, args.month, args.out, args.battery, data_root=args.data_root)


def _cmd_ui(args: argparse.Namespace) -> int:
    from power_market_assets.commands.ui import run_ui

    return run_ui(args.data_root, host=args.host, port=args.port)


def default_data_root(environ: Mapping[str, str]) -> str:
    """What `Settings.from_env(environ).data_root` gives, without its imports."""
    return environ.get(DATA_ROOT_VARIABLE, DEFAULT_DATA_ROOT)


DATA_ROOT_HELP = (
    "the data root: lake, DuckDB catalog, landing folders and Dagster instance "
    "(default: $PMA_DATA_ROOT or ./data)"
)


def _add_analyst_commands(sub: argparse._SubParsersAction, default_root: str) -> None:
    catalog = sub.add_parser(
        "catalog",
        help="every registry dataset and stage: materialized range, missing partitions, "
        "rows, last update and check states",
    )
    catalog.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    catalog.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    catalog.add_argument(
        "--refresh",
        action="store_true",
        help="first rebuild the DuckDB views from the lake (after moving or copying the root)",
    )
    catalog.set_defaults(func=_cmd_catalog)

    query = sub.add_parser(
        "query",
        help="read-only SQL over the DuckDB catalog (writes and files outside the lake are "
        "refused with exit code 2)",
    )
    query.add_argument("sql", help='one read statement, e.g. "select * from ercot.x limit 5"')
    query.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    output = query.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    output.add_argument("--parquet", metavar="FILE", help="write the result to a Parquet file")
    query.add_argument("--limit", type=int, help="at most N rows (the table shows 100 by default)")
    query.add_argument("--force", action="store_true", help="--parquet may replace a file")
    query.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="e.g. 2GB or 512MB (default: a quarter of the RAM, at most 4 GiB)",
    )
    query.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop the query after this long (default 60, 0 for no limit)",
    )
    query.set_defaults(func=_cmd_query)

    export = sub.add_parser(
        "export", help="a Parquet slice of one dataset (days, locations) from the lake"
    )
    export.add_argument("--iso", required=True)
    export.add_argument("--dataset", help="e.g. da_prices, or combined (not with --format cds)")
    export.add_argument(
        "--format",
        choices=("parquet", "cds"),
        default="parquet",
        help="cds: the fuel mix's carbon intensity as Carbon Data Spec usage segments "
        "(JSON, or Parquet for a .parquet --out)",
    )
    export.add_argument(
        "--with-history",
        action="store_true",
        help="with --format cds: also the earlier versions of each segment",
    )
    export.add_argument("--stage", default="raw_parquet", help="csv, raw_parquet or flattened")
    export.add_argument(
        "--kind", help="with --dataset combined: da_as_hourly, da_as_rt_hourly or da_as_rt_native"
    )
    export.add_argument("--locations", help="comma-separated locations (or AS products)")
    export.add_argument("--start", required=True, help="first operating day (ISO date)")
    export.add_argument("--end", required=True, help="last operating day (inclusive)")
    export.add_argument("--out", required=True, help="a .parquet file, or a folder")
    export.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    export.set_defaults(func=_cmd_export)

    backfill = sub.add_parser(
        "backfill",
        help="fetch a range of history from the ISO's live site (its URL from the "
        "PMA_<ISO>_URL variables, see the README) and materialize it in resumable chunks (days "
        "already in the lake are skipped), then the monthly stages",
    )
    backfill.add_argument("--iso", required=True)
    backfill.add_argument("--dataset", required=True, help="e.g. rt_prices")
    backfill.add_argument("--start", required=True, help="first operating day (ISO date)")
    backfill.add_argument("--end", required=True, help="last operating day (inclusive)")
    backfill.add_argument("--force", action="store_true", help="re-run materialized days too")
    backfill.add_argument("--chunk-days", type=int, default=31, help="days per run (default 31)")
    backfill.add_argument(
        "--no-monthly", action="store_true", help="skip the flattened/combined months"
    )
    backfill.add_argument(
        "--submit",
        action="store_true",
        help="queue the chunks (a month each) on the instance's run queue for dagster-daemon "
        "and the workers, at most PMA_ISO_RUN_LIMIT per ISO at once (docs/DEPLOY.md)",
    )
    backfill.add_argument(
        "--wait", action="store_true", help="with --submit: follow the runs to the end"
    )
    backfill.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    backfill.set_defaults(func=_cmd_backfill)

    report = sub.add_parser(
        "report",
        help="one ISO month as a self-contained HTML page (price statistics, battery value, "
        "plots inline) from the lake, and its headline numbers on stdout",
    )
    report.add_argument("--iso", required=True)
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument(
        "--battery", default="100MW/2h/0.86", help="POWER MW/HOURS h[/ROUND-TRIP EFFICIENCY]"
    )
    report.add_argument("--out", required=True, help="the .html file to write")
    report.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    report.set_defaults(func=_cmd_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="power-market", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    default_root = default_data_root(os.environ)

    demo = sub.add_parser(
        "demo",
        help="generate real-format sample files of all five ISOs (ERCOT, CAISO, NYISO, "
        "ISO-NE, PJM), serve them from stand-in servers on 127.0.0.1 and materialize every "
        "asset into the data root (nothing touches the internet)",
    )
    demo.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    demo.add_argument("--start", default="2024-11-01", help="first operating day (ISO date)")
    demo.add_argument("--end", default="2024-11-04", help="last operating day (inclusive)")
    demo.add_argument("--nodes", type=int, default=40, help="resource nodes besides hubs/zones")
    demo.set_defaults(func=_cmd_demo)

    ingest = sub.add_parser(
        "ingest", help="recognize dropped ISO files, land them in stage 1 and build raw_parquet"
    )
    ingest.add_argument("paths", nargs="+")
    ingest.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    ingest.add_argument(
        "--dataset",
        metavar="ISO/DATASET",
        help="what the files are (e.g. isone/rt_prices_hourly) when neither content nor name "
        "tells; a dataset the contents do not fit is refused",
    )
    ingest.set_defaults(func=_cmd_ingest)

    bench = sub.add_parser(
        "bench", help="time stage 1 -> 2 on generated ERCOT files (default: a month of RT prices)"
    )
    add_bench_arguments(bench)
    bench.set_defaults(func=_cmd_bench)
    _add_analyst_commands(sub, default_root)

    ui = sub.add_parser(
        "ui",
        help="start the Dagster UI on the data root's instance (runs, checks, plots); "
        "prints the URL, Ctrl-C stops it and every process it started",
    )
    ui.add_argument("--data-root", default=default_root, help=DATA_ROOT_HELP)
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=None, help="default: a free port")
    ui.set_defaults(func=_cmd_ui)
    for listed in sub._choices_actions:  # `power-market X --help` opens with what X does
        sub.choices[listed.dest].description = listed.help
    return parser


def main(argv: list[str] | None = None) -> None:
    # Dagster flags backfill policies and partitioned checks as beta/preview on every import.
    warnings.filterwarnings("ignore", message=".*(beta|preview).*")
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
