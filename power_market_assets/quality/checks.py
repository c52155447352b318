"""The check functions behind the Dagster asset checks (plain Polars; no dagster here).

Every function returns a `CheckOutcome`; the asset layer turns it into an AssetCheckResult
(passed, metadata, a markdown sample of at most 20 offending rows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import pandera.errors as pa_errors
import polars as pl

from power_market_assets.quality.schemas import long_table_schema
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.flatten import wide_value_columns
from power_market_assets.transforms.names import location_map, wide_column_expr
from power_market_assets.transforms.time import day_bounds_frame, expected_interval_frame

SAMPLE_ROWS = 20
MAX_CELL_CHARS = 160  # long cells (e.g. Pandera's whole-row failure cases) are cut
Frame = pl.DataFrame | pl.LazyFrame
MetadataValue = int | float | str


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one data-quality check.

    name: check name (stable, used as the asset check name).
    passed: whether the data passed.
    summary: one human sentence.
    metadata: counts and figures.
    sample_markdown: markdown table of at most 20 offending rows, None when there are none.
    """

    name: str
    passed: bool
    summary: str
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    sample_markdown: str | None = None


# --------------------------------------------------------------------------- helpers


def _eager(frame: Frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = "NaN" if math.isnan(value) else repr(value)
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    else:
        text = str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 3] + "..."
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(
    df: pl.DataFrame, limit: int = SAMPLE_ROWS, *, total: int | None = None
) -> str | None:
    """A markdown table of the first `limit` rows of `df` (None when df is empty).

    A note "_n of total rows shown._" follows when rows were left out (`total` defaults to the
    frame height; pass it when `df` is already a sample of a larger set).
    """
    if df.height == 0:
        return None
    head = df.head(limit)
    lines = [
        "| " + " | ".join(_cell(c) for c in head.columns) + " |",
        "|" + "---|" * len(head.columns),
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in head.iter_rows()]
    total = df.height if total is None else total
    if total > head.height:
        lines.append(f"\n_{head.height} of {total:,} rows shown._")
    return "\n".join(lines)


def _sample_columns(df: pl.DataFrame, spec: DatasetSpec, extra: Iterable[str] = ()) -> list[str]:
    """Columns useful to show in a sample of offending long-table rows (those present)."""
    wanted = [
        "interval_start_utc",
        "interval_start_local",
        "operating_day",
        *spec.table_kind.series_columns,
        spec.value_column,
        *extra,
        "source_file",
    ]
    seen: list[str] = []
    for c in wanted:
        if c in df.columns and c not in seen:
            seen.append(c)
    return seen


def _entity_columns(spec: DatasetSpec) -> list[str]:
    """The columns that, with the interval, identify one series (spec.unique_key minus time)."""
    return [c for c in spec.unique_key if c != "interval_start_utc"]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- checks


