"""`power-market bench --distributed`: a two-month ERCOT backfill on one process and on Celery
workers (issue 16), with wall time and rows/s side by side.

Everything runs on 127.0.0.1: the stand-in ERCOT server serves generated real-format files,
a PostgreSQL server holds the instance, Redis is the Celery broker, `dagster-daemon run`
dequeues the month chunks `backfill --submit` queues, and N `celery -A dagster_celery.app
worker` processes (one step at a time each) stand for N machines. The single-process figure is
today's `power-market backfill` on the embedded SQLite instance and the local disk. Wall time
runs from the first submission to the last chunk's end (the daemon and workers are up before);
rows are the raw_parquet rows the lake holds afterwards. `--lake s3://bucket/prefix` puts the
distributed runs' lake on object storage (PMA_S3_ENDPOINT_URL and the AWS_* variables as for any
s3:// data root). Prints figures, never asserts on time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import polars as pl
from celery import Celery

from power_market_assets.automation import runs
from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from power_market_assets.commands.backfill import run_backfill
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.registry import get_spec
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import days_between, next_month
from power_market_standins import local_services
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
READY_SECONDS = 180.0


@dataclass(frozen=True)
class Figure:
    setup: str
    workers: int
    seconds: float
    rows: int
    stage1_bytes: int = 0  # csv stage: joined CSVs, the archives as served, manifests
    parquet_bytes: int = 0  # raw_parquet

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def daemon_command() -> list[str]:
    """The daemon of the deployment (run queue, sensors, schedules, run monitoring)."""
    return [str(BIN / "dagster-daemon"), "run", "-m", "power_market_assets.definitions"]


def worker_command(name: str) -> list[str]:
    """One dagster-celery worker: one step at a time (solo pool) from the `dagster` queue; its
    broker comes from deploy/celery/dagster_celery_config.py (PYTHONPATH)."""
    return [
        str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "-Q", "dagster",
        "-P", "solo", "--prefetch-multiplier=1", "-n", f"{name}@%h", "--loglevel", "WARNING",
    ]  # fmt: skip


def deployment_env(
    base: Mapping[str, str],
    root: str,
    mis_url: str,
    postgres_url: str,
    broker_url: str,
    work_dir: Path | None = None,
) -> dict[str, str]:
    """What every process of the cluster deployment shares: data root, ISO URL, instance,
    broker, and the Celery settings module on PYTHONPATH (`work_dir`: an s3:// root's local
    work directory, PMA_WORK_DIR)."""
    home = str(Lake.at(root, work_dir=work_dir).dagster_home)
    python_path = [str(DEPLOY / "celery"), base.get("PYTHONPATH", "")]
    machine = {"PMA_WORK_DIR": str(work_dir)} if work_dir else {}
    return {
        **base,
        **machine,
        "PMA_DATA_ROOT": root,
        "PMA_ERCOT_MIS_URL": mis_url,
        "PMA_INSTANCE_YAML": str(DEPLOY / "cluster" / "dagster.yaml"),
        "PMA_POSTGRES_URL": postgres_url,
        "PMA_CELERY_BROKER_URL": broker_url,
        "DAGSTER_HOME": home,
        "PYTHONPATH": os.pathsep.join(p for p in python_path if p),
    }


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """This process's environment set to `values` inside (the CLI code reads its settings from
    it, as it would in a shell), restored after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def processes(commands: Sequence[tuple[list[str], Mapping[str, str]]], log: Path) -> Iterator[None]:
    """Start the daemon and workers (each command with its environment), output in `log`;
    SIGTERM (then SIGKILL) them at the end."""
    started: list[subprocess.Popen] = []
    with log.open("a") as out:
        try:
            for command, env in commands:
                started.append(
                    subprocess.Popen(command, cwd=REPO, env=dict(env), stdout=out, stderr=out)
                )
            yield
        finally:
            for proc in started:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in started:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def wait_until_ready(root: str, broker_url: str, workers: int) -> None:
    """The daemon's run queue has a heartbeat and every worker answers a ping."""
    deadline = time.monotonic() + READY_SECONDS
    app = Celery(broker=broker_url, backend=broker_url)
    instance = runs.persistent_instance(Lake.at(root).root)
    try:
        while time.monotonic() < deadline:
            beats = instance.get_daemon_heartbeats()
            answered = app.control.ping(timeout=1.0) or []
            if "QUEUED_RUN_COORDINATOR" in beats and len(answered) >= workers:
                return
            time.sleep(0.5)
    finally:
        instance.dispose()
        app.close()
    raise RuntimeError(f"daemon or {workers} worker(s) not ready after {READY_SECONDS:g} s")


