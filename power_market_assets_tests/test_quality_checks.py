"""Unit tests for quality/ (Pandera schemas and the asset-check functions)."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
import pytest

from power_market_assets.quality.checks import (
    CheckOutcome,
    check_duplicates,
    check_gaps,
    check_pivot_accuracy,
    check_price_range,
    check_row_count,
    check_schema,
    markdown_table,
    outcomes_to_markdown,
)
from power_market_assets.quality.schemas import long_table_schema, wide_table_schema
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_LMP, RT_PRICES
from power_market_assets.registry.schema import ISO_ENUM, MARKET_ENUM
from power_market_assets.transforms.flatten import flatten, wide_value_columns
from power_market_assets_tests.helpers import (
    FALL_BACK,
    NORMAL_DAY,
    SPRING_FORWARD,
    ancillary_long,
    drop_intervals,
    irregular_long,
    price_long,
)

RT_SERIES = [("HB_NORTH", "HUB"), ("LZ_AEN", "ZONE"), ("LZ_AEN", "ZONE_EW")]


def _set_value(long: pl.DataFrame, column: str, row: int, value: float | None) -> pl.DataFrame:
    return long.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, pl.Float64))
        .otherwise(pl.col(column))
        .alias(column)
    )


def _assert_outcome(outcome: CheckOutcome, passed: bool) -> None:
    assert isinstance(outcome, CheckOutcome)
    assert outcome.passed is passed, outcome.summary
    assert outcome.summary
    assert all(isinstance(v, (int, float, str)) for v in outcome.metadata.values())
    if passed:
        assert outcome.sample_markdown is None
    else:
        assert outcome.sample_markdown is not None
        table_rows = [
            line for line in outcome.sample_markdown.splitlines() if line.startswith("| ")
        ]
        assert 2 <= len(table_rows) <= 21  # header + at most 20 rows


# --------------------------------------------------------------------------- schemas


def test_long_table_schema_accepts_standard_tables() -> None:
    rt = price_long(RT_PRICES, [FALL_BACK], RT_SERIES)
    long_table_schema(RT_PRICES).validate(rt)
    ancillary = ancillary_long(AS_PRICES, [SPRING_FORWARD], ["REGUP", "RRS"])
    long_table_schema(AS_PRICES).validate(ancillary)


def test_long_table_schema_rejects_drift() -> None:
    schema = long_table_schema(DA_PRICES)
    da = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    bad_cases = [
        da.with_columns(extra=pl.lit(1)),  # strict: no new columns
        da.drop("loss"),
        da.with_columns(pl.col("lmp").cast(pl.Float32)),
        da.with_columns(pl.col("interval_start_local").dt.convert_time_zone("UTC")),
        _set_value(da, "lmp", 0, None),
        da.with_columns(pl.lit(15, pl.Int16).alias("interval_minutes")),
        da.with_columns(pl.lit("CAISO").cast(ISO_ENUM).alias("iso")),
        da.with_columns(pl.lit("RTM").cast(MARKET_ENUM).alias("market")),
        da.with_columns(pl.col("operating_day").cast(pl.Utf8)),
    ]
    for bad in bad_cases:
        with pytest.raises((pa.errors.SchemaErrors, pa.errors.SchemaError)):
            schema.validate(bad, lazy=True)
    # Duplicate keys are check_duplicates' job (one scan of the key, not two).
    schema.validate(pl.concat([da, da.head(1)]))
    # Components and iso_location_type may be null.
    schema.validate(da.with_columns(pl.lit(None, pl.Utf8).alias("iso_location_type")))


def test_wide_table_schema() -> None:
    wide = flatten(price_long(RT_PRICES, [FALL_BACK], RT_SERIES), RT_PRICES).frame
    columns = wide_value_columns(wide)
    assert columns == ["hb_north", "lz_aen", "lz_aen_ew"]
    schema = wide_table_schema(RT_PRICES, columns)
    schema.validate(wide)
    with pytest.raises((pa.errors.SchemaErrors, pa.errors.SchemaError)):
        schema.validate(wide.drop("lz_aen_ew"), lazy=True)
    with pytest.raises((pa.errors.SchemaErrors, pa.errors.SchemaError)):
        schema.validate(pl.concat([wide, wide.head(1)]), lazy=True)


# --------------------------------------------------------------------------- check_schema


def test_check_schema_pass_and_fail() -> None:
    rt = price_long(RT_PRICES, [FALL_BACK], RT_SERIES)
    _assert_outcome(check_schema(rt, RT_PRICES), True)
    bad = _set_value(rt, "lmp", 3, None).with_columns(pl.col("energy").cast(pl.Utf8))
    outcome = check_schema(bad.lazy(), RT_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["failure_cases"] >= 2
    assert "lmp" in outcome.sample_markdown and "energy" in outcome.sample_markdown


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("day", [FALL_BACK, SPRING_FORWARD])
def test_check_duplicates_dst_day_is_clean(day: date) -> None:
    _assert_outcome(check_duplicates(price_long(DA_PRICES, [day], RT_SERIES[:2]), DA_PRICES), True)
    _assert_outcome(check_duplicates(price_long(RT_PRICES, [day], RT_SERIES), RT_PRICES), True)


def test_check_duplicates_finds_repeated_keys() -> None:
    rt = price_long(RT_PRICES, [FALL_BACK], RT_SERIES)
    doubled = pl.concat([rt, rt.slice(10, 3), rt.slice(10, 1)])
    outcome = check_duplicates(doubled, RT_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["duplicate_keys"] == 3
    assert outcome.metadata["duplicate_rows"] == 7
    assert outcome.metadata["extra_rows"] == 4
    ancillary = ancillary_long(AS_PRICES, [NORMAL_DAY], ["REGUP"])
    outcome = check_duplicates(pl.concat([ancillary, ancillary.head(1)]), AS_PRICES)
    assert outcome.metadata["duplicate_keys"] == 1


# --------------------------------------------------------------------------- gaps


@pytest.mark.parametrize(
    ("spec", "day", "intervals"),
    [
        (DA_PRICES, FALL_BACK, 25),
        (DA_PRICES, SPRING_FORWARD, 23),
        (RT_PRICES, FALL_BACK, 100),
        (RT_PRICES, SPRING_FORWARD, 92),
    ],
)
def test_check_gaps_dst_days_pass(spec, day: date, intervals: int) -> None:
    long = price_long(spec, [day, NORMAL_DAY], RT_SERIES)
    outcome = check_gaps(long, spec)
    _assert_outcome(outcome, True)
    per_day = 96 if spec.interval_minutes == 15 else 24
    assert outcome.metadata["expected_intervals"] == intervals + per_day
    assert outcome.metadata["expected_pairs"] == 3 * (intervals + per_day)
    assert outcome.metadata["missing_pairs"] == 0


def test_check_gaps_counts_missing_pairs_and_intervals() -> None:
    rt = price_long(RT_PRICES, [FALL_BACK], RT_SERIES)
    rt = drop_intervals(rt, RT_PRICES, [20, 21, 22, 23, 24], "HB_NORTH")
    rt = drop_intervals(rt, RT_PRICES, [99])  # the last quarter hour, every location
    outcome = check_gaps(rt, RT_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["missing_pairs"] == 5 + 3
    assert outcome.metadata["missing_intervals"] == 1
    assert "HB_NORTH" in outcome.sample_markdown


def test_check_gaps_ancillary_and_a_location_absent_that_day_is_not_a_gap() -> None:
    ancillary = ancillary_long(AS_PRICES, [NORMAL_DAY], ["REGUP", "ECRS"])
    ancillary = pl.concat(
        [ancillary, ancillary_long(AS_PRICES, [FALL_BACK], ["REGUP"])]
    )  # no ECRS on the fall-back day: not expected there
    _assert_outcome(check_gaps(ancillary, AS_PRICES), True)
    outcome = check_gaps(drop_intervals(ancillary, AS_PRICES, [3], "REGUP"), AS_PRICES)
    assert outcome.metadata["missing_pairs"] == 1


def test_check_gaps_flags_rows_outside_operating_day() -> None:
    da = price_long(DA_PRICES, [FALL_BACK], [("HB_NORTH", "HUB")])
    # An ISO mislabel: the last hour tagged with the next operating day.
    mislabelled = da.with_columns(
        pl.when(pl.int_range(pl.len()) == 24)
        .then(pl.lit(NORMAL_DAY))
        .otherwise(pl.col("operating_day"))
        .alias("operating_day")
    )
    outcome = check_gaps(mislabelled, DA_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["rows_outside_operating_day"] == 1
    assert "outside operating day" in outcome.sample_markdown


def test_check_gaps_flags_off_grid_rows() -> None:
    da = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    shifted = da.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.col("interval_start_utc").dt.offset_by("30m"))
        .otherwise(pl.col("interval_start_utc"))
        .alias("interval_start_utc")
    )
    outcome = check_gaps(shifted, DA_PRICES)
    assert outcome.metadata["rows_off_grid"] == 1
    assert outcome.metadata["missing_pairs"] == 1


@pytest.mark.parametrize(
    ("day", "buckets"), [(FALL_BACK, 300), (SPRING_FORWARD, 276), (NORMAL_DAY, 288)]
)
def test_check_gaps_irregular_dst_days_pass(day: date, buckets: int) -> None:
    """Stamps 12 s past the bucket start (SCED 01:05:12, NYISO RTD 00:15:12) are fine."""
    long = irregular_long([day], RT_SERIES)
    outcome = check_gaps(long, RT_LMP)
    _assert_outcome(outcome, True)
    assert outcome.metadata["expected_intervals"] == buckets
    assert outcome.metadata["rows_off_grid"] == 0
    assert outcome.metadata["observed_interval_starts"] == buckets
    _assert_outcome(check_duplicates(long, RT_LMP), True)


def test_check_gaps_irregular_missing_bucket_is_reported() -> None:
    long = irregular_long([NORMAL_DAY], RT_SERIES)
    gapped = drop_intervals(long, RT_LMP, [3])  # 00:15:12 gone for every series
    gapped = drop_intervals(gapped, RT_LMP, [100, 101], "HB_NORTH")
    outcome = check_gaps(gapped, RT_LMP)
    _assert_outcome(outcome, False)
    assert outcome.metadata["missing_intervals"] == 1
    assert outcome.metadata["missing_pairs"] == 3 + 2
    assert "5-minute bucket" in outcome.summary
    assert "00:15:00" in outcome.sample_markdown  # the bucket, in local time


def test_check_gaps_irregular_off_grid_and_second_stamp_in_a_bucket() -> None:
    long = irregular_long([NORMAL_DAY], RT_SERIES, seconds=0)
    # A stamp moved off the grid inside its bucket (00:15:00 -> 00:15:12) still fills it.
    moved = long.with_columns(
        pl.when(pl.col("interval_start_local").dt.strftime("%H:%M:%S") == "00:15:00")
        .then(pl.col("interval_start_utc") + pl.duration(seconds=12))
        .otherwise(pl.col("interval_start_utc"))
        .alias("interval_start_utc")
    )
    _assert_outcome(check_gaps(moved, RT_LMP), True)
    # A second stamp in the 00:15 bucket (a re-run at 00:17:40): neither a gap nor a duplicate.
    rerun = long.filter(pl.col("interval_start_local").dt.strftime("%H:%M") == "00:15")
    rerun = rerun.with_columns(pl.col("interval_start_utc") + pl.duration(seconds=160))
    both = pl.concat([moved, rerun])
    _assert_outcome(check_gaps(both, RT_LMP), True)
    _assert_outcome(check_duplicates(both, RT_LMP), True)
    # The same moved stamp on a regular dataset is off its grid.
    regular = check_gaps(moved.with_columns(interval_minutes=pl.lit(5, pl.Int16)), RT_PRICES)
    assert regular.metadata["rows_off_grid"] > 0


def test_check_gaps_irregular_still_flags_rows_outside_their_day() -> None:
    long = irregular_long([NORMAL_DAY], [("HB_NORTH", "HUB")])
    early = long.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("interval_start_utc") - pl.duration(minutes=1))
        .otherwise(pl.col("interval_start_utc"))
        .alias("interval_start_utc")
    )
    outcome = check_gaps(early, RT_LMP)
    _assert_outcome(outcome, False)
    assert outcome.metadata["rows_outside_operating_day"] == 1
    assert outcome.metadata["missing_pairs"] == 1


# --------------------------------------------------------------------------- price range


def test_check_price_range_cap_and_floor_by_era() -> None:
    da = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    _assert_outcome(check_price_range(da, DA_PRICES), True)

    outcome = check_price_range(_set_value(da, "lmp", 4, 99999.0), DA_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["above_cap"] == 1
    assert outcome.metadata["max"] == 99999.0
    assert "99999" in outcome.sample_markdown

    for day, passed in ((date(2021, 2, 15), True), (date(2023, 8, 10), False)):
        frame = price_long(DA_PRICES, [day], [("HB_NORTH", "HUB")])
        outcome = check_price_range(_set_value(frame, "lmp", 0, 5001.0), DA_PRICES)
        assert outcome.passed is passed, (day, outcome.summary)
    at_cap = _set_value(
        price_long(DA_PRICES, [date(2023, 8, 10)], [("HB_NORTH", "HUB")]), "lmp", 0, 5000.0
    )
    assert check_price_range(at_cap, DA_PRICES).passed

    below = check_price_range(_set_value(da, "lmp", 1, -251.5), DA_PRICES)
    assert below.metadata["below_floor"] == 1 and not below.passed
    assert check_price_range(_set_value(da, "lmp", 1, -251.0), DA_PRICES).passed


def test_check_price_range_null_and_nan_fail() -> None:
    da = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    bad = _set_value(_set_value(da, "lmp", 2, None), "lmp", 3, float("nan"))
    outcome = check_price_range(bad, DA_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["null_values"] == 1
    assert outcome.metadata["nan_values"] == 1
    assert outcome.metadata["failing_rows"] == 2


def test_check_price_range_ancillary_floor_is_zero() -> None:
    ancillary = ancillary_long(AS_PRICES, [NORMAL_DAY], ["REGUP"])
    outcome = check_price_range(_set_value(ancillary, "price", 0, -1.0), AS_PRICES)
    assert outcome.metadata["below_floor"] == 1


def test_check_price_range_sample_is_capped_at_20_rows() -> None:
    rt = price_long(RT_PRICES, [FALL_BACK], RT_SERIES).with_columns(pl.lit(1e6).alias("lmp"))
    outcome = check_price_range(rt, RT_PRICES)
    assert outcome.metadata["above_cap"] == 300
    _assert_outcome(outcome, False)
    assert "20 of 300 rows shown" in outcome.sample_markdown


# --------------------------------------------------------------------------- row count


def test_check_row_count_total_and_per_file() -> None:
    rt = price_long(RT_PRICES, [FALL_BACK], RT_SERIES)
    rt = rt.with_columns(
        pl.when(pl.col("interval_start_utc") < pl.col("interval_start_utc").median())
        .then(pl.lit("a.csv"))
        .otherwise(pl.lit("b.csv"))
        .alias("source_file")
    )
    counts = rt.group_by("source_file").len()
    per_file = dict(counts.iter_rows())
    _assert_outcome(check_row_count(rt, 300), True)
    _assert_outcome(check_row_count(rt.lazy(), 300, per_file=per_file), True)

    _assert_outcome(check_row_count(rt, 301), False)
    wrong = {**per_file, "b.csv": per_file["b.csv"] + 1, "c.csv": 7}
    outcome = check_row_count(rt, 300, per_file=wrong)
    _assert_outcome(outcome, False)
    assert outcome.metadata["files_disagreeing"] == 2
    assert outcome.metadata["files_checked"] == 3
    assert "b.csv" in outcome.sample_markdown and "c.csv" in outcome.sample_markdown
    assert "a.csv" not in outcome.sample_markdown


# --------------------------------------------------------------------------- pivot accuracy


def test_check_pivot_accuracy_pass_and_changed_cell() -> None:
    long = price_long(RT_PRICES, [FALL_BACK], RT_SERIES)
    wide = flatten(long, RT_PRICES).frame
    outcome = check_pivot_accuracy(long, wide, RT_PRICES)
    _assert_outcome(outcome, True)
    assert outcome.metadata["compared_cells"] == 300

    changed = _set_value(wide, "lz_aen_ew", 7, -3.0)
    outcome = check_pivot_accuracy(long, changed, RT_PRICES)
    _assert_outcome(outcome, False)
    assert outcome.metadata["mismatched_cells"] == 1
    assert "lz_aen_ew" in outcome.sample_markdown

    outcome = check_pivot_accuracy(long, wide.drop("hb_north").head(99), RT_PRICES)
    assert outcome.metadata["cells_absent_from_wide"] == 100 + 2


def test_check_pivot_accuracy_after_filling_and_ancillary() -> None:
    long = drop_intervals(price_long(RT_PRICES, [SPRING_FORWARD], RT_SERIES), RT_PRICES, [4, 5])
    result = flatten(long, RT_PRICES)
    assert result.filled_cells == 6
    _assert_outcome(check_pivot_accuracy(long, result.frame, RT_PRICES), True)
    ancillary = ancillary_long(AS_PRICES, [FALL_BACK], ["REGUP", "RRS"])
    wide = flatten(ancillary, AS_PRICES).frame
    _assert_outcome(check_pivot_accuracy(ancillary, wide, AS_PRICES), True)


# --------------------------------------------------------------------------- markdown


def test_markdown_helpers() -> None:
    assert markdown_table(pl.DataFrame({"a": []})) is None
    table = markdown_table(pl.DataFrame({"a": ["x|y"], "b": [None]}))
    assert table.splitlines()[0] == "| a | b |"
    assert "x\\|y" in table
    da = price_long(DA_PRICES, [NORMAL_DAY], [("HB_NORTH", "HUB")])
    report = outcomes_to_markdown(
        [
            check_duplicates(da, DA_PRICES),
            check_price_range(_set_value(da, "lmp", 0, 1e5), DA_PRICES),
        ]
    )
    assert "| duplicates | yes |" in report
    assert "### price_range" in report
