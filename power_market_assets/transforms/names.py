"""Wide column names a user can type: plain SQL identifiers, mapped back to the ISO's names.

ISO location and product names are not identifiers ("N.Y.C.", "HUD VL", "0096WD_7_N001",
"PJM RTO Synchronized Reserve"), so wide (stage 3) and combined (stage 4) columns use
`sql_identifier` of the name instead: lower case, [a-z0-9_] only, never a DuckDB reserved word,
never starting with a digit. `select da_n_y_c from nyiso.combined_da_as_rt_hourly` then parses.

Two names can give one identifier ("N.Y.C." and "N Y C"); `assign_wide_columns` makes them
unique within one table (n_y_c, n_y_c_2) by sorted name, the spec's default locations first, so
a default location's column is the same in every month whatever else the month holds, and stage
4 can name its columns from the spec alone. `location_map` is the mapping frame (wide column ->
location, types, product, zone) that stage 3 uses to pivot and writes next to its months, and
that the pivot-accuracy check uses to compare long and wide. The long tables keep the names.

A kind with `pivot_qualifiers` (forecast: model; renewable: area, model) qualifies the pivot value
with each qualifier that takes more than one value in the table (`varying_qualifiers`): a
forecast of one model gives `coast`, of several `coast_e1`; wind by area and model gives
`wind_system_stwpf`. The map records the qualifiers, so a wide column is read back the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import polars as pl

from power_market_assets.registry.spec import DatasetSpec

EW_SUFFIX = "_EW"
DIGIT_PREFIX = "n_"
RESERVED_SUFFIX = "_"
EMPTY_NAME = "unnamed"
# The wide frames' own columns: a location must not take one of these names.
TIME_COLUMNS = ("interval_start_utc", "interval_end_utc", "interval_start_local", "operating_day")
# DuckDB 1.x: select keyword_name from duckdb_keywords() where keyword_category = 'reserved'
# (a test compares this with the installed DuckDB; transforms/ does not import duckdb).
DUCKDB_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create default deferrable desc describe distinct do else end except false fetch
    for foreign from group having in initially intersect into lambda lateral leading limit not
    null offset on only or order pivot pivot_longer pivot_wider placing primary qualify
    references returning select show some summarize symmetric table then to trailing true
    union unique unpivot using variadic when where window with""".split()  # noqa: SIM905
)
MAP_SCHEMA = {
    "wide_column": pl.Utf8,
    "location": pl.Utf8,
    "location_type": pl.Utf8,
    "iso_location_type": pl.Utf8,
    "product": pl.Utf8,
    "zone": pl.Utf8,
    "model": pl.Utf8,
}
QUALIFIER_SEPARATOR = " "
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9]+")


def sql_identifier(name: str) -> str:
    """`name` as an unquoted DuckDB identifier: "N.Y.C." -> "n_y_c", "0096WD" -> "n_0096wd",
    "Order" -> "order_" (reserved words get a trailing underscore)."""
    ident = _NOT_IDENTIFIER.sub("_", name.lower()).strip("_") or EMPTY_NAME
    if ident[0].isdigit():
        ident = DIGIT_PREFIX + ident
    if ident in DUCKDB_RESERVED:
        ident += RESERVED_SUFFIX
    return ident


def wide_key(location: str, location_type: str | None) -> str:
    """The name a wide column stands for: the location, plus "_EW" for energy-weighted twins.

    ERCOT publishes each load zone twice in real time (location_type ZONE and ZONE_EW, same
    name); the energy-weighted one is "LZ_AEN_EW" (column lz_aen_ew) next to "LZ_AEN".
    """
    if location_type is not None and location_type.endswith(EW_SUFFIX):
        return f"{location}{EW_SUFFIX}"
    return location


def varying_qualifiers(frame: pl.DataFrame, spec: DatasetSpec) -> list[str]:
    """The kind's pivot qualifiers that take more than one value in `frame` (in kind order):
    only those name the wide columns, so a single-model forecast keeps plain area names."""
    return [
        q
        for q in spec.table_kind.pivot_qualifiers
        if q in frame.columns and frame.get_column(q).n_unique() > 1
    ]


def wide_key_expr(spec: DatasetSpec, qualifiers: Sequence[str] = ()) -> pl.Expr:
    """Vectorized `wide_key` over a long table: the kind's pivot value, qualified by the
    `qualifiers` columns' values ("COAST E1"), plus "_EW" for the energy-weighted twins where
    the kind has a location_type."""
    key = pl.col(spec.pivot_column).cast(pl.Utf8)
    if qualifiers:
        parts = [key, *(pl.col(q).cast(pl.Utf8).fill_null("") for q in qualifiers)]
        key = pl.concat_str(parts, separator=QUALIFIER_SEPARATOR)
    if "location_type" not in spec.table_kind.dtypes:
        return key
    return (
        pl.when(pl.col("location_type").cast(pl.Utf8).str.ends_with(EW_SUFFIX))
        .then(key + pl.lit(EW_SUFFIX))
        .otherwise(key)
    )


