"""The last step of every reader: the frame in the standard long table of its spec.

Price components an ISO does not publish (ERCOT: all of them; everyone but CAISO: the
greenhouse-gas component) are added as typed nulls, so a new component column in
registry/schema.py needs a change only in the readers that publish it.
"""

from __future__ import annotations

import polars as pl

from power_market_assets.registry.spec import DatasetSpec

OPTIONAL_COMPONENTS = ("energy", "congestion", "loss", "ghg")


def to_standard(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Cast to `spec.schema`, in its column order, with absent components as nulls."""
    schema = spec.schema
    absent = [c for c in OPTIONAL_COMPONENTS if c in schema and c not in frame.columns]
    if absent:
        frame = frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in absent)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
