"""Hub-price line plots as small PNGs, and the markdown that shows a PNG in Dagster metadata.

Pure matplotlib on the Agg canvas (a `Figure` with its own `FigureCanvasAgg`): no pyplot, no
global backend switch, no screen, safe in Dagster's worker processes and threads. No dagster
import: callers wrap the markdown in `dg.MetadataValue.md(...)`.

    png = hub_price_plot_png(flattened, ["HB_NORTH", "HB_HOUSTON"], "ERCOT DA 2024-11-03")
    context.add_output_metadata({"hub_prices": dg.MetadataValue.md(png_markdown(png, "DA hubs"))})

A combined month holds several markets on different scales (DA and RT energy prices, AS
clearing prices): `market_panels_plot_png` draws one panel per market over a shared time axis,
with the panels `combined_panels` picks from the columns the output actually holds.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from power_market_assets.transforms.combine import AS_PREFIX, DA_PREFIX, RT_PREFIX

__all__ = [
    "PANEL_HEIGHT_PX",
    "PNG_SIGNATURE",
    "TIME_COLUMN",
    "combined_panels",
    "daily_revenue_plot_png",
    "duration_curve_plot_png",
    "hub_price_plot_png",
    "market_panels_figure",
    "market_panels_plot_png",
    "png_markdown",
    "spread_histogram_plot_png",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIME_COLUMN = "interval_start_utc"
WIDTH_PX, HEIGHT_PX, DPI = 800, 300, 100
# A market panel plot is HEADER_PX (title, time axis) plus PANEL_HEIGHT_PX per panel.
HEADER_PX, PANEL_HEIGHT_PX = 100, 200

# One panel: its market label ("DA", "RT", "AS") and the wide columns drawn in it.
Panel = tuple[str, list[str]]

# Fixed so that the same frame gives the same bytes (no "Software: matplotlib x.y" chunk).
_PNG_METADATA = {"Software": None}


def _figure(height_px: int = HEIGHT_PX) -> tuple[Figure, FigureCanvasAgg]:
    fig = Figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    return fig, FigureCanvasAgg(fig)


def _render(fig: Figure, canvas: FigureCanvasAgg) -> bytes:
    buf = io.BytesIO()
    # No bbox_inches="tight": it would change the pixel size; constrained layout fits instead.
    canvas.print_png(buf, metadata=_PNG_METADATA)
    return buf.getvalue()


def _placeholder(fig: Figure, title: str, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, transform=ax.transAxes)
    ax.set_axis_off()


def _time_zone(dtype: pl.DataType, timezone: str | None) -> ZoneInfo:
    if timezone:
        return ZoneInfo(timezone)
    frame_tz = getattr(dtype, "time_zone", None)
    return ZoneInfo(frame_tz or "UTC")


def hub_price_plot_png(
    wide: pl.DataFrame,
    locations: Sequence[str],
    title: str,
    *,
    timezone: str | None = None,
    y_label: str = "$/MWh",
) -> bytes:
    """An ~800x300 PNG: one line per location column of `wide` against interval_start_utc.

    `wide` is a flattened/combined frame (interval_start_utc plus one Float64 column per
    location). Locations that are not columns of the frame are left out (and named in the
    title); nulls break the line rather than being joined over. With no time column, no
    rows or none of the locations, the PNG says so instead of raising. `timezone` (e.g.
    "America/Chicago") labels the time axis in that zone; otherwise the column's own (UTC).
    """
    fig, canvas = _figure()
    present = [loc for loc in dict.fromkeys(locations) if loc in wide.columns]
    missing = [loc for loc in dict.fromkeys(locations) if loc not in wide.columns]
    shown_title = title if not missing else f"{title} (not in data: {', '.join(missing)})"
    if TIME_COLUMN not in wide.columns:
        _placeholder(fig, shown_title, f"no {TIME_COLUMN} column")
        return _render(fig, canvas)
    if not present:
        _placeholder(fig, shown_title, "none of the requested locations are in the data")
        return _render(fig, canvas)
    frame = wide.select(TIME_COLUMN, *present).drop_nulls(TIME_COLUMN).sort(TIME_COLUMN)
    if frame.is_empty():
        _placeholder(fig, shown_title, "no rows")
        return _render(fig, canvas)

    tz = _time_zone(frame.schema[TIME_COLUMN], timezone)
    ax = fig.add_subplot()
    _draw_lines(ax, frame, present, y_label)
    ax.set_title(shown_title, fontsize=10)
    _time_axis(ax, tz)
    return _render(fig, canvas)


def _draw_lines(ax, frame: pl.DataFrame, columns: Sequence[str], y_label: str) -> None:
    """One step line per column against the time column; nulls break the line."""
    # Polars gives tz-aware datetimes to numpy as UTC datetime64; matplotlib takes those as UTC.
    x = frame.get_column(TIME_COLUMN).to_numpy()
    for column in columns:
        y = frame.get_column(column).cast(pl.Float64, strict=False).to_numpy().astype(np.float64)
        ax.plot(x, y, linewidth=1.2, label=column, drawstyle="steps-post")
    ax.set_ylabel(y_label, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=7, ncols=min(len(columns), 6), loc="upper left", frameon=False)


def _time_axis(ax, tz: ZoneInfo) -> None:
    ax.set_xlabel(f"interval start ({tz.key})", fontsize=8)
    locator = mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))


def combined_panels(
    columns: Sequence[str], locations: Sequence[str], products: Sequence[str]
) -> list[Panel]:
    """The DA, RT and AS panels of a combined frame, as far as its `columns` hold them.

    Combined columns (transforms/combine.py) are `da_<loc>`, `as_<product>` and either
    `rt_<loc>` (RT granularity) or `rt_<loc>_mean` with max/min/std (hourly): RT is drawn as
    the hourly mean where there is one. A market without columns gets no panel.
    """
    have = set(columns)

    def rt_column(loc: str) -> str:
        mean = f"{RT_PREFIX}{loc}_mean"
        return mean if mean in have else f"{RT_PREFIX}{loc}"

    candidates = [
        ("DA", [f"{DA_PREFIX}{loc}" for loc in locations]),
        ("RT", [rt_column(loc) for loc in locations]),
        ("AS", [f"{AS_PREFIX}{product}" for product in products]),
    ]
    panels = [(name, [c for c in wanted if c in have]) for name, wanted in candidates]
    return [(name, shown) for name, shown in panels if shown]


def market_panels_figure(
    wide: pl.DataFrame,
    panels: Sequence[Panel],
    title: str,
    *,
    timezone: str | None = None,
) -> Figure:
    """One panel per market (stacked, shared time axis) with a line per column of `wide`.

    Each market keeps its own price scale (an AS price of 5 $/MWh stays visible next to an
    RT spike). Columns absent from `wide` are left out, and a panel left with none is
    dropped; with no time column, no rows or no panel, the figure says so instead.
    """
    shown = [(name, [c for c in cols if c in wide.columns]) for name, cols in panels]
    shown = [(name, cols) for name, cols in shown if cols]
    fig, _ = _figure(HEADER_PX + PANEL_HEIGHT_PX * max(len(shown), 1))
    frame = wide.drop_nulls(TIME_COLUMN).sort(TIME_COLUMN) if TIME_COLUMN in wide.columns else None
    if frame is None or frame.is_empty() or not shown:
        reason = f"no {TIME_COLUMN} column" if frame is None else "no rows or no plotted columns"
        _placeholder(fig, title, reason)
        return fig
    tz = _time_zone(frame.schema[TIME_COLUMN], timezone)
    axes = fig.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, columns) in zip(axes, shown, strict=True):
        _draw_lines(ax, frame, columns, f"{name} $/MWh")
    fig.suptitle(title, fontsize=10)
    _time_axis(axes[-1], tz)
    return fig


def market_panels_plot_png(
    wide: pl.DataFrame,
    panels: Sequence[Panel],
    title: str,
    *,
    timezone: str | None = None,
) -> bytes:
    """`market_panels_figure` as a PNG, 800 px wide and PANEL_HEIGHT_PX taller per panel."""
    fig = market_panels_figure(wide, panels, title, timezone=timezone)
    return _render(fig, fig.canvas)


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown showing `png` inline via a base64 data URI (as Dagster metadata shows images)."""
    safe_alt = " ".join(alt.replace("[", "(").replace("]", ")").split())
    return f"![{safe_alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


