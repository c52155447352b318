"""Issue 9 (items 8, 10, 12): `power-market query` cannot clobber files, cannot read the
catalog's own database file, and cannot eat the machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from power_market_assets.cli import main
from power_market_assets.commands.query import (
    MEMORY_CAP_BYTES,
    QueryLimits,
    connect_locked,
)
from power_market_assets_tests.helpers import build_lake, digest, query_text

COUNT = "select count(*) as n from ercot.da_prices_raw_parquet"
FOREVER = "select sum(a.range * b.range) from range(1000000) a, range(1000000) b"


@pytest.fixture
def lake(tmp_path: Path):
    return build_lake(tmp_path / "data")


_query = query_text


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in root.rglob("*") if p.is_file()}


# --- item 8: --parquet never overwrites the lake, the catalog, or a file without --force ------


@pytest.mark.parametrize(
    "target",
    [
        "lake/ercot/da_prices/raw_parquet/year=2024/2024-11-01.parquet",
        "warehouse.duckdb",
        "lake/new.parquet",
        "result.parquet",
    ],
)
@pytest.mark.parametrize("force", [False, True])
def test_parquet_inside_the_data_root_is_refused(lake, target: str, force: bool, capsys) -> None:
    before = _snapshot(lake.root)
    code, _ = _query(COUNT, lake, parquet=str(lake.root / target), force=force)
    assert code == 2
    err = capsys.readouterr().err
    assert "inside the data root" in err and str(lake.root) in err
    assert _snapshot(lake.root) == before
    assert _query(COUNT, lake, csv=True) == (0, "n\n216\n")


def test_parquet_through_a_symlink_into_the_root_is_refused(lake, tmp_path: Path, capsys) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(lake.lake_dir)
    before = _snapshot(lake.root)
    code, _ = _query(COUNT, lake, parquet=str(alias / "leak.parquet"), force=True)
    assert code == 2 and "inside the data root" in capsys.readouterr().err
    assert _snapshot(lake.root) == before


def test_existing_file_needs_force(lake, tmp_path: Path, capsys) -> None:
    target = tmp_path / "mine.parquet"
    target.write_bytes(b"my own work")
    code, _ = _query(COUNT, lake, parquet=str(target))
    assert code == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_bytes() == b"my own work"
    code, _ = _query(COUNT, lake, parquet=str(target), force=True)
    assert code == 0
    assert pl.read_parquet(target).item() == 216


def test_folder_as_parquet_path_is_a_clear_error(lake, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    for force in (False, True):
        code, _ = _query(COUNT, lake, parquet=str(folder), force=force)
        assert code == 2
        err = capsys.readouterr().err
        assert "is a folder" in err and "Traceback" not in err
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_csv_of_nested_types_is_a_clear_error(lake, capsys) -> None:
    code, text = _query("select [1, 2] as hours, {'a': 1} as info, 3 as n", lake, csv=True)
    assert code == 2 and text == ""
    err = capsys.readouterr().err
    assert "hours" in err and "info" in err and "--parquet" in err and "n," not in err


@pytest.mark.parametrize("csv", [False, True])
def test_types_polars_cannot_hold_are_a_clear_error(lake, csv: bool, capsys) -> None:
    code, text = _query("select interval 1 day as gap", lake, csv=csv)
    assert code == 2 and text == ""
    assert "cast the column" in capsys.readouterr().err


@pytest.mark.parametrize(
    "sql", ["select [interval 1 day] as gaps", "select {'k': union_value(n := 1)} as tagged"]
)
def test_unreadable_types_nested_in_a_column_are_a_clear_error(lake, sql: str, capsys) -> None:
    """The table reads the Arrow C stream, where polars panics on these: refused by type first."""
    code, text = _query(sql, lake)
    assert code == 2 and text == ""
    err = capsys.readouterr().err
    assert "cast the column" in err and "Traceback" not in err and "panicked" not in err


def test_types_polars_cannot_hold_still_go_to_parquet(lake, tmp_path: Path) -> None:
    target = tmp_path / "odd.parquet"
    sql = "select interval 1 day as gap, union_value(n := 1) as tagged, 'a'::enum('a') as e"
    code, _ = _query(sql, lake, parquet=str(target))
    assert code == 0 and duckdb.read_parquet(str(target)).columns == ["gap", "tagged", "e"]


def test_cli_force_flag(lake, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")
    argv = ["query", COUNT, "--data-root", str(lake.root), "--parquet", str(target)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and target.read_bytes() == b"old"
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--force"])
    assert exit_.value.code == 0 and pl.read_parquet(target).item() == 216


# --- item 10: nothing outside lake/ is readable, the catalog's own file included ---------------


def _escapes(lake, tmp_path: Path) -> list[str]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("secret\n42\n")
    (lake.lake_dir / "passwd.csv").symlink_to("/etc/passwd")
    (lake.lake_dir / "catalog.duckdb").symlink_to(lake.warehouse_path)
    (lake.lake_dir / "outside").symlink_to(outside)
    w = lake.warehouse_path
    return [
        f"select size from read_blob('{w}')",
        f"select * from read_text('{w}')",
        f"select * from read_csv('{w}')",
        f"select * from read_parquet('{w}')",
        f"select * from read_blob('{w}.wal')",
        f"select * from read_blob('{lake.lake_dir}/../warehouse.duckdb')",
        f"select * from glob('{lake.root}/*')",
        f"select * from read_blob('{lake.lake_dir}/catalog.duckdb')",
        f"select * from read_csv('{lake.lake_dir}/passwd.csv', sep = ':')",
        f"select * from read_csv('{lake.lake_dir}/outside/secret.csv')",
        f"select * from glob('{lake.lake_dir}/outside/*')",
    ]


def test_nothing_outside_the_lake_is_readable(lake, tmp_path: Path, capsys) -> None:
    for sql in _escapes(lake, tmp_path):
        code, text = _query(sql, lake, csv=True)
        assert (code, text) == (2, ""), sql
        assert "outside" in capsys.readouterr().err, sql
    assert _query(COUNT, lake, csv=True) == (0, "n\n216\n")


def test_the_catalog_file_is_not_held_open_by_the_query(lake) -> None:
    """The catalog is copied into memory, so the database file is not DuckDB's 'own' file."""
    with connect_locked(lake) as con:
        databases = con.sql("select path from duckdb_databases() where path is not null")
        assert str(lake.warehouse_path) not in {row[0] for row in databases.fetchall()}
        assert con.sql(COUNT).fetchone()[0] == 216


