"""Plain helpers shared by several test modules (fixtures live in conftest.py).

- A tiny hand-built lake for the CLI tests that need no Dagster run (query, export, catalog):
  frames follow the lake layout and column names of the real stages, with a few locations and
  days, so the commands are tested on what they read, fast.
- `SleepRecorder` for the source-client tests: HttpClient's waits recorded, not slept;
  `isone_source` and `use_ercot_api` for the asset tests against the stand-in servers.
- The real-browser UI test's machinery: `dagster dev` as a child process, headless Chromium
  through selenium (Debian's chromium + chromium-driver, never a downloaded driver), and the
  webserver's GraphQL API.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.isone_resource import IsoneSource
from power_market_assets.io.lake import Lake, write_failure_marker, write_parquet_files
from power_market_assets.registry.ercot import RT_LMP
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.names import assign_wide_columns, wide_key
from power_market_assets.transforms.time import expected_interval_frame

LOCATIONS = ("HB_NORTH", "HB_WEST", "LZ_HOUSTON")
DAYS = (date(2024, 11, 1), date(2024, 11, 2), date(2024, 11, 4))  # 11-03 missing on purpose
FAILED_DAY = date(2024, 11, 4)  # its file exists, but a later re-run failed its checks
RAW = "ercot/da_prices/raw_parquet"
FLAT = "ercot/da_prices/flattened"


def raw_day(day: date) -> pl.DataFrame:
    """24 hourly rows per location for one operating day (UTC-6 is close enough here)."""
    start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    rows = [
        {
            "interval_start_utc": start + timedelta(hours=h),
            "operating_day": day,
            "location": location,
            "lmp": float(10 * n + h),
        }
        for n, location in enumerate(LOCATIONS)
        for h in range(24)
    ]
    return pl.DataFrame(rows)


def flat_month(frames: list[pl.DataFrame]) -> pl.DataFrame:
    long = pl.concat(frames)
    columns = assign_wide_columns(LOCATIONS)  # the stage's wide names: HB_NORTH -> hb_north
    long = long.with_columns(pl.col("location").replace_strict(columns))
    return long.pivot(on="location", index=["interval_start_utc", "operating_day"], values="lmp")


def build_lake(root: Path) -> Lake:
    lake = Lake.at(root)
    frames = {day: raw_day(day) for day in DAYS}
    files = {lake.partition_file(RAW, d.isoformat()): f for d, f in frames.items()}
    files[lake.partition_file(FLAT, "2024-11-01")] = flat_month(list(frames.values()))
    write_parquet_files(files)
    write_failure_marker(lake.failure_marker(RAW, FAILED_DAY.isoformat()), "duplicates: 2 rows")
    refresh_catalog(lake)
    return lake


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query_text(sql: str, lake: Lake, **kwargs) -> tuple[int, str]:
    """`power-market query` on a lake: its exit code and what it printed."""
    from power_market_assets.commands.query import run_query

    out = io.StringIO()
    code = run_query(sql, str(lake.root), out=out, **kwargs)
    return code, out.getvalue()


# Source clients


class SleepRecorder:
    """Stands in for time.sleep in HttpClient: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def use_ercot_api(monkeypatch, server, username: str, password: str, key: str) -> None:
    """Point the ERCOT resource at the stand-in's public API, with these credentials."""
    monkeypatch.setenv("PMA_ERCOT_CHANNEL", "api")
    monkeypatch.setenv("PMA_ERCOT_API_URL", server.api_base_url)
    monkeypatch.setenv("PMA_ERCOT_TOKEN_URL", server.token_url)
    monkeypatch.setenv("ERCOT_API_USERNAME", username)
    monkeypatch.setenv("ERCOT_API_PASSWORD", password)
    monkeypatch.setenv("ERCOT_API_SUBSCRIPTION_KEY", key)


def isone_source(server, channel: str) -> IsoneSource:
    """An IsoneSource on the ISO-NE stand-in server: its credentials, fast retries, no pacing."""
    return IsoneSource(
        channel=channel,
        base_url=server.base_url,
        username=server.username,
        password=server.password,
        max_retries=2,
        backoff_seconds=0.01,
        min_request_interval_seconds=0.0,
        webservices_min_request_interval_seconds=0.0,
    )


# The browser UI test

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "data" / "test-artifacts"  # data/ is gitignored
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses (see the machine notes); a fresh profile every time.
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)

TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


def missing_browser() -> str | None:
    """Why the browser test can't run here, or None when it can."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return (
            f"{' and '.join(missing)} not installed (Debian packages chromium and "
            "chromium-driver; .ci/run installs them)"
        )
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Call `probe` until it returns something truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # a probe may fail while the thing starts up
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def chrome(user_data_dir: Path):
    """Headless Chromium driven through /usr/bin/chromedriver (selenium must not download one)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROME_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    return driver


def graphql(base_url: str, query: str, variables: dict | None = None, timeout: float = 15) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


