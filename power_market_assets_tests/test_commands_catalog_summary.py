"""Issue 10, items 7, 8 and 10: a failed backfill leaves other days' check states alone and
says how to reach the ISO; `catalog` answers from a summary without Dagster; `export`
refuses misspelled locations and exports combined tables."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.commands.backfill import run_backfill
from power_market_assets.commands.catalog import run_catalog
from power_market_assets.commands.export import run_export
from power_market_assets.io.lake import Lake, write_parquet_files
from power_market_assets.io.summary import load_summary, record_partitions, summary_path
from power_market_assets.registry import ercot
from power_market_assets.sources.http import HttpClient
from power_market_assets_tests.helpers import build_lake
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

RAW = "ercot/da_prices/raw_parquet"
GOOD_DAYS = ("2024-11-02", "2024-11-03")


def _closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _entries(root: Path) -> dict[tuple[str, str, str], dict]:
    out = io.StringIO()
    assert run_catalog(str(root), as_json=True, out=out) == 0
    return {(e["iso"], e["dataset"], e["stage"]): e for e in json.loads(out.getvalue())["datasets"]}


def _table(root: Path) -> list[str]:
    out = io.StringIO()
    assert run_catalog(str(root), out=out) == 0
    return out.getvalue().splitlines()


@pytest.fixture(scope="module")
def offline_root(tmp_path_factory) -> tuple[Path, int, str]:
    """Two good days through flattened, then an offline backfill of two other days."""
    root = tmp_path_factory.mktemp("first_hour") / "data"
    days = [date.fromisoformat(d) for d in GOOD_DAYS]
    docs = generate_documents(ercot.DA_PRICES, days, n_nodes=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        with ErcotStandInServer(docs) as server:
            patch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
            good = run_backfill("ERCOT", "da_prices", *GOOD_DAYS, data_root=str(root))
        assert good == 0
        patch.setattr(HttpClient, "backoff_delay", lambda self, attempt: 0.0)  # fast retries
        patch.setenv("PMA_ERCOT_MIS_URL", f"http://127.0.0.1:{_closed_port()}")
        err, console = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(console):  # what else reaches the terminal
            code = run_backfill(
                "ERCOT", "da_prices", "2024-11-05", "2024-11-06", data_root=str(root), err=err
            )
    return root, code, err.getvalue() + console.getvalue()


@pytest.mark.slow
def test_failed_backfill_keeps_other_days_check_states(offline_root) -> None:
    root, code, _ = offline_root
    assert code == 1
    raw = _entries(root)[("ERCOT", "da_prices", "raw_parquet")]
    assert (raw["first"], raw["last"], raw["partitions"]) == ("2024-11-02", "2024-11-03", 2)
    assert raw["checks"]["state"] == "passed"
    assert all(c["status"] == "passed" for c in raw["checks"]["checks"].values())
    assert len(raw["checks"]["checks"]) == 5


@pytest.mark.slow
def test_unreachable_iso_message_says_where_to_point(offline_root) -> None:
    _, _, err = offline_root
    assert "ERCOT could not be reached at http://127.0.0.1:" in err
    assert "(connection failed)" in err
    assert "PMA_ERCOT_MIS_URL=" in err
    assert "landing/inbox" in err and "power-market ingest" in err
    assert "Traceback" not in err and "Stack Trace" not in err and 'File "' not in err
    assert len([line for line in err.splitlines() if "retry" not in line]) < 8


@pytest.mark.slow
def test_catalog_reads_the_summary_without_dagster(offline_root, tmp_path: Path) -> None:
    root, _, _ = offline_root
    assert summary_path(Lake.at(root)).exists()
    code = (
        "import sys; from power_market_assets.commands.catalog import run_catalog; "
        f"run_catalog({str(root)!r}); print(sorted(m for m in sys.modules if 'dagster' in m))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    assert " raw_parquet " in done.stdout


@pytest.mark.slow
def test_months_print_as_months_and_csv_counts_files(offline_root) -> None:
    root, _, _ = offline_root
    lines = _table(root)
    flat = next(line for line in lines if " da_prices " in line and " flattened " in line)
    csv = next(line for line in lines if " da_prices " in line and " csv " in line)
    raw = next(line for line in lines if " da_prices " in line and " raw_parquet " in line)
    assert " 2024-11 " in flat and "2024-11-01" not in flat
    assert " 2 files " in csv and " rows" not in csv
    assert f" {24 * 22 + 25 * 22:,} rows " in raw


@pytest.mark.slow
def test_refresh_rebuilds_the_summary_from_the_lake(offline_root) -> None:
    root, _, _ = offline_root
    before = _entries(root)
    summary_path(Lake.at(root)).unlink()
    out = io.StringIO()
    assert run_catalog(str(root), as_json=True, refresh=True, out=out) == 0
    after = {
        (e["iso"], e["dataset"], e["stage"]): e for e in json.loads(out.getvalue())["datasets"]
    }
    key = ("ERCOT", "da_prices", "raw_parquet")
    for field in ("first", "last", "partitions", "rows", "missing"):
        assert after[key][field] == before[key][field]
    assert load_summary(Lake.at(root)) is not None


def _record_many(root: str, worker: int, count: int) -> None:
    lake = Lake.at(root)
    for n in range(count):
        key = (date(2024, 1, 1) + timedelta(days=worker * count + n)).isoformat()
        record_partitions(lake, RAW, "daily", {key: n}, {key: {"schema": "passed"}})


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    root, workers, count = str(tmp_path / "data"), 3, 25
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_record_many, args=(root, w, count)) for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    partitions = load_summary(Lake.at(root))["assets"][RAW]["partitions"]
    assert len(partitions) == workers * count


def test_a_partition_keeps_its_own_check_outcome(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "data")
    write_parquet_files({lake.partition_file(RAW, d): pl.DataFrame({"x": [1]}) for d in GOOD_DAYS})
    record_partitions(lake, RAW, "daily", {GOOD_DAYS[0]: 1}, {GOOD_DAYS[0]: {"gaps": "warn"}})
    record_partitions(lake, RAW, "daily", {GOOD_DAYS[1]: 1}, {GOOD_DAYS[1]: {"gaps": "passed"}})
    raw = _entries(lake.root)[("ERCOT", "da_prices", "raw_parquet")]
    assert raw["checks"]["state"] == "warn: gaps"
    assert raw["checks"]["checks"]["gaps"]["failed_partitions"] == [GOOD_DAYS[0]]


# --- export -------------------------------------------------------------------------------


def _export(root: Path, out: Path, **kwargs) -> tuple[int, str]:
    err = io.StringIO()
    args = {"iso": "ERCOT", "dataset": "da_prices", "start": "2024-11-01", "end": "2024-11-02"}
    args.update(kwargs)
    return run_export(out=str(out), data_root=str(root), err=err, **args), err.getvalue()


def test_misspelled_location_is_an_error_naming_the_closest(tmp_path: Path) -> None:
    lake = build_lake(tmp_path / "data")
    out = tmp_path / "slice.parquet"
    code, err = _export(lake.root, out, locations="HB_NORHT")
    assert code == 2 and not out.exists()
    assert "'HB_NORHT' (closest: HB_NORTH" in err and RAW in err
    code, err = _export(lake.root, out, stage="flattened", locations="HB_WETS,HB_NORTH")
    assert code == 2 and "'HB_WETS' (closest: hb_west" in err and not out.exists()


def _combined_month(lake: Lake) -> None:
    start = datetime(2024, 11, 1, 5, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "interval_start_utc": [start + timedelta(hours=h) for h in range(48)],
            "operating_day": [date(2024, 11, 1)] * 24 + [date(2024, 11, 2)] * 24,
            "da_hb_north": [float(h) for h in range(48)],
            "da_hb_west": [1.0] * 48,
            "as_regup": [2.0] * 48,
            "rt_hb_north_mean": [3.0] * 48,
            "rt_hb_west_mean": [4.0] * 48,
        }
    )
    write_parquet_files(
        {lake.partition_file("ercot/combined/da_as_rt_hourly", "2024-11-01"): frame}
    )


def test_combined_tables_can_be_exported(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "data")
    _combined_month(lake)
    out = tmp_path / "combined.parquet"
    code, err = _export(
        lake.root, out, dataset="combined", kind="da_as_rt_hourly", end="2024-11-01",
        locations="HB_NORTH,REGUP",
    )  # fmt: skip
    assert code == 0, err
    frame = pl.read_parquet(out)
    assert frame.columns == ["interval_start_utc", "operating_day", "da_hb_north", "as_regup",
                             "rt_hb_north_mean"]  # fmt: skip
    assert frame.height == 24
    code, err = _export(lake.root, out, dataset="combined", kind="da_as_rt_hourly",
                        locations="HB_NROTH")  # fmt: skip
    assert code == 2 and "closest: hb_north" in err
    code, err = _export(lake.root, out, dataset="combined")
    assert code == 2 and "--kind" in err and "da_as_rt_hourly" in err
