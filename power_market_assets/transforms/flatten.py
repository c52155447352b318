"""Stage 3 "flattened": pivot a standard long table to one row per interval.

The wide frame has one row per interval on the complete DST-aware grid of the operating days
present in the input (native granularity, `spec.interval_minutes`) and one Float64 column per
location (price tables) or AS product (ancillary tables). Short gaps are forward-filled and
counted; long gaps stay null.

Irregular data (`spec.irregular_intervals`: ERCOT SCED runs at 01:05:13, NYISO RTD stamps at
00:15:12) is flattened at its observed timestamps: one wide row per distinct
interval_start_utc, no invented grid (interval_end_utc stays start + the nominal interval, as
in the long table). A missed run is then not a row of nulls; it is counted against the
nominal buckets (`missing_intervals`), as the gaps check does.

The fill rule, one definition for both: a run of null cells in a column is forward-filled when
its duration is under `max_fill_minutes`, the duration being the time from the run's first row
to the row that ends it (the next row; after the last row, its start + the nominal interval).
On a complete grid that is run length x interval; on observed timestamps it is the real
elapsed time, so a location missing from runs for under an hour is filled and a longer hole
stays null whatever the spacing of the runs.

Kinds with vintages (forecast, renewable: every publication kept) are flattened at their latest
vintage per interval and series (`flatten_input`, transforms/vintage.py `latest`), one column per
pivot value qualified by the kind's pivot qualifiers where the table holds more than one of
them (`coast_e1`, `wind_system_stwpf`; transforms/names.py). Their rows are the observed interval
starts: a forecast published in a month runs days past it, so the grid of the partition's
(publication) days does not apply, and a row's `operating_day` is the ISO-local day of its
interval start. `missing_intervals` counts the nominal intervals between the first and the last
observed start with no row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.names import TIME_COLUMNS, location_map, wide_column_expr
from power_market_assets.transforms.time import day_bounds_frame, expected_interval_frame
from power_market_assets.transforms.vintage import latest

_PIVOT_KEY = "__wide_column__"


def wide_value_columns(wide: pl.DataFrame) -> list[str]:
    """The location / product columns of a wide frame (everything but the time columns)."""
    return [c for c in wide.columns if c not in TIME_COLUMNS]


@dataclass(frozen=True)
class FlattenResult:
    """A flattened frame and what the gap rule did to it.

    filled_cells: cells forward-filled (gap runs shorter than max_fill_minutes).
    filled_by_column: the same per wide column (columns with no fills are included with 0).
    unfilled_null_cells: value cells still null after filling (long gaps, leading gaps).
    locations: the wide columns' mapping back to the ISO's names (`names.location_map`).
    missing_intervals: grid intervals with no input row at all (all columns null before fill);
        for irregular data, nominal buckets in which no timestamp was observed.
    expected_intervals: rows of the complete grid (= frame height); for irregular data the
        number of nominal buckets of the days present (the frame has one row per observed
        timestamp instead).
    """

    frame: pl.DataFrame
    filled_cells: int
    locations: pl.DataFrame = field(default_factory=pl.DataFrame)
    filled_by_column: dict[str, int] = field(default_factory=dict)
    unfilled_null_cells: int = 0
    missing_intervals: int = 0
    expected_intervals: int = 0


def _raise_on_duplicates(keyed: pl.DataFrame, key: list[str], what: str) -> None:
    dup = keyed.select(key).is_duplicated()
    n = int(dup.sum())
    if n:
        sample = keyed.filter(dup).select(key).unique().sort(key).head(5)
        raise ValueError(
            f"flatten: {n} rows share a {what} ({', '.join(key)}); refusing to pick one. "
            f"First keys: {sample.rows()}"
        )


def fill_short_gaps(
    wide: pl.DataFrame,
    columns: list[str],
    *,
    interval_minutes: int,
    max_fill_minutes: int,
    irregular: bool = False,
) -> pl.DataFrame:
    """Forward-fill runs of nulls whose duration < max_fill_minutes.

    `wide` must be sorted by time. Regular grid: duration = run length x interval. Irregular
    (`irregular=True`, rows at observed interval_start_utc): duration = sum of the row spans of
    the run, a row's span being the time to the next row (the last row: the nominal
    interval); on a complete grid both are equal. A longer run stays entirely null (its first
    part is not filled either); a leading run has nothing to fill from and stays null.
    """
    if not columns:
        return wide
    if irregular:
        start = pl.col("interval_start_utc")
        nominal = pl.duration(minutes=interval_minutes)
        span = (start.shift(-1) - start).fill_null(nominal).dt.total_microseconds()
        wide = wide.with_columns(span.alias("__span_us__"))
    exprs = []
    for name in columns:
        col = pl.col(name)
        is_null = col.is_null()
        if irregular:
            duration_us = pl.col("__span_us__").sum().over(is_null.rle_id())
            short = duration_us < max_fill_minutes * 60_000_000
        else:
            short = pl.len().over(is_null.rle_id()) * interval_minutes < max_fill_minutes
        fill = is_null & short
        exprs.append(pl.when(fill).then(col.forward_fill()).otherwise(col).alias(name))
    filled = wide.with_columns(exprs)
    return filled.drop("__span_us__") if irregular else filled


def _observed_rows(df: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Irregular data: the distinct (operating_day, interval_start_utc) of the input, sorted.

    Raises ValueError when a stamp lies outside its operating day or is labelled with two.
    """
    rows = (
        df.select("operating_day", pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")))
        .unique()
        .sort("interval_start_utc")
    )
    twice = rows.filter(pl.col("interval_start_utc").is_duplicated())
    if twice.height:
        raise ValueError(
            f"flatten: interval start {twice.row(0)[1]} is labelled with two operating days"
        )
    bounds = day_bounds_frame(rows.get_column("operating_day").unique(), spec.timezone)
    located = rows.join(bounds, on="operating_day", how="left")
    outside = located.filter(
        (pl.col("interval_start_utc") < pl.col("day_start_utc"))
        | (pl.col("interval_start_utc") >= pl.col("day_end_utc"))
    )
    if outside.height:
        first = outside.row(0, named=True)
        raise ValueError(
            f"flatten: {outside.height} interval starts lie outside their operating day "
            f"(first: {first['interval_start_utc']} labelled {first['operating_day']})"
        )
    return rows


def flatten_input(long: pl.DataFrame | pl.LazyFrame, spec: DatasetSpec) -> pl.DataFrame:
    """What stage 3 pivots (and the pivot-accuracy check compares): the long table, or for a
    kind with vintages its latest vintage per interval and series."""
    if spec.table_kind.vintage_column is not None:
        return latest(long, spec.table_kind)
    return long.collect() if isinstance(long, pl.LazyFrame) else long


def _vintage_rows(df: pl.DataFrame, spec: DatasetSpec) -> tuple[pl.DataFrame, int, int]:
    """A vintage kind's rows (the observed interval starts, operating_day their local day),
    the nominal intervals spanned from first to last, and how many of them have no row."""
    rows = (
        df.select(pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")))
        .unique()
        .sort("interval_start_utc")
        .with_columns(
            pl.col("interval_start_utc")
            .dt.convert_time_zone(spec.timezone)
            .dt.date()
            .alias("operating_day")
        )
        .select("operating_day", "interval_start_utc")
    )
    if rows.height == 0:
        return rows, 0, 0
    first, last = (
        rows.get_column("interval_start_utc").min(),
        rows.get_column("interval_start_utc").max(),
    )
    span = int((last - first).total_seconds() // (spec.interval_minutes * 60)) + 1
    on_grid = rows.filter(
        (pl.col("interval_start_utc") - pl.lit(first)).dt.total_seconds()
        % (spec.interval_minutes * 60)
        == 0
    ).height
    return rows, span, span - on_grid


def _raise_off_grid(keyed: pl.DataFrame, grid: pl.DataFrame, minutes: int) -> None:
    off_grid = (
        keyed.select("interval_start_utc")
        .unique()
        .join(grid.select("interval_start_utc"), on="interval_start_utc", how="anti")
    )
    if off_grid.height:
        first = off_grid.sort("interval_start_utc").row(0)[0]
        raise ValueError(
            f"flatten: {off_grid.height} interval starts are not on the {minutes}-minute "
            f"grid of the operating days present (first: {first})"
        )


def _missing_buckets(rows: pl.DataFrame, grid: pl.DataFrame, minutes: int) -> int:
    """Nominal buckets (grid intervals) in which no observed timestamp falls."""
    if grid.height == 0:
        return 0
    bucket_of = rows.join_asof(
        grid.select(pl.col("interval_start_utc").alias("bucket")).sort("bucket"),
        left_on="interval_start_utc",
        right_on="bucket",
        strategy="backward",
    )
    seen = bucket_of.filter(
        pl.col("interval_start_utc") < pl.col("bucket").dt.offset_by(f"{minutes}m")
    ).get_column("bucket")
    return int(grid.height - seen.n_unique())


def flatten(
    long: pl.DataFrame | pl.LazyFrame,
    spec: DatasetSpec,
    *,
    max_fill_minutes: int = 60,
) -> FlattenResult:
    """Pivot a standard long table (stage raw_parquet) to the wide flattened frame.

    Columns: interval_start_utc, interval_end_utc, interval_start_local (spec.timezone),
    operating_day, then one Float64 column per location / product, named by a plain SQL
    identifier (see `transforms.names`: "N.Y.C." -> n_y_c) and sorted. The row grid is every
    native interval of every operating day present in the input, so DST days have 23/25 hours
    (92/100 quarter hours); irregular data gets one row per observed interval start instead
    (see the module docstring).

    Raises ValueError on duplicate rows for spec.unique_key, on two rows mapping to the same wide
    cell, and on rows whose interval is not on the grid of the operating days present (for
    irregular data: outside their operating day).
    """
    df = flatten_input(long, spec)
    vintaged = spec.table_kind.vintage_column is not None
    minutes = spec.interval_minutes
    value = spec.value_column

    _raise_on_duplicates(df, list(spec.unique_key), "unique key")
    locations = location_map(df, spec)
    keyed = df.select(
        pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")),
        wide_column_expr(spec, locations).cast(pl.Categorical).alias(_PIVOT_KEY),
        pl.col(value).cast(pl.Float64),
    )
    _raise_on_duplicates(keyed, ["interval_start_utc", _PIVOT_KEY], "wide cell")

    if vintaged:
        rows, expected, missing = _vintage_rows(df, spec)
    else:
        grid = expected_interval_frame(
            df.get_column("operating_day").unique(), spec.timezone, minutes
        )
        expected = grid.height
        rows = _observed_rows(df, spec) if spec.irregular_intervals else grid
        if not spec.irregular_intervals:
            _raise_off_grid(keyed, grid, minutes)

    if keyed.height:
        pivoted = keyed.pivot(
            on=_PIVOT_KEY, index="interval_start_utc", values=value, aggregate_function=None
        )
    else:
        pivoted = pl.DataFrame(schema={"interval_start_utc": pl.Datetime("us", "UTC")})
    columns = sorted(c for c in pivoted.columns if c != "interval_start_utc")
    pivoted = pivoted.with_columns(pl.col(columns).cast(pl.Float64), _present=pl.lit(True))

    raw = (
        rows.join(pivoted, on="interval_start_utc", how="left")
        .sort("interval_start_utc")
        .select(
            pl.col("interval_start_utc"),
            pl.col("interval_start_utc").dt.offset_by(f"{minutes}m").alias("interval_end_utc"),
            pl.col("interval_start_utc")
            .dt.convert_time_zone(spec.timezone)
            .alias("interval_start_local"),
            pl.col("operating_day"),
            pl.col("_present").fill_null(False),
            *columns,
        )
    )
    if vintaged:
        missing_intervals = missing
    elif spec.irregular_intervals:
        missing_intervals = _missing_buckets(rows, grid, minutes)
    else:
        missing_intervals = int(raw.height - raw.get_column("_present").sum())
    raw = raw.drop("_present")

    filled = fill_short_gaps(
        raw,
        columns,
        interval_minutes=minutes,
        max_fill_minutes=max_fill_minutes,
        irregular=spec.irregular_intervals or vintaged,
    )
    if columns:
        before = raw.select(pl.col(columns).null_count()).row(0)
        after = filled.select(pl.col(columns).null_count()).row(0)
    else:
        before = after = ()
    filled_by_column = {c: int(b - a) for c, b, a in zip(columns, before, after, strict=True)}
    return FlattenResult(
        frame=filled,
        filled_cells=sum(filled_by_column.values()),
        locations=locations,
        filled_by_column=filled_by_column,
        unfilled_null_cells=int(sum(after)),
        missing_intervals=missing_intervals,
        expected_intervals=expected,
    )