class DagsterDev:
    """`dagster dev` (webserver + daemon + code server) on 127.0.0.1:<port>, logs to a file.

    Started in its own session so that stop() can end the whole tree it spawned (webserver,
    daemon, code server, run workers) by its process group id, and nothing else.
    """

    def __init__(self, home: Path, port: int, env: dict[str, str], log_path: Path):
        self.home = home
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 180) -> DagsterDev:
        dagster = Path(sys.executable).with_name("dagster")
        command = [str(dagster) if dagster.exists() else "dagster", "dev"]
        command += [
            "-w",
            str(REPO_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        env = {**os.environ, **self.env, "DAGSTER_HOME": str(self.home)}
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A shell's background job inherits SIGINT ignored, and dagster maps SIGTERM to
            # the SIGINT handler: restore it so that stop() can shut dagster down cleanly.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        wait_for("the Dagster webserver and the code location", self._ready, timeout)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}"
            )
        try:
            data = graphql(self.base_url, WORKSPACE_QUERY, timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError, RuntimeError):
            return False
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            location = entry.get("locationOrLoadError") or {}
            if location.get("__typename") == "PythonError":
                raise RuntimeError(f"code location failed to load: {location.get('message')}")
        return bool(entries) and all(
            e["loadStatus"] == "LOADED"
            and (e.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
            for e in entries
        )

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 20) -> None:
        process = self.process
        if process is not None:
            pgid = process.pid  # start_new_session: the group id is dagster dev's own pid
            if process.poll() is None:
                try:
                    os.killpg(pgid, signal.SIGINT)
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
                except ProcessLookupError:
                    pass
            # whatever of the tree is left (or a stuck dagster dev): kill by the group id
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DagsterDev:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


# Hand-built standard long tables (transforms and quality tests), no format readers

TZ = "America/Chicago"
FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)
NORMAL_DAY = date(2024, 11, 4)
TIME_COLUMNS = ["interval_start_utc", "interval_end_utc", "interval_start_local", "operating_day"]

ValueFn = Callable[[pl.Expr], pl.Expr]  # interval index (0..n-1 over the grid) -> value


def _default_value(name: str) -> ValueFn:
    """Distinct per series, increasing with the interval index."""
    offset = float(sum(ord(ch) for ch in name) % 97)
    return lambda index: index.cast(pl.Float64) + offset


def _grid(spec: DatasetSpec, days: Iterable[date]) -> pl.DataFrame:
    grid = expected_interval_frame(list(days), spec.timezone, spec.interval_minutes)
    return grid.with_row_index("_i")


def _finish(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    minutes = spec.interval_minutes
    frame = frame.with_columns(
        interval_end_utc=pl.col("interval_start_utc").dt.offset_by(f"{minutes}m"),
        interval_start_local=pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone),
        iso=pl.lit(spec.iso),
        market=pl.lit(spec.market),
        interval_minutes=pl.lit(minutes),
        source_file=pl.lit(f"{spec.dataset}_test.csv"),
    )
    return frame.select([pl.col(n).cast(t) for n, t in spec.schema.items()]).sort(
        "interval_start_utc", spec.pivot_column
    )


def price_long(
    spec: DatasetSpec,
    days: Iterable[date],
    series: Sequence[tuple[str, str]],
    values: dict[str, ValueFn] | None = None,
) -> pl.DataFrame:
    """Long price table with every interval of `days` for each (location, location_type).

    `values` maps a wide column name (e.g. "LZ_AEN_EW") to a function of the interval index.
    """
    grid = _grid(spec, days)
    parts = []
    for location, location_type in series:
        name = wide_key(location, location_type)
        fn = (values or {}).get(name, _default_value(name))
        parts.append(
            grid.with_columns(
                location=pl.lit(location),
                location_type=pl.lit(location_type),
                iso_location_type=pl.lit(location_type[:2]),
                lmp=fn(pl.col("_i")).cast(pl.Float64),
                energy=pl.lit(None, pl.Float64),
                congestion=pl.lit(None, pl.Float64),
                loss=pl.lit(None, pl.Float64),
                ghg=pl.lit(None, pl.Float64),
            )
        )
    return _finish(pl.concat(parts), spec)


def ancillary_long(
    spec: DatasetSpec,
    days: Iterable[date],
    products: Sequence[str],
    values: dict[str, ValueFn] | None = None,
) -> pl.DataFrame:
    """Long ancillary table with every interval of `days` for each product."""
    grid = _grid(spec, days)
    parts = [
        grid.with_columns(
            product=pl.lit(p), price=(values or {}).get(p, _default_value(p))(pl.col("_i"))
        )
        for p in products
    ]
    return _finish(pl.concat(parts), spec)


def drop_intervals(
    long: pl.DataFrame, spec: DatasetSpec, indexes: Sequence[int], series: str | None = None
) -> pl.DataFrame:
    """Remove the rows at grid positions `indexes` for one series (None = all series)."""
    times = long.get_column("interval_start_utc").unique().sort()
    mask = pl.col("interval_start_utc").is_in(times.gather(list(indexes)).implode())
    if series is not None:
        mask = mask & (pl.col(spec.pivot_column) == series)
    return long.filter(~mask)


def irregular_long(
    days: Iterable[date],
    series: Sequence[tuple[str, str]],
    values: dict[str, ValueFn] | None = None,
    seconds: int = 12,
    spec: DatasetSpec = RT_LMP,
) -> pl.DataFrame:
    """Long table of irregular data (SCED-like): one stamp per nominal bucket, `seconds` past
    the bucket start (00:15:12 style), for each series."""
    long = price_long(spec, days, series, values)
    shift = pl.duration(seconds=seconds)
    return long.with_columns(
        pl.col("interval_start_utc") + shift,
        pl.col("interval_end_utc") + shift,
        pl.col("interval_start_local") + shift,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ingest_paths(paths: list[Path], data_root: str = "data", dataset: str | None = None) -> int:
    """`power-market ingest` as the CLI runs it: with the project's Definitions passed in
    (imported here so that tests which never ingest do not load the Definitions)."""
    from power_market_assets.commands import ingest
    from power_market_assets.definitions import build_definitions

    return ingest.ingest_paths(paths, data_root, dataset, build_definitions=build_definitions)
