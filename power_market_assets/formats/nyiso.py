"""NYISO MIS CSV layouts (LBMP zonal/generator, DAM and RT ancillary prices) into the
standard long tables; load, load forecast, fuel mix and BTM solar are read by
formats/nyiso_fundamentals.py (dispatched here by layout).

Conventions (docs/reference/ISO_FORMATS.md section 3):

- "Time Stamp" is Eastern wall-clock time, `MM/DD/YYYY HH:MM` or `MM/DD/YYYY HH:MM:SS`;
  quoting and line ends vary by file and era (all variants are read alike).
- Hourly files stamp the hour beginning; RTD files (realtime, rtasp) the interval ENDING, so
  the start is the stamp's instant minus the nominal interval (`spec.source.time_stamp`).
  Off-schedule RTD stamps (00:15:12) are kept as published, never snapped.
- DST: the spring-forward day has no 02:00 label; on the fall-back day the 01:00 labels are
  printed twice. LBMP files have no time-zone column, so row order is the only discriminator
  (first occurrence EDT, second EST); AS files carry `Time Zone` (EDT/EST), which decides.
- NYISO publishes "Marginal Cost Congestion" with the opposite sign (LBMP = energy + losses -
  published congestion); the standard `congestion` is its negation, so that
  lmp = energy + congestion + loss.
- AS files have one row per zone and four (DAM) or five (RT) price columns; each becomes one
  standard row whose product carries the zone, e.g. `N.Y.C._SPIN_10`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from power_market_assets.formats import nyiso_fundamentals as fundamentals
from power_market_assets.formats.csvjoin import (
    CsvText,
    check_fields,
    check_filled,
    group_by_header,
    parse_fields,
    split_csv,
)
from power_market_assets.formats.nyiso_time import interval_starts
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry import nyiso
from power_market_assets.registry.kinds import PRICE
from power_market_assets.registry.schema import NODE, ZONE
from power_market_assets.registry.spec import DatasetSpec

# Canonical field -> header spellings (compared lower-case without spaces).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "time_stamp": ("Time Stamp",),
    "time_zone": ("Time Zone",),
    "name": ("Name",),
    "ptid": ("PTID",),
    "lbmp": ("LBMP ($/MWHr)",),
    "losses": ("Marginal Cost Losses ($/MWHr)",),
    # Before about July 2016 the last header cell was cut to "...($/MWH".
    "congestion": ("Marginal Cost Congestion ($/MWHr)", "Marginal Cost Congestion ($/MWH"),
    **{product: (column,) for product, column in nyiso.RT_AS_PRODUCT_COLUMNS.items()},
}
LBMP_PRICES = ("lbmp", "losses", "congestion")
# The spec.file_layout values read here (prices told apart by table kind; load, forecast, fuel
# mix and BTM solar in formats/nyiso_fundamentals.py; test_registry_completeness).
PRICE_LAYOUTS = frozenset({"lbmp", "asp"})
LAYOUTS = PRICE_LAYOUTS | fundamentals.LAYOUTS
ISO_ZONE, ISO_GEN = "ZONE", "GEN"  # iso_location_type: which NYISO report a row came from
_ZONE_NAMES = frozenset(nyiso.ZONE_PTIDS)
_FILE_KIND = re.compile(r"_(zone|gen)(?:[._]|$)", re.I)


def _normalize(cell: str) -> str:
    return cell.strip().replace(" ", "").lower()


_ALIAS_LOOKUP = {
    _normalize(alias): field for field, aliases in FIELD_ALIASES.items() for alias in aliases
}


def price_fields(spec: DatasetSpec) -> tuple[str, ...]:
    """The numeric columns a dataset's files must carry (canonical names)."""
    if spec.table_kind is PRICE:
        return LBMP_PRICES
    columns = nyiso.RT_AS_PRODUCT_COLUMNS if spec.market == "RTM" else nyiso.AS_PRODUCT_COLUMNS
    return tuple(columns)


def required_fields(spec: DatasetSpec) -> tuple[str, ...]:
    return ("time_stamp", "name", *price_fields(spec))


def canonical_fields(header: Sequence[str]) -> list[str | None]:
    """Each header cell's canonical field (None for columns not used)."""
    return [_ALIAS_LOOKUP.get(_normalize(cell)) for cell in header]


# --------------------------------------------------------------------------- standard rows


def _file_kind(source_file: pl.Expr, name: pl.Expr) -> pl.Expr:
    """ZONE or GEN: from the file name (`..._zone.csv`), else from the location name."""
    kind = source_file.cast(pl.Utf8).str.extract(_FILE_KIND.pattern, 1).str.to_uppercase()
    by_name = (
        pl.when(name.is_in(list(_ZONE_NAMES))).then(pl.lit(ISO_ZONE)).otherwise(pl.lit(ISO_GEN))
    )
    return pl.coalesce(kind, by_name)


