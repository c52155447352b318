"""Issue 12: `power-market query` and `power-market catalog` start without the heavy libraries.

Their start is almost all imports: dagster and pandas (which DuckDB loads to bind parameters)
cost about a second, pyarrow and the ISO source clients (through settings.py) a tenth each.
The tests run the real command in a subprocess and read which modules it imported
(`-X importtime`); speed itself is shown by timing, never asserted.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from power_market_assets.cli import DATA_ROOT_VARIABLE, DEFAULT_DATA_ROOT, default_data_root
from power_market_assets.io.lake import Lake
from power_market_assets.settings import Settings
from power_market_assets_tests.helpers import build_lake

HEAVY = ("dagster", "pandas", "pyarrow")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return build_lake(tmp_path_factory.mktemp("startup") / "data")


def imported_modules(argv: list[str]) -> tuple[set[str], str]:
    """The modules `power-market argv...` imported, and what it printed."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "power_market_assets.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = (line.split("|") for line in done.stderr.splitlines())
    modules = {parts[-1].strip() for parts in lines if parts[0].startswith("import time:")}
    return modules, done.stdout


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0].split("_")[0] in HEAVY)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["query", "select 1 as one"], "one"),
        (["query", "show tables"], "ercot.da_prices_raw_parquet"),
        (["catalog"], " raw_parquet "),  # the fixture has no summary yet: rebuilt here
        (["catalog", "--json"], '"datasets"'),  # the summary kept on disk
        (["catalog", "--refresh", "--json"], '"datasets"'),  # views and summary from the lake
    ],
)
def test_query_and_catalog_start_without_heavy_imports(
    lake: Lake, argv: list[str], shown: str
) -> None:
    modules, out = imported_modules([*argv, "--data-root", str(lake.root)])
    assert shown in out
    assert f"power_market_assets.commands.{argv[0]}" in modules  # the probe sees the command
    assert heavy_in(modules) == []
    assert "power_market_assets.settings" not in modules  # it loads every ISO source client


@pytest.mark.slow
def test_csv_still_streams_after_the_lean_start(lake: Lake) -> None:
    """CSV reads the result in Arrow batches: DuckDB loads pyarrow for them, pandas stays out."""
    sql = "select count(*) as n from ercot.da_prices_raw_parquet"
    modules, out = imported_modules(["query", sql, "--csv", "--data-root", str(lake.root)])
    assert out == "n\n216\n"
    assert [m for m in heavy_in(modules) if not m.startswith("pyarrow")] == []


@pytest.mark.parametrize(
    "environ", [{}, {"PMA_DATA_ROOT": "/srv/lake"}, {"PMA_DATA_ROOT": ""}, {"OTHER": "x"}]
)
def test_the_cli_default_root_is_the_settings_one(environ: dict[str, str]) -> None:
    """The CLI reads PMA_DATA_ROOT itself (no settings import); it must agree with Settings."""
    assert Settings.env_name("data_root") == DATA_ROOT_VARIABLE
    assert Settings().data_root == DEFAULT_DATA_ROOT
    assert default_data_root(environ) == Settings.from_env(environ).data_root
