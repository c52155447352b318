"""`power-market export`: the requested days and locations only, failed days left out."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.cli import main
from power_market_assets.commands.export import run_export


def _export(lake, out: Path | str, **kwargs) -> tuple[int, str]:
    err = io.StringIO()
    args = {"iso": "ERCOT", "dataset": "da_prices", "start": "2024-11-01", "end": "2024-11-30"}
    args.update(kwargs)
    code = run_export(out=str(out), data_root=str(lake.root), err=err, **args)
    return code, err.getvalue()


def test_days_and_locations_filtered(lake, tmp_path: Path) -> None:
    target = tmp_path / "out" / "slice.parquet"
    code, err = _export(lake, target, locations="HB_NORTH,HB_WEST", end="2024-11-04")
    assert code == 0
    frame = pl.read_parquet(target)
    assert set(frame["location"]) == {"HB_NORTH", "HB_WEST"}
    # 11-03 was never materialized and 11-04 failed its checks: both reported, neither exported.
    assert sorted(set(frame["operating_day"])) == [date(2024, 11, 1), date(2024, 11, 2)]
    assert frame.height == 2 * 2 * 24
    assert "2024-11-03" in err and "(failed checks): 2024-11-04" in err
    assert not list(target.parent.glob(".*.tmp"))

    code, _ = _export(lake, target, start="2024-11-02", end="2024-11-02", locations="LZ_HOUSTON")
    assert code == 0
    again = pl.read_parquet(target)  # replaced in place
    assert set(again["location"]) == {"LZ_HOUSTON"} and again.height == 24


def test_flattened_selects_columns_into_a_folder(lake, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    code, _ = _export(lake, folder, stage="flattened", locations="HB_WEST", end="2024-11-01")
    assert code == 0
    target = folder / "ercot_da_prices_flattened_2024-11-01_2024-11-01.parquet"
    frame = pl.read_parquet(target)
    assert frame.columns == ["interval_start_utc", "operating_day", "hb_west"]
    assert frame.height == 24  # the month file, cut to the requested day


def test_refusals(lake, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    assert _export(lake, out, dataset="nope")[0] == 2
    assert _export(lake, out, stage="gold")[0] == 2
    assert _export(lake, out, start="2024-12-01", end="2024-11-01")[0] == 2
    code, err = _export(lake, out, stage="flattened", locations="HB_NOWHERE")
    assert code == 2 and "HB_NOWHERE" in err
    code, err = _export(lake, out, start="2023-01-01", end="2023-01-31")
    assert code == 1 and "nothing to export" in err
    assert not out.exists()


def test_cli(lake, tmp_path: Path) -> None:
    target = tmp_path / "cli.parquet"
    argv = ["export", "--iso", "ercot", "--dataset", "da_prices", "--locations", "HB_NORTH"]
    argv += ["--start", "2024-11-01", "--end", "2024-11-01", "--out", str(target)]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--data-root", str(lake.root)])
    assert exit_.value.code == 0
    assert pl.read_parquet(target).height == 24
