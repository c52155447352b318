"""Forecast vintages: a forecast table keeps every publication, so "latest as of T" is a query.

The DuckDB form of the same query (docs/TABLE_KINDS.md):

    select * from <iso>.<dataset>_raw_parquet
    where published_at_utc <= $as_of
    qualify row_number() over (
        partition by interval_start_utc, area order by published_at_utc desc) = 1
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from power_market_assets.registry.kinds import TableKind


def latest_as_of(
    forecast: pl.DataFrame | pl.LazyFrame, kind: TableKind, as_of: datetime
) -> pl.DataFrame:
    """Per interval and series, the newest vintage published at or before `as_of` (what a
    forecaster knew then); intervals with no vintage by then are absent."""
    vintage = kind.vintage_column
    if vintage is None:
        raise ValueError(f"table kind {kind.name!r} has no vintage column")
    series = [c for c in kind.key if c != vintage]
    return (
        forecast.lazy()
        .filter(pl.col(vintage) <= as_of)
        .sort(vintage)
        .unique(subset=series, keep="last", maintain_order=True)
        .sort(series)
        .collect()
    )