def lake_rows(root: str, spec: DatasetSpec, days: list[date]) -> int:
    """The days' raw_parquet rows (from an s3:// lake the files are brought down first)."""
    keys = [day.isoformat() for day in days]
    files = Lake.at(root).existing_partition_files(stage_lake_path(spec, "raw_parquet"), keys)
    return int(pl.scan_parquet(files).select(pl.len()).collect().item()) if files else 0


def stage_bytes(root: str, spec: DatasetSpec, stage: str) -> int:
    folder = Lake.at(root).stage_dir(stage_lake_path(spec, stage))
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def bench_window(month: str, months: int) -> list[date]:
    first = date.fromisoformat(f"{month}-01")
    last = first
    for _ in range(months):
        last = next_month(last)
    return days_between(first, date.fromordinal(last.toordinal() - 1))


def backfill(spec: DatasetSpec, days: list[date], root: str, submit: bool) -> tuple[int, str]:
    err = io.StringIO()
    code = run_backfill(
        spec.iso, spec.dataset, days[0].isoformat(), days[-1].isoformat(), data_root=root,
        monthly=False, err=err, submit=submit, wait=submit,
    )  # fmt: skip
    return code, err.getvalue()


def single_process(spec: DatasetSpec, days: list[date], root: Path, mis_url: str) -> Figure:
    """Today's backfill: in this process, embedded SQLite instance, local disk."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMA_", "DAGSTER_HOME"))}
    with environment({**env, "PMA_ERCOT_MIS_URL": mis_url, "PMA_DATA_ROOT": str(root)}):
        started = time.perf_counter()
        code, err = backfill(spec, days, str(root), submit=False)
        seconds = time.perf_counter() - started
    if code != EXIT_OK:
        raise RuntimeError(f"single-process backfill failed:\n{err[-2000:]}")
    sizes = [stage_bytes(str(root), spec, stage) for stage in ("csv", "raw_parquet")]
    rows = lake_rows(str(root), spec, days)
    return Figure("single process, local disk", 1, seconds, rows, *sizes)


@dataclass(frozen=True)
class Services:
    mis_url: str
    postgres: local_services.PostgresServer
    redis: local_services.RedisServer


def on_workers(
    spec: DatasetSpec, days: list[date], root: str, services: Services, workers: int, work: Path
) -> Figure:
    """The same backfill queued in month chunks, run by the daemon over `workers` workers.
    With an s3:// lake each worker has its own work directory, as a machine of its own would."""
    database = services.postgres.create_database("bench")
    broker = services.redis.url(workers % 16)  # a Redis database per setup: no stale tasks
    remote = root.startswith("s3://")
    main_dir = work / f"workers{workers}-main" if remote else None
    env = deployment_env(os.environ, root, services.mis_url, database, broker, main_dir)
    commands = [(daemon_command(), env)]
    for n in range(1, workers + 1):
        own = {"PMA_WORK_DIR": str(work / f"workers{workers}-worker{n}")} if remote else {}
        commands.append((worker_command(f"worker{n}"), {**env, **own}))
    log = work / f"workers{workers}.log"
    with environment(env):
        runs.persistent_instance(Lake.at(root).root).dispose()  # the home's dagster.yaml
        with processes(commands, log):
            wait_until_ready(root, broker, workers)
            started = time.perf_counter()
            code, err = backfill(spec, days, root, submit=True)
            seconds = time.perf_counter() - started
    if code != EXIT_OK:
        raise RuntimeError(f"backfill on {workers} worker(s) failed:\n{err[-2000:]} (log {log})")
    lake = "object storage" if root.startswith("s3://") else "local disk"
    rows = lake_rows(root, spec, days)
    return Figure(f"celery, {workers} worker(s), {lake}", workers, seconds, rows)