# --- issue 15: report plots (price duration curves, battery revenue, DA-RT spread) ----------

REPORT_LINES = 6  # locations drawn in one report plot


def duration_curve_plot_png(duration: pl.DataFrame, locations: Sequence[str], title: str) -> bytes:
    """Price duration curves: price ($/MWh) against the percent of time it is met or exceeded,
    one line per location and market (DA solid, RT dashed) of a `price_duration` table."""
    fig, canvas = _figure()
    shown = [loc for loc in dict.fromkeys(locations) if loc in set(duration["location"])]
    if duration.is_empty() or not shown:
        _placeholder(fig, title, "no price duration rows for these locations")
        return _render(fig, canvas)
    ax = fig.add_subplot()
    for n, location in enumerate(shown[:REPORT_LINES]):
        for market, style in (("DA", "-"), ("RT", "--")):
            curve = duration.filter(
                (pl.col("location") == location) & (pl.col("market") == market)
            ).sort("percent_of_time")
            if curve.height:
                ax.plot(
                    curve["percent_of_time"].to_numpy(),
                    curve["price_usd_per_mwh"].to_numpy(),
                    linestyle=style,
                    color=f"C{n}",
                    linewidth=1.2,
                    label=f"{location} {market}",
                )
    _style_report_axes(
        ax, title, "percent of time price is met or exceeded (%)", "$/MWh", 4, "upper right"
    )
    return _render(fig, canvas)


