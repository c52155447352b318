"""Format readers: one module per ISO file family, all producing the standard long tables.

Every ISO's module formats/<iso>.py fulfils `IsoFormat` (formats/contract.py): `read_files`,
`identify` and `expected_rows`. `FORMATS` below is the one table of them, checked against the
registry's ISO list when this package is imported, so a missing reader or function fails here,
not in a run or a sensor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from power_market_assets.formats import caiso, ercot, isone, nyiso, pjm
from power_market_assets.formats.contract import IsoFormat, conforms
from power_market_assets.formats.filenames import EDITION_TOKENS, file_edition, name_tokens
from power_market_assets.registry.schema import iso_table
from power_market_assets.registry.spec import DatasetSpec

IDENTIFY_BYTES = 64 * 1024


def _format_table(modules: Mapping[str, IsoFormat]) -> dict[str, IsoFormat]:
    """The modules in the registry's ISO order, each checked against IsoFormat."""
    return {iso: conforms(m, IsoFormat) for iso, m in iso_table(modules, "format modules").items()}


FORMATS: dict[str, IsoFormat] = _format_table(
    {"ERCOT": ercot, "CAISO": caiso, "NYISO": nyiso, "ISONE": isone, "PJM": pjm}
)


def read_dataset_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read a dataset's stage-1 files into its standard long table."""
    return FORMATS[spec.iso].read_files(paths, spec)


def identify_file(name: str, head: bytes) -> DatasetSpec | None:
    """The dataset a file belongs to, asking each ISO's reader in turn."""
    for iso_format in FORMATS.values():
        spec = iso_format.identify(name, head[:IDENTIFY_BYTES])
        if spec is not None:
            return spec
    return None


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """The standard rows a stage-1 file must yield (IsoFormat.expected_rows)."""
    return FORMATS[spec.iso].expected_rows(path, spec, data_lines)


__all__ = [
    "EDITION_TOKENS",
    "FORMATS",
    "IDENTIFY_BYTES",
    "IsoFormat",
    "expected_rows",
    "file_edition",
    "identify_file",
    "name_tokens",
    "read_dataset_files",
]
