"""`power-market query`: reads work, anything that writes or leaves the lake is refused."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import polars as pl
import pytest

from power_market_assets.cli import main
from power_market_assets.commands.query import connect_locked, run_query
from power_market_assets_tests.helpers import LOCATIONS, digest, query_text

COUNT = "select count(*) as n from ercot.da_prices_raw_parquet"


_query = query_text


def _count(lake) -> int:
    code, text = _query(COUNT, lake, csv=True)
    assert code == 0
    return int(text.splitlines()[1])


def test_select_table_csv_and_parquet(lake, tmp_path: Path) -> None:
    code, text = _query(
        "select location, count(*) n from ercot.da_prices_raw_parquet group by 1 order by 1", lake
    )
    assert code == 0
    assert "HB_NORTH" in text and "3 row(s)" in text
    assert _count(lake) == 3 * 24 * len(LOCATIONS)
    code, text = _query("from ercot.da_prices_raw_parquet order by all", lake, csv=True, limit=5)
    assert code == 0 and len(text.splitlines()) == 6  # header + 5 rows
    target = tmp_path / "elsewhere" / "result.parquet"  # the user's own output, outside root
    code, _ = _query("from ercot.da_prices_flattened", lake, parquet=str(target))
    assert code == 0
    frame = pl.read_parquet(target)
    assert frame.height == 3 * 24
    assert {loc.lower() for loc in LOCATIONS} <= set(frame.columns)  # wide names: hb_north
    assert not list(target.parent.glob(".*.tmp"))


@pytest.mark.parametrize(
    "sql",
    [
        "delete from ercot.da_prices_raw_parquet",
        "insert into ercot.da_prices_raw_parquet select * from ercot.da_prices_raw_parquet",
        "update ercot.da_prices_raw_parquet set lmp = 0",
        "create table main.t as select 1 as x",
        "create temp table t as select 1 as x",
        "drop view ercot.da_prices_raw_parquet",
        "copy (select * from ercot.da_prices_raw_parquet) to '{root}/lake/leak.csv'",
        "attach '{root}/other.duckdb' as other",
        "install httpfs",
        "load parquet",
        "set enable_external_access = true",
        "pragma enable_profiling",
        "export database '{root}/dump'",
        "checkpoint",
        "explain analyze copy (select 1) to '{root}/lake/leak.csv'",
        "select 1; delete from ercot.da_prices_raw_parquet",
    ],
)
def test_writes_are_refused_and_change_nothing(lake, sql: str, capsys) -> None:
    before_rows, before_db = _count(lake), digest(lake.warehouse_path)
    before_files = sorted(p for p in lake.root.rglob("*"))
    code, _ = _query(sql.format(root=lake.root), lake)
    assert code == 2
    assert "refused" in capsys.readouterr().err or ";" in sql
    assert _count(lake) == before_rows
    assert digest(lake.warehouse_path) == before_db
    assert sorted(p for p in lake.root.rglob("*")) == before_files


def test_files_outside_the_lake_are_unreachable(lake, tmp_path: Path, capsys) -> None:
    outside = tmp_path / "outside.parquet"
    pl.DataFrame({"secret": [1]}).write_parquet(outside)
    for sql in (
        "select * from read_csv('/etc/passwd', sep = ':')",
        "select * from read_text('/etc/hostname')",
        f"select * from read_parquet('{outside}')",
        f"select * from read_parquet('{lake.lake_dir}/../../outside.parquet')",
        "select * from glob('/etc/*')",
    ):
        code, _ = _query(sql, lake)
        assert code == 2, sql
        assert "outside" in capsys.readouterr().err
    # A direct read inside the lake works: the lock-down keeps the views usable.
    inside = next(lake.lake_dir.rglob("2024-11-01.parquet"))
    code, text = _query(f"select count(*) from read_parquet('{inside}')", lake, csv=True)
    assert code == 0 and text.splitlines()[1] == "72"


def test_the_connection_itself_is_locked(lake) -> None:
    """Even past the statement filter, the settings cannot be switched back."""
    with connect_locked(lake) as con:
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.PermissionException):
            con.sql("select * from read_csv('/etc/passwd')").fetchall()
        assert con.sql(COUNT).fetchone()[0] == 216


def test_moved_root_is_explained_and_refresh_fixes_it(lake, tmp_path: Path, capsys) -> None:
    moved = tmp_path / "moved"
    lake.root.rename(moved)
    code = run_query(COUNT, str(moved), out=io.StringIO())
    assert code == 2
    assert "catalog --refresh" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "--refresh", "--data-root", str(moved)])
    assert exit_.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["query", COUNT, "--data-root", str(moved), "--csv"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.splitlines()[1] == "216"


def test_cli_errors(lake, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["query", "delete from ercot.da_prices_raw_parquet", "--data-root", str(lake.root)])
    assert exit_.value.code == 2
    assert _query("select * from ercot.nope", lake)[0] == 1
    assert run_query("select 1", str(tmp_path / "empty")) == 2  # no catalog yet
    assert "no catalog" in capsys.readouterr().err
