"""The last step of every reader: the frame in the standard long table of its spec.

A reader supplies interval_start_utc, the location (or product), the prices and source_file;
the columns that follow from the spec and the interval start (interval_end_utc,
interval_start_local, operating_day, iso, market, interval_minutes) are derived here once.
Price components an ISO does not publish (ERCOT: all of them; everyone but CAISO: the
greenhouse-gas component) are added as typed nulls, so a new component column in
registry/schema.py needs a change only in the readers that publish it.

Every reader ends here, so this is also the last guard on values: a price that is NaN or an
infinity (`NaN`, `inf`, `1e309` parse as Float64) or a name holding a control character is a
FormatError naming the file, the column and the record, instead of a stored infinity or a
schema failure in a later stage. Readers that know where a cell came from name its line first
(formats/csvjoin.py).
"""

from __future__ import annotations

import polars as pl

from power_market_assets.formats.csvjoin import has_control_characters
from power_market_assets.formats.errors import FormatError
from power_market_assets.registry.spec import DatasetSpec

OPTIONAL_COMPONENTS = ("energy", "congestion", "loss", "ghg")
# Nullable columns a reader leaves out when the ISO does not publish them.
OPTIONAL_COLUMNS = (*OPTIONAL_COMPONENTS, "iso_total_mw")


def _derived_columns(spec: DatasetSpec) -> dict[str, pl.Expr]:
    """Columns that follow from the spec and the interval start (or, for a kind with vintages,
    the publication time: a forecast's partition is the ISO-local day it was published)."""
    start = pl.col("interval_start_utc")
    local = start.dt.convert_time_zone(spec.timezone)
    vintage = spec.table_kind.vintage_column
    day_of = pl.col(vintage).dt.convert_time_zone(spec.timezone) if vintage else local
    derived = {
        "interval_end_utc": start + pl.duration(minutes=spec.interval_minutes),
        "interval_start_local": local,
        "operating_day": day_of.dt.date(),
        "iso": pl.lit(spec.iso),
        "market": pl.lit(spec.market),
        "interval_minutes": pl.lit(spec.interval_minutes),
    }
    if "fuel_category" in spec.schema:
        derived["fuel_category"] = pl.col("fuel").replace_strict(
            spec.fuel_category_map, default="other", return_dtype=pl.Utf8
        )
    return derived


def to_standard(
    frame: pl.DataFrame, spec: DatasetSpec, cells_checked: bool = False
) -> pl.DataFrame:
    """Cast to `spec.schema`, in its column order: derived columns the reader did not set are
    added, absent price components are nulls. `cells_checked`: the reader already refused
    control characters in the file's bytes and non-finite numbers (csvjoin.parse_fields), so
    `check_values` would only repeat that (a few ms a day)."""
    schema = spec.schema
    derived = {k: e for k, e in _derived_columns(spec).items() if k not in frame.columns}
    if derived:
        frame = frame.with_columns(e.alias(k) for k, e in derived.items())
    absent = [c for c in OPTIONAL_COLUMNS if c in schema and c not in frame.columns]
    if absent:
        frame = frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in absent)
    standard = frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    if not cells_checked:
        check_values(standard, spec)
    return standard


def _bad_values(frame: pl.DataFrame) -> dict[str, pl.Expr]:
    """Column -> which of its cells are bad: non-finite numbers, names with control chars."""
    bad = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.Float64:
            bad[name] = pl.col(name).is_not_null() & ~pl.col(name).is_finite()
        elif dtype == pl.Utf8 and name != "source_file":
            bad[name] = has_control_characters(pl.col(name))
    return bad


def check_values(frame: pl.DataFrame, spec: DatasetSpec) -> None:
    """FormatError naming the file, column, record and value of the first bad cell."""
    bad = _bad_values(frame)
    if not bad or not frame.select(pl.any_horizontal(list(bad.values())).any()).item():
        return
    for column, expr in bad.items():
        rows = frame.filter(expr)
        if not rows.height:
            continue
        row = rows.row(0, named=True)
        source = str(row["source_file"])
        count = rows.filter(pl.col("source_file").cast(pl.Utf8) == source).height
        number = frame.schema[column] == pl.Float64
        what = "is not a finite number" if number else "holds a control character"
        record = f"{spec.pivot_column} {row[spec.pivot_column]!r} at {row['interval_start_local']}"
        raise FormatError(
            source,
            f"column {column!r} ({record}): value {row[column]!r} {what} "
            f"({count} bad value(s) in the file)",
        )
