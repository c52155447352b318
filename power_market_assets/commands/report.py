"""`power-market report`: one ISO month as a self-contained HTML page, from the lake.

Reads the month's days of the ISO's DA, RT and AS long price tables (raw_parquet of the
registry's COMBINED_INPUTS), computes the tables the report assets write with the same
functions (transforms/report_tables.py), writes one HTML file with the tables and the PNG plots
inline (reporting/report_html.py) and prints the headline numbers.

DA and RT are required: a month without them is an error naming the dataset and the command
that loads it. Without AS days the battery is valued on energy alone (said in the page).
Partitions marked failed are left out, as the report assets leave them out.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TextIO

import polars as pl

from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.registry import COMBINED_INPUTS
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.reporting.report_html import format_cell, render_report, report_plots
from power_market_assets.transforms.bess import Battery
from power_market_assets.transforms.report_tables import headline, month_report
from power_market_assets.transforms.time import days_of_month, month_end

DEFAULT_BATTERY = "100MW/2h/0.86"
# Headline parts printed: (text with {column} placeholders, the columns it needs).
PRINTED = (
    ("DA mean {da_mean_usd_per_mwh} $/MWh", ("da_mean_usd_per_mwh",)),
    ("RT mean {rt_mean_usd_per_mwh} $/MWh", ("rt_mean_usd_per_mwh",)),
    ("RT negative {rt_negative_hours} h", ("rt_negative_hours",)),
    ("best {best_strategy} {best_usd_per_kw_month} $/kW-month", ("best_strategy",)),
    (
        "optimiser vs rule-based {uplift_usd_per_kw_month} $/kW-month ({uplift_percent} %)",
        ("uplift_usd_per_kw_month", "uplift_percent"),
    ),
    (
        "DA energy + AS {da_ancillary_usd_per_kw_month} $/kW-month",
        ("da_ancillary_usd_per_kw_month",),
    ),
    ("of which AS {ancillary_usd_per_kw_month} $/kW-month", ("ancillary_usd_per_kw_month",)),
)


class MissingData(RuntimeError):
    """The month is not (fully) in the lake: the message names what and how to load it."""


def parse_month(text: str) -> date:
    """'2024-11' -> 2024-11-01."""
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise UsageError(f"--month: {text!r} is not a month (YYYY-MM, e.g. 2024-11)") from exc


def iso_inputs(iso: str) -> tuple[DatasetSpec, DatasetSpec | None, DatasetSpec]:
    for name, inputs in COMBINED_INPUTS.items():
        if name.lower() == iso.lower():
            return inputs
    known = ", ".join(COMBINED_INPUTS)
    raise UsageError(f"--iso: {iso!r} has no price datasets to report on; one of {known}")


def load_command(spec: DatasetSpec, first: date) -> str:
    last = month_end(first)
    return (
        f"power-market backfill --iso {spec.iso} --dataset {spec.dataset} "
        f"--start {first.isoformat()} --end {last.isoformat()}"
    )


def read_month(lake: Lake, spec: DatasetSpec, first: date, notes: list[str]) -> pl.DataFrame | None:
    """The month's raw_parquet days of `spec` (failed partitions left out), or None when none
    is in the lake; a partial month is noted."""
    path = stage_lake_path(spec, "raw_parquet")
    days = [day.isoformat() for day in days_of_month(first)]
    files = lake.existing_partition_files(path, days)
    failed = [f for f in files if lake.failure_marker(path, f.stem).exists()]
    files = [f for f in files if f not in failed]
    if failed:
        notes.append(f"{spec.dataset}: {len(failed)} day(s) failed their checks, left out")
    if not files:
        return None
    if len(files) < len(days):
        notes.append(f"{spec.dataset}: {len(files)} of {len(days)} days in the lake")
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


def headline_lines(frame: pl.DataFrame) -> list[str]:
    """One line per headline location, numbers formatted as the page's cells show them."""
    lines = []
    for row in frame.iter_rows(named=True):
        cells = {column: format_cell(value) for column, value in row.items()}
        parts = [
            text.format(**cells)
            for text, needed in PRINTED
            if all(row.get(column) is not None for column in needed)
        ]
        lines.append(f"{row['location']}: " + ", ".join(parts))
    return lines


def build_report(
    iso: str, month: str, battery_text: str, data_root: str
) -> tuple[str, list[str], str]:
    """(html, headline lines, title) of one ISO month; MissingData when DA or RT is absent."""
    first = parse_month(month)
    da_spec, as_spec, rt_spec = iso_inputs(iso)
    try:
        battery = Battery.parse(battery_text)
    except ValueError as exc:
        raise UsageError(f"--battery: {exc}") from exc
    lake = Lake.at(data_root)
    notes: list[str] = []
    da = read_month(lake, da_spec, first, notes)
    rt = read_month(lake, rt_spec, first, notes)
    missing = [spec for spec, frame in ((da_spec, da), (rt_spec, rt)) if frame is None]
    if missing:
        raise MissingData(
            "\n".join(
                f"{spec.iso} {spec.dataset} has no days of {month} in {lake.root}; load them "
                f"with: {load_command(spec, first)}"
                for spec in missing
            )
        )
    ancillary = read_month(lake, as_spec, first, notes) if as_spec is not None else None
    if as_spec is not None and ancillary is None:
        notes.append(
            f"{as_spec.dataset} has no days of {month}: energy only "
            f"(load it with: {load_command(as_spec, first)})"
        )
    report = month_report(
        da_spec.iso,
        month,
        da,
        rt,
        ancillary,
        battery,
        da_spec.price_bounds,
        rt_spec.price_bounds,
    )
    report.notes.extend(notes)
    table = headline(report)
    page = render_report(report, report_plots(report), table)
    title = f"{da_spec.iso} {month}, battery {battery.label()}"
    return page, headline_lines(table), title


def run_report(
    iso: str,
    month: str,
    out: str,
    battery: str = DEFAULT_BATTERY,
    data_root: str = "data",
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """Write the month's HTML report to `out` and print its headline numbers."""
    try:
        page, lines, title = build_report(iso, month, battery, data_root)
    except UsageError as exc:
        print(f"report: {exc}", file=stderr)
        return EXIT_USAGE
    except MissingData as exc:
        print(f"report: {exc}", file=stderr)
        return EXIT_FAILED
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, page.encode("utf-8"))
    print(title, file=stdout)
    for line in lines:
        print(f"  {line}", file=stdout)
    print(f"wrote {target} ({len(page) / 1e6:.1f} MB)", file=stdout)
    return EXIT_OK
