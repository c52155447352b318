"""The options of `power-market bench`, defined once for the CLI and `python -m ...bench`.

Kept free of heavy imports: the CLI builds its parser on every start.
"""

from __future__ import annotations

import argparse

# The ERCOT real-time price reports, and the largest fundamentals dataset (NP3-565-CD: every
# hourly vintage of the seven-day forecast by model and weather zone, ~207,000 rows a day).
BENCH_DATASETS = ("rt_prices", "rt_lmp", "load_forecast")
PHASES = (
    "floor-sum",
    "pandas",
    "pipeline",
    "pipeline+checks",
    "dagster run",
    "dagster run, persistent",
)
LONG_WINDOW_DAYS = 92  # above this: one repeat and a faster zip level by default


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        action="append",
        choices=BENCH_DATASETS,
        help="rt_prices (default), rt_lmp or load_forecast; repeat it for several",
    )
    parser.add_argument(
        "--datasets", help="comma-separated, e.g. rt_prices,rt_lmp (one table each)"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="N days from --month's first day (rt_prices, load_forecast; crosses months and "
        "years) or from 2024-11-02 (rt_lmp, default 3); default otherwise: the whole month",
    )
    parser.add_argument("--month", default="2024-07", help="YYYY-MM (rt_prices)")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"alternating rounds (default 3; 1 above {LONG_WINDOW_DAYS} days)",
    )
    parser.add_argument(
        "--skip-phases",
        default=None,
        help=f"comma-separated phases to leave out: {','.join(PHASES)} (default: pandas above "
        f"{LONG_WINDOW_DAYS} days, whose frames would need ~11 GiB a year; '' keeps every phase)",
    )
    parser.add_argument(
        "--no-dagster", action="store_true", help="leave out the dagster run phases too"
    )
    parser.add_argument(
        "--compresslevel",
        type=int,
        default=None,
        help=f"zlib level of the generated zips (default 6; 1 above {LONG_WINDOW_DAYS} days)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="a backfill of --months months on one process and on Celery workers (Postgres, "
        "Redis, dagster-daemon on 127.0.0.1): wall time and rows/s each",
    )
    parser.add_argument("--months", type=int, default=2, help="--distributed: months from --month")
    parser.add_argument("--workers", default="1,2", help="--distributed: worker counts, e.g. 1,2")
    parser.add_argument("--lake", help="--distributed: the workers' data root, e.g. s3://b/prefix")
    parser.add_argument("--bess", action="store_true", help="the battery LPs (default a year)")
    parser.add_argument("--locations", type=int, default=15, help="--bess: price locations")


def chosen_datasets(args: argparse.Namespace) -> list[str]:
    """--dataset (repeatable) and --datasets together, in the order given, rt_prices if none."""
    names = list(args.dataset or [])
    names += [n.strip() for n in (args.datasets or "").split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCH_DATASETS))
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; choose from {list(BENCH_DATASETS)}")
    return list(dict.fromkeys(names)) or ["rt_prices"]


def skipped_phases(args: argparse.Namespace) -> frozenset[str] | None:
    """The phases --skip-phases names (None: not given, the window decides)."""
    if args.skip_phases is None:
        return None
    skipped = frozenset(_phase_names(args.skip_phases))
    unknown = sorted(skipped - set(PHASES))
    if unknown:
        raise SystemExit(f"unknown phase(s) {unknown}; choose from {list(PHASES)}")
    return skipped


def _phase_names(text: str) -> list[str]:
    """Comma-separated phase names, where "dagster run, persistent" (a name with a comma of
    its own) is one name, not "dagster run" and "persistent"."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    names: list[str] = []
    while parts:
        pair = ", ".join(parts[:2])
        names.append(pair if pair in PHASES else parts[0])
        parts = parts[2:] if pair in PHASES else parts[1:]
    return names


def default_skipped(days: int) -> frozenset[str]:
    """pandas holds ~300 bytes a row: fine for a quarter, about 11 GiB for a year."""
    return frozenset({"pandas"}) if days > LONG_WINDOW_DAYS else frozenset()