def daily_revenue_plot_png(value: pl.DataFrame, location: str, title: str) -> bytes:
    """Daily revenue ($) of each strategy at one location: the `report_bess_value` rows of a
    whole strategy (`product` null; da_ancillary includes its AS capacity revenue)."""
    fig, canvas = _figure()
    rows = value.filter(pl.col("location") == location) if value.height else value
    if "product" in rows.columns:
        rows = rows.filter(pl.col("product").is_null())
    if rows.is_empty():
        _placeholder(fig, title, f"no battery value rows for {location}")
        return _render(fig, canvas)
    daily = (
        rows.group_by("operating_day", "strategy")
        .agg(pl.col("revenue_usd").sum())
        .sort("strategy", "operating_day")
    )
    ax = fig.add_subplot()
    for strategy in daily["strategy"].unique(maintain_order=True).to_list():
        line = daily.filter(pl.col("strategy") == strategy)
        ax.plot(
            line["operating_day"].to_numpy(),
            line["revenue_usd"].to_numpy(),
            marker="o",
            markersize=2.5,
            linewidth=1.2,
            label=strategy,
        )
    ax.xaxis.set_major_locator(
        mdates.AutoDateLocator(minticks=3, maxticks=10, interval_multiples=True)
    )
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    _style_report_axes(ax, title, "operating day", "revenue ($ per day)", 3, "upper left")
    fig.autofmt_xdate()
    return _render(fig, canvas)


def spread_histogram_plot_png(
    spread: pl.DataFrame, locations: Sequence[str], title: str, bins: int = 40
) -> bytes:
    """Histogram of the hourly DA-RT spread ($/MWh, column `lmp` of price_stats.da_rt_spread),
    one outline per location, on shared bins."""
    fig, canvas = _figure()
    shown = [loc for loc in dict.fromkeys(locations) if loc in set(spread["location"])]
    if spread.is_empty() or not shown:
        _placeholder(fig, title, "no DA-RT spread for these locations")
        return _render(fig, canvas)
    shown = shown[:REPORT_LINES]
    values = spread.filter(pl.col("location").is_in(shown))["lmp"].drop_nulls().to_numpy()
    edges = np.histogram_bin_edges(values, bins=bins)
    ax = fig.add_subplot()
    for location in shown:
        data = spread.filter(pl.col("location") == location)["lmp"].drop_nulls().to_numpy()
        ax.hist(data, bins=edges, histtype="step", linewidth=1.2, label=location)
    _style_report_axes(
        ax, title, "DA - RT ($/MWh, RT averaged over the DA hour)", "hours", 3, "upper right"
    )
    return _render(fig, canvas)


def _style_report_axes(
    ax, title: str, xlabel: str, ylabel: str, legend_columns: int, legend_at: str
) -> None:
    """The report plots' one look: small labels, a light grid, the legend without a frame."""
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=7, ncols=legend_columns, loc=legend_at, frameon=False)
