"""CAISO Today's Outlook daily history files (fuelsource.csv) -> the generation-by-fuel table.

Layout (docs/reference/fundamentals/caiso.md): a header `Time,<fuel>,...` (Solar, Wind,
Geothermal, Biomass, Biogas, Small hydro, Coal, Nuclear, Natural gas, Large hydro, Batteries,
Imports, Other; capitalisation varies by year), then one line per 5-minute interval, `Time`
the Pacific wall-clock start as HH:MM, values in MW (Batteries negative when charging, Imports
negative for net exports). The file holds no date: CAISO serves it under
`history/<YYYYMMDD>/`, so stage 1 names it `<YYYYMMDD>_fuelsource.csv` and the date comes
from the name. Intervals not yet published (the day's snapshot) and the spring-forward hour
are lines with empty cells, skipped; the fall-back hour's second pass (01:00-01:55 again) is
told apart by row order, like NYISO's repeated 01:00; a closing 00:00 line (the next day's
first interval) is left to the next day's file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import polars as pl

from power_market_assets.formats.csvjoin import CsvText, raise_on_bad_numbers
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import wall_clock_to_utc

TIME_COLUMN = "Time"
# Columns every fuelsource.csv has had (any capitalisation): what identifies the file.
MARKER_FUELS = ("solar", "wind", "nuclear", "imports")
_NAME_DAY = re.compile(r"(?<!\d)(20\d{6})(?!\d)")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


def is_fuelsource_header(header: Sequence[str]) -> bool:
    """A Today's Outlook fuel source header: Time, then fuel names including the markers."""
    if not header or header[0].strip().lower() != TIME_COLUMN.lower():
        return False
    names = {cell.strip().lower() for cell in header[1:]}
    return all(fuel in names for fuel in MARKER_FUELS)


def day_of_file(name: str) -> date:
    """The operating day in the file's name (`20241103_fuelsource.csv`, or a path holding
    `.../20241103/fuelsource.csv`)."""
    found = _NAME_DAY.findall(name)
    if not found:
        raise FormatError(
            name,
            "a fuelsource.csv holds no date; name the file <YYYYMMDD>_fuelsource.csv "
            "(the day of its Today's Outlook history folder)",
        )
    try:
        return date(int(found[-1][:4]), int(found[-1][4:6]), int(found[-1][6:]))
    except ValueError:
        raise FormatError(name, f"{found[-1]} in the name is not a date") from None


