"""The check functions behind the Dagster asset checks (plain Polars; no dagster here).

Every function returns a `CheckOutcome`; the asset layer turns it into an AssetCheckResult
(passed, metadata, a markdown sample of at most 20 offending rows).

`raw_checks_by_day` runs the stage-2 checks over many operating days at once: per check, one
vectorized screen grouped by operating day passes the clean days from aggregates, and only the
days it flags go through the row-level functions (ROW_LEVEL_CHECKS), which build the samples.
The per-frame functions (check_schema, check_gaps...) are the same screen with the whole frame
as one group, so each gives the outcome of its row-level function, faster. The gaps and
duplicates screens share one placement of the rows on their days' grids; a day laid out as a
file per interval publishes it (`_Rectangle`) is counted without hashing its series.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl

from power_market_assets.quality.schemas import long_table_schema
from power_market_assets.registry.kinds import EMISSION_RATE_UNIT, PRICE_UNIT, QUANTITY_UNIT
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


def _sentence(problems: Iterable[str]) -> str:
    """Problems joined into one summary sentence: "; " between them, capitalized, a stop."""
    text = "; ".join(problems) + "."
    return text[0].upper() + text[1:]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- checks per kind
#
# Which frame checks a dataset gets, and how its range is judged, follow from its kind's fields
# (unit, columns, vintage column) and its spec (bounds, intraday_snapshots): no kind names here.


@dataclass(frozen=True)
class RangeRule:
    """How the range check judges a kind's value column, by the kind's unit.

    name: the check's name (one per unit: prices and quantities read differently in the UI).
    default_floor: the floor when the spec declares no bounds (quantities are never negative;
    prices have no default bound).
    """

    name: str
    default_floor: float | None


RANGE_RULES = {
    PRICE_UNIT: RangeRule("price_range", None),
    QUANTITY_UNIT: RangeRule("value_range", 0.0),
    # Emission rates (lb/MWh) read like quantities: a value range, never negative by default.
    EMISSION_RATE_UNIT: RangeRule("value_range", 0.0),
}
# A kind with this column is judged per category (spec.category_bounds), not per day only.
CATEGORY_COLUMN = "fuel_category"
# Categories that are negative by nature (storage charging, net exports): no default floor.
SIGNED_CATEGORIES = ("storage", "imports")
# The ISO's own total of a fuel mix; a kind with this column gets the fuel_total check.
TOTAL_COLUMN = "iso_total_mw"
# fuel_total: the sum of a fuel mix interval may differ from the ISO's total by this share of
# the total. Rounding per fuel and totals measured apart from the fuels can differ a little; a
# fuel lost or counted twice moves the sum by more. Not tuned on every ISO's real files yet.
FUEL_TOTAL_TOLERANCE = 0.02


def range_rule(spec: DatasetSpec) -> RangeRule:
    return RANGE_RULES[spec.unit]


def frame_check_names(spec: DatasetSpec) -> tuple[str, ...]:
    """The checks on a long table of `spec` (raw_checks_by_day's keys, in this order):
    schema, duplicates, gaps, the range check of its unit, and fuel_total where the kind
    carries the ISO's total."""
    names = ("schema", "duplicates", "gaps", range_rule(spec).name)
    if TOTAL_COLUMN in spec.table_kind.dtypes:
        names += ("fuel_total",)
    return names


# --------------------------------------------------------------------------- checks


@functools.cache
def _long_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    """The long-table schema of a spec, built once (building it costs more than screening a
    day's rows)."""
    return long_table_schema(spec)


def _schema_exact(frame: pl.DataFrame, spec: DatasetSpec) -> CheckOutcome:
    """Pandera's own lazy validation (every failure case): run only on rows the screen flags."""
    schema = _long_schema(spec)
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
    return _schema_passed(frame.height, spec)


def _schema_passed(rows: int, spec: DatasetSpec) -> CheckOutcome:
    return CheckOutcome(
        name="schema",
        passed=True,
        summary=f"All {rows:,} rows match the {spec.iso} {spec.dataset} long schema.",
        metadata={"rows": rows, "failure_cases": 0, "failed_checks": 0},
    )


def _duplicates_exact(frame: pl.DataFrame, spec: DatasetSpec) -> CheckOutcome:
    """Row-level duplicate search with the sample: run only on rows the screen flags."""
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
        return _duplicates_passed(frame.height, spec)
    sample = offending.sort(key).select(_sample_columns(offending, spec))
    vintage = spec.table_kind.vintage_column
    repeated = f"; one vintage ({vintage}) holds an interval twice" if vintage else ""
    return CheckOutcome(
        name="duplicates",
        passed=False,
        summary=(
            f"{_plural(duplicate_keys, 'key')} on ({', '.join(key)}) appear more than once "
            f"({_plural(duplicate_rows, 'row')} involved{repeated})."
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

    Intraday snapshots (`spec.intraday_snapshots`): a day whose missing pairs are one trailing
    run common to every series (all stop at the same interval, no hole before it) is an
    incomplete day, not a gap: it passes with `complete` False, `not_yet_published` (missing
    (interval, series) pairs; `not_yet_published_intervals` per series) and `data_ends_at`.

    Kinds with a vintage (forecasts, renewables): see `_vintage_gaps_by`; the day grid does
    not apply to them.
    """
    frame = _sorted_days(_eager(df))
    return _gaps_by(frame, spec, _Groups.whole(frame))[None]


def _gaps_exact(frame: pl.DataFrame, spec: DatasetSpec) -> CheckOutcome:
    """Row-level placement with the sample: run only on rows the screen flags."""
    if spec.table_kind.vintage_column:
        return _vintage_gaps_exact(frame, spec)
    gaps = find_gaps(frame, spec)
    metadata = _gap_metadata(gaps, spec)
    if not gaps.has_problems:
        return _gaps_passed(metadata, spec)
    return CheckOutcome(
        name="gaps",
        passed=False,
        summary=_sentence(_gap_problems(gaps, spec)),
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
    # Intraday snapshots: days cut short (operating_day, pending: intervals per series not yet
    # published, series), whose tail is left out of `missing` and `missing_intervals`.
    pending: pl.DataFrame | None = None
    data_end_us: int | None = None  # UTC microseconds where the last day's data ends

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
    missing = expected.join(inside, on=[*keys, *entity], how="anti", nulls_equal=True)
    missing_intervals = grid.join(inside.select(keys).unique(), on=keys, how="anti")
    pending, data_end = None, None
    if spec.intraday_snapshots:
        problem_days = pl.concat([outside, off_grid], how="diagonal").select("operating_day")
        on_grid = inside.join(off_grid.select(keys).unique(), on=keys, how="anti")
        pending = _pending_tails(missing, grid, series_by_day, problem_days, bounds, spec)
        data_end = _data_end_us(on_grid, bounds, spec)
        missing = missing.join(pending, on="operating_day", how="anti")
        missing_intervals = missing_intervals.join(pending, on="operating_day", how="anti")
    return GapFindings(
        entity=entity,
        grid=grid,
        expected=expected,
        missing=missing,
        missing_intervals=missing_intervals,
        series_by_day=series_by_day,
        outside=outside,
        off_grid=off_grid,
        observed_stamps=observed_stamps,
        pending=pending,
        data_end_us=data_end,
    )


def _slot(start: pl.Expr, spec: DatasetSpec) -> pl.Expr:
    """The interval (or bucket) index of an interval start from its day's local midnight."""
    step = spec.interval_minutes * 60_000_000
    return (pl.col("interval_start_utc") - start).dt.total_microseconds() // step


def _pending_tails(
    missing: pl.DataFrame,
    grid: pl.DataFrame,
    series_by_day: pl.DataFrame,
    problem_days: pl.DataFrame,
    bounds: pl.DataFrame,
    spec: DatasetSpec,
) -> pl.DataFrame:
    """Days cut short (intraday snapshots): every series of the day misses exactly the
    intervals from one common interval to the end of the day, and no row of the day is
    outside it or off the grid. operating_day, pending (intervals per series), series."""
    entity = _entity_columns(spec)
    intervals = grid.group_by("operating_day").agg(intervals=pl.len())
    series = series_by_day.group_by("operating_day").agg(series=pl.len())
    per_series = (
        missing.join(bounds.select("operating_day", "day_start_utc"), on="operating_day")
        .with_columns(slot=_slot(pl.col("day_start_utc"), spec))
        .group_by("operating_day", *entity)
        .agg(first=pl.col("slot").min(), missing=pl.len())
        .join(intervals, on="operating_day")
    )
    tails = per_series.group_by("operating_day").agg(
        tail=(pl.col("missing") == pl.col("intervals") - pl.col("first")).all(),
        first=pl.col("first").min(),
        common=pl.col("first").n_unique() == 1,
        cut_series=pl.len(),
        intervals=pl.col("intervals").first(),
    )
    return (
        tails.join(series, on="operating_day")
        .join(problem_days.unique(), on="operating_day", how="anti")
        .filter(
            pl.col("tail")
            & pl.col("common")
            & (pl.col("cut_series") == pl.col("series"))
            & (pl.col("first") > 0)
        )
        .select(
            "operating_day",
            pending=(pl.col("intervals") - pl.col("first")).cast(pl.Int64),
            series=pl.col("series").cast(pl.Int64),
        )
    )


def _data_end_us(on_grid: pl.DataFrame, bounds: pl.DataFrame, spec: DatasetSpec) -> int | None:
    """Where the data of the last operating day ends: the end of its latest interval (or
    bucket) on the grid, at most the day's end (UTC microseconds; None without rows)."""
    if not on_grid.height:
        return None
    last_day = on_grid.get_column("operating_day").max()
    day = bounds.filter(pl.col("operating_day") == last_day)
    start = day.get_column("day_start_utc").to_physical()[0]
    length = day.get_column("day_end_utc").to_physical()[0] - start
    rows = on_grid.filter(pl.col("operating_day") == last_day)
    latest = int(rows.get_column("interval_start_utc").to_physical().max())
    step = spec.interval_minutes * 60_000_000
    return _data_end(int(start), int(length), (latest - int(start)) // step, spec)


def _data_end(start: int, length: int, last_slot: int, spec: DatasetSpec) -> int:
    step = spec.interval_minutes * 60_000_000
    return min(start + (last_slot + 1) * step, start + length)


def _local_text(utc_us: int | None, spec: DatasetSpec) -> str:
    """A UTC instant (microseconds) as the ISO's wall clock with its offset, for metadata."""
    if utc_us is None:
        return ""
    moment = datetime.fromtimestamp(utc_us / 1_000_000, tz=ZoneInfo(spec.timezone))
    return moment.isoformat(timespec="minutes")


def _snapshot_metadata(
    pending_intervals: int,
    pending_pairs: int,
    missing_pairs: int,
    data_end_us: int | None,
    spec: DatasetSpec,
) -> dict[str, MetadataValue]:
    """The gaps metadata of a dataset published in intraday snapshots: `complete` when every
    series holds every interval of the day."""
    return {
        "complete": pending_pairs == 0 and missing_pairs == 0,
        "not_yet_published": pending_pairs,
        "not_yet_published_intervals": pending_intervals,
        "data_ends_at": _local_text(data_end_us, spec),
    }


def _gap_metadata(gaps: GapFindings, spec: DatasetSpec) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {
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
    if gaps.pending is not None:
        pending = gaps.pending.select(
            intervals=pl.col("pending").sum(), pairs=(pl.col("pending") * pl.col("series")).sum()
        ).row(0, named=True)
        metadata |= _snapshot_metadata(
            int(pending["intervals"] or 0),
            int(pending["pairs"] or 0),
            gaps.missing.height,
            gaps.data_end_us,
            spec,
        )
    return metadata


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


def _bound_columns(spec: DatasetSpec, frame: pl.DataFrame) -> list[str]:
    """The columns a row's floor and cap depend on besides its operating day: the standard
    fuel category, in kinds that have one."""
    has_category = CATEGORY_COLUMN in spec.table_kind.dtypes and CATEGORY_COLUMN in frame.columns
    return [CATEGORY_COLUMN] if has_category else []


def _bounds_frame(spec: DatasetSpec, keys: pl.DataFrame) -> pl.DataFrame:
    """floor / cap in force for each distinct key of `keys` (operating_day, and the fuel
    category where the bounds depend on it).

    A day's bounds are the spec's `price_bounds` era (spec.bounds_on), or without any the
    unit's default (RANGE_RULES: quantities never below 0, prices unbounded). A category in
    `spec.category_bounds` has its own floor and cap; any other category keeps the day's,
    except that storage and imports have no floor (charging and net exports are negative).
    """
    unique_days: list[date] = [
        d for d in keys.get_column("operating_day").unique().to_list() if d is not None
    ]
    if not spec.price_bounds:
        floors: list[float | None] = [range_rule(spec).default_floor] * len(unique_days)
        caps: list[float | None] = [None] * len(unique_days)
    else:
        picked = [spec.bounds_on(d) for d in unique_days]
        floors = [b.floor for b in picked]
        caps = [b.cap for b in picked]
    by_day = pl.DataFrame(
        {"operating_day": unique_days, "floor": floors, "cap": caps},
        schema={"operating_day": pl.Date, "floor": pl.Float64, "cap": pl.Float64},
    )
    if CATEGORY_COLUMN not in keys.columns:
        return by_day
    listed = pl.DataFrame(
        [(c, float(floor), float(cap)) for c, floor, cap in spec.category_bounds],
        schema={CATEGORY_COLUMN: pl.Utf8, "category_floor": pl.Float64, "category_cap": pl.Float64},
        orient="row",
    ).with_columns(listed=pl.lit(True))
    categories = keys.select(pl.col(CATEGORY_COLUMN).cast(pl.Utf8)).unique().drop_nulls()
    listed_here = pl.col("listed").fill_null(False)
    default_floor = pl.when(pl.col(CATEGORY_COLUMN).is_in(SIGNED_CATEGORIES)).then(None)
    return (
        categories.join(listed, on=CATEGORY_COLUMN, how="left")
        .join(by_day, how="cross")
        .select(
            "operating_day",
            CATEGORY_COLUMN,
            floor=pl.when(listed_here)
            .then(pl.col("category_floor"))
            .otherwise(default_floor.otherwise(pl.col("floor"))),
            cap=pl.when(listed_here).then(pl.col("category_cap")).otherwise(pl.col("cap")),
        )
    )


def _range_scope(spec: DatasetSpec, bound_columns: list[str]) -> str:
    """What the bounds are per, for messages."""
    return " and ".join(["operating day", *(c.replace("_", " ") for c in bound_columns)])


def check_range(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Values outside the spec's floor/cap for their operating day's era (and fuel category
    where the kind has one; defaults per unit, RANGE_RULES); nulls and NaN fail. Named
    price_range for prices and value_range for quantities (range_rule)."""
    frame = _sorted_days(_eager(df))
    return _range_by(frame, spec, _Groups.whole(frame))[None]


# The per-frame range function under each name it carries (frame_check_names).
check_price_range = check_range
check_value_range = check_range


def _range_exact(frame: pl.DataFrame, spec: DatasetSpec) -> CheckOutcome:
    """Row-level judging with the sample: run only on rows the screen flags."""
    value = spec.value_column
    by = ["operating_day", *_bound_columns(spec, frame)]
    bounds = _bounds_frame(spec, frame.select(by))
    v = pl.col(value)
    judged = frame.join(bounds, on=by, how="left").with_columns(
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
        return _range_passed(metadata, spec, by[1:])
    sample = offending.sort(
        pl.col("problem"), pl.col(value).abs(), descending=[False, True]
    ).select("problem", *_sample_columns(offending, spec, (*by[1:], "floor", "cap")))
    name = range_rule(spec).name
    return CheckOutcome(
        name=name,
        passed=False,
        summary=(
            f"{_plural(offending.height, 'row')} fail the {name.replace('_', ' ')} "
            f"({spec.unit}, per {_range_scope(spec, by[1:])}): "
            f"{metadata['above_cap']} above cap, {metadata['below_floor']} below floor, "
            f"{metadata['null_values']} null, {metadata['nan_values']} NaN."
        ),
        metadata=metadata,
        sample_markdown=markdown_table(sample),
    )


# --------------------------------------------------------------------------- by operating day
#
# The raw checks run as a screen over many operating days at once: one vectorized pass per
# check (grouped by operating day) finds the days that certainly pass and builds their outcome
# from the aggregates; only the days it flags go through the row-level functions above, which
# build the samples. A flagged day may still pass (e.g. a hash collision in the duplicate
# screen): its outcome is then exactly what the row-level function says.

# The checks on a price table itself (row_count reconciles it with the stage-1 files instead);
# frame_check_names(spec) gives any spec's.
FRAME_CHECKS = ("schema", "duplicates", "gaps", "price_range")
GroupKey = date | None  # an operating day, or None: the whole frame as one group
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # a Date's physical value counts days from it


@dataclass(frozen=True)
class _Groups:
    """Which rows each outcome covers: one operating day each (`by_day`), or the whole frame
    as one group keyed None (the per-frame check functions). `rows`: each group's row count."""

    by_day: bool
    rows: dict[GroupKey, int]

    @classmethod
    def whole(cls, frame: pl.DataFrame) -> _Groups:
        return cls(False, {None: frame.height})

    @classmethod
    def days(cls, frame: pl.DataFrame) -> _Groups:
        """One group per operating day present (rows without an operating day belong to none)."""
        counts = frame.select("operating_day").group_by("operating_day").len()
        counts = counts.drop_nulls("operating_day")
        return cls(True, dict(counts.sort("operating_day").iter_rows()))

    def key(self) -> pl.Expr:
        """Expression: the group of each row (of the frame, or of a per-day aggregate)."""
        return pl.col("operating_day") if self.by_day else pl.lit(None, pl.Date)

    def where(self, frame: pl.DataFrame, mask: pl.Series) -> set[GroupKey]:
        """The groups holding at least one row where `mask` is true."""
        if not self.by_day:
            return {None} if mask.any() else set()
        days = frame.filter(mask).get_column("operating_day").drop_nulls().unique()
        return set(days.to_list())

    def split(self, frame: pl.DataFrame, keys: set[GroupKey]) -> dict[GroupKey, pl.DataFrame]:
        """The rows of each group in `keys`, in frame order (one filter for all of them)."""
        if not keys:
            return {}
        if not self.by_day:
            return {None: frame}
        picked = frame.filter(pl.col("operating_day").is_in(list(keys)))
        parts = picked.partition_by("operating_day", as_dict=True, maintain_order=True)
        return {key: part for (key,), part in parts.items()}

    def decide(
        self,
        frame: pl.DataFrame,
        flagged: set[GroupKey],
        exact: Callable[[pl.DataFrame], CheckOutcome],
        passed: Callable[[GroupKey], CheckOutcome],
    ) -> dict[GroupKey, CheckOutcome]:
        """Each group's outcome: the row-level function for flagged groups, else `passed`."""
        parts = self.split(frame, flagged & set(self.rows))
        return {key: exact(parts[key]) if key in parts else passed(key) for key in self.rows}


def _sorted_days(frame: pl.DataFrame) -> pl.DataFrame:
    """Mark operating_day sorted when it is (frames arrive day after day): grouping by a
    sorted key is several times faster than hashing it."""
    days = frame.get_column("operating_day") if "operating_day" in frame.columns else None
    if days is None or days.null_count() or not days.is_sorted():
        return frame
    return frame.with_columns(days.set_sorted())


def frame_checks(frame: Frame, spec: DatasetSpec) -> dict[str, CheckOutcome]:
    """The stage-2 checks (frame_check_names: schema, duplicates, gaps, the range check,
    fuel_total where it applies) of one operating day's frame: `raw_checks_by_day` (one grid
    placement shared by gaps and duplicates) when every row has that day, else each check on
    the frame as one group."""
    rows = _eager(frame)
    days = rows.get_column("operating_day") if "operating_day" in rows.columns else None
    if days is not None and rows.height and not days.null_count() and days.n_unique() == 1:
        return raw_checks_by_day(rows, spec)[days[0]]
    return {name: PER_FRAME_CHECKS[name](rows, spec) for name in frame_check_names(spec)}


def raw_checks_by_day(frame: Frame, spec: DatasetSpec) -> dict[date, dict[str, CheckOutcome]]:
    """The stage-2 checks (frame_check_names) of every operating day in `frame`, each outcome
    the same as the per-frame check gives on that day's rows alone, computed in one vectorized
    pass per check over all the days."""
    rows = _sorted_days(_eager(frame))
    groups = _Groups.days(rows)
    # The day grid's placement, shared by gaps and the duplicate screen (kinds with a vintage
    # are not placed on a day grid).
    placement = None if spec.table_kind.vintage_column else _Placement.of(rows, spec)
    screens: dict[str, Callable[[], dict[GroupKey, CheckOutcome]]] = {
        "schema": lambda: _schema_by(rows, spec, groups),
        "duplicates": lambda: _duplicates_by(
            rows, spec, groups, _duplicate_suspects(rows, spec, groups, placement)
        ),
        "gaps": lambda: _gaps_by(rows, spec, groups, placement),
        range_rule(spec).name: lambda: _range_by(rows, spec, groups),
        "fuel_total": lambda: _fuel_total_by(rows, spec, groups),
    }
    by_check = {name: screens[name]() for name in frame_check_names(spec)}
    return {
        day: {name: outcomes[day] for name, outcomes in by_check.items()}
        for day in groups.rows
        if day is not None
    }


# ------------------------------------------------------------------ schema


def check_schema(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Validate against the Pandera long-table schema: its columns and dtypes on the frame's
    schema, null counts and column checks vectorized; Pandera's own (row-level) validation
    lists the failure cases when something fails."""
    frame = _sorted_days(_eager(df))
    return _schema_by(frame, spec, _Groups.whole(frame))[None]


def _schema_by(
    frame: pl.DataFrame, spec: DatasetSpec, groups: _Groups
) -> dict[GroupKey, CheckOutcome]:
    schema = _long_schema(spec)
    return groups.decide(
        frame,
        _schema_flagged(frame, schema, groups),
        lambda rows: _schema_exact(rows, spec),
        lambda key: _schema_passed(groups.rows[key], spec),
    )


def _schema_flagged(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, groups: _Groups
) -> set[GroupKey]:
    """Groups Pandera could fail: all of them when the columns or dtypes differ from the
    declaration (or it declares more than this screen reads), else those with a null or NaN
    in a non-nullable column or a value failing a column check."""
    if not _screenable(schema) or not _columns_match(frame, schema):
        return set(groups.rows)
    bad = _schema_bad_rows(frame, schema)
    return set() if bad is None else groups.where(frame, bad)


def _screenable(schema: pa.DataFrameSchema) -> bool:
    """Whether the schema declares only what the screen reads: required named columns with a
    dtype, nullability and column checks (no uniqueness, coercion, parsers or frame checks)."""
    frame_level = (
        schema.checks or schema.unique or schema.coerce or schema.parsers or schema.ordered
    )
    if frame_level or schema.add_missing_columns or schema.strict not in (True, False):
        return False
    return all(
        c.required and not (c.unique or c.coerce or c.regex or c.parsers or c.dtype is None)
        for c in schema.columns.values()
    )


def _columns_match(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Every declared column present with Pandera's idea of its dtype; no extra column when
    the schema is strict."""
    declared, present = set(schema.columns), set(frame.columns)
    if declared - present or (schema.strict and present - declared):
        return False
    dtypes = frame.schema
    try:
        return all(c.dtype.check(dtypes[name]) for name, c in schema.columns.items())
    except Exception:  # a dtype Pandera cannot compare: let Pandera itself report it
        return False


def _schema_bad_rows(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.Series | None:
    """Rows failing nullability (Pandera counts NaN as null in float columns) or a column
    check, evaluated by the check's own vectorized function; None when there are none."""
    masks: list[pl.Series] = []
    for name, column in schema.columns.items():
        values = frame.get_column(name)
        if not column.nullable:
            if values.null_count():
                masks.append(values.is_null())
            if values.dtype.is_float() and values.is_nan().any():
                masks.append(values.is_nan().fill_null(False))
        for check in column.checks:
            try:
                result = check(frame.lazy().select(name), name).check_output.collect()
            except Exception:  # the check cannot run here: flag every row for Pandera
                return pl.repeat(True, frame.height, eager=True)
            passed = result.to_series().fill_null(False)
            if passed.all():
                continue
            if passed.len() != frame.height:  # one verdict for the whole column
                return pl.repeat(True, frame.height, eager=True)
            masks.append(~passed)
    return functools.reduce(operator.or_, masks) if masks else None


# ------------------------------------------------------------------ duplicates


def check_duplicates(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Rows sharing spec.unique_key (a DST repeat hour in correct data is not a duplicate)."""
    frame = _sorted_days(_eager(df))
    return _duplicates_by(frame, spec, _Groups.whole(frame))[None]


def _duplicates_by(
    frame: pl.DataFrame,
    spec: DatasetSpec,
    groups: _Groups,
    suspects: set[GroupKey] | None = None,
) -> dict[GroupKey, CheckOutcome]:
    """Groups that cannot hold a repeated key pass; the suspects are searched row by row."""
    if suspects is None:
        suspects = _duplicate_suspects(frame, spec, groups)
    return groups.decide(
        frame,
        suspects,
        lambda rows: _duplicates_exact(rows, spec),
        lambda group: _duplicates_passed(groups.rows[group], spec),
    )


def _duplicate_suspects(
    frame: pl.DataFrame,
    spec: DatasetSpec,
    groups: _Groups,
    placement: _Placement | None = None,
) -> set[GroupKey]:
    """Groups that may repeat (operating day when by day, spec.unique_key). Every row's key
    is hashed: all hashes distinct means all keys distinct. With the placement of regular
    data by day, a day's on-grid rows repeat a key exactly when they outnumber the pairs
    present, and only the other rows (outside, off the grid, no stamp; they share no key with
    on-grid rows) are hashed. Irregular data may hold two stamps of a series in one bucket, so
    only its days with more rows than (bucket, series) pairs are hashed: where each pair holds
    one row no key repeats (one stamp falls in one bucket)."""
    suspects: set[GroupKey] = set()
    if placement is not None and "interval_start_utc" in spec.unique_key and groups.by_day:
        crowded = placement.days.filter(pl.col("counted") > pl.col("present"))
        crowded_days = crowded.get_column("operating_day").drop_nulls()
        if spec.irregular_intervals:
            in_crowded_day = pl.col("operating_day").is_in(crowded_days.implode())
            frame = frame.filter(~placement.counted_rows | in_crowded_day)
        else:
            suspects = set(crowded_days.to_list())
            frame = frame.filter(~placement.counted_rows)
    day = ["operating_day"] if groups.by_day else []
    hashes = frame.select(*day, *spec.unique_key).hash_rows()
    if hashes.n_unique() < frame.height:
        suspects |= groups.where(frame, hashes.is_duplicated())
    return suspects


def _duplicates_passed(rows: int, spec: DatasetSpec) -> CheckOutcome:
    return CheckOutcome(
        name="duplicates",
        passed=True,
        summary=f"No duplicates on ({', '.join(spec.unique_key)}) in {rows:,} rows.",
        metadata={"rows": rows, "duplicate_keys": 0, "duplicate_rows": 0, "extra_rows": 0},
    )


# ------------------------------------------------------------------ gaps


def _gaps_by(
    frame: pl.DataFrame, spec: DatasetSpec, groups: _Groups, placement: _Placement | None = None
) -> dict[GroupKey, CheckOutcome]:
    """Per operating day: rows placed on the day's grid by arithmetic (elapsed time since the
    day's local midnight), the grid's size computed once per distinct day, and the distinct
    (interval, series) pairs present compared with intervals x series. A day passes when the
    counts match and no row is outside its day or off the grid (intraday snapshots: or
    when every series stops at one interval with no hole before it).
    Kinds with a vintage are checked per series instead (`_vintage_gaps_by`)."""
    if spec.table_kind.vintage_column:
        return _vintage_gaps_by(frame, spec, groups)
    placement = placement or _Placement.of(frame, spec)
    with_rows = pl.col("inside_rows") > 0
    latest = pl.col("data_end").filter(with_rows).sort_by(pl.col("operating_day").filter(with_rows))
    snapshot = {"data_end": latest.last()} if spec.intraday_snapshots else {}
    per_group = (
        placement.days.with_columns(group=groups.key())
        .group_by("group")
        .agg(
            pl.col("flagged").any(),
            operating_days=(pl.col("inside_rows") > 0).sum(),
            expected_intervals=pl.col("intervals").sum(),
            expected_pairs=(pl.col("intervals") * pl.col("series")).sum(),
            series=pl.col("series").sum(),
            observed=pl.col("observed").sum(),
            pending_intervals=pl.col("pending").sum(),
            pending_pairs=(pl.col("pending") * pl.col("series")).sum(),
            **snapshot,
        )
    )
    if not groups.by_day and per_group.height:  # series seen on any day of the frame
        per_group = per_group.with_columns(series=pl.lit(placement.whole_series, pl.Int64))
    stats = {row["group"]: row for row in per_group.iter_rows(named=True)}
    flagged = {key for key, row in stats.items() if row["flagged"]}

    def passed(key: GroupKey) -> CheckOutcome:
        return _gaps_passed(_gap_passed_metadata(stats.get(key), spec), spec)

    return groups.decide(frame, flagged, lambda part: _gaps_exact(part, spec), passed)


def _gap_passed_metadata(row: dict[str, Any] | None, spec: DatasetSpec) -> dict[str, MetadataValue]:
    """check_gaps' metadata of a group with no problem, from its aggregates."""
    row = row or {}
    expected_intervals = int(row.get("expected_intervals") or 0)
    pending_intervals = int(row.get("pending_intervals") or 0)
    observed = (
        row.get("observed") if spec.irregular_intervals else expected_intervals - pending_intervals
    )
    metadata: dict[str, MetadataValue] = {
        "operating_days": int(row.get("operating_days") or 0),
        "expected_intervals": expected_intervals,
        "expected_pairs": int(row.get("expected_pairs") or 0),
        "missing_pairs": 0,
        "missing_intervals": 0,
        "series": int(row.get("series") or 0) if _entity_columns(spec) else 0,
        "rows_outside_operating_day": 0,
        "rows_off_grid": 0,
        "observed_interval_starts": int(observed or 0),
        "irregular_intervals": int(spec.irregular_intervals),
    }
    if spec.intraday_snapshots:
        data_end = row.get("data_end")
        metadata |= _snapshot_metadata(
            pending_intervals,
            int(row.get("pending_pairs") or 0),
            0,
            None if data_end is None else int(data_end),
            spec,
        )
    return metadata


def _gaps_passed(metadata: dict[str, MetadataValue], spec: DatasetSpec) -> CheckOutcome:
    pairs = f"({_interval_word(spec)}, {'/'.join(_entity_columns(spec))}) pairs"
    days = f"{metadata['operating_days']} operating days"
    if metadata.get("not_yet_published"):
        summary = (
            f"Incomplete: data ends at {metadata['data_ends_at']}; "
            f"{metadata['not_yet_published']:,} {pairs} "
            f"({metadata['not_yet_published_intervals']:,} per series) not yet published, "
            f"none missing before that over {days}."
        )
    else:
        summary = f"All {metadata['expected_pairs']:,} expected {pairs} over {days} are present."
    return CheckOutcome(name="gaps", passed=True, summary=summary, metadata=metadata)


# Kinds with a vintage (forecasts, renewables): a partition is a publication day and each
# vintage's intervals may run days ahead, so the operating day's grid does not apply. Each
# series (the kind's key minus the interval: area, model and the vintage...) must instead run
# without a hole from its first interval to its last, at the native interval (UTC arithmetic,
# so DST days need nothing special: a fall-back day simply holds 25 hourly intervals).


def _vintage_spans(frame: pl.DataFrame, spec: DatasetSpec, by_day: bool) -> pl.DataFrame:
    """One row per series (and operating day when `by_day`): its first and last interval on
    the native grid (`first`, `last`: interval numbers since 1970 UTC), the distinct intervals
    present (`slots`), the missing ones in between (`missing`) and its rows off the grid."""
    series = list(spec.table_kind.series_columns)
    step = spec.interval_minutes * 60_000_000
    stamp = pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")).to_physical()
    on_grid = pl.lit(True) if spec.irregular_intervals else stamp % step == 0
    day = ["operating_day"] if by_day else []
    slot = pl.col("slot").filter(pl.col("on_grid"))
    return (
        frame.select(*day, *series, slot=stamp // step, on_grid=on_grid)
        .drop_nulls("slot")
        .group_by(*day, *series)
        .agg(
            first=slot.min(),
            last=slot.max(),
            slots=slot.n_unique(),
            off_grid=(~pl.col("on_grid")).sum(),
        )
        .with_columns(missing=(pl.col("last") - pl.col("first") + 1 - pl.col("slots")).fill_null(0))
    )


def _vintage_gap_counts(spans: pl.DataFrame, spec: DatasetSpec) -> dict[str, pl.Expr]:
    """The gaps metadata of series spans, as aggregations (one group or one per day)."""
    vintage = spec.table_kind.vintage_column
    return {
        "series": pl.len(),
        "vintages": pl.col(vintage).n_unique() if vintage in spans.columns else pl.lit(0),
        "expected_pairs": (pl.col("slots") + pl.col("missing")).sum(),
        "missing_pairs": pl.col("missing").sum(),
        "rows_off_grid": pl.col("off_grid").sum(),
    }


def _vintage_metadata(row: Mapping[str, Any] | None, spec: DatasetSpec) -> dict[str, MetadataValue]:
    row = row or {}
    return {
        "series": int(row.get("series") or 0),
        "vintages": int(row.get("vintages") or 0),
        "expected_pairs": int(row.get("expected_pairs") or 0),
        "missing_pairs": int(row.get("missing_pairs") or 0),
        "rows_off_grid": int(row.get("rows_off_grid") or 0),
        "irregular_intervals": int(spec.irregular_intervals),
    }


def _vintage_gaps_by(
    frame: pl.DataFrame, spec: DatasetSpec, groups: _Groups
) -> dict[GroupKey, CheckOutcome]:
    """Per group: the series' spans summed; a group with a missing interval inside a span or
    a row off the grid is checked row by row (for its sample)."""
    spans = _vintage_spans(frame, spec, groups.by_day)
    per_group = (
        spans.with_columns(group=groups.key())
        .group_by("group")
        .agg(**_vintage_gap_counts(spans, spec))
    )
    stats = {row["group"]: row for row in per_group.iter_rows(named=True)}
    flagged = {key for key, row in stats.items() if row["missing_pairs"] or row["rows_off_grid"]}

    def passed(key: GroupKey) -> CheckOutcome:
        return _vintage_gaps_outcome(_vintage_metadata(stats.get(key), spec), spec)

    return groups.decide(frame, flagged, lambda part: _vintage_gaps_exact(part, spec), passed)


def _vintage_gaps_exact(frame: pl.DataFrame, spec: DatasetSpec) -> CheckOutcome:
    """The spans of the frame's series with the sample: each run of missing intervals (its
    first interval and length) and each row off the grid."""
    spans = _vintage_spans(frame, spec, by_day=False)
    counts = _vintage_gap_counts(spans, spec)
    row = spans.select(**counts).row(0, named=True) if spans.height else None
    metadata = _vintage_metadata(row, spec)
    if not (metadata["missing_pairs"] or metadata["rows_off_grid"]):
        return _vintage_gaps_outcome(metadata, spec)
    return _vintage_gaps_outcome(metadata, spec, _vintage_gap_sample(frame, spec))


def _vintage_gap_sample(frame: pl.DataFrame, spec: DatasetSpec) -> tuple[pl.DataFrame, int]:
    """Rows off the grid first, then one row per run of missing intervals in a series; and
    how many such rows there are in all."""
    series = list(spec.table_kind.series_columns)
    step = spec.interval_minutes * 60_000_000
    stamp = pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC"))
    slot = stamp.to_physical() // step
    on_grid = pl.lit(True) if spec.irregular_intervals else stamp.to_physical() % step == 0
    rows = frame.select(*series, "interval_start_utc", slot=slot, on_grid=on_grid).drop_nulls(
        "slot"
    )
    previous = pl.col("slot").shift(1).over(series)
    runs = (
        rows.filter("on_grid")
        .select(*series, "slot")
        .unique()
        .sort(*series, "slot", nulls_last=True)
        .with_columns(previous=previous)
        .filter(pl.col("slot") - pl.col("previous") > 1)
        .select(
            *series,
            problem=pl.lit("missing"),
            interval_start_utc=((pl.col("previous") + 1) * step)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC"),
            missing_intervals=(pl.col("slot") - pl.col("previous") - 1).cast(pl.Int64),
        )
    )
    off_grid = (
        rows.filter(~pl.col("on_grid"))
        .sort("interval_start_utc", *series)
        .select(
            *series,
            problem=pl.lit("off grid"),
            interval_start_utc=stamp,
            missing_intervals=pl.lit(None, pl.Int64),
        )
    )
    total = off_grid.height + runs.height
    sample = pl.concat([off_grid.head(SAMPLE_ROWS), runs.head(SAMPLE_ROWS)], how="vertical_relaxed")
    local = pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone)
    columns = ["interval_start_utc", local.alias("interval_start_local"), "missing_intervals"]
    return sample.head(SAMPLE_ROWS).select("problem", *columns, *series), total


def _vintage_gaps_outcome(
    metadata: dict[str, MetadataValue],
    spec: DatasetSpec,
    sample: tuple[pl.DataFrame, int] | None = None,
) -> CheckOutcome:
    names = "/".join(spec.table_kind.series_columns)
    if sample is None:
        return CheckOutcome(
            name="gaps",
            passed=True,
            summary=(
                f"All {metadata['series']:,} series ({names}) run without a missing "
                f"{spec.interval_minutes}-minute interval from their first interval to their "
                f"last ({metadata['expected_pairs']:,} intervals, "
                f"{_plural(int(metadata['vintages']), 'vintage')})."
            ),
            metadata=metadata,
        )
    parts = []
    if metadata["missing_pairs"]:
        parts.append(
            f"{_plural(int(metadata['missing_pairs']), 'missing interval')} inside the span of "
            f"their series ({names})"
        )
    if metadata["rows_off_grid"]:
        parts.append(
            f"{_plural(int(metadata['rows_off_grid']), 'row')} off the "
            f"{spec.interval_minutes}-minute grid"
        )
    return CheckOutcome(
        name="gaps",
        passed=False,
        summary=_sentence(parts),
        metadata=metadata,
        sample_markdown=markdown_table(sample[0], total=sample[1]),
    )


@dataclass(frozen=True)
class _Placement:
    """A frame's rows placed on the grids of their operating days, counted per day.

    days: one row per operating_day (null included) with inside_rows, outside, off_grid,
    counted (rows on the grid: regular data exactly on it, irregular data in any bucket),
    series (distinct series counted), present (distinct (slot, series) pairs counted),
    observed (distinct stamps inside the day; irregular data only), intervals (the grid's size
    for days with a row inside them) and flagged (a gap problem is possible). The counts are
    exact, so a day of regular data with more rows counted than pairs present repeats a key.
    A flagged day is checked row by row, where series counted only on the grid would differ
    from series inside the day (off-grid rows).
    whole_series: distinct series counted over the whole frame.
    counted_rows: per row, whether it was counted on the grid.
    """

    days: pl.DataFrame
    whole_series: int
    counted_rows: pl.Series

    @classmethod
    def of(cls, frame: pl.DataFrame, spec: DatasetSpec) -> _Placement:
        days = frame.get_column("operating_day").drop_nulls().unique().cast(pl.Int32)
        grid = _DayGrid.of(days, spec)
        entity = _entity_columns(spec)
        rows = grid.place(frame).hstack(frame.select(entity))
        inside, counted = pl.col("inside"), pl.col("counted")
        observed = pl.col("stamp").filter(inside).n_unique() if spec.irregular_intervals else 0
        stats = rows.group_by("operating_day").agg(
            inside_rows=inside.sum(),
            outside=(~inside).sum(),
            off_grid=(inside & ~counted).sum(),
            counted=counted.sum(),
            observed=observed,
        )
        snapshots = spec.intraday_snapshots
        rectangle = _Rectangle.of(rows, entity) if days.len() == 1 else None
        if rectangle is not None:
            pairs, whole_series = (
                rectangle.pairs(frame[0, "operating_day"], snapshots),
                rectangle.series,
            )
        else:
            pairs, whole_series = _pairs_by_series(rows, entity, snapshots)
        stats = stats.join(pairs, on="operating_day", how="left").join(
            grid.sizes(), on="operating_day", how="left"
        )
        intervals = pl.when(pl.col("inside_rows") > 0).then(pl.col("grid_intervals"))
        days_frame = stats.with_columns(
            pl.col("series", "present").fill_null(0),
            intervals=intervals.otherwise(0).fill_null(0).cast(pl.Int64),
        ).with_columns(
            flagged=(pl.col("outside") > 0)
            | (pl.col("off_grid") > 0)
            | (pl.col("present") != pl.col("intervals") * pl.col("series"))
        )
        days_frame = _with_pending(days_frame, grid.step) if snapshots else days_frame
        if not snapshots:
            days_frame = days_frame.with_columns(pending=pl.lit(0, pl.Int64))
        return cls(days_frame, whole_series, rows.get_column("counted").fill_null(False))


def _pairs_by_series(
    rows: pl.DataFrame, entity: list[str], snapshots: bool
) -> tuple[pl.DataFrame, int]:
    """Per operating day, the series and distinct (slot, series) pairs counted on the grid
    (with intraday snapshots, where the series stop), and the distinct series of the frame."""
    per_series = _series_on_grid(rows.filter(pl.col("counted")), entity, last=snapshots)
    tails = (
        {
            "contiguous": (pl.col("slots") == pl.col("last") + 1).all(),
            "last_min": pl.col("last").min(),
            "last_max": pl.col("last").max(),
        }
        if snapshots
        else {}
    )
    pairs = per_series.group_by("operating_day").agg(
        series=pl.len(), present=pl.col("slots").sum(), **tails
    )
    return pairs, per_series.select(entity).n_unique() if entity else 0


@dataclass(frozen=True)
class _Rectangle:
    """A day's placed rows laid out as a file per interval publishes them: every row on the
    grid, slots 0, 1 ... slots-1 in order, each slot one block of the same `series` distinct
    series in the same order. Each series then holds each slot exactly once, which is proved
    by comparing each block with the one before it instead of hashing every (series, slot)
    pair; about a third of a day's checks on ERCOT's real-time prices."""

    series: int
    slots: int

    @classmethod
    def of(cls, rows: pl.DataFrame, entity: list[str]) -> _Rectangle | None:
        """The rectangle `rows` form, or None when they form none (then count by series)."""
        if not entity or not rows.height or not rows.get_column("counted").fill_null(False).all():
            return None
        runs = rows.get_column("slot").rle()
        lengths, slots = runs.struct.field("len"), runs.struct.field("value")
        block = int(lengths[0])
        in_order = slots.to_numpy() == np.arange(slots.len())
        if not (lengths == block).all() or not in_order.all():
            return None
        keys = rows.select(entity)
        repeated = all(
            keys.get_column(name)
            .head(rows.height - block)
            .eq_missing(keys.get_column(name).slice(block))
            .all()
            for name in entity
        )
        if not repeated or keys.head(block).n_unique() != block:
            return None
        return cls(block, slots.len())

    def pairs(self, day: date, snapshots: bool) -> pl.DataFrame:
        """`_pairs_by_series`' day row for this rectangle."""
        tails = (
            {"contiguous": [True], "last_min": [self.slots - 1], "last_max": [self.slots - 1]}
            if snapshots
            else {}
        )
        return pl.DataFrame(
            {
                "operating_day": [day],
                "series": [self.series],
                "present": [self.series * self.slots],
                **tails,
            },
            schema_overrides={
                "series": pl.UInt32,
                "present": pl.UInt32,
                "last_min": pl.Int64,
                "last_max": pl.Int64,
            },
        )


def _with_pending(days: pl.DataFrame, step: int) -> pl.DataFrame:
    """Intraday snapshots: a day whose every series holds exactly the intervals up to one
    common last interval (and no row outside the day or off the grid) is cut short, not
    flagged: `pending` intervals per series are not yet published. `data_end`: where the
    day's data ends (UTC microseconds)."""
    cut = (
        pl.col("contiguous").fill_null(False)
        & (pl.col("last_min") == pl.col("last_max")).fill_null(False)
        & (pl.col("outside") == 0)
        & (pl.col("off_grid") == 0)
        & (pl.col("series") > 0)
    )
    pending = pl.when(cut).then(pl.col("intervals") - pl.col("last_max") - 1).otherwise(0)
    day_end = pl.col("day_start") + pl.col("day_length")
    return days.with_columns(
        pending=pending.cast(pl.Int64),
        flagged=pl.col("flagged") & ~cut,
        data_end=pl.min_horizontal(pl.col("day_start") + (pl.col("last_max") + 1) * step, day_end),
    )


def _series_on_grid(on_grid: pl.DataFrame, entity: list[str], last: bool = False) -> pl.DataFrame:
    """The distinct slots of each (operating day, series) among the rows on the grid: exact
    counts, series told apart by their values as they are (a null is a value too); with
    `last`, each series' last slot too. Counted one day at a time: small hash tables make it
    about twice as fast as one pass."""
    aggs = {"slots": pl.col("slot").n_unique()} | ({"last": pl.col("slot").max()} if last else {})

    def count(rows: pl.DataFrame) -> pl.DataFrame:
        return rows.group_by("operating_day", *entity).agg(**aggs)

    days = on_grid.select("operating_day", "slot", *entity).partition_by("operating_day")
    return pl.concat([count(day) for day in days]) if days else count(on_grid)


@dataclass(frozen=True)
class _DayGrid:
    """The grids of a frame's distinct operating days, computed once per day: each day's UTC
    start and length, looked up per row by the day's number (no per-row time-zone work)."""

    days: np.ndarray  # the distinct operating days, sorted, as days since 1970-01-01
    first: int  # the first of them
    starts: pl.Series  # by day number - first: UTC microseconds of the day's local midnight
    lengths: pl.Series  # by day number - first: microseconds in the day (23, 24 or 25 hours)
    step: int  # microseconds in one interval (irregular data: one nominal bucket)
    spec: DatasetSpec

    @classmethod
    def of(cls, days: pl.Series, spec: DatasetSpec) -> _DayGrid:
        numbers = np.sort(days.to_numpy().astype(np.int64))
        first = int(numbers[0]) if numbers.size else 0
        offsets = numbers - first
        span = int(offsets[-1]) + 1 if numbers.size else 0
        bounds = day_bounds_frame(
            [date.fromordinal(EPOCH_ORDINAL + int(n)) for n in numbers], spec.timezone
        )
        day_starts = bounds.get_column("day_start_utc").to_physical().to_numpy()
        day_lengths = bounds.get_column("day_end_utc").to_physical().to_numpy() - day_starts
        starts, lengths = np.zeros(span, dtype=np.int64), np.zeros(span, dtype=np.int64)
        starts[offsets], lengths[offsets] = day_starts, day_lengths
        step = spec.interval_minutes * 60_000_000
        return cls(numbers, first, pl.Series(starts), pl.Series(lengths), step, spec)

    def place(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per row: operating_day, stamp (UTC microseconds), inside its day, counted on the
        grid and slot (the interval or bucket index from local midnight)."""
        index = pl.col("operating_day").cast(pl.Int32) - self.first
        stamp = pl.col("interval_start_utc").cast(pl.Datetime("us", "UTC")).to_physical()
        elapsed = pl.col("elapsed")
        inside = (elapsed >= 0) & (elapsed < pl.lit(self.lengths).gather(index))
        on_grid = inside if self.spec.irregular_intervals else inside & (elapsed % self.step == 0)
        return (
            frame.lazy()
            .select("operating_day", stamp.alias("stamp"))
            .with_columns(elapsed=pl.col("stamp") - pl.lit(self.starts).gather(index))
            .with_columns(
                inside=inside, counted=on_grid, slot=(elapsed // self.step).cast(pl.Int64)
            )
            .collect()
        )

    def sizes(self) -> pl.DataFrame:
        """Intervals in each operating day's grid: the grid runs from local midnight to the
        next in fixed steps (transforms.time.expected_interval_frame), so it holds
        ceil(length / step) intervals: 92/96/100 quarter hours, 276/288/300 buckets."""
        lengths = self.lengths.to_numpy()[self.days - self.first]
        starts = self.starts.to_numpy()[self.days - self.first]
        days = pl.Series("operating_day", self.days, dtype=pl.Int32).cast(pl.Date)
        return pl.DataFrame(
            [
                days,
                pl.Series("grid_intervals", -(-lengths // self.step)),
                pl.Series("day_start", starts),
                pl.Series("day_length", lengths),
            ]
        )


# ------------------------------------------------------------------ price range


def _range_by(
    frame: pl.DataFrame, spec: DatasetSpec, groups: _Groups
) -> dict[GroupKey, CheckOutcome]:
    """Per operating day (and fuel category where the bounds depend on it): nulls, NaN, min
    and max against the floor and cap; a day with any null or NaN, or a min or max out of
    bounds, is judged row by row."""
    v = pl.col(spec.value_column)
    values = frame.get_column(spec.value_column)
    if values.is_nan().any():  # rare: otherwise min and max need no NaN filter
        finite, nans = v.filter(v.is_not_nan()), v.is_nan().sum()
    else:
        finite, nans = v, pl.lit(0)
    by = ["operating_day", *_bound_columns(spec, frame)]
    days = (
        frame.select(*by, spec.value_column)  # grouping a narrow frame is faster
        .group_by(by)
        .agg(nulls=v.null_count(), nans=nans, min=finite.min(), max=finite.max())
    )
    bounds = _bounds_frame(spec, days.select(by))
    out_of_bounds = (pl.col("min") < pl.col("floor")).fill_null(False) | (
        pl.col("max") > pl.col("cap")
    ).fill_null(False)
    per_group = (
        days.join(bounds, on=by, how="left")
        .with_columns(
            group=groups.key(),
            flagged=(pl.col("nulls") > 0) | (pl.col("nans") > 0) | out_of_bounds,
        )
        .group_by("group")
        .agg(pl.col("flagged").any(), pl.col("min").min(), pl.col("max").max())
    )
    stats = {row["group"]: row for row in per_group.iter_rows(named=True)}

    def passed(key: GroupKey) -> CheckOutcome:
        row = stats.get(key) or {}
        metadata: dict[str, MetadataValue] = {
            "rows": groups.rows[key],
            "failing_rows": 0,
            "out_of_range_rows": 0,
            "below_floor": 0,
            "above_cap": 0,
            "null_values": 0,
            "nan_values": 0,
        }
        if row.get("min") is not None:
            metadata["min"] = float(row["min"])
            metadata["max"] = float(row["max"])
        return _range_passed(metadata, spec, by[1:])

    flagged = {key for key, row in stats.items() if row["flagged"]}
    return groups.decide(frame, flagged, lambda rows: _range_exact(rows, spec), passed)


def _range_passed(
    metadata: dict[str, MetadataValue], spec: DatasetSpec, bound_columns: list[str]
) -> CheckOutcome:
    return CheckOutcome(
        name=range_rule(spec).name,
        passed=True,
        summary=f"All {metadata['rows']:,} {spec.value_column} values are within the floor "
        f"and cap of their {_range_scope(spec, bound_columns)}.",
        metadata=metadata,
    )


# ------------------------------------------------------------------ fuel total


def check_fuel_total(df: Frame, spec: DatasetSpec) -> CheckOutcome:
    """Fuel mix: per interval, the sum of `mw` over the fuels (storage charging and net
    exports negative) within FUEL_TOTAL_TOLERANCE of the ISO's own total (`iso_total_mw`)
    where it publishes one (passes with `total_published` "no" where it publishes none); and
    every fuel named in the spec's `fuel_categories` (an unmapped fuel lands in "other":
    `unmapped_fuels`). Non-blocking: a failure is a warning."""
    frame = _sorted_days(_eager(df))
    return _fuel_total_by(frame, spec, _Groups.whole(frame))[None]


def _interval_totals(frame: pl.DataFrame, by_day: bool) -> pl.DataFrame:
    """Per interval (and operating day when `by_day`): the fuels' sum, the ISO's total (and
    whether its rows disagree on it), and whether the sum is within the tolerance."""
    day = ["operating_day"] if by_day else []
    total = pl.col(TOTAL_COLUMN)
    sums = frame.group_by(*day, "interval_start_utc").agg(
        fuel_sum=pl.col("mw").sum(),
        iso_total=total.max(),
        total_rows=total.count(),
        rows=pl.len(),
        agrees=(total.min() == total.max()).fill_null(True),
    )
    difference = (pl.col("fuel_sum") - pl.col("iso_total")).abs()
    within = difference <= FUEL_TOTAL_TOLERANCE * pl.col("iso_total").abs()
    has_total = pl.col("total_rows") > 0
    return sums.with_columns(
        has_total=has_total,
        difference_pct=pl.when(has_total & (pl.col("iso_total") != 0)).then(
            100 * difference / pl.col("iso_total").abs()
        ),
        off=has_total & ~(within.fill_null(False) & pl.col("agrees")),
    )


def _unmapped(fuels: pl.Series, spec: DatasetSpec) -> list[str]:
    """Fuels the spec's fuel_categories does not name (to_standard made them "other")."""
    mapped = set(spec.fuel_category_map)
    return sorted(f for f in fuels.drop_nulls().unique().to_list() if f not in mapped)


def _fuel_total_counts() -> dict[str, pl.Expr]:
    """The fuel_total counts of interval totals, as aggregations (one group or one per day)."""
    return {
        "intervals": pl.len(),
        "intervals_with_total": pl.col("has_total").sum(),
        "intervals_off": pl.col("off").sum(),
        "max_difference_pct": pl.col("difference_pct").max(),
    }


def _fuel_total_metadata(
    row: Mapping[str, Any] | None, rows: int, unmapped: list[str]
) -> dict[str, MetadataValue]:
    row = row or {}
    with_total = int(row.get("intervals_with_total") or 0)
    intervals = int(row.get("intervals") or 0)
    published = "no" if not with_total else "yes" if with_total == intervals else "partly"
    metadata: dict[str, MetadataValue] = {
        "rows": rows,
        "intervals": intervals,
        "intervals_with_total": with_total,
        "intervals_outside_tolerance": int(row.get("intervals_off") or 0),
        "tolerance_pct": 100 * FUEL_TOTAL_TOLERANCE,
        "total_published": published,
        "unmapped_fuels": ", ".join(unmapped),
    }
    if row.get("max_difference_pct") is not None:
        metadata["max_difference_pct"] = round(float(row["max_difference_pct"]), 4)
    return metadata


def _fuel_total_by(
    frame: pl.DataFrame, spec: DatasetSpec, groups: _Groups
) -> dict[GroupKey, CheckOutcome]:
    """Per group: the interval totals counted; a group with an interval off its total or an
    unmapped fuel is judged row by row (for its sample)."""
    totals = _interval_totals(frame, groups.by_day)
    per_group = (
        totals.with_columns(group=groups.key()).group_by("group").agg(**_fuel_total_counts())
    )
    stats = {row["group"]: row for row in per_group.iter_rows(named=True)}
    mapped = list(spec.fuel_category_map)
    flagged = {key for key, row in stats.items() if row["intervals_off"]}
    flagged |= groups.where(frame, ~frame.get_column("fuel").is_in(mapped).fill_null(True))

    def passed(key: GroupKey) -> CheckOutcome:
        return _fuel_total_outcome(_fuel_total_metadata(stats.get(key), groups.rows[key], []))

    return groups.decide(frame, flagged, lambda rows: _fuel_total_exact(rows, spec), passed)


def _fuel_total_exact(frame: pl.DataFrame, spec: DatasetSpec) -> CheckOutcome:
    """The interval totals of the frame with the sample: the intervals furthest off."""
    totals = _interval_totals(frame, by_day=False)
    row = totals.select(**_fuel_total_counts()).row(0, named=True) if totals.height else None
    unmapped = _unmapped(frame.get_column("fuel"), spec)
    metadata = _fuel_total_metadata(row, frame.height, unmapped)
    off = totals.filter("off").sort(
        "difference_pct", "interval_start_utc", descending=[True, False], nulls_last=True
    )
    sample = off.select(
        "interval_start_utc",
        pl.col("interval_start_utc")
        .dt.convert_time_zone(spec.timezone)
        .alias("interval_start_local"),
        "fuel_sum",
        "iso_total",
        "difference_pct",
        "agrees",
        "rows",
    )
    return _fuel_total_outcome(metadata, sample)


def _fuel_total_outcome(
    metadata: dict[str, MetadataValue], off: pl.DataFrame | None = None
) -> CheckOutcome:
    tolerance = f"{metadata['tolerance_pct']:g}%"
    problems = []
    if metadata["intervals_outside_tolerance"]:
        problems.append(
            f"{_plural(int(metadata['intervals_outside_tolerance']), 'interval')} whose fuels "
            f"do not sum to within {tolerance} of the ISO's total "
            f"(max {metadata.get('max_difference_pct')}%)"
        )
    if metadata["unmapped_fuels"]:
        problems.append(
            f"fuels not in the spec's fuel_categories, counted as other: "
            f"{metadata['unmapped_fuels']}"
        )
    if problems:
        return CheckOutcome(
            name="fuel_total",
            passed=False,
            summary=_sentence(problems),
            metadata=metadata,
            sample_markdown=None if off is None else markdown_table(off),
        )
    if metadata["intervals_with_total"]:
        summary = (
            f"The fuels sum to within {tolerance} of the ISO's total in all "
            f"{metadata['intervals_with_total']:,} intervals that have one "
            f"(of {metadata['intervals']:,}); every fuel has a category."
        )
    else:
        summary = (
            f"The ISO publishes no total for these {metadata['intervals']:,} intervals: "
            "nothing to compare; every fuel has a category."
        )
    return CheckOutcome(name="fuel_total", passed=True, summary=summary, metadata=metadata)


# The per-frame check functions by name (a per-frame function is its screen with the whole
# frame as one group).
PER_FRAME_CHECKS: dict[str, Callable[[Frame, DatasetSpec], CheckOutcome]] = {
    "schema": lambda df, spec: check_schema(df, spec),
    "duplicates": lambda df, spec: check_duplicates(df, spec),
    "gaps": lambda df, spec: check_gaps(df, spec),
    "price_range": check_range,
    "value_range": check_range,
    "fuel_total": check_fuel_total,
}


# The row-level functions: what each screen above must agree with, group by group.
ROW_LEVEL_CHECKS: dict[str, Callable[[pl.DataFrame, DatasetSpec], CheckOutcome]] = {
    "schema": _schema_exact,
    "duplicates": _duplicates_exact,
    "gaps": _gaps_exact,
    "price_range": _range_exact,
    "value_range": _range_exact,
    "fuel_total": _fuel_total_exact,
}


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
        parsed = _rows_per_file(frame.get_column("source_file"))
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


def _rows_per_file(source_file: pl.Series) -> pl.DataFrame:
    """Parsed rows per source_file, counted over its runs: rows come file after file, so a
    day's 100,000 labels make about a hundred runs, grouped instead of hashing every label
    (exact in any order; only slower when the files interleave)."""
    runs = source_file.rle().struct.unnest()
    return runs.group_by(pl.col("value").alias("source_file")).agg(
        pl.col("len").sum().cast(pl.Int64).alias("parsed_rows")
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
    "check_fuel_total",
    "check_price_range",
    "check_range",
    "check_value_range",
    "frame_check_names",
    "check_row_count",
    "check_schema",
    "markdown_table",
    "outcomes_to_markdown",
    "raw_checks_by_day",
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
