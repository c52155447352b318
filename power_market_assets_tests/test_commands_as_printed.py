"""Issue 10 items 9-11: commands that work as printed, `show tables`, help that is current."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from power_market_assets.cli import build_parser
from power_market_assets.commands.demo import next_steps
from power_market_assets.commands.query import run_query
from power_market_assets.io.lake import Lake
from power_market_assets_tests.helpers import build_lake

VENV_BIN = Path(sys.executable).parent


def _subcommands() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)


def test_show_tables_lists_every_view(tmp_path: Path) -> None:
    build_lake(tmp_path)
    out = io.StringIO()
    assert run_query("show tables", str(tmp_path), csv=True, out=out) == 0
    listed = out.getvalue()
    assert "ercot.da_prices_raw_parquet" in listed
    assert "ercot.da_prices_flattened" in listed


def test_the_demos_closing_commands_work_as_printed(tmp_path: Path) -> None:
    lake = build_lake(tmp_path)
    lines = [line.strip() for line in next_steps(Lake.at(lake.root))]
    duckdb_line = next(line for line in lines if "/duckdb " in line)
    command = duckdb_line.split(":", 1)[1].split()
    assert Path(command[0]).name == "duckdb" and Path(command[0]).exists(), command
    listed = subprocess.run(
        [*command, "-csv", "-c", "select count(*) from ercot.da_prices_raw_parquet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[-1] == str(3 * 24 * 3)  # 3 days x 24 hours x 3 locations
    ui_line = next(line for line in lines if " ui " in line)
    assert "power-market ui --data-root" in ui_line
    assert Path(ui_line.split(":", 1)[1].split()[0]).exists()


def test_the_duckdb_cli_matches_the_pinned_duckdb() -> None:
    import duckdb

    shown = subprocess.run(
        [str(VENV_BIN / "duckdb"), "-c", "select version()"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert duckdb.__version__ in shown.stdout


def test_help_says_what_the_commands_do_today() -> None:
    parser = build_parser()
    overview = parser.format_help()
    for iso in ("ERCOT", "CAISO", "NYISO", "ISO-NE", "PJM"):
        assert iso in overview
    commands = _subcommands()
    assert "all five ISOs" in commands["demo"].format_help()
    assert "live site" in commands["backfill"].format_help()
    for name, sub in commands.items():
        data_root = next((a for a in sub._actions if "--data-root" in a.option_strings), None)
        if data_root is not None:
            assert data_root.help and "data root" in data_root.help, name


@pytest.mark.parametrize("path", ["dev.py"])
def test_dev_py_no_longer_says_ercot_only(path: str) -> None:
    text = (Path(__file__).resolve().parents[1] / path).read_text()
    assert "ERCOT demo" not in text
    assert "all five ISOs" in text


def test_the_repo_cites_nothing_outside_itself() -> None:
    """A fresh clone stands alone: no code, test or document points at the reading room."""
    root = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    needle = "../" + "shared/"  # spelled apart so this file does not match itself
    outside = [
        name
        for name in tracked
        if name.endswith((".py", ".md", ".toml", ".lock", ".yaml", ".cfg"))
        and needle in (root / name).read_text(errors="replace")
    ]
    assert outside == []
    fixtures = root / "power_market_assets_tests" / "fixtures" / "real" / "ercot"
    assert sorted(p.name for p in fixtures.iterdir()) == [
        "dam-spp.zip",
        "doclist-dam.json",
        "doclist-rtm.json",
        "np4-732-cd",
        "rtm-spp.zip",
    ]


@pytest.mark.slow
def test_query_prints_utc_columns_in_utc_on_any_machine(tmp_path: Path) -> None:
    """The machine's zone must not change what `*_utc` columns print (table and CSV)."""
    build_lake(tmp_path)
    sql = "select min(interval_start_utc) as first from ercot.da_prices_raw_parquet"
    for flags in ([], ["--csv"]):
        shown = subprocess.run(
            [str(VENV_BIN / "power-market"), "query", "--data-root", str(tmp_path), *flags, sql],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TZ": "Asia/Tokyo"},
        )
        assert shown.returncode == 0, shown.stderr
        text = shown.stdout.replace("T", " ")
        assert "2024-11-01 06:00:00" in text, (flags, shown.stdout)


def test_every_test_docs_faults_cites_exists() -> None:
    """docs/FAULTS.md names the test behind each fault: each must exist under that name."""
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "FAULTS.md").read_text()
    cited = re.findall(r"`([a-z_]+)::(test_[A-Za-z0-9_]+)", text)
    assert len(cited) > 80
    examples = {("module", "test_name"), ("reliability_inputs", "test_x")}
    tests = root / "power_market_assets_tests"
    missing = [
        f"{module}::{name}"
        for module, name in cited
        if (module, name) not in examples
        and f"def {name}" not in _text_or_empty(tests / f"test_{module}.py")
    ]
    assert missing == []


def _text_or_empty(path: Path) -> str:
    return path.read_text() if path.exists() else ""
