"""The standard long tables every ISO reader produces (the column names are the contract).

Add columns, never rename them. Readers convert to these dtypes at the edge, so everything
downstream (transforms, quality checks, the DuckDB catalog) can rely on them.
"""

from __future__ import annotations

import polars as pl

ISOS = ("ERCOT", "CAISO", "NYISO", "ISONE", "PJM")
MARKETS = ("DAM", "RTM")

ISO_ENUM = pl.Enum(ISOS)
MARKET_ENUM = pl.Enum(MARKETS)
UTC = pl.Datetime("us", "UTC")


def local_datetime(timezone: str) -> pl.Datetime:
    return pl.Datetime("us", timezone)


def _time_columns(timezone: str) -> dict[str, pl.DataType]:
    return {
        "interval_start_utc": UTC,
        "interval_end_utc": UTC,
        "interval_start_local": local_datetime(timezone),
        "operating_day": pl.Date(),
        "iso": ISO_ENUM,
        "market": MARKET_ENUM,
        "interval_minutes": pl.Int16(),
    }


def price_schema(timezone: str) -> dict[str, pl.DataType]:
    """Long table of location prices (DA and RT LMPs / settlement point prices)."""
    return {
        **_time_columns(timezone),
        "location": pl.Utf8(),
        "location_type": pl.Utf8(),
        "iso_location_type": pl.Utf8(),
        "lmp": pl.Float64(),
        "energy": pl.Float64(),
        "congestion": pl.Float64(),
        "loss": pl.Float64(),
        # CAISO's greenhouse-gas component (MGHG); null elsewhere.
        "ghg": pl.Float64(),
        "source_file": pl.Utf8(),
    }


def ancillary_schema(timezone: str) -> dict[str, pl.DataType]:
    """Long table of ancillary-service clearing prices, one row per product per interval."""
    return {
        **_time_columns(timezone),
        "product": pl.Utf8(),
        "price": pl.Float64(),
        "source_file": pl.Utf8(),
    }


# Columns that identify one row; duplicates on these keys are a data error.
PRICE_KEY = ("interval_start_utc", "location", "location_type")
ANCILLARY_KEY = ("interval_start_utc", "product")

# Location types (mapped from ISO codes). *_EW are ERCOT's energy-weighted twins of a zone;
# AGGREGATE and INTERFACE are PJM's aggregates (residual metered EDCs) and external interfaces.
HUB, ZONE, ZONE_EW, NODE, DC_TIE, DC_TIE_EW = (
    "HUB",
    "ZONE",
    "ZONE_EW",
    "NODE",
    "DC_TIE",
    "DC_TIE_EW",
)
AGGREGATE, INTERFACE = "AGGREGATE", "INTERFACE"