# --- item 12: memory limit and timeout ---------------------------------------------------------


def test_defaults_protect_a_laptop(lake) -> None:
    limits = QueryLimits.from_flags(None, None)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert limits.memory_bytes <= min(ram // 4, MEMORY_CAP_BYTES)
    assert limits.timeout_s == 60
    with connect_locked(lake, limits) as con:
        limit = con.sql("select current_setting('memory_limit')").fetchone()[0]
    assert limit.endswith("MiB") or limit.endswith("GiB")
    assert float(limit.split()[0]) * (1024 if limit.endswith("GiB") else 1) <= 4096


def test_a_query_that_runs_forever_is_stopped(lake, capsys) -> None:
    started = time.perf_counter()
    code, text = _query(FOREVER, lake, timeout=0.5)
    assert time.perf_counter() - started < 5
    assert code == 2 and text == ""
    err = capsys.readouterr().err
    assert "stopped after 0.5 s" in err and "--timeout" in err


def test_timeout_while_writing_parquet_keeps_the_old_file(lake, tmp_path: Path, capsys) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")
    code, _ = _query(FOREVER, lake, parquet=str(target), force=True, timeout=0.5)
    assert code == 2 and "--timeout" in capsys.readouterr().err
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_query_over_the_memory_limit_is_stopped(lake, capsys) -> None:
    code, text = _query("select list(range) from range(50000000)", lake, memory_limit="32MiB")
    assert code == 2 and text == ""
    err = capsys.readouterr().err
    assert "32 MiB memory limit" in err and "--memory-limit" in err and "Traceback" not in err


def test_a_spilling_query_is_bounded_too(lake, capsys) -> None:
    """A big aggregate spills to temp files; those are capped too (DuckDB: 90% of the disk)."""
    sql = "select count(distinct range::varchar) from range(20000000)"
    code, _ = _query(sql, lake, memory_limit="20MiB", csv=True)
    err = capsys.readouterr().err
    assert code == 2 and "20 MiB memory limit" in err and "40 MiB of temp files" in err


@pytest.mark.parametrize(
    ("flag", "value"), [("--memory-limit", "lots"), ("--memory-limit", "0GB"), ("--timeout", "-1")]
)
def test_bad_limit_flags_are_usage_errors(lake, flag: str, value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["query", COUNT, "--data-root", str(lake.root), flag, value])
    assert exit_.value.code == 2
    assert flag in capsys.readouterr().err


def test_cli_limit_flags(lake, capsys) -> None:
    argv = ["query", COUNT, "--data-root", str(lake.root), "--csv"]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--memory-limit", "1GB", "--timeout", "30"])
    assert exit_.value.code == 0 and capsys.readouterr().out == "n\n216\n"


def test_query_does_not_import_pandas(lake) -> None:
    """Binding a named parameter made DuckDB import pandas: ~1 s on every query start."""
    script = (
        "import sys, io\n"
        "from power_market_assets.commands.query import run_query\n"
        f"code = run_query({COUNT!r}, {str(lake.root)!r}, csv=True, out=io.StringIO())\n"
        "print(code, 'pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["0", "False"]
