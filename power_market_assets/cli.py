"""`power-market`: the demo, ingest of dropped files, and the stage 1 -> 2 benchmark."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from power_market_assets.demo import run_demo

    return run_demo(data_root=args.data_root, start=args.start, end=args.end, nodes=args.nodes)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from power_market_assets.ingest import ingest_paths

    return ingest_paths([Path(p) for p in args.paths], data_root=args.data_root)


def _cmd_bench(args: argparse.Namespace) -> int:
    from power_market_assets.bench import run_benchmark

    return run_benchmark(
        month=args.month, nodes=args.nodes, repeats=args.repeats, dagster=not args.no_dagster
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="power-market", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    default_root = os.environ.get("PMA_DATA_ROOT", "data")

    demo = sub.add_parser(
        "demo",
        help="generate real-format ERCOT sample files, serve them on 127.0.0.1 and "
        "materialize every ERCOT asset into the data root",
    )
    demo.add_argument("--data-root", default=default_root)
    demo.add_argument("--start", default="2024-11-01", help="first operating day (ISO date)")
    demo.add_argument("--end", default="2024-11-04", help="last operating day (inclusive)")
    demo.add_argument("--nodes", type=int, default=40, help="resource nodes besides hubs/zones")
    demo.set_defaults(func=_cmd_demo)

    ingest = sub.add_parser(
        "ingest", help="recognize dropped ISO files, land them in stage 1 and build raw_parquet"
    )
    ingest.add_argument("paths", nargs="+")
    ingest.add_argument("--data-root", default=default_root)
    ingest.set_defaults(func=_cmd_ingest)

    bench = sub.add_parser("bench", help="time stage 1 -> 2 on one generated month of RT prices")
    bench.add_argument("--month", default="2024-07", help="YYYY-MM")
    bench.add_argument("--nodes", type=int, default=1000)
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--no-dagster", action="store_true", help="skip the Dagster backfill run")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> None:
    # Dagster flags backfill policies and partitioned checks as beta/preview on every import.
    warnings.filterwarnings("ignore", message=".*(beta|preview).*")
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
