"""The two yardsticks of `power-market bench`, written apart from the project's code so that
changing the pipeline cannot move them:

- floor-sum: inflate every zip member into memory, join them under one header, parse once
  with Polars, derive UTC interval starts per distinct time label, write one zstd Parquet file.
  Nothing reasonable converts these files faster on one machine; it is the floor.
- pandas: what most scripts do: zipfile + `pandas.read_csv` per file, concat, the same
  columns with pandas, one `to_parquet` (pyarrow).

Both produce the same columns (interval_start_utc, interval_end_utc, location,
location_type, lmp) for the two ERCOT real-time layouts: settlement point prices
(NP6-905-CD: DeliveryDate, DeliveryHour, DeliveryInterval, DSTFlag) and SCED LMPs
(NP6-788-CD: SCEDTimestamp, RepeatedHourFlag, LMP). Pure Polars/pandas: no Dagster here.

The seven-day load forecast (NP3-565-CD, one wide CSV per hourly vintage: a column per weather
zone, a row per delivery hour and model) has a floor-sum of its own: the same one parse of the
joined members, the zone columns unpivoted to (area, mw), UTC starts per distinct label, and
each member's publish time (from its name) as published_at_utc. No pandas baseline for it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from power_market_assets.commands.bench_measure import PhaseInput, Timing, timed

OUTPUT_COLUMNS = ("interval_start_utc", "interval_end_utc", "location", "location_type", "lmp")


@dataclass(frozen=True)
class CsvLayout:
    """The ERCOT header names one real-time layout uses."""

    time_labels: tuple[str, ...]  # what the interval start is computed from
    flag: str  # Y on the repeated (CST) fall-back hour
    location: str
    location_type: str | None
    price: str


LAYOUTS = {
    "rtm_spp": CsvLayout(
        time_labels=("DeliveryDate", "DeliveryHour", "DeliveryInterval"),
        flag="DSTFlag",
        location="SettlementPointName",
        location_type="SettlementPointType",
        price="SettlementPointPrice",
    ),
    "sced_lmp": CsvLayout(
        time_labels=("SCEDTimestamp",),
        flag="RepeatedHourFlag",
        location="SettlementPoint",
        location_type=None,
        price="LMP",
    ),
}
SCED_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
DATE_FORMAT = "%m/%d/%Y"


@dataclass(frozen=True)
class WideForecastLayout:
    """An ERCOT wide forecast: label columns, the model column, columns that are no area."""

    date: str
    hour_ending: str
    flag: str
    model: str
    not_areas: tuple[str, ...]


WIDE_LAYOUTS = {
    "load_forecast_by_model": WideForecastLayout(
        date="DeliveryDate",
        hour_ending="HourEnding",
        flag="DSTFlag",
        model="Model",
        not_areas=("InUseFlag",),
    ),
}
# cdr.<RTID>.<DUNS>.<YYYYMMDD>.<HHMMSS>.<report>.csv: the member's publish time (local).
MEMBER_STAMP = r"\.(\d{8})\.(\d{6})\.[A-Z0-9]+\.csv$"


def long_rows_per_line(file_layout: str, header: bytes) -> int:
    """Long rows one data line gives: 1, or a wide forecast's area columns."""
    if file_layout not in WIDE_LAYOUTS:
        return 1
    layout = WIDE_LAYOUTS[file_layout]
    labels = {layout.date, layout.hour_ending, layout.flag, layout.model, *layout.not_areas}
    cells = header.decode().strip().split(",")
    return sum(1 for cell in cells if cell not in labels)


def has_pandas_baseline(file_layout: str) -> bool:
    return file_layout in LAYOUTS


def layout_for(file_layout: str) -> CsvLayout:
    if file_layout not in LAYOUTS:
        raise ValueError(f"no benchmark baseline for file layout {file_layout!r}")
    return LAYOUTS[file_layout]


# ---------------------------------------------------------------------------------------------
# floor-sum (Polars)


def _member_bodies(zips: Sequence[Path]) -> list[tuple[str, bytes]]:
    """Each archive's first member: its name and bytes, the header kept on the first only."""
    bodies: list[tuple[str, bytes]] = []
    for index, path in enumerate(zips):
        with zipfile.ZipFile(path) as archive:
            name = archive.namelist()[0]
            data = archive.read(name)
        bodies.append((name, data if index == 0 else data[data.index(b"\n") + 1 :]))
    return bodies


def inflate_joined(zips: Sequence[Path]) -> bytes:
    """Every archive's first member, joined under the first file's header (one header)."""
    return b"".join(body for _, body in _member_bodies(zips))


