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