def print_figures(spec: DatasetSpec, days: list[date], nodes: int, figures: list[Figure]) -> None:
    print(
        f"\n{spec.iso} {spec.dataset} ({spec.report_code}), {days[0]}..{days[-1]} "
        f"({len(days)} days, {nodes} nodes besides hubs and zones), month chunks"
    )
    print(f"{'setup':<40} {'wall s':>8} {'rows':>12} {'rows/s':>10} {'vs single':>10}")
    base = figures[0].seconds
    for figure in figures:
        speedup = base / figure.seconds if figure.seconds else 0.0
        print(
            f"{figure.setup:<40} {figure.seconds:>8.1f} {figure.rows:>12,} "
            f"{figure.rows_per_s:>10,.0f} {speedup:>9.2f}x"
        )
    single = figures[0]
    print(
        f"lake: stage 1 {single.stage1_bytes / 1e6:,.1f} MB, raw_parquet "
        f"{single.parquet_bytes / 1e6:,.1f} MB ({single.parquet_bytes / max(single.rows, 1):.1f} "
        "bytes a row)\n"
        "wall = first submission to the last chunk's end (daemon and workers already up); "
        "the queued runs pay each run's process start and Dagster's dequeue interval"
    )


def run_distributed_benchmark(
    months: int = 2,
    workers: Sequence[int] = (1, 2),
    lake: str | None = None,
    nodes: int = 1000,
    month: str = "2024-07",
    dataset: str = "rt_prices",
    json_path: Path | None = None,
) -> int:
    spec = get_spec("ERCOT", dataset)
    days = bench_window(month, months)
    print(f"generating {len(days)} days of {spec.report_code} ({nodes} nodes) ...", flush=True)
    documents = generate_documents(spec, days, n_nodes=nodes)
    figures: list[Figure] = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pma-bench-dist-")))
        server = stack.enter_context(ErcotStandInServer(documents))
        try:
            postgres = stack.enter_context(local_services.postgres_server())
            redis = stack.enter_context(local_services.redis_server())
        except local_services.ServiceUnavailable as exc:
            print(f"cannot run the distributed benchmark: {exc}", file=sys.stderr)
            return EXIT_USAGE
        services = Services(server.base_url, postgres, redis)
        figures.append(single_process(spec, days, work / "single", server.base_url))
        print(f"single process: {figures[-1].seconds:.1f} s", flush=True)
        for count in workers:
            root = f"{lake.rstrip('/')}/workers{count}" if lake else str(work / f"workers{count}")
            try:
                figures.append(on_workers(spec, days, root, services, count, work))
            except RuntimeError as exc:
                log = work / f"workers{count}.log"
                print(f"{count} worker(s): {exc}", file=sys.stderr)
                print(log.read_text()[-3000:] if log.exists() else "", file=sys.stderr)
                return EXIT_FAILED
            print(f"{count} worker(s): {figures[-1].seconds:.1f} s", flush=True)
    print_figures(spec, days, nodes, figures)
    if json_path:
        rows = [{**asdict(f), "rows_per_s": f.rows_per_s} for f in figures]
        json_path.write_text(json.dumps({"days": len(days), "nodes": nodes, "figures": rows}))
    return EXIT_OK


def worker_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise SystemExit(f"--workers {text!r}: comma-separated counts of at least 1")
    return counts


def run_from_args(args: argparse.Namespace) -> int:
    """`power-market bench --distributed [--months 2] [--workers 1,2] [--lake URL]`."""
    datasets = [*(args.dataset or []), *(args.datasets or "").split(",")]
    dataset = next((d.strip() for d in datasets if d and d.strip()), "rt_prices")
    return run_distributed_benchmark(
        months=args.months,
        workers=worker_counts(args.workers),
        lake=args.lake,
        nodes=args.nodes,
        month=args.month,
        dataset=dataset,
        json_path=Path(args.json) if args.json else None,
    )