def _naive_start(layout: CsvLayout, interval_minutes: int) -> pl.Expr:
    """Local wall-clock start of the interval a row's time labels name."""
    if layout.time_labels == ("SCEDTimestamp",):
        return pl.col("SCEDTimestamp").str.to_datetime(SCED_TIME_FORMAT, time_unit="us")
    day = pl.col("DeliveryDate").str.to_date(DATE_FORMAT).cast(pl.Datetime("us"))
    return day + pl.duration(
        hours=pl.col("DeliveryHour") - 1,
        minutes=(pl.col("DeliveryInterval") - 1) * interval_minutes,
    )


def _label_starts(
    frame: pl.DataFrame, layout: CsvLayout, timezone: str, interval_minutes: int
) -> pl.DataFrame:
    """UTC start per distinct (labels, flag): a few hundred a day instead of one per row."""
    keys = [*layout.time_labels, layout.flag]
    ambiguous = (
        pl.when(pl.col(layout.flag) == "Y").then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    )
    start = (
        _naive_start(layout, interval_minutes)
        .dt.replace_time_zone(timezone, ambiguous=ambiguous, non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return frame.select(keys).unique().with_columns(start.alias("interval_start_utc"))


def polars_standard(
    frame: pl.DataFrame, layout: CsvLayout, timezone: str, interval_minutes: int
) -> pl.DataFrame:
    """The parsed CSV -> the benchmark's standard columns; a label that names no instant
    (a skipped spring-forward time) is an error, not a silently dropped row."""
    starts = _label_starts(frame, layout, timezone, interval_minutes)
    if starts["interval_start_utc"].null_count():
        raise ValueError(f"{starts['interval_start_utc'].null_count()} time labels are invalid")
    joined = frame.join(starts, on=[*layout.time_labels, layout.flag], how="left")
    location_type = pl.col(layout.location_type) if layout.location_type else pl.lit(None)
    return joined.select(
        pl.col("interval_start_utc"),
        (pl.col("interval_start_utc") + pl.duration(minutes=interval_minutes)).alias(
            "interval_end_utc"
        ),
        pl.col(layout.location).alias("location"),
        location_type.cast(pl.Utf8).alias("location_type"),
        pl.col(layout.price).cast(pl.Float64).alias("lmp"),
    )


def _inflate_members(zips: Sequence[Path]) -> tuple[bytes, list[str], list[int]]:
    """The joined members (one header), their names and their data lines."""
    bodies = _member_bodies(zips)
    lines = [body.count(b"\n") - (1 if i == 0 else 0) for i, (_, body) in enumerate(bodies)]
    return b"".join(body for _, body in bodies), [name for name, _ in bodies], lines


def floor_sum_wide_forecast(
    zips: Sequence[Path], file_layout: str, timezone: str, interval_minutes: int, out: Path
) -> int:
    """One parse of every vintage, zones unpivoted, UTC per distinct label and vintage."""
    layout = WIDE_LAYOUTS[file_layout]
    joined, names, lines = _inflate_members(zips)
    frame = pl.read_csv(joined, infer_schema=False)
    stamp = pl.Series("name", names).str.extract_groups(MEMBER_STAMP)
    published = (
        (stamp.struct.field("1") + stamp.struct.field("2"))
        .str.to_datetime("%Y%m%d%H%M%S", time_unit="us")
        .dt.replace_time_zone(timezone, ambiguous="earliest")
        .dt.convert_time_zone("UTC")
    )
    vintages = pl.DataFrame({"published_at_utc": published, "lines": pl.Series(lines)})
    frame = frame.with_columns(
        vintages.select(pl.col("published_at_utc").repeat_by("lines").explode()).to_series()
    )
    labels = [layout.date, layout.hour_ending, layout.flag]
    hour = pl.col(layout.hour_ending).str.head(2).cast(pl.Int32)
    ambiguous = (
        pl.when(pl.col(layout.flag) == "Y").then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    )
    starts = (
        frame.select(labels)
        .unique()
        .with_columns(
            (
                pl.col(layout.date).str.to_date(DATE_FORMAT).cast(pl.Datetime("us"))
                + pl.duration(hours=hour - 1)
            )
            .dt.replace_time_zone(timezone, ambiguous=ambiguous, non_existent="raise")
            .dt.convert_time_zone("UTC")
            .alias("interval_start_utc")
        )
    )
    areas = [c for c in frame.columns if c not in {*labels, layout.model, *layout.not_areas}]
    areas.remove("published_at_utc")
    table = (
        frame.join(starts, on=labels, how="left")
        .unpivot(
            index=["interval_start_utc", "published_at_utc", layout.model],
            on=areas,
            variable_name="area",
            value_name="mw",
        )
        .select(
            "interval_start_utc",
            (pl.col("interval_start_utc") + pl.duration(minutes=interval_minutes)).alias(
                "interval_end_utc"
            ),
            "published_at_utc",
            "area",
            pl.col(layout.model).alias("model"),
            pl.col("mw").cast(pl.Float64),
        )
        .drop_nulls("mw")
    )
    table.write_parquet(out, compression="zstd")
    return table.height


def floor_sum(
    zips: Sequence[Path], file_layout: str, timezone: str, interval_minutes: int, out: Path
) -> int:
    """Inflate, one parse, transform, one zstd Parquet write; returns the rows written."""
    if file_layout in WIDE_LAYOUTS:
        return floor_sum_wide_forecast(zips, file_layout, timezone, interval_minutes, out)
    layout = layout_for(file_layout)
    frame = pl.read_csv(
        inflate_joined(zips),
        schema_overrides={layout.price: pl.Float64, layout.flag: pl.Utf8},
    )
    table = polars_standard(frame, layout, timezone, interval_minutes)
    table.write_parquet(out, compression="zstd")
    return table.height


# ---------------------------------------------------------------------------------------------
# pandas, one read_csv per file


def _pandas_naive_start(df, layout: CsvLayout, interval_minutes: int):
    import pandas as pd

    if layout.time_labels == ("SCEDTimestamp",):
        return pd.to_datetime(df["SCEDTimestamp"], format=SCED_TIME_FORMAT)
    day = pd.to_datetime(df["DeliveryDate"], format=DATE_FORMAT)
    hours = pd.to_timedelta(df["DeliveryHour"] - 1, unit="h")
    minutes = pd.to_timedelta((df["DeliveryInterval"] - 1) * interval_minutes, unit="min")
    return day + hours + minutes


def pandas_standard(df, layout: CsvLayout, timezone: str, interval_minutes: int):
    """The same columns as polars_standard, row by row as a pandas script computes them."""
    import pandas as pd

    naive = _pandas_naive_start(df, layout, interval_minutes)
    first_reading = (df[layout.flag] != "Y").to_numpy()  # pandas: True = the DST reading
    local = naive.dt.tz_localize(timezone, ambiguous=first_reading, nonexistent="NaT")
    if local.isna().any():
        raise ValueError(f"{int(local.isna().sum())} rows have invalid time labels")
    start = local.dt.tz_convert("UTC")
    if layout.location_type:
        location_type = df[layout.location_type]
    else:  # a typed empty column, as Polars writes it
        location_type = pd.Series(None, index=df.index, dtype="string")
    return pd.DataFrame(
        {
            "interval_start_utc": start,
            "interval_end_utc": start + pd.Timedelta(minutes=interval_minutes),
            "location": df[layout.location],
            "location_type": location_type,
            "lmp": df[layout.price].astype("float64"),
        }
    )


def pandas_per_file(
    zips: Sequence[Path], file_layout: str, timezone: str, interval_minutes: int, out: Path
) -> int:
    """zipfile + read_csv per archive, concat, transform, one to_parquet; returns the rows."""
    import pandas as pd

    layout = layout_for(file_layout)
    frames = []
    for path in zips:
        with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as member:
            frames.append(pd.read_csv(member))
    df = pd.concat(frames, ignore_index=True)
    table = pandas_standard(df, layout, timezone, interval_minutes)
    table.to_parquet(out, engine="pyarrow", compression="zstd", index=False)
    return len(table)


# ---------------------------------------------------------------------------------------------
# As bench phases (each run in its own process by commands/bench.py)


def run_floor_sum(given: PhaseInput) -> tuple[int, Timing]:
    return _timed_baseline(given, floor_sum)


def run_pandas(given: PhaseInput) -> tuple[int, Timing]:
    import pandas  # noqa: F401  (imported before the timed part, as a script would)
    import pyarrow  # noqa: F401

    return _timed_baseline(given, pandas_per_file)


def _timed_baseline(given: PhaseInput, baseline) -> tuple[int, Timing]:
    """One baseline over the phase's zips into one Parquet file, timed: its rows."""
    spec = given.spec
    with timed() as timing:
        rows = baseline(
            given.zips,
            spec.file_layout,
            spec.timezone,
            spec.interval_minutes,
            given.data_root / "all.parquet",
        )
    return rows, timing


PHASES = {"floor-sum": run_floor_sum, "pandas": run_pandas}
