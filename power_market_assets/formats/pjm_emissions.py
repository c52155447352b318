"""PJM's five-minute marginal emission rates (Data Miner 2 `fivemin_marginal_emissions`) into
the emission-rate long table (registry/kinds.py EMISSION_RATE; docs/reference/fundamentals/
pjm.md, "Marginal emission rates").

One item is one pnode and five-minute interval with three rates (CO2, SO2, NOx, lb/MWh); it
gives one row (the rates are columns, not rows as in the other fundamentals feeds). The feed,
the file forms (JSON reply pages, CSV exports) and the time rules (the `_utc` field is the
truth, its `_ept` twin must agree) are the fundamentals reader's (formats/pjm_fundamentals.py),
which also tells this feed's files from the others'.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from power_market_assets.formats import pjm_fundamentals as fundamentals
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.kinds import EMISSION_RATE
from power_market_assets.registry.pjm import PjmFeed
from power_market_assets.registry.spec import DatasetSpec

LAYOUT = "marginal_emissions"
LOCATION_ID_FIELD = "pnode_id"


def is_emissions(spec: DatasetSpec) -> bool:
    return spec.file_layout == LAYOUT


def _location_ids(frame: pl.DataFrame, name: str) -> pl.Series:
    text = frame.get_column(LOCATION_ID_FIELD).str.strip_chars()
    ids = text.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
    bad = text.is_not_null() & (text != "") & ids.is_null()
    if bad.any():
        index = bad.arg_true()[0]
        raise FormatError(name, f"column {LOCATION_ID_FIELD} record {index + 1}: "
                          f"{text[index]!r} is not a pnode id")  # fmt: skip
    return ids.alias("location_id")


def _rows(frame: pl.DataFrame, feed: PjmFeed, spec: DatasetSpec) -> pl.DataFrame:
    """One row per item: interval start, location, location_id, the three rates, file."""
    name = frame.get_column("source_file")[0] if frame.height else ""
    start = fundamentals._utc_times(frame, feed.start_field, spec, name)
    location = frame.get_column(feed.name_field or "").str.strip_chars()
    if (location.is_null() | (location == "")).any():
        raise FormatError(name, f"column {feed.name_field}: a record has no pnode name")
    value_column = spec.table_kind.value_column
    rates = [
        fundamentals.number_column(frame, field, name, column == value_column).alias(column)
        for field, column in feed.values
    ]
    return pl.DataFrame(
        [
            start.alias("interval_start_utc"),
            location.alias("location"),
            _location_ids(frame, name),
            *rates,
            frame.get_column("source_file"),
        ]
    )


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "interval_start_utc": pl.Datetime("us", "UTC"),
            **EMISSION_RATE.dtypes,
            "source_file": pl.Utf8,
        }
    )


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Stage-1 files of the marginal-emissions dataset -> its emission-rate long table."""
    parts = [_rows(*fundamentals._records(Path(p), spec), spec) for p in paths]
    rows = pl.concat([_empty_rows(), *parts], how="vertical_relaxed")
    return to_standard(rows, spec).sort(*spec.unique_key)


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """Rows a file must yield: one per item or CSV data line (the rates are columns)."""
    return fundamentals.record_count(path, spec)[1]
