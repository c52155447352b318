"""The BESS benchmark's generated prices and a tiny run (figures printed, never timed here)."""

from __future__ import annotations

import argparse
import json
from datetime import date

import polars as pl

from power_market_assets.commands.bench import run_from_args
from power_market_assets.commands.bench_args import add_bench_arguments
from power_market_assets.commands.bench_bess import run_bess_benchmark, synthetic_prices


def test_synthetic_prices_are_dst_aware_and_realistic():
    da, rt = synthetic_prices(days=366, locations=2)  # 2024: a leap year with both DST days
    per_day = rt.group_by("location", "operating_day").len()
    counts = dict(zip(per_day["operating_day"], per_day["len"], strict=False))
    assert counts[date(2024, 3, 10)] == 92 and counts[date(2024, 11, 3)] == 100
    assert counts[date(2024, 7, 1)] == 96
    assert per_day.height == 2 * 366
    da_day = da.filter(pl.col("operating_day") == date(2024, 11, 3)).group_by("location").len()
    assert da_day["len"].to_list() == [25, 25]
    assert (rt["lmp"] < 0).sum() > 0 and rt["lmp"].max() > 300  # negative hours and spikes
    assert 15 < rt["lmp"].median() < 60


def test_tiny_benchmark_runs_and_writes_figures(tmp_path, capsys):
    out = tmp_path / "bess.json"
    assert run_bess_benchmark(days=2, locations=1, json_path=out) == 0
    printed = capsys.readouterr().out
    assert "rt_only + two_settlement" in printed and "target" in printed
    runs = json.loads(out.read_text())["runs"]
    first = runs[0]
    assert first["lps"] == 2 and first["lp_variables"] == 2 * 96 * 3 + 2 * 24 * 3


def test_bench_command_line_reaches_the_bess_benchmark(capsys):
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    args = parser.parse_args(["--bess", "--days", "1", "--locations", "2"])
    assert run_from_args(args) == 0
    printed = capsys.readouterr().out
    assert "2 locations x 1 days" in printed and "rule_based_rt" in printed
