"""Pandera (polars backend) schemas built from a DatasetSpec.

The long table schema is the stage raw_parquet contract (registry/schema.py): exact columns and
dtypes, no extra columns, non-null identity and value columns (the nullable ones are declared by
the dataset's kind, registry/kinds.py). Uniqueness of spec.unique_key
is checked once, by quality.checks.check_duplicates (a second scan of millions of keys here
would double the cost of the blocking checks).
Value bounds depend on the operating day's era (and a fuel's category) and live in
quality.checks (the range check); the allowed values of a kind's label columns
(`ALLOWED_VALUES`: standard fuel categories, renewable technologies) are column checks here.

quality.checks.check_schema reads this declaration (columns, dtypes, nullability, column
checks) and screens a frame's schema, null counts and checks vectorized; Pandera validates row
by row only where the screen finds a problem. A schema declaring more than that (uniqueness,
coercion, frame-wide checks) is validated by Pandera everywhere, so keep it declarative.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandera.polars as pa
import polars as pl

from power_market_assets.registry.kinds import RENEWABLE_TECHNOLOGIES, STANDARD_FUELS
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.flatten import TIME_COLUMNS

# Label columns whose values come from a closed list, in any kind that has them: a reader that
# writes anything else (a misspelt category, "Wind") fails the schema.
ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "fuel_category": STANDARD_FUELS,
    "technology": RENEWABLE_TECHNOLOGIES,
}


def long_table_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """Strict schema of the standard long table of `spec` (columns, dtypes, nulls).

    Also checks that iso, market and interval_minutes are the spec's own values and that the
    kind's closed label columns (ALLOWED_VALUES) hold only their allowed values.
    """
    columns: dict[str, pa.Column] = {}
    fixed_values = {
        "iso": spec.iso,
        "market": spec.market,
        "interval_minutes": spec.interval_minutes,
    }
    nullable = spec.table_kind.nullable_columns
    for name, dtype in spec.schema.items():
        checks = _column_checks(name, fixed_values)
        columns[name] = pa.Column(
            dtype,
            checks=checks,
            nullable=name in nullable,
            required=True,
        )
    return pa.DataFrameSchema(
        columns,
        strict=True,
        name=f"{spec.iso.lower()}.{spec.dataset}.long",
    )


def _column_checks(name: str, fixed_values: dict[str, object]) -> list[pa.Check] | None:
    if name in fixed_values:
        return [pa.Check.eq(fixed_values[name])]
    if name in ALLOWED_VALUES:
        return [pa.Check.isin(ALLOWED_VALUES[name])]
    return None


def wide_table_schema(spec: DatasetSpec, columns: Sequence[str]) -> pa.DataFrameSchema:
    """Strict schema of a flattened (wide) frame with value columns `columns`.

    Time columns are non-null, interval_start_utc is unique; value columns are nullable Float64
    (long gaps stay null by design).
    """
    schema = spec.schema
    cols: dict[str, pa.Column] = {
        name: pa.Column(schema[name], nullable=False, unique=name == "interval_start_utc")
        for name in TIME_COLUMNS
    }
    for name in columns:
        if name in cols:
            raise ValueError(f"value column {name!r} clashes with a time column")
        cols[name] = pa.Column(pl.Float64, nullable=True)
    return pa.DataFrameSchema(cols, strict=True, name=f"{spec.iso.lower()}.{spec.dataset}.wide")
