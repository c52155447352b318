"""Issue 15: `power-market report` end to end on a small lake of stand-in days: one
self-contained HTML page (tables, PNG plots as data URIs, nothing external) holding every
number the command printed; the same tables as the report assets; clear errors for a month
not in the lake, a bad battery and an unknown ISO."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.cli import build_parser
from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from power_market_assets.commands.report import build_report, run_report
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_PRICES
from power_market_assets.reporting.plots import PNG_SIGNATURE
from power_market_assets.transforms import price_stats as ps
from power_market_assets_tests.report_lake import build_report_lake

MONTH = "2024-11"


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    return build_report_lake(tmp_path_factory.mktemp("report_cmd") / "data")


@pytest.fixture(scope="module")
def written(lake: Lake, tmp_path_factory) -> tuple[int, str, str, str]:
    out = tmp_path_factory.mktemp("out") / "report.html"
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_report(
        "ercot", MONTH, str(out), "100MW/2h/0.86", str(lake.root), stdout=stdout, stderr=stderr
    )
    page = out.read_text(encoding="utf-8") if out.exists() else ""
    return code, stdout.getvalue(), stderr.getvalue(), page


def test_the_page_is_self_contained_with_its_plots(written) -> None:
    code, _, stderr, page = written
    assert code == EXIT_OK, stderr
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3  # duration curves, spread histogram, daily revenue
    assert all(base64.b64decode(image).startswith(PNG_SIGNATURE) for image in images)
    assert not re.search(r"<(script|link)\b|https?://|url\(", page)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_every_printed_number_is_in_the_page(written) -> None:
    _, stdout, _, page = written
    lines = [line.strip() for line in stdout.splitlines() if line.startswith("  ")]
    hubs = ("HB_BUSAVG", "HB_HOUSTON", "HB_HUBAVG", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST")
    assert [line.split(":")[0] for line in lines] == list(hubs)
    numbers = [n for line in lines for n in re.findall(r"-?[\d,]+\.\d\d", line)]
    assert len(numbers) >= len(hubs) * 7
    cells = set(re.findall(r"<td>([^<]*)</td>", page))
    assert [n for n in numbers if n not in cells] == []
    assert "ERCOT 2024-11, battery 100MW/2h/0.86" in stdout and "best" in lines[0]


def test_the_tables_are_the_report_assets(lake: Lake, written) -> None:
    """The page's DA mean of a hub is the price_stats function's on the same days."""
    _, stdout, _, _ = written
    da = pl.concat(
        pl.read_parquet(f)
        for f in lake.all_partition_files(stage_lake_path(DA_PRICES, "raw_parquet"))
    )
    stats = ps.price_stats(da, None, "ERCOT")
    mean = stats.filter(pl.col("location") == "HB_WEST")["mean_usd_per_mwh"].item()
    line = next(line for line in stdout.splitlines() if line.strip().startswith("HB_WEST:"))
    assert f"DA mean {mean:,.2f} $/MWh" in line


def test_without_ancillary_days_the_battery_is_valued_on_energy(lake: Lake, tmp_path) -> None:
    root = tmp_path / "data"
    shutil.copytree(lake.root / "lake", root / "lake")
    shutil.rmtree(Lake.at(root).stage_dir(stage_lake_path(AS_PRICES, "raw_parquet")))
    page, lines, _ = build_report("ERCOT", MONTH, "100MW/2h", str(root))
    assert "energy only" in page and "power-market backfill --iso ERCOT --dataset as_prices" in page
    assert lines and not any("of which AS" in line for line in lines)


def test_a_month_not_in_the_lake_names_what_is_missing(lake: Lake, tmp_path: Path) -> None:
    stderr = io.StringIO()
    out = tmp_path / "dec.html"
    code = run_report(
        "ERCOT", "2024-12", str(out), data_root=str(lake.root), stdout=io.StringIO(), stderr=stderr
    )
    message = stderr.getvalue()
    assert code == EXIT_FAILED and not out.exists()
    for spec in (DA_PRICES, RT_PRICES):
        assert f"ERCOT {spec.dataset} has no days of 2024-12" in message
        assert (
            f"power-market backfill --iso ERCOT --dataset {spec.dataset} "
            "--start 2024-12-01 --end 2024-12-31"
        ) in message


@pytest.mark.parametrize(
    ("iso", "month", "battery", "expected"),
    [
        ("ERCOT", "2024-11", "100MW/2x", "--battery"),
        ("ERCOT", "November", "100MW/2h", "--month"),
        ("MISO", "2024-11", "100MW/2h", "--iso"),
    ],
)
def test_bad_arguments_are_refused(lake: Lake, tmp_path, iso, month, battery, expected) -> None:
    stderr = io.StringIO()
    code = run_report(
        iso, month, str(tmp_path / "x.html"), battery, str(lake.root), io.StringIO(), stderr
    )
    assert code == EXIT_USAGE and expected in stderr.getvalue()


def test_the_cli_parses_the_issues_example() -> None:
    args = build_parser().parse_args(
        ["report", "--iso", "ERCOT", "--month", "2024-11", "--out", "report.html"]
    )
    assert (args.iso, args.month, args.battery, args.out) == (
        "ERCOT",
        "2024-11",
        "100MW/2h/0.86",
        "report.html",
    )
