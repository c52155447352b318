"""Hub-price PNGs for asset metadata: a real PNG of the right size, whatever the frame holds."""

from __future__ import annotations

import base64
import re
import struct
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from power_market_assets.reporting.plots import (
    PNG_SIGNATURE,
    hub_price_plot_png,
    png_markdown,
)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"  # the first chunk, as the PNG spec requires
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _wide(hours: int = 25) -> pl.DataFrame:
    """A fall-back day's DA frame: 25 hourly intervals from 05:00 UTC, one null cell."""
    start = datetime(2024, 11, 3, 5, tzinfo=UTC)
    starts = [start + timedelta(hours=h) for h in range(hours)]
    return pl.DataFrame(
        {
            "interval_start_utc": starts,
            "HB_NORTH": [20.0 + h for h in range(hours)],
            "HB_HOUSTON": [None if h == 3 else 25.0 - h / 2 for h in range(hours)],
            "LZ_WEST": [-5.0 + 2 * h for h in range(hours)],
        },
        schema_overrides={"interval_start_utc": pl.Datetime("us", "UTC")},
    )


def test_plot_is_a_small_png_of_the_fixed_size():
    hubs = ["HB_NORTH", "HB_HOUSTON"]
    png = hub_price_plot_png(_wide(), hubs, "ERCOT DA hubs 2024-11-03")
    assert _png_size(png) == (800, 300)
    assert 2_000 < len(png) < 200_000
    # deterministic: same frame, same bytes (no version/date chunks)
    assert png == hub_price_plot_png(_wide(), hubs, "ERCOT DA hubs 2024-11-03")


def test_local_time_axis_and_unsorted_input():
    frame = _wide().reverse()
    png = hub_price_plot_png(frame, ["LZ_WEST"], "west", timezone="America/Chicago")
    assert _png_size(png) == (800, 300)
    assert png != hub_price_plot_png(_wide(), ["LZ_WEST"], "west")  # different axis labels


@pytest.mark.parametrize(
    ("frame", "locations"),
    [
        pytest.param(_wide(), ["HB_NORTH", "HB_NOT_THERE"], id="one-missing-column"),
        pytest.param(_wide(), ["HB_NOT_THERE"], id="all-missing"),
        pytest.param(_wide(), [], id="no-locations"),
        pytest.param(_wide().clear(), ["HB_NORTH"], id="empty-frame"),
        pytest.param(pl.DataFrame(), ["HB_NORTH"], id="no-columns"),
        pytest.param(_wide().drop("interval_start_utc"), ["HB_NORTH"], id="no-time-column"),
        pytest.param(
            _wide().with_columns(pl.lit(None, dtype=pl.Float64).alias("HB_NORTH")),
            ["HB_NORTH"],
            id="all-null-column",
        ),
        pytest.param(
            _wide().with_columns(pl.col("interval_start_utc").dt.replace_time_zone(None)),
            ["HB_NORTH"],
            id="naive-times",
        ),
        pytest.param(
            _wide().with_columns(pl.col("HB_NORTH").cast(pl.Int64)), ["HB_NORTH"], id="int-prices"
        ),
    ],
)
def test_odd_frames_still_give_a_png(frame: pl.DataFrame, locations: list[str]):
    assert _png_size(hub_price_plot_png(frame, locations, "odd")) == (800, 300)


def test_png_markdown_is_a_data_uri_image():
    png = hub_price_plot_png(_wide(), ["HB_NORTH"], "north")
    md = png_markdown(png, "ERCOT [DA]\nhubs")
    match = re.fullmatch(r"!\[([^\]\n]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert match, md[:80]
    assert match.group(1) == "ERCOT (DA) hubs"
    assert base64.b64decode(match.group(2)) == png
