"""`power-market backfill` against the stand-in ERCOT server: skip, force, resume."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.cli import main
from power_market_assets.commands.backfill import Runner, chunk_ranges, month_ranges, run_backfill
from power_market_assets.io.lake import Lake
from power_market_assets.registry import ercot
from power_market_standins.ercot import corrupt_document, generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = pytest.mark.slow  # backfills through Dagster

DAYS = [date(2024, 11, 1) + timedelta(days=i) for i in range(4)]
RAW = "ercot/da_prices/raw_parquet"
CLI_ARGS = ["backfill", "--iso", "ERCOT", "--dataset", "da_prices", "--chunk-days", "2"]
CLI_ARGS += ["--start", "2024-11-01", "--end", "2024-11-04", "--no-monthly"]
BAD_DAY = date(2024, 11, 3)  # in the second chunk of two days


@pytest.fixture(scope="module")
def documents():
    return generate_documents(ercot.DA_PRICES, DAYS, n_nodes=3)


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    return tmp_path / "data"


def _backfill(root: Path, server: ErcotStandInServer, monkeypatch, **kwargs) -> tuple[int, str]:
    monkeypatch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
    err = io.StringIO()
    args = {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat(), "chunk_days": 2}
    args.update(kwargs)
    code = run_backfill("ERCOT", "da_prices", data_root=str(root), err=err, **args)
    return code, err.getvalue()


def _raw_days(root: Path) -> list[str]:
    return [p.stem for p in Lake.at(root).all_partition_files(RAW)]


def _daily_runs(root: Path) -> list[tuple[str, str]]:
    instance = dg.DagsterInstance.from_config(str(root / "dagster_home"))
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="ercot_da_prices_daily"))
    start, end = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
    return sorted((r.tags[start], r.tags[end]) for r in runs)


def test_chunking() -> None:
    days = [date(2024, 1, d) for d in (1, 2, 3, 4, 5, 9, 10)]
    assert chunk_ranges(days, 2) == [
        (date(2024, 1, 1), date(2024, 1, 2)),
        (date(2024, 1, 3), date(2024, 1, 4)),
        (date(2024, 1, 5), date(2024, 1, 5)),
        (date(2024, 1, 9), date(2024, 1, 10)),
    ]
    months = [date(2024, 1, 31), date(2024, 2, 1), date(2024, 4, 2)]
    assert month_ranges(months) == [("2024-01-01", "2024-02-01"), ("2024-04-01", "2024-04-01")]


def test_materialize_skip_force(root: Path, documents, monkeypatch) -> None:
    with ErcotStandInServer(documents) as server:
        code, err = _backfill(root, server, monkeypatch)
        assert code == 0, err
        assert _raw_days(root) == [d.isoformat() for d in DAYS]
        # Progress: days and rows (22 locations: 3 nodes + hubs, zones, ties; 11-03 has 25 h).
        assert f"4/4 days  {22 * (24 * 3 + 25):,} rows" in err
        assert _daily_runs(root) == [("2024-11-01", "2024-11-02"), ("2024-11-03", "2024-11-04")]
        flat = Lake.at(root).partition_file("ercot/da_prices/flattened", "2024-11-01")
        assert flat.exists()
        stamps = {p: p.stat().st_mtime_ns for p in Lake.at(root).all_partition_files(RAW)}

        code, err = _backfill(root, server, monkeypatch)
        assert code == 0 and "4 already materialized, 0 to run" in err
        assert "nothing to do" in err
        assert len(_daily_runs(root)) == 2  # no new run
        assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

        code, err = _backfill(root, server, monkeypatch, force=True, chunk_days=4, monthly=False)
        assert code == 0 and "4 to run in 1 chunk(s)" in err
        assert ("2024-11-01", "2024-11-04") in _daily_runs(root)
        assert all(p.stat().st_mtime_ns > stamps[p] for p in stamps)


def test_failed_chunk_then_resume(root: Path, documents, monkeypatch) -> None:
    served = [corrupt_document(d) if d.operating_day == BAD_DAY else d for d in documents]
    with ErcotStandInServer(served) as server:
        code, err = _backfill(root, server, monkeypatch, monthly=False)
    assert code == 1
    assert "2024-11-03..2024-11-04: FAILED" in err and "re-run the same command" in err
    assert _raw_days(root) == ["2024-11-01", "2024-11-02"]  # the first chunk is kept
    assert Lake.at(root).failure_marker(RAW, BAD_DAY.isoformat()).exists()

    with ErcotStandInServer(documents) as server:
        code, err = _backfill(root, server, monkeypatch, monthly=False)
    assert code == 0, err
    assert "2 already materialized, 2 to run in 1 chunk(s)" in err
    assert _raw_days(root) == [d.isoformat() for d in DAYS]
    assert not Lake.at(root).failure_marker(RAW, BAD_DAY.isoformat()).exists()
    assert _daily_runs(root).count(("2024-11-01", "2024-11-02")) == 1  # not re-run


def test_interrupt_then_resume(root: Path, documents, monkeypatch) -> None:
    calls = []

    def interrupted_on_second_chunk(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return run_range(*args, **kwargs)

    with ErcotStandInServer(documents) as server:
        monkeypatch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
        runner = Runner(Lake.at(root), run_range=interrupted_on_second_chunk)
        code, err = _backfill(root, server, monkeypatch, runner=runner, monthly=False)
        assert code == 130 and "interrupted" in err
        assert _raw_days(root) == ["2024-11-01", "2024-11-02"]
        with pytest.raises(SystemExit) as exit_:
            main([*CLI_ARGS, "--data-root", str(root)])
        assert exit_.value.code == 0
        assert _raw_days(root) == [d.isoformat() for d in DAYS]
        # Every day is in, but the month was never flattened: a re-run does just that.
        flat = Lake.at(root).partition_file("ercot/da_prices/flattened", "2024-11-01")
        assert not flat.exists()
        code, err = _backfill(root, server, monkeypatch)
        assert code == 0 and "0 to run" in err and flat.exists()
    assert _daily_runs(root) == [("2024-11-01", "2024-11-02"), ("2024-11-03", "2024-11-04")]


@pytest.mark.parametrize(
    ("dataset", "start", "end", "chunk_days"),
    [
        ("nope", "2024-11-01", "2024-11-02", 31),
        ("da_prices", "2024-11-02", "2024-11-01", 31),
        ("da_prices", "1990-01-01", "1990-01-02", 31),  # before the dataset's first day
        ("da_prices", "2024-11-01", "2024-11-02", 0),
    ],
)
def test_refusals(root: Path, dataset: str, start: str, end: str, chunk_days: int) -> None:
    err = io.StringIO()
    code = run_backfill(
        "ERCOT", dataset, start, end, data_root=str(root), chunk_days=chunk_days, err=err
    )
    assert code == 2 and err.getvalue()
    assert not root.exists()  # refused before anything was created
