"""Issue 15: the plots of a month report and the one self-contained HTML page it becomes.

The page carries everything inline (a <style> block, tables, PNG plots as base64 data URIs): no
external CSS, script, font or image, so it can be mailed or opened offline. The same plot
functions feed the report assets' metadata in the Dagster UI. No dagster import.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence

import polars as pl

from power_market_assets.reporting import plots
from power_market_assets.transforms.report_tables import (
    MonthReport,
    headline,
    headline_locations,
)

DURATION_SHOWN = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 100.0)
ASSUMPTIONS = (
    "Perfect foresight: each strategy knows the month's prices in advance (an upper bound).",
    "Price taker: the battery's bids do not move prices.",
    "Each operating day starts and ends at the battery's initial state of charge.",
    "Round-trip efficiency applied as its square root on charging and on discharging.",
    "DA-RT spread = day-ahead price minus the real-time price averaged over the DA hour (UTC).",
    "Negative hours are interval-hours: a 15-minute interval below $0 counts 0.25 h.",
    "Percentiles interpolate linearly between intervals (numpy's default).",
)
STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; } td.text, th.text { text-align: left; }
img { display: block; margin: 0.6em 0; max-width: 100%; }
p.note { color: #555; font-size: 0.9em; }
"""


def price_plots(
    iso: str,
    month: str,
    duration: pl.DataFrame,
    spread: pl.DataFrame,
    locations: Sequence[str],
) -> dict[str, bytes]:
    """Title -> PNG: the price duration curves and the DA-RT spread histogram."""
    return {
        f"{iso} {month} price duration curves": plots.duration_curve_plot_png(
            duration, locations, f"{iso} {month} price duration (DA solid, RT dashed)"
        ),
        f"{iso} {month} DA-RT spread": plots.spread_histogram_plot_png(
            spread, locations, f"{iso} {month} hourly DA-RT spread"
        ),
    }


def bess_plots(iso: str, month: str, value: pl.DataFrame, location: str) -> dict[str, bytes]:
    """Title -> PNG: daily revenue by strategy at `location`."""
    title = f"{iso} {month} daily battery revenue at {location}"
    return {title: plots.daily_revenue_plot_png(value, location, title)}


def report_plots(report: MonthReport) -> dict[str, bytes]:
    """Every plot of the page: duration curves, spread histogram, daily revenue of the first
    headline location."""
    locations = headline_locations(report.price_stats) if report.price_stats.height else []
    pngs = price_plots(report.iso, report.month, report.price_duration, report.spread, locations)
    if locations:
        pngs |= bess_plots(report.iso, report.month, report.bess.value, locations[0])
    return pngs


def format_cell(value: object) -> str:
    """Numbers with two decimals (integers as they are), null as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def html_table(frame: pl.DataFrame) -> str:
    """A plain HTML table of `frame`, text left-aligned, numbers right-aligned."""
    if frame.is_empty():
        return '<p class="note">no rows</p>'
    text = {c for c, t in frame.schema.items() if not t.is_numeric()}

    def cell(tag: str, column: str, content: str) -> str:
        cls = ' class="text"' if column in text else ""
        return f"<{tag}{cls}>{html.escape(content)}</{tag}>"

    head = "".join(cell("th", c, c) for c in frame.columns)
    rows = [
        "".join(cell("td", c, format_cell(v)) for c, v in zip(frame.columns, row, strict=True))
        for row in frame.iter_rows()
    ]
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def image_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def duration_summary(duration: pl.DataFrame) -> pl.DataFrame:
    """The duration curve at DURATION_SHOWN percents, one column per percent."""
    if duration.is_empty():
        return duration
    shown = duration.filter(pl.col("percent_of_time").is_in(DURATION_SHOWN))
    return shown.with_columns(
        pl.format("{}%", pl.col("percent_of_time").cast(pl.Int64)).alias("percent")
    ).pivot(on="percent", index=["location", "market"], values="price_usd_per_mwh")


def render_report(
    report: MonthReport,
    pngs: Mapping[str, bytes] | None = None,
    headline_frame: pl.DataFrame | None = None,
) -> str:
    """The month report as one self-contained HTML page."""
    pngs = report_plots(report) if pngs is None else pngs
    headline_frame = headline(report) if headline_frame is None else headline_frame
    title = f"{report.iso} {report.month}: market report, battery {report.battery.label()}"
    stats = report.price_stats.drop("iso", "month") if report.price_stats.height else None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Headline</h2>",
        html_table(headline_frame),
        *(f'<p class="note">{html.escape(note)}</p>' for note in report.notes),
        "<h2>Plots</h2>",
        *(image_tag(png, name) for name, png in pngs.items()),
        "<h2>Battery value per month ($; $/kW-month per kW of power)</h2>",
        html_table(report.bess.monthly),
        "<h2>Price statistics per hub and zone ($/MWh; hours are interval-hours)</h2>",
        html_table(stats) if stats is not None else '<p class="note">no rows</p>',
        "<h2>Price duration ($/MWh met or exceeded that share of the month)</h2>",
        html_table(duration_summary(report.price_duration)),
        "<h2>Assumptions</h2>",
        "<ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in ASSUMPTIONS) + "</ul>",
        "</body></html>",
    ]
    return "\n".join(parts)
