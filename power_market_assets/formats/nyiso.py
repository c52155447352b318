"""NYISO MIS CSV layouts (LBMP zonal/generator, DAM and RT ancillary prices) into the
standard long tables.

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

from power_market_assets.formats.csvjoin import (
    CsvText,
    check_fields,
    check_filled,
    group_by_header,
    parse_fields,
    split_csv,
)
from power_market_assets.formats.errors import FormatError
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
# The spec.file_layout values read here (told apart by table kind; test_registry_completeness).
LAYOUTS = frozenset({"lbmp", "asp"})
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


# --------------------------------------------------------------------------- time


def _local_stamp(text: pl.Expr) -> pl.Expr:
    stamp = text.str.strip_chars()
    return pl.coalesce(
        stamp.str.strptime(pl.Datetime("us"), "%m/%d/%Y %H:%M:%S", strict=False),
        stamp.str.strptime(pl.Datetime("us"), "%m/%d/%Y %H:%M", strict=False),
    )


def _with_occurrence(frame: pl.DataFrame) -> pl.DataFrame:
    """0 for the first row of a (file, stamp, name), 1 for its repeat (the fall-back hour)."""
    return frame.with_columns(
        pl.int_range(pl.len()).over("source_file", "time_stamp", "name").alias("_occurrence")
    )


def _instant_table(labels: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Per distinct (stamp, occurrence, zone label): the UTC instant the stamp names.

    Ambiguous wall times (the repeated fall-back hour) resolve by the `Time Zone` label when
    the file has one (daylight vs standard, read from the tz database), else by order.
    """
    naive = _local_stamp(pl.col("time_stamp"))
    tz = spec.timezone
    earliest = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    latest = naive.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
    label = pl.col("time_zone").str.strip_chars().str.to_uppercase()
    daylight = (
        pl.when(label.str.ends_with("DT"))
        .then(pl.lit(True))
        .when(label.str.ends_with("ST"))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )
    table = labels.with_columns(
        naive.alias("_naive"),
        earliest.alias("_earliest"),
        latest.alias("_latest"),
        daylight.alias("_daylight"),
    ).with_columns((pl.col("_earliest") != pl.col("_latest")).alias("_ambiguous"))
    by_label = (
        pl.when(pl.col("_earliest").dt.dst_offset() != pl.duration(seconds=0))
        .then(pl.when(pl.col("_daylight")).then("_earliest").otherwise("_latest"))
        .otherwise(pl.when(pl.col("_daylight")).then("_latest").otherwise("_earliest"))
    )
    by_order = pl.when(pl.col("_occurrence") == 0).then("_earliest").otherwise("_latest")
    chosen = pl.when(pl.col("_daylight").is_not_null()).then(by_label).otherwise(by_order)
    return table.with_columns(chosen.alias("_chosen")).with_columns(
        pl.col("_chosen").dt.convert_time_zone("UTC").alias("_instant_utc")
    )


def _check_instants(table: pl.DataFrame, frame: pl.DataFrame, key: list[str]) -> None:
    """Bad stamps, skipped wall times, labels that contradict the tz database, true repeats."""
    labelled = pl.col("_daylight").is_not_null()
    chosen_is_daylight = pl.col("_chosen").dt.dst_offset() != pl.duration(seconds=0)
    problems = (
        (pl.col("_naive").is_null(), "is not MM/DD/YYYY HH:MM[:SS]"),
        (pl.col("_earliest").is_null(), "does not exist (skipped by the spring-forward change)"),
        (
            labelled & (chosen_is_daylight != pl.col("_daylight")),
            "contradicts its Time Zone label",
        ),
        (
            ~labelled & (pl.col("_occurrence") >= 1) & ~pl.col("_ambiguous"),
            "is repeated for one name outside the fall-back hour",
        ),
        (~labelled & (pl.col("_occurrence") >= 2), "appears more than twice for one name"),
    )
    for condition, problem in problems:
        bad = table.filter(condition)
        if bad.height:
            label = bad.row(0, named=True)
            first = frame.join(bad.head(1).select(key), on=key, how="semi", nulls_equal=True)
            first = first.row(0, named=True)
            raise FormatError(
                first["source_file"],
                f"Time Stamp {label['time_stamp']!r} {problem} ({bad.height} bad label(s))",
            )


def _interval_starts(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    if "time_zone" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias("time_zone"))
    frame = _with_occurrence(frame)
    key = ["time_stamp", "_occurrence", "time_zone"]
    table = _instant_table(frame.select(key).unique(), spec)
    _check_instants(table, frame, key)
    start = pl.col("_instant_utc")
    if spec.source.time_stamp == "interval_ending":
        start = start - pl.duration(minutes=spec.interval_minutes)
    table = table.select(*key, start.alias("interval_start_utc"))
    return frame.join(table, on=key, how="left", nulls_equal=True)


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
    frame = _interval_starts(frame, spec)
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
