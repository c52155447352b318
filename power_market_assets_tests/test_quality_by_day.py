"""raw_checks_by_day (one vectorized pass per check over many operating days) against the
row-level checks run on each day's rows alone: every outcome must be identical, whatever the
faults injected, and the per-frame check functions must keep their outcomes too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import read_dataset_files
from power_market_assets.quality import checks as quality
from power_market_assets.quality.checks import (
    FRAME_CHECKS,
    ROW_LEVEL_CHECKS,
    frame_check_names,
    raw_checks_by_day,
)
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_LMP, RT_PRICES
from power_market_assets.registry.kinds import FORECAST, QUANTITY_BY_AREA, QUANTITY_BY_FUEL
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import expected_interval_frame
from power_market_assets_tests.helpers import (
    FALL_BACK,
    NORMAL_DAY,
    SPRING_FORWARD,
    ancillary_long,
    drop_intervals,
    irregular_long,
    price_long,
)
from power_market_assets_tests.kind_frames import (
    FUEL_MIX,
    ISONE_ZONES,
    LOAD,
    LOAD_FORECAST,
    RENEWABLES,
    SNAPSHOT_LOAD,
    forecast_long,
    fuel_long,
    load_long,
    renewable_long,
)
from power_market_standins.ercot import generate_documents

RT_SERIES = [("HB_NORTH", "HUB"), ("LZ_AEN", "ZONE"), ("LZ_AEN", "ZONE_EW")]
PLAIN_DAYS = [date(2024, 11, d) for d in (5, 6, 7, 8, 9)]
DAYS = [SPRING_FORWARD, FALL_BACK, NORMAL_DAY, *PLAIN_DAYS]


def per_frame_check(name: str):
    return getattr(quality, f"check_{name}")


def assert_same_as_each_day(frame: pl.DataFrame, spec: DatasetSpec) -> dict:
    """Every by-day outcome equals the row-level check on that day's rows (and so does the
    per-frame check); the per-frame checks on the whole frame equal the row-level ones."""
    by_day = raw_checks_by_day(frame, spec)
    days = frame.get_column("operating_day").drop_nulls().unique().sort().to_list()
    assert list(by_day) == days
    names = frame_check_names(spec)
    parts = frame.partition_by("operating_day", as_dict=True, maintain_order=True)
    for (day,), rows in parts.items():
        if day is None:
            continue
        assert list(by_day[day]) == list(names)
        for name in names:
            reference = ROW_LEVEL_CHECKS[name](rows, spec)
            outcome = by_day[day][name]
            assert outcome == reference, (day, name, outcome, reference)
            assert list(outcome.metadata) == list(reference.metadata), (day, name)
            assert per_frame_check(name)(rows, spec) == reference, (day, name)
    for name in names:
        assert per_frame_check(name)(frame, spec) == ROW_LEVEL_CHECKS[name](frame, spec), name
    return by_day


def failing(by_day: dict, name: str) -> list[date]:
    return [day for day, outcomes in by_day.items() if not outcomes[name].passed]


def on_day(frame: pl.DataFrame, day: date, index: int, **values: object) -> pl.DataFrame:
    """Set columns of the `index`-th row of `day` (values keep the column's dtype)."""
    row = (pl.col("operating_day") == day) & (pl.int_range(pl.len()).over("operating_day") == index)
    return frame.with_columns(
        pl.when(row).then(pl.lit(v, frame.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, v in values.items()
    )


def faulty_prices() -> pl.DataFrame:
    """Eight days of RT prices (DST days included), a different fault on most days."""
    rt = price_long(RT_PRICES, DAYS, RT_SERIES)
    rt = pl.concat([rt, rt.filter(pl.col("operating_day") == PLAIN_DAYS[0]).slice(7, 2)])
    day_two = pl.col("operating_day") == PLAIN_DAYS[1]
    missing = day_two & (pl.col("interval_start_local").dt.hour() == 3)
    rt = rt.filter(~(missing & (pl.col("location") == "HB_NORTH")))
    rt = on_day(rt, PLAIN_DAYS[2], 40, lmp=9_999.0)  # over the 5,000 cap
    rt = on_day(rt, PLAIN_DAYS[3], 5, lmp=None)
    rt = on_day(rt, PLAIN_DAYS[3], 6, lmp=float("nan"))
    off_grid = rt.filter(pl.col("operating_day") == FALL_BACK).slice(11, 1)
    off_grid = off_grid.with_columns(pl.col("interval_start_utc").dt.offset_by("7m"))
    rt = pl.concat([rt, off_grid, off_grid])  # xx:07 on a 15-minute grid, twice
    mislabelled = on_day(rt, SPRING_FORWARD, 0, operating_day=PLAIN_DAYS[4])
    return mislabelled.sort("operating_day", "interval_start_utc", maintain_order=True)


def test_faults_are_found_on_their_own_day_only() -> None:
    by_day = assert_same_as_each_day(faulty_prices(), RT_PRICES)
    assert failing(by_day, "duplicates") == [FALL_BACK, PLAIN_DAYS[0]]
    assert failing(by_day, "price_range") == [PLAIN_DAYS[2], PLAIN_DAYS[3]]
    assert failing(by_day, "schema") == [PLAIN_DAYS[3]]  # the null and the NaN lmp
    assert failing(by_day, "gaps") == [SPRING_FORWARD, FALL_BACK, PLAIN_DAYS[1], PLAIN_DAYS[4]]
    assert by_day[NORMAL_DAY]["gaps"].metadata["expected_intervals"] == 96
    assert by_day[FALL_BACK]["gaps"].metadata["expected_intervals"] == 100
    assert by_day[PLAIN_DAYS[1]]["gaps"].metadata["missing_pairs"] == 4
    assert by_day[PLAIN_DAYS[2]]["price_range"].sample_markdown is not None


def test_clean_dst_days_pass_with_their_grid() -> None:
    for spec in (RT_PRICES, DA_PRICES):
        by_day = assert_same_as_each_day(price_long(spec, DAYS, RT_SERIES), spec)
        assert not any(failing(by_day, name) for name in FRAME_CHECKS)
        per_hour = 60 // spec.interval_minutes
        gaps = {day: o["gaps"].metadata["expected_intervals"] for day, o in by_day.items()}
        assert (gaps[SPRING_FORWARD], gaps[FALL_BACK]) == (23 * per_hour, 25 * per_hour)


def test_wrong_dtype_and_values_fail_schema() -> None:
    rt = price_long(RT_PRICES, DAYS, RT_SERIES)
    by_day = assert_same_as_each_day(rt.with_columns(pl.col("energy").cast(pl.Utf8)), RT_PRICES)
    assert failing(by_day, "schema") == sorted(DAYS)
    assert failing(by_day, "gaps") == []
    wrong_values = on_day(rt, NORMAL_DAY, 3, iso="CAISO")
    wrong_values = on_day(wrong_values, FALL_BACK, 4, location=None)
    wrong_values = on_day(wrong_values, PLAIN_DAYS[0], 8, interval_minutes=5)
    by_day = assert_same_as_each_day(wrong_values, RT_PRICES)
    assert failing(by_day, "schema") == [FALL_BACK, NORMAL_DAY, PLAIN_DAYS[0]]
    extra = assert_same_as_each_day(rt.with_columns(extra=pl.lit(1)), RT_PRICES)
    assert failing(extra, "schema") == sorted(DAYS)
    assert failing(assert_same_as_each_day(rt.drop("ghg"), RT_PRICES), "schema") == sorted(DAYS)


def test_irregular_sced_days() -> None:
    days = [SPRING_FORWARD, FALL_BACK, NORMAL_DAY, PLAIN_DAYS[0]]
    sced = irregular_long(days, RT_SERIES)
    sced = drop_intervals(sced, RT_LMP, [3])  # one bucket gone on the first day
    rerun = sced.filter(pl.col("operating_day") == NORMAL_DAY).slice(30, 3)
    sced = pl.concat([sced, rerun.with_columns(pl.col("interval_start_utc").dt.offset_by("2m"))])
    early = on_day(sced, PLAIN_DAYS[0], 0, interval_start_utc=datetime(2024, 11, 5, 5, tzinfo=UTC))
    by_day = assert_same_as_each_day(early, RT_LMP)
    assert failing(by_day, "gaps") == [SPRING_FORWARD, PLAIN_DAYS[0]]
    assert by_day[FALL_BACK]["gaps"].metadata["expected_intervals"] == 300
    # The re-run's three rows share one stamp: a 289th stamp in 288 buckets, not a problem.
    assert by_day[NORMAL_DAY]["gaps"].metadata["observed_interval_starts"] == 289
    assert failing(by_day, "duplicates") == []


def test_ancillary_days() -> None:
    ancillary = ancillary_long(AS_PRICES, DAYS, ["REGUP", "RRS", "ECRS"])
    ancillary = ancillary.filter(
        ~((pl.col("operating_day") == FALL_BACK) & (pl.col("product") == "ECRS"))
    )  # no ECRS that day: not a gap
    ancillary = pl.concat([ancillary, ancillary.filter(pl.col("operating_day") == NORMAL_DAY)[:1]])
    ancillary = on_day(ancillary, PLAIN_DAYS[1], 2, price=-1.0)
    by_day = assert_same_as_each_day(ancillary, AS_PRICES)
    assert failing(by_day, "duplicates") == [NORMAL_DAY]
    assert failing(by_day, "price_range") == [PLAIN_DAYS[1]]
    assert failing(by_day, "gaps") == []


def quantity_long(spec: DatasetSpec, days: list[date], names: list[str]) -> pl.DataFrame:
    """Every interval of `days` for each name, in the long table of a quantity kind."""
    grid = expected_interval_frame(days, spec.timezone, spec.interval_minutes)
    entity = spec.pivot_column
    frame = pl.concat([grid.with_columns(pl.lit(name).alias(entity)) for name in names])
    # One forecast vintage per operating day, published at noon UTC the day before.
    published = pl.col("operating_day").cast(pl.Datetime("us", "UTC")) - pl.duration(hours=12)
    return frame.with_columns(
        interval_end_utc=pl.col("interval_start_utc").dt.offset_by("1h"),
        interval_start_local=pl.col("interval_start_utc").dt.convert_time_zone(spec.timezone),
        iso=pl.lit(spec.iso),
        market=pl.lit(spec.market),
        interval_minutes=pl.lit(spec.interval_minutes),
        mw=pl.int_range(pl.len()).cast(pl.Float64),
        published_at_utc=published,
        fuel_category=pl.lit("gas"),
        model=pl.lit("M1"),
        technology=pl.lit("wind"),
        iso_total_mw=pl.lit(None, dtype=pl.Float64),
        source_file=pl.lit("q.csv"),
    ).select([pl.col(n).cast(t) for n, t in spec.schema.items()])


@pytest.mark.parametrize("kind", [QUANTITY_BY_AREA, QUANTITY_BY_FUEL, FORECAST])
def test_quantity_and_forecast_kinds(kind) -> None:
    spec = replace(DA_PRICES, dataset=f"test_{kind.name}", table_kind=kind, default_locations=())
    days = [SPRING_FORWARD, NORMAL_DAY, PLAIN_DAYS[0]]
    frame = quantity_long(spec, days, ["NORTH", "SOUTH", None])  # a null name is a series too
    frame = pl.concat([frame, frame.filter(pl.col("operating_day") == NORMAL_DAY)[5:6]])
    frame = frame.filter(
        ~(
            (pl.col("operating_day") == PLAIN_DAYS[0])
            & (pl.col("interval_start_local").dt.hour() == 2)
        )
    )
    by_day = assert_same_as_each_day(frame, spec)
    assert failing(by_day, "duplicates") == [NORMAL_DAY]
    assert failing(by_day, "gaps") == [PLAIN_DAYS[0]]


def test_generated_ercot_files(tmp_path: Path) -> None:
    """The stand-in ISO's real file format, parsed by the reader, around the fall-back day."""
    days = [FALL_BACK - timedelta(days=1), FALL_BACK, NORMAL_DAY]
    paths = []
    for doc in generate_documents(RT_PRICES, days, n_nodes=12, compresslevel=1):
        path = tmp_path / doc.csv_name
        path.write_bytes(doc.csv_bytes)
        paths.append(path)
    frame = read_dataset_files(paths, RT_PRICES)
    assert not any(failing(assert_same_as_each_day(frame, RT_PRICES), n) for n in FRAME_CHECKS)
    broken = on_day(frame, FALL_BACK, 17, lmp=6_000.0)
    broken = pl.concat([broken, broken.filter(pl.col("operating_day") == NORMAL_DAY)[-1:]])
    by_day = assert_same_as_each_day(broken, RT_PRICES)
    assert failing(by_day, "price_range") == [FALL_BACK]
    assert failing(by_day, "duplicates") == [NORMAL_DAY]


def test_empty_frame_and_rows_without_a_day() -> None:
    rt = price_long(RT_PRICES, [NORMAL_DAY, FALL_BACK], RT_SERIES)
    assert raw_checks_by_day(rt.clear(), RT_PRICES) == {}
    for name in FRAME_CHECKS:
        assert per_frame_check(name)(rt.clear(), RT_PRICES) == ROW_LEVEL_CHECKS[name](
            rt.clear(), RT_PRICES
        )
    dayless = on_day(rt, NORMAL_DAY, 0, operating_day=None)
    by_day = assert_same_as_each_day(dayless, RT_PRICES)
    assert list(by_day) == [FALL_BACK, NORMAL_DAY]


def test_days_in_any_row_order() -> None:
    """Frames whose rows are not grouped by day (nothing marks the days sorted)."""
    shuffled = faulty_prices().sample(fraction=1.0, shuffle=True, seed=12)
    by_day = assert_same_as_each_day(shuffled, RT_PRICES)
    assert failing(by_day, "duplicates") == [FALL_BACK, PLAIN_DAYS[0]]


def test_days_years_apart_and_eras() -> None:
    """Sparse days (the grid is built for the days present only) in both price-cap eras."""
    days = [date(2011, 3, 13), date(2021, 2, 15), FALL_BACK]
    rt = on_day(price_long(RT_PRICES, days, RT_SERIES), date(2021, 2, 15), 9, lmp=8_000.0)
    rt = on_day(rt, FALL_BACK, 9, lmp=8_000.0)  # over the 5,000 cap from June 2022
    by_day = assert_same_as_each_day(rt, RT_PRICES)
    assert failing(by_day, "price_range") == [FALL_BACK]
    assert by_day[date(2011, 3, 13)]["gaps"].metadata["expected_intervals"] == 92


# ------------------------------------------------------------------ quantity kinds (issue 13)

KIND_DAYS = [SPRING_FORWARD, date(2024, 11, 2), FALL_BACK, NORMAL_DAY, *PLAIN_DAYS[:2]]


def test_load_days_with_faults() -> None:
    load = load_long(LOAD, KIND_DAYS)
    load = on_day(load, KIND_DAYS[1], 4, mw=-1.0)
    load = pl.concat([load, load.filter(pl.col("operating_day") == FALL_BACK)[3:4]])
    load = load.filter(~((pl.col("operating_day") == NORMAL_DAY) & (pl.col("area") == "SOUTH")))
    load = load.filter(
        ~(
            (pl.col("operating_day") == PLAIN_DAYS[0])
            & (pl.col("area") == "SOUTH")
            & (pl.col("interval_start_local").dt.hour() == 5)
        )
    )
    by_day = assert_same_as_each_day(load.sort("operating_day"), LOAD)
    assert failing(by_day, "value_range") == [KIND_DAYS[1]]
    assert failing(by_day, "duplicates") == [FALL_BACK]
    assert failing(by_day, "gaps") == [PLAIN_DAYS[0]]  # a zone absent all day is not a gap


def test_snapshot_days_screened_as_row_by_row() -> None:
    """Complete days, days cut at 16:00 (the fall-back day too), a hole before the cut, one
    zone stopping early, a cut day with an off-grid row."""
    days = [FALL_BACK, NORMAL_DAY, *PLAIN_DAYS]
    frame = load_long(SNAPSHOT_LOAD, days, ISONE_ZONES)
    hour = pl.col("interval_start_local").dt.hour()
    cut = pl.col("operating_day").is_in([FALL_BACK, *PLAIN_DAYS[1:]]) & (hour >= 16)
    frame = frame.filter(~cut)
    hole = (pl.col("operating_day") == PLAIN_DAYS[1]) & (hour == 9) & (pl.col("area") == "CT")
    ragged = (pl.col("operating_day") == PLAIN_DAYS[2]) & (hour == 15) & (pl.col("area") == "ME")
    frame = frame.filter(~hole & ~ragged)
    off_grid = frame.filter(pl.col("operating_day") == PLAIN_DAYS[3])[:1].with_columns(
        pl.col("interval_start_utc").dt.offset_by("1m")
    )
    frame = pl.concat([frame, off_grid]).sort("operating_day")
    by_day = assert_same_as_each_day(frame, SNAPSHOT_LOAD)
    assert failing(by_day, "gaps") == PLAIN_DAYS[1:4]
    gaps = {day: o["gaps"].metadata for day, o in by_day.items()}
    assert [day for day, m in gaps.items() if m["complete"]] == [NORMAL_DAY, PLAIN_DAYS[0]]
    assert gaps[FALL_BACK]["not_yet_published"] == 96 * len(ISONE_ZONES)
    assert gaps[PLAIN_DAYS[4]]["data_ends_at"] == "2024-11-09T16:00-05:00"
    assert gaps[PLAIN_DAYS[4]]["observed_interval_starts"] == 16 * 12


def test_fuel_mix_days_with_faults() -> None:
    frame = fuel_long(FUEL_MIX, KIND_DAYS)
    day = pl.col("operating_day")
    frame = frame.with_columns(
        iso_total_mw=pl.when(
            (day == KIND_DAYS[0]) & (pl.col("interval_start_local").dt.hour() == 3)
        )
        .then(pl.col("iso_total_mw") * 1.05)
        .otherwise(pl.col("iso_total_mw"))
    )
    biomass = frame.filter((day == FALL_BACK) & (pl.col("fuel") == "Coal")).with_columns(
        fuel=pl.lit("Biomass"), fuel_category=pl.lit("other"), mw=pl.lit(0.0)
    )
    frame = pl.concat([frame, biomass])
    frame = on_day(frame, NORMAL_DAY, 7, mw=-9_000.0)  # a fuel far below its floor
    frame = on_day(frame, PLAIN_DAYS[0], 2, mw=float("nan"))
    frame = on_day(frame, PLAIN_DAYS[1], 5, fuel_category="Gas")
    by_day = assert_same_as_each_day(frame.sort("operating_day"), FUEL_MIX)
    # The value far below its floor and the NaN also take their interval's sum off the total.
    assert failing(by_day, "fuel_total") == [KIND_DAYS[0], FALL_BACK, NORMAL_DAY, PLAIN_DAYS[0]]
    assert by_day[FALL_BACK]["fuel_total"].metadata["unmapped_fuels"] == "Biomass"
    assert failing(by_day, "value_range") == [NORMAL_DAY, PLAIN_DAYS[0]]
    assert failing(by_day, "schema") == [PLAIN_DAYS[0], PLAIN_DAYS[1]]


@pytest.mark.parametrize("spec", [LOAD_FORECAST, RENEWABLES], ids=lambda s: s.dataset)
def test_vintage_days_with_faults(spec: DatasetSpec) -> None:
    hours = (0, 6, 12, 18)
    published = [datetime(d.year, d.month, d.day, h, tzinfo=UTC) for d in PLAIN_DAYS for h in hours]
    published += [datetime(2024, 11, 2, 15, tzinfo=UTC), datetime(2024, 11, 3, 15, tzinfo=UTC)]
    build = forecast_long if spec is LOAD_FORECAST else renewable_long
    frame = build(spec, published)
    vintage = pl.col("published_at_utc")
    forecasts = pl.col("model") != "ACTUAL"
    inside = (vintage == published[1]) & forecasts
    frame = frame.filter(
        ~(inside & (pl.col("interval_start_utc") == published[1].replace(hour=14)))
    )
    repeated = frame.filter((vintage == published[5]) & forecasts)[3:4]
    off_grid = frame.filter((vintage == published[-1]) & forecasts)[:1].with_columns(
        pl.col("interval_start_utc").dt.offset_by("30m")
    )
    frame = pl.concat([frame, repeated, off_grid]).sort("operating_day")
    by_day = assert_same_as_each_day(frame, spec)
    assert failing(by_day, "duplicates") == [PLAIN_DAYS[1]]
    gaps = failing(by_day, "gaps")
    assert gaps == [date(2024, 11, 3), PLAIN_DAYS[0]]


def slot_major(frame: pl.DataFrame, entity: list[str]) -> pl.DataFrame:
    """Rows as a file per interval publishes them: interval after interval, the same series
    order in each (what `_Rectangle` recognises without hashing a series)."""
    return frame.sort("interval_start_utc", *entity)


def rectangle_of(frame: pl.DataFrame, spec: DatasetSpec):
    entity = quality._entity_columns(spec)
    days = frame.get_column("operating_day").drop_nulls().unique().cast(pl.Int32)
    placed = quality._DayGrid.of(days, spec).place(frame).hstack(frame.select(entity))
    return quality._Rectangle.of(placed, entity)


@pytest.mark.parametrize("day", [NORMAL_DAY, FALL_BACK, SPRING_FORWARD])
def test_rectangular_day_shortcut_against_row_level(day: date) -> None:
    """A day laid out interval by interval is counted without hashing its series; every
    fault that breaks the layout falls back to counting by series, with the same outcomes."""
    entity = ["location", "location_type"]
    clean = slot_major(price_long(RT_PRICES, [day], RT_SERIES), entity)
    rectangle = rectangle_of(clean, RT_PRICES)
    assert rectangle is not None
    assert (rectangle.series, rectangle.slots) == (3, clean.height // 3)
    assert_same_as_each_day(clean, RT_PRICES)
    swapped = pl.concat([clean[:3], clean[4:5], clean[3:4], clean[5:]])  # still complete
    repeated = on_day(clean, day, 4, location="HB_NORTH", location_type="HUB")
    dropped_row = pl.concat([clean[:7], clean[8:]])
    dropped_interval = pl.concat([clean[:6], clean[9:]])
    doubled_interval = pl.concat([clean[:9], clean[6:]])
    last_dropped = clean[:-3]
    # The third series' row of interval 1 moved to interval 2: the series still follow each
    # other in the same order, but the intervals' blocks are 3, 2, 4 rows long.
    moved_row = on_day(clean, day, 5, interval_start_utc=clean[6, "interval_start_utc"])
    faults = {
        "swapped": (swapped, []),
        "repeated": (repeated, ["duplicates", "gaps"]),
        "dropped_row": (dropped_row, ["gaps"]),
        "dropped_interval": (dropped_interval, ["gaps"]),
        "doubled_interval": (doubled_interval, ["duplicates"]),
        "last_dropped": (last_dropped, ["gaps"]),
        "moved_row": (moved_row, ["duplicates", "gaps"]),
    }
    for name, (frame, failed) in faults.items():
        # A day ending early is still a rectangle, one of fewer intervals than its grid.
        assert (rectangle_of(frame, RT_PRICES) is None) == (name != "last_dropped"), name
        by_day = assert_same_as_each_day(frame, RT_PRICES)
        assert [c for c, o in by_day[day].items() if not o.passed] == failed, name


def test_rectangular_snapshot_day_cut_short_is_pending() -> None:
    """An intraday snapshot laid out interval by interval and cut at 16:00 is a rectangle
    of 16 hours: pending, not missing, exactly as counting by series says."""
    frame = slot_major(load_long(SNAPSHOT_LOAD, [NORMAL_DAY], ISONE_ZONES), ["area"])
    cut = frame.filter(pl.col("interval_start_local").dt.hour() < 16)
    rectangle = rectangle_of(cut, SNAPSHOT_LOAD)
    assert rectangle is not None and rectangle.series == len(ISONE_ZONES)
    gaps = assert_same_as_each_day(cut, SNAPSHOT_LOAD)[NORMAL_DAY]["gaps"]
    assert gaps.passed and gaps.metadata["not_yet_published"] > 0


def _mutated(clean: pl.DataFrame, rng, day: date) -> pl.DataFrame:
    """One random fault in a day laid out interval by interval."""
    i, j = sorted(rng.sample(range(clean.height), 2))
    kind = rng.choice(["swap", "move", "move_last", "copy", "drop", "rename"])
    if kind == "move_last":  # a block's last row into the next interval: blocks 3, 2, 4 rows
        i = len(RT_SERIES) * rng.randrange(clean.height // len(RT_SERIES) - 1) + len(RT_SERIES) - 1
        return on_day(clean, day, i, interval_start_utc=clean[i + 1, "interval_start_utc"])
    if kind == "swap":
        return pl.concat(
            [clean[:i], clean[j : j + 1], clean[i + 1 : j], clean[i : i + 1], clean[j + 1 :]]
        )
    if kind == "move":
        return on_day(clean, day, i, interval_start_utc=clean[j, "interval_start_utc"])
    if kind == "copy":
        return pl.concat([clean[: j + 1], clean[i : i + 1], clean[j + 1 :]])
    if kind == "drop":
        return pl.concat([clean[:i], clean[i + 1 :]])
    return on_day(
        clean, day, i, location=clean[j, "location"], location_type=clean[j, "location_type"]
    )


def test_random_faults_in_rectangular_days_match_the_row_level_checks() -> None:
    """Whatever a fault does to a day laid out interval by interval, the shortcut or its
    fallback gives exactly the row-level outcome."""
    import random

    rng = random.Random(12)
    entity = ["location", "location_type"]
    for day in (NORMAL_DAY, FALL_BACK):
        clean = slot_major(price_long(RT_PRICES, [day], RT_SERIES), entity)
        for _ in range(15):
            assert_same_as_each_day(_mutated(clean, rng, day), RT_PRICES)


def test_irregular_days_hash_only_where_a_bucket_holds_a_series_twice() -> None:
    """SCED days: a day whose every (bucket, series) holds one row repeats no key and is not
    hashed; a re-run in a bucket (a second stamp) is not a duplicate, an exact copy is."""
    days = [NORMAL_DAY, *PLAIN_DAYS[:3]]
    sced = irregular_long(days, RT_SERIES)

    def rows_of(day: date) -> pl.DataFrame:
        return sced.filter(pl.col("operating_day") == day).slice(30, 3)

    rerun = pl.col("interval_start_utc").dt.offset_by("2m")
    extra = [
        rows_of(PLAIN_DAYS[0]).with_columns(rerun),  # a re-run only
        rows_of(PLAIN_DAYS[1]).with_columns(rerun),  # a re-run and an exact copy
        rows_of(PLAIN_DAYS[1]).head(1),
        rows_of(PLAIN_DAYS[2]).tail(1),  # an exact copy only
    ]
    frame = pl.concat([sced, *extra]).sort("operating_day", maintain_order=True)
    placement = quality._Placement.of(quality._sorted_days(frame), RT_LMP)
    crowded = placement.days.filter(pl.col("counted") > pl.col("present"))
    assert crowded.get_column("operating_day").sort().to_list() == PLAIN_DAYS[:3]
    by_day = assert_same_as_each_day(frame, RT_LMP)
    assert failing(by_day, "duplicates") == PLAIN_DAYS[1:3]
