"""Format readers: one module per ISO file family, all producing the standard long tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from power_market_assets.formats import ercot
from power_market_assets.registry.spec import DatasetSpec

READERS = {"ERCOT": ercot.read_files}


def read_dataset_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read a dataset's stage-1 files into its standard long table."""
    return READERS[spec.iso](paths, spec)


def markdown_table(frame: pl.DataFrame, max_rows: int = 20) -> str:
    """A small markdown table for Dagster metadata (no extra dependency)."""
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=max_rows,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=10_000,
    ):
        return str(frame.head(max_rows))