def check_schema(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Validate against the Pandera long-table schema (lazy: all failures are collected)."""
    frame = _eager(df)
    schema = long_table_schema(spec)
    try:
        schema.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as err:
        cases = err.failure_cases
        if not isinstance(cases, pl.DataFrame):  # defensive: other backends return pandas
            cases = pl.from_pandas(cases)
        cases = cases.with_columns(pl.all().cast(pl.Utf8))
        checks = cases.get_column("check").unique().sort().to_list() if cases.height else []
        return CheckOutcome(
            name="schema",
            passed=False,
            summary=(
                f"{_plural(cases.height, 'schema failure case')} in {frame.height:,} rows "
                f"({'; '.join(checks[:5])})."
            ),
            metadata={
                "rows": frame.height,
                "failure_cases": cases.height,
                "failed_checks": len(checks),
            },
            sample_markdown=markdown_table(cases),
        )
    except pa_errors.SchemaError as err:  # raised for some errors even with lazy=True
        return CheckOutcome(
            name="schema",
            passed=False,
            summary=f"Schema validation failed: {str(err).splitlines()[0]}",
            metadata={"rows": frame.height, "failure_cases": 1, "failed_checks": 1},
        )
    return CheckOutcome(
        name="schema",
        passed=True,
        summary=f"All {frame.height:,} rows match the {spec.iso} {spec.dataset} long schema.",
        metadata={"rows": frame.height, "failure_cases": 0, "failed_checks": 0},
    )


def check_duplicates(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Rows sharing spec.unique_key (a DST repeat hour in correct data is not a duplicate)."""
    frame = _eager(df)
    key = list(spec.unique_key)
    dup_mask = frame.select(key).is_duplicated()
    offending = frame.filter(dup_mask)
    duplicate_rows = offending.height
    duplicate_keys = offending.select(key).n_unique() if duplicate_rows else 0
    metadata: dict[str, MetadataValue] = {
        "rows": frame.height,
        "duplicate_keys": duplicate_keys,
        "duplicate_rows": duplicate_rows,
        "extra_rows": duplicate_rows - duplicate_keys,
    }
    if not duplicate_rows:
        return CheckOutcome(
            name="duplicates",
            passed=True,
            summary=f"No duplicates on ({', '.join(key)}) in {frame.height:,} rows.",
            metadata=metadata,
        )
    sample = offending.sort(key).select(_sample_columns(offending, spec))
    return CheckOutcome(
        name="duplicates",
        passed=False,
        summary=(
            f"{_plural(duplicate_keys, 'key')} on ({', '.join(key)}) appear more than once "
            f"({_plural(duplicate_rows, 'row')} involved)."
        ),
        metadata=metadata,
        sample_markdown=markdown_table(sample),
    )


def check_gaps(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Missing intervals against the DST-aware grid of each operating day present.

    Expected: every native interval of the operating day (23/24/25 hours, 92/96/100 quarter
    hours) for every location / product that has at least one row inside that day. Counts
    missing (interval, series) pairs and grid intervals with no row at all, and flags rows
    whose interval lies outside their own operating day or off the native grid (those rows
    do not count as present, nor make their labelled day expected).

    Irregular data (`spec.irregular_intervals`: ERCOT SCED runs, NYISO RTD stamps such as
    00:15:12): the grid is one of nominal buckets, `interval_minutes` wide from local midnight
    of the operating day (DST-aware, so 276/288/300 five-minute buckets). A row counts for the
    bucket its timestamp falls in; a gap is a bucket in which a series has no row. Off-grid
    stamps are expected (not flagged) and several stamps in one bucket are neither duplicates
    nor a problem.
    """
    gaps = find_gaps(_eager(df), spec)
    metadata = _gap_metadata(gaps, spec)
    interval_word = _interval_word(spec)
    if not gaps.has_problems:
        return CheckOutcome(
            name="gaps",
            passed=True,
            summary=(
                f"All {gaps.expected.height:,} expected ({interval_word}, "
                f"{'/'.join(gaps.entity)}) pairs over "
                f"{metadata['operating_days']} operating days are present."
            ),
            metadata=metadata,
        )
    summary = "; ".join(_gap_problems(gaps, spec)) + "."
    return CheckOutcome(
        name="gaps",
        passed=False,
        summary=summary[0].upper() + summary[1:],
        metadata=metadata,
        sample_markdown=markdown_table(_gap_sample(gaps, spec), total=gaps.problem_rows),
    )


@dataclass(frozen=True)
class GapFindings:
    """What check_gaps compares: the rows placed against the grid of their operating days."""

    entity: list[str]
    grid: pl.DataFrame  # every expected (operating_day, interval_start_utc)
    expected: pl.DataFrame  # the grid times the series seen on each day
    missing: pl.DataFrame  # expected pairs with no row
    missing_intervals: pl.DataFrame  # grid intervals with no row of any series
    series_by_day: pl.DataFrame
    outside: pl.DataFrame  # rows whose interval lies outside their operating day
    off_grid: pl.DataFrame  # rows inside their day but not on the native grid
    observed_stamps: int

    @property
    def has_problems(self) -> bool:
        return bool(self.missing.height or self.outside.height or self.off_grid.height)

    @property
    def problem_rows(self) -> int:
        return self.missing.height + self.outside.height + self.off_grid.height


def _place_rows(
    frame: pl.DataFrame, spec: DatasetSpec, entity: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(rows inside their operating day, rows outside it, the days' UTC bounds)."""
    keys = ["operating_day", "interval_start_utc"]
    rows = frame.select(
        "operating_day",
        pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")),
        "interval_start_local",
        *entity,
    ).drop_nulls(keys)
    bounds = day_bounds_frame(rows.get_column("operating_day").unique(), spec.timezone)
    located = rows.join(bounds, on="operating_day", how="left")
    outside_mask = (pl.col("interval_start_utc") < pl.col("day_start_utc")) | (
        pl.col("interval_start_utc") >= pl.col("day_end_utc")
    )
    outside = located.filter(outside_mask).drop("day_start_utc", "day_end_utc")
    inside = located.filter(~outside_mask).drop("day_start_utc", "day_end_utc")
    return inside, outside, bounds


def find_gaps(frame: pl.DataFrame, spec: DatasetSpec) -> GapFindings:
    """Place the rows on the DST-aware grid (irregular data: on its nominal buckets)."""
    entity = _entity_columns(spec)
    minutes = spec.interval_minutes
    keys = ["operating_day", "interval_start_utc"]
    inside, outside, bounds = _place_rows(frame, spec, entity)
    grid = expected_interval_frame(
        inside.get_column("operating_day").unique(), spec.timezone, minutes
    )
    observed_stamps = inside.select(keys).n_unique() if inside.height else 0
    if spec.irregular_intervals:
        inside = _to_buckets(inside, bounds, minutes)
        off_grid = inside.clear()
    else:
        # Inside the day but not on the native grid (e.g. 00:07 for a 15-minute dataset).
        off_grid = inside.join(grid, on=keys, how="anti")
    series_by_day = inside.select("operating_day", *entity).unique()
    expected = grid.join(series_by_day, on="operating_day", how="inner")
    return GapFindings(
        entity=entity,
        grid=grid,
        expected=expected,
        missing=expected.join(inside, on=[*keys, *entity], how="anti", nulls_equal=True),
        missing_intervals=grid.join(inside.select(keys).unique(), on=keys, how="anti"),
        series_by_day=series_by_day,
        outside=outside,
        off_grid=off_grid,
        observed_stamps=observed_stamps,
    )


def _gap_metadata(gaps: GapFindings, spec: DatasetSpec) -> dict[str, MetadataValue]:
    return {
        "operating_days": gaps.grid.get_column("operating_day").n_unique(),
        "expected_intervals": gaps.grid.height,
        "expected_pairs": gaps.expected.height,
        "missing_pairs": gaps.missing.height,
        "missing_intervals": gaps.missing_intervals.height,
        "series": gaps.series_by_day.select(gaps.entity).n_unique() if gaps.entity else 0,
        "rows_outside_operating_day": gaps.outside.height,
        "rows_off_grid": gaps.off_grid.height,
        "observed_interval_starts": gaps.observed_stamps,
        "irregular_intervals": int(spec.irregular_intervals),
    }


def _interval_word(spec: DatasetSpec) -> str:
    """What a grid step is called in messages: irregular data is counted in buckets."""
    if spec.irregular_intervals:
        return f"{spec.interval_minutes}-minute bucket"
    return "interval"


def _gap_problems(gaps: GapFindings, spec: DatasetSpec) -> list[str]:
    """One phrase per kind of problem found, for the summary."""
    interval_word = _interval_word(spec)
    series_name = "/".join(gaps.entity)
    parts = []
    if gaps.missing.height:
        parts.append(
            f"{_plural(gaps.missing.height, f'missing ({interval_word}, {series_name}) pair')} "
            f"({_plural(gaps.missing_intervals.height, interval_word)} with no data at all)"
        )
    if gaps.outside.height:
        parts.append(f"{_plural(gaps.outside.height, 'row')} outside their operating day")
    if gaps.off_grid.height:
        parts.append(
            f"{_plural(gaps.off_grid.height, 'row')} off the {spec.interval_minutes}-minute grid"
        )
    return parts


def _gap_sample(gaps: GapFindings, spec: DatasetSpec) -> pl.DataFrame:
    """Rare row-level problems first, then the missing pairs (local time for reading)."""
    entity = gaps.entity
    sample_columns = [
        "problem",
        "interval_start_utc",
        "interval_start_local",
        "operating_day",
        *entity,
    ]
    missing = gaps.missing.with_columns(
        pl.col("interval_start_utc")
        .dt.convert_time_zone(spec.timezone)
        .alias("interval_start_local")
    )
    samples = [
        part.sort("interval_start_utc", *entity)
        .head(SAMPLE_ROWS)
        .with_columns(problem=pl.lit(label))
        .select(sample_columns)
        for label, part in (
            ("outside operating day", gaps.outside),
            ("off grid", gaps.off_grid),
            ("missing", missing),
        )
        if part.height
    ]
    return pl.concat(samples, how="vertical_relaxed").head(SAMPLE_ROWS)


def _to_buckets(rows: pl.DataFrame, bounds: pl.DataFrame, minutes: int) -> pl.DataFrame:
    """Replace each irregular interval start by the start of its nominal bucket: local
    midnight of its operating day plus a whole number of `minutes` (exact on DST days, since
    the day's start comes from the tz database and buckets count elapsed time from it)."""
    step = minutes * 60_000_000
    elapsed = (pl.col("interval_start_utc") - pl.col("day_start_utc")).dt.total_microseconds()
    bucket = pl.col("day_start_utc") + pl.duration(microseconds=(elapsed // step) * step)
    return (
        rows.join(bounds.select("operating_day", "day_start_utc"), on="operating_day", how="left")
        .with_columns(bucket.cast(pl.Datetime("us", "UTC")).alias("interval_start_utc"))
        .drop("day_start_utc")
    )


def _bounds_frame(spec: DatasetSpec, days: pl.Series) -> pl.DataFrame:
    """floor / cap in force on each distinct operating day (via spec.bounds_on)."""
    unique_days: list[date] = [d for d in days.unique().to_list() if d is not None]
    if not spec.price_bounds:
        floors: list[float | None] = [None] * len(unique_days)
        caps: list[float | None] = [None] * len(unique_days)
    else:
        picked = [spec.bounds_on(d) for d in unique_days]
        floors = [b.floor for b in picked]
        caps = [b.cap for b in picked]
    return pl.DataFrame(
        {"operating_day": unique_days, "floor": floors, "cap": caps},
        schema={"operating_day": pl.Date, "floor": pl.Float64, "cap": pl.Float64},
    )


def check_price_range(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Values outside the spec's floor/cap for their operating day's era; nulls and NaN fail."""
    frame = _eager(df)
    value = spec.value_column
    bounds = _bounds_frame(spec, frame.get_column("operating_day"))
    v = pl.col(value)
    judged = frame.join(bounds, on="operating_day", how="left").with_columns(
        problem=pl.when(v.is_null())
        .then(pl.lit("null"))
        .when(v.is_nan())
        .then(pl.lit("NaN"))
        .when(v < pl.col("floor"))
        .then(pl.lit("below floor"))
        .when(v > pl.col("cap"))
        .then(pl.lit("above cap"))
    )
    counts = judged.select(
        null_values=v.is_null().sum(),
        nan_values=v.is_nan().sum(),
        below_floor=(pl.col("problem") == "below floor").sum(),
        above_cap=(pl.col("problem") == "above cap").sum(),
        min=v.filter(v.is_not_nan()).min(),
        max=v.filter(v.is_not_nan()).max(),
    ).row(0, named=True)
    offending = judged.filter(pl.col("problem").is_not_null())
    metadata: dict[str, MetadataValue] = {
        "rows": frame.height,
        "failing_rows": offending.height,
        "out_of_range_rows": int(counts["below_floor"] + counts["above_cap"]),
        "below_floor": int(counts["below_floor"]),
        "above_cap": int(counts["above_cap"]),
        "null_values": int(counts["null_values"]),
        "nan_values": int(counts["nan_values"]),
    }
    if counts["min"] is not None:
        metadata["min"] = float(counts["min"])
        metadata["max"] = float(counts["max"])
    if not offending.height:
        return CheckOutcome(
            name="price_range",
            passed=True,
            summary=f"All {frame.height:,} {value} values are within the floor and cap of "
            "their operating day.",
            metadata=metadata,
        )
    sample = offending.sort(
        pl.col("problem"), pl.col(value).abs(), descending=[False, True]
    ).select("problem", *_sample_columns(offending, spec, ("floor", "cap")))
    return CheckOutcome(
        name="price_range",
        passed=False,
        summary=(
            f"{_plural(offending.height, 'row')} fail the price range: "
            f"{metadata['above_cap']} above cap, {metadata['below_floor']} below floor, "
            f"{metadata['null_values']} null, {metadata['nan_values']} NaN."
        ),
        metadata=metadata,
        sample_markdown=markdown_table(sample),
    )


def check_row_count(
    df: Frame,
    expected_rows: int,
    *,
    per_file: Mapping[str, int] | None = None,
) -> CheckOutcome:
    """Reconcile the parsed rows with the data rows counted in the stage-1 (csv) files.

    With `per_file` (source_file -> data rows), each file is compared with the parsed rows whose
    source_file equals it; files missing from either side count as disagreeing.
    """
    if isinstance(df, pl.LazyFrame):
        actual = int(df.select(pl.len()).collect().item())
        frame = df.collect() if per_file is not None else None
    else:
        actual = df.height
        frame = df
    metadata: dict[str, MetadataValue] = {
        "expected_rows": int(expected_rows),
        "actual_rows": actual,
        "difference": actual - int(expected_rows),
    }
    sample = markdown_table(
        pl.DataFrame(
            {
                "scope": ["all files"],
                "expected_rows": [int(expected_rows)],
                "parsed_rows": [actual],
                "difference": [actual - int(expected_rows)],
            }
        )
    )
    disagreeing = 0
    if per_file is not None:
        assert frame is not None
        parsed = frame.group_by("source_file").agg(pl.len().cast(pl.Int64).alias("parsed_rows"))
        expected = pl.DataFrame(
            {"source_file": list(per_file), "expected_rows": list(per_file.values())},
            schema={"source_file": pl.Utf8, "expected_rows": pl.Int64},
        )
        compared = (
            expected.join(
                parsed.with_columns(pl.col("source_file").cast(pl.Utf8)),
                on="source_file",
                how="full",
                coalesce=True,
                nulls_equal=True,
            )
            .with_columns(pl.col("expected_rows", "parsed_rows").fill_null(0))
            .with_columns(difference=pl.col("parsed_rows") - pl.col("expected_rows"))
        )
        bad = compared.filter(pl.col("difference") != 0).sort("source_file", nulls_last=True)
        disagreeing = bad.height
        metadata["files_checked"] = compared.height
        metadata["files_disagreeing"] = disagreeing
        if disagreeing:
            sample = markdown_table(bad)
    passed = actual == expected_rows and disagreeing == 0
    if passed:
        summary = f"Parsed {actual:,} rows, as counted in the source files."
    else:
        summary = f"Parsed {actual:,} rows but the source files hold {expected_rows:,}"
        summary += f"; {_plural(disagreeing, 'file')} disagree." if per_file is not None else "."
    return CheckOutcome(
        name="row_count",
        passed=passed,
        summary=summary,
        metadata=metadata,
        sample_markdown=None if passed else sample,
    )


def check_pivot_accuracy(
    long: Frame, wide: Frame, spec: DatasetSpec, locations: pl.DataFrame | None = None
) -> CheckOutcome:
    """Every non-null (interval, location) value of the long table equals its wide cell.

    The wide cell is found by interval_start_utc and the location's wide column, through
    `locations` (the flatten's mapping; by default `names.location_map` of `long`, the same
    function stage 3 pivots with). Rows whose interval
    or column is absent from the wide frame count as mismatches. Long rows with a null value
    are not compared (the flattened frame may legitimately have filled them).
    """
    long_df = _eager(long)
    wide_df = _eager(wide)
    value = spec.value_column
    columns = wide_value_columns(wide_df)
    mapping = location_map(long_df, spec) if locations is None else locations
    melted = wide_df.select("interval_start_utc", *columns).unpivot(
        index="interval_start_utc", on=columns, variable_name="wide_column", value_name="wide_value"
    )
    keyed = long_df.with_columns(
        wide_column_expr(spec, mapping).alias("wide_column"),
        pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")),
    )
    compared_all = keyed.join(
        melted.with_columns(_in_wide=pl.lit(True)),
        on=["interval_start_utc", "wide_column"],
        how="left",
    )
    null_long = compared_all.filter(pl.col(value).is_null()).height
    compared = compared_all.filter(pl.col(value).is_not_null())
    equal = pl.col(value).eq_missing(pl.col("wide_value"))
    mismatched = compared.filter(~equal).with_columns(
        problem=pl.when(pl.col("_in_wide").is_null())
        .then(pl.lit("no wide cell"))
        .otherwise(pl.lit("value differs"))
    )
    absent = int((mismatched.get_column("problem") == "no wide cell").sum())
    metadata: dict[str, MetadataValue] = {
        "long_rows": long_df.height,
        "compared_cells": compared.height,
        "mismatched_cells": mismatched.height,
        "cells_absent_from_wide": absent,
        "null_long_values": null_long,
        "wide_columns": len(columns),
    }
    if not mismatched.height:
        return CheckOutcome(
            name="pivot_accuracy",
            passed=True,
            summary=f"All {compared.height:,} long values match their wide cells.",
            metadata=metadata,
        )
    sample = mismatched.sort("interval_start_utc", "wide_column").select(
        "problem",
        *[c for c in _sample_columns(mismatched, spec) if c != "source_file"],
        "wide_column",
        "wide_value",
    )
    return CheckOutcome(
        name="pivot_accuracy",
        passed=False,
        summary=(
            f"{_plural(mismatched.height, 'long value')} of {compared.height:,} do not match "
            f"the wide frame ({absent} have no wide cell)."
        ),
        metadata=metadata,
        sample_markdown=markdown_table(sample),
    )


def outcomes_to_markdown(outcomes: Iterable[CheckOutcome]) -> str:
    """One markdown report: a summary table, then each failing check's sample."""
    items = list(outcomes)
    lines = ["| check | passed | summary |", "|---|---|---|"]
    lines += [f"| {o.name} | {'yes' if o.passed else 'NO'} | {_cell(o.summary)} |" for o in items]
    for o in items:
        if not o.passed and o.sample_markdown:
            lines += ["", f"### {o.name}", "", o.sample_markdown]
    return "\n".join(lines)


__all__ = [
    "CheckOutcome",
    "check_duplicates",
    "check_gaps",
    "check_pivot_accuracy",
    "check_price_range",
    "check_row_count",
    "check_schema",
    "markdown_table",
    "outcomes_to_markdown",
]


def total_counts(metadata: Sequence[Mapping[str, object]]) -> dict[str, int]:
    """The integer counts every partition's outcome carries, summed over the partitions: what
    a check found across a range run (rows, missing intervals, duplicate keys...)."""
    shared = set.intersection(*(set(m) for m in metadata)) if metadata else set()
    counts = [
        name
        for name in sorted(shared)
        if all(isinstance(m[name], int) and not isinstance(m[name], bool) for m in metadata)
    ]
    return {name: sum(int(m[name]) for m in metadata) for name in counts}
