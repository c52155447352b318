"""The last step of every reader: the frame in the standard long table of its spec.

A reader supplies interval_start_utc, the location (or product), the prices and source_file;
the columns that follow from the spec and the interval start (interval_end_utc,
interval_start_local, operating_day, iso, market, interval_minutes) are derived here once.
Price components an ISO does not publish (ERCOT: all of them; everyone but CAISO: the
greenhouse-gas component) are added as typed nulls, so a new component column in
registry/schema.py needs a change only in the readers that publish it.
"""

from __future__ import annotations

import polars as pl

from power_market_assets.registry.spec import DatasetSpec

OPTIONAL_COMPONENTS = ("energy", "congestion", "loss", "ghg")


def _derived_columns(spec: DatasetSpec) -> dict[str, pl.Expr]:
    start = pl.col("interval_start_utc")
    local = start.dt.convert_time_zone(spec.timezone)
    return {
        "interval_end_utc": start + pl.duration(minutes=spec.interval_minutes),
        "interval_start_local": local,
        "operating_day": local.dt.date(),
        "iso": pl.lit(spec.iso),
        "market": pl.lit(spec.market),
        "interval_minutes": pl.lit(spec.interval_minutes),
    }


def to_standard(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Cast to `spec.schema`, in its column order: derived columns the reader did not set are
    added, absent price components are nulls."""
    schema = spec.schema
    derived = {k: e for k, e in _derived_columns(spec).items() if k not in frame.columns}
    if derived:
        frame = frame.with_columns(e.alias(k) for k, e in derived.items())
    absent = [c for c in OPTIONAL_COMPONENTS if c in schema and c not in frame.columns]
    if absent:
        frame = frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in absent)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