def _cells(text: CsvText) -> pl.DataFrame:
    """Every cell as text, with its line number."""
    if not text.header or text.header[0].lower() != TIME_COLUMN.lower():
        raise FormatError(
            text.name, f"first column is not Time; header was {','.join(text.header)}"
        )
    repeated = sorted({c for c in text.header if text.header.count(c) > 1})
    if repeated:
        raise FormatError(text.name, f"header repeats column(s) {repeated}")
    schema = {column: pl.Utf8 for column in text.header}
    try:
        frame = pl.read_csv(
            text.body,
            has_header=False,
            new_columns=list(text.header),
            schema_overrides=schema,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except Exception as exc:  # polars ComputeError: a ragged or malformed line
        raise FormatError(text.name, f"malformed CSV: {exc}") from exc
    return frame.rename({frame.columns[0]: TIME_COLUMN}).with_row_index("_line", offset=2)


def _with_times(frame: pl.DataFrame, day: date, spec: DatasetSpec, name: str) -> pl.DataFrame:
    """interval_start_utc from HH:MM on `day`; the second pass of a label is the repeated
    fall-back hour; a closing 00:00 line belongs to the next day."""
    clock = pl.col(TIME_COLUMN).str.strip_chars()
    bad = frame.filter(~clock.str.contains(_CLOCK.pattern))
    if bad.height:
        row = bad.row(0, named=True)
        raise FormatError(
            name, f"column Time line {row['_line']}: {row[TIME_COLUMN]!r} is not HH:MM"
        )
    parts = clock.str.split_exact(":", 1)
    minutes = parts.struct.field("field_0").cast(pl.Int32) * 60 + parts.struct.field(
        "field_1"
    ).cast(pl.Int32)
    frame = frame.with_columns(minutes.alias("_minute"))
    frame = frame.filter(~((pl.col("_minute") == 0) & (pl.int_range(pl.len()) > 0)))
    out_of_day = frame.filter(pl.col("_minute") >= 24 * 60)
    if out_of_day.height:
        row = out_of_day.row(0, named=True)
        raise FormatError(name, f"column Time line {row['_line']}: {row[TIME_COLUMN]!r}")
    repeated = pl.col("_minute") <= pl.col("_minute").cum_max().shift(1, fill_value=-1)
    naive = pl.lit(day).cast(pl.Datetime("us")) + pl.duration(minutes=pl.col("_minute"))
    return frame.with_columns(
        wall_clock_to_utc(naive, spec.timezone, repeated).alias("interval_start_utc"),
        pl.lit(day).alias("operating_day"),
    )


def read_text(text: CsvText, spec: DatasetSpec) -> pl.DataFrame:
    """One day's fuelsource.csv -> long rows (interval_start_utc, fuel, mw, source_file)."""
    day = day_of_file(text.name)
    if not is_fuelsource_header(text.header):
        raise FormatError(
            text.name,
            f"not a Today's Outlook fuel source header (needs Time and {', '.join(MARKER_FUELS)}"
            f" in any case); header was {','.join(text.header)}",
        )
    frame = _cells(text)
    fuels = [c for c in frame.columns if c not in (TIME_COLUMN, "_line")]
    published = pl.any_horizontal(pl.col(f).str.strip_chars().str.len_chars() > 0 for f in fuels)
    frame = _with_times(frame.filter(published), day, spec, text.name)
    skipped = frame.filter(pl.col("interval_start_utc").is_null())
    if skipped.height:
        row = skipped.row(0, named=True)
        raise FormatError(
            text.name,
            f"column Time line {row['_line']}: {row[TIME_COLUMN]} does not exist on {day} "
            "(spring-forward) but has values",
        )
    long = frame.unpivot(
        index=["interval_start_utc", "operating_day", "_line"],
        on=fuels,
        variable_name="fuel",
        value_name="_text",
    ).filter(pl.col("_text").str.strip_chars().str.len_chars() > 0)
    long = long.with_columns(
        pl.col("_text").str.strip_chars().cast(pl.Float64, strict=False).alias("mw"),
        pl.lit(text.name).alias("source_file"),
    )
    bad = long.filter(pl.col("mw").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise FormatError(
            text.name, f"column {row['fuel']} line {row['_line']}: {row['_text']!r} is not a number"
        )
    raise_on_bad_numbers(long.rename({"_text": "value"}), ["value"])
    clash = long.filter(pl.struct("interval_start_utc", "fuel").is_duplicated())
    if clash.height:
        row = clash.row(0, named=True)
        raise FormatError(
            text.name, f"line {row['_line']}: interval {row['interval_start_utc']} twice"
        )
    return long.select("interval_start_utc", "operating_day", "fuel", "mw", "source_file")


def read_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """Day files of fuelsource.csv -> the QUANTITY_BY_FUEL long table."""
    frames = [read_text(t, spec) for t in texts if t.header]
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    frame = pl.concat(frames).sort("interval_start_utc", "fuel")
    return to_standard(frame, spec)


def expected_rows(data: bytes) -> int:
    """Non-empty fuel cells on lines with a clock time, the closing 00:00 line not counted:
    one long row each. A plain byte scan, independent of the reader."""
    lines = [line.rstrip(b"\r") for line in data.split(b"\n")[1:] if line.strip()]
    count = 0
    for index, line in enumerate(lines):
        cells = line.split(b",")
        clock = cells[0].strip()
        if index > 0 and clock in (b"00:00", b"0:00"):
            continue
        count += sum(1 for cell in cells[1:] if cell.strip())
    return count