def assign_wide_columns(
    keys: Iterable[str], preferred: Sequence[str] = (), taken: Iterable[str] = TIME_COLUMNS
) -> dict[str, str]:
    """Wide key -> unique identifier within one table, deterministically.

    `preferred` keys (the spec's default locations) claim their identifiers first, whether
    present or not; then the other keys in sorted order. A clash gets "_2", "_3", ...
    """
    used = set(taken)
    out: dict[str, str] = {}
    rest = sorted(set(keys) - set(preferred))
    for key in [*sorted(set(preferred)), *rest]:
        base = sql_identifier(key)
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}_{n}"
        used.add(ident)
        out[key] = ident
    return out


def default_wide_columns(spec: DatasetSpec) -> dict[str, str]:
    """The wide column of each of the spec's default locations (the same in every month)."""
    return assign_wide_columns(spec.default_locations, spec.default_locations)


def _text(long: pl.DataFrame, column: str) -> pl.Expr:
    """A Utf8 column of the long table, or null where the table does not carry it."""
    if column in long.columns:
        return pl.col(column).cast(pl.Utf8)
    return pl.lit(None, dtype=pl.Utf8).alias(column)


def _map_sources(spec: DatasetSpec, frame: pl.DataFrame) -> dict[str, str]:
    """Map column -> the long column the kind carries into it (zone wherever the table has
    one)."""
    sources = {target: source for source, target in spec.table_kind.map_columns}
    if "zone" in frame.columns:
        sources.setdefault("zone", "zone")
    # A qualifier the kind maps nowhere (a renewable's model) keeps its own map column.
    for qualifier in spec.table_kind.pivot_qualifiers:
        if qualifier in MAP_SCHEMA and qualifier not in sources.values():
            sources.setdefault(qualifier, qualifier)
    return {t: c for t, c in sources.items() if c in frame.columns}


def _mapped(distinct: pl.DataFrame, sources: dict[str, str], target: str) -> pl.Expr:
    """The map column `target` from its long column, or null where the kind maps none."""
    if target not in sources:
        return pl.lit(None, pl.Utf8).alias(target)
    return _text(distinct, sources[target]).alias(target)


def location_map(long: pl.DataFrame | pl.LazyFrame, spec: DatasetSpec) -> pl.DataFrame:
    """One row per wide column of the table: wide_column, location, location_type,
    iso_location_type, product, zone: the long columns the kind maps there
    (`TableKind.map_columns`, e.g. product for ancillary tables), null where it maps none.

    Sorted by wide_column. A key seen with several types keeps the first by sorted type (the
    pivot refuses two rows in one wide cell anyway).
    """
    frame = long.collect() if isinstance(long, pl.LazyFrame) else long
    sources = _map_sources(spec, frame)
    # Distinct descriptions first (a month of SCED rows holds ~1,000 of them), then the key.
    distinct = frame.select(list(dict.fromkeys(sources.values()))).unique()
    qualifiers = varying_qualifiers(distinct, spec)
    described = distinct.select(
        wide_key_expr(spec, qualifiers).alias("__key__"),
        *(_mapped(distinct, sources, target) for target in MAP_SCHEMA if target != "wide_column"),
    )
    first = described.sort(pl.all(), nulls_last=True).unique("__key__", keep="first")
    names = assign_wide_columns(first.get_column("__key__"), spec.default_locations)
    mapped = first.with_columns(
        pl.col("__key__").replace_strict(names, return_dtype=pl.Utf8).alias("wide_column")
    )
    return mapped.select(list(MAP_SCHEMA)).cast(MAP_SCHEMA).sort("wide_column")


def _with_long_names(spec: DatasetSpec, mapping: pl.DataFrame) -> pl.DataFrame:
    """`mapping` with the columns the kind maps renamed back to its long names (a fuel mix's
    `product` is its `fuel`), so `wide_key_expr` reads the map as it reads the long table."""
    renames = {
        target: source
        for source, target in spec.table_kind.map_columns
        if target != source and target in mapping.columns
    }
    # A map column named like a long column it is not filled from (a forecast's null `model`
    # beside its `product`, which holds the model) gives way to the renamed one.
    clashing = [c for c in renames.values() if c in mapping.columns and c not in renames]
    return mapping.drop(clashing).rename(renames)


def wide_column_expr(spec: DatasetSpec, mapping: pl.DataFrame) -> pl.Expr:
    """Each long row's wide column through `mapping` (`location_map` of the same rows); null
    for a row the mapping does not know (the pivot check then reports it, never raises)."""
    named = _with_long_names(spec, mapping)
    qualifiers = varying_qualifiers(named, spec)
    keys = named.select(wide_key_expr(spec, qualifiers).alias("key"), "wide_column")
    return wide_key_expr(spec, qualifiers).replace_strict(
        keys.get_column("key"),
        keys.get_column("wide_column"),
        default=None,
        return_dtype=pl.Utf8,
    )
