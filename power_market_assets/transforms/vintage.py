"""Forecast vintages: a forecast table keeps every publication, so "latest as of T" is a query.

The DuckDB form of the same query (docs/TABLE_KINDS.md):

    select * from <iso>.<dataset>_raw_parquet
    where published_at_utc <= $as_of
    qualify row_number() over (
        partition by interval_start_utc, area, model order by published_at_utc desc) = 1

`latest` is the same without the cut-off: the newest vintage of every interval and series, what
stage 3 flattens and the `<iso>.<dataset>_latest` views show.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from power_market_assets.registry.kinds import TableKind


def vintage_series(kind: TableKind) -> list[str]:
    """The key without the vintage: one interval of one series (area and model, ...)."""
    vintage = kind.vintage_column
    if vintage is None:
        raise ValueError(f"table kind {kind.name!r} has no vintage column")
    return [c for c in kind.key if c != vintage]


def latest(forecast: pl.DataFrame | pl.LazyFrame, kind: TableKind) -> pl.DataFrame:
    """Per interval and series, the newest vintage in the table (the `<iso>.<dataset>_latest`
    view; stage 3 flattens this)."""
    series = vintage_series(kind)
    return (
        forecast.lazy()
        .sort(kind.vintage_column)
        .unique(subset=series, keep="last", maintain_order=True)
        .sort(series)
        .collect()
    )


def latest_as_of(
    forecast: pl.DataFrame | pl.LazyFrame, kind: TableKind, as_of: datetime
) -> pl.DataFrame:
    """Per interval and series, the newest vintage published at or before `as_of` (what a
    forecaster knew then); intervals with no vintage by then are absent."""
    series = vintage_series(kind)
    vintage = kind.vintage_column
    return (
        forecast.lazy()
        .filter(pl.col(vintage) <= as_of)
        .sort(vintage)
        .unique(subset=series, keep="last", maintain_order=True)
        .sort(series)
        .collect()
    )
