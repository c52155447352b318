"""NYISO "Time Stamp" labels -> UTC interval starts (shared by every NYISO layout).

Stamps are Eastern wall-clock time, `MM/DD/YYYY HH:MM[:SS]`. On the fall-back day the 01:00
labels are printed twice: a `Time Zone` column (EDT/EST) decides where a file has one, else row
order per (file, stamp, name) does (first occurrence EDT, second EST). The frame holds
`time_stamp`, `name`, `source_file` and optionally `time_zone`.
"""

from __future__ import annotations

import polars as pl

from power_market_assets.formats.errors import FormatError
from power_market_assets.registry.spec import DatasetSpec


def local_stamp(text: pl.Expr) -> pl.Expr:
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
    naive = local_stamp(pl.col("time_stamp"))
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


def interval_starts(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
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