def _price_rows(frame: pl.DataFrame) -> pl.DataFrame:
    name = pl.col("name").str.strip_chars()
    kind = _file_kind(pl.col("source_file"), name)
    # NYISO's sign is the opposite; a published 0.00 stays 0.0 (not -0.0).
    published = pl.col("congestion")
    congestion = pl.when(published == 0).then(pl.lit(0.0)).otherwise(-published)
    return frame.with_columns(
        name.alias("location"),
        pl.when(kind == ISO_ZONE).then(pl.lit(ZONE)).otherwise(pl.lit(NODE)).alias("location_type"),
        kind.alias("iso_location_type"),
        pl.col("lbmp").alias("lmp"),
        pl.col("losses").alias("loss"),
        congestion.alias("congestion"),
        (pl.col("lbmp") - pl.col("losses") - congestion).round(6).alias("energy"),
    )


def _ancillary_rows(frame: pl.DataFrame, products: Sequence[str]) -> pl.DataFrame:
    keep = [c for c in frame.columns if c not in products]
    long = frame.unpivot(
        on=list(products), index=keep, variable_name="_product", value_name="price"
    )
    zone = pl.col("name").str.strip_chars()
    return long.with_columns((zone + pl.lit("_") + pl.col("_product")).alias("product"))


def read_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """CSV texts of one NYISO dataset (any mix of header spellings) -> standard long table."""
    if spec.file_layout in fundamentals.LAYOUTS:
        return fundamentals.read_texts(texts, spec)
    numeric = set(price_fields(spec))
    frames, header_of = [], {}
    for header, group in group_by_header(texts).items():
        fields = canonical_fields(header)
        check_fields(group[0], fields, required_fields(spec), lambda f: FIELD_ALIASES[f][0])
        header_of.update({f: cell for cell, f in zip(header, fields, strict=True) if f})
        frames.append(parse_fields(group, fields, numeric))
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    frame = pl.concat(frames, how="diagonal_relaxed")
    check_filled(frame, {f: header_of.get(f, f) for f in price_fields(spec)})
    frame = interval_starts(frame, spec)
    if spec.table_kind is PRICE:
        frame = _price_rows(frame)
    else:
        frame = _ancillary_rows(frame, price_fields(spec))
    return to_standard(frame, spec)


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read extracted NYISO CSV files (stage 1) into the standard long table (stage 2)."""
    return read_texts([split_csv(Path(p).read_bytes(), Path(p).name) for p in paths], spec)


# --------------------------------------------------------------------------- routing


def _header_cells(head: bytes) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip()
    return [cell.strip().strip('"').strip() for cell in first.split(",")] if first else []


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """LBMP files: one row per line; AS files: one row per line and price column."""
    if spec.file_layout in fundamentals.LAYOUTS:
        return fundamentals.expected_rows(path, spec, data_lines)
    if spec.table_kind is PRICE:
        return data_lines
    with open(path, "rb") as handle:
        fields = set(canonical_fields(_header_cells(handle.read(4096))))
    return data_lines * len(fields & set(price_fields(spec)))


_NAME_PATTERN = re.compile(
    r"(?:^|[^0-9])\d{8}(damlbmp|realtime|rtlbmp)_(?:zone|gen)(?:_csv)?\.(?:csv|zip)$"
    r"|(?:^|[^0-9])\d{8}(damasp|rtasp)(?:_csv)?\.(?:csv|zip)$",
    re.I,
)


def _spec_for_folder(folder: str) -> DatasetSpec | None:
    for spec in nyiso.NYISO_DATASETS:
        if spec.source.folder == folder.lower():
            return spec
    return None


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """Which NYISO dataset a file is: by its MIS name, else by header and stamp format."""
    match = _NAME_PATTERN.search(Path(name).name)
    if match:
        return _spec_for_folder(match.group(1) or match.group(2))
    found = fundamentals.identify(name, head)
    if found is not None:
        return found
    fields = set(canonical_fields(_header_cells(head)))
    if not {"time_stamp", "name"} <= fields:
        return None
    if set(LBMP_PRICES) <= fields:
        lines = head.split(b"\n")
        first_row = lines[1].decode("utf-8", "replace") if len(lines) > 1 else ""
        with_seconds = re.search(r"\d{1,2}:\d{2}:\d{2}", first_row) is not None
        return nyiso.RT_PRICES if with_seconds else nyiso.DA_PRICES
    if "REG_MOVE" in fields:
        return nyiso.RT_AS_PRICES
    if set(nyiso.AS_PRODUCT_COLUMNS) <= fields:
        return nyiso.AS_PRICES
    return None
