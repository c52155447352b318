"""ERCOT's Fuel Mix Report (`IntGenbyFuel<YYYY>.xlsx`) into the QUANTITY_BY_FUEL long table.

The report is not on the MIS: ERCOT posts one workbook per year on its generation page
(https://www.ercot.com/gridinfo/generation, under /files/docs/<posting date>/), the current
year's refreshed in arrears. Layout since 2017 [3P, see docs/reference/fundamentals/ercot.md]:
one sheet per month (`Jan` .. `Dec`, besides summary and disclaimer sheets), columns
`Date, Fuel, Settlement Type, Total`, then one column per 15-minute settlement interval
labelled by its ending time of day (`0:15` .. `24:00`); one row per day and fuel. Each
interval value is the interval's ENERGY in MWh [3P: the 96 values sum to ERCOT's published
GWh], so average MW = value x 4.

UNCONFIRMED, so read in the form the stand-in writes (and documented): interval labels
`H:MM`; on the fall-back day the repeated (CST) hour's four intervals in columns labelled
with a trailing `*` (`1:15*` .. `2:00*`), empty on every other day; on the spring-forward day
the cells of the skipped hour (`2:15` .. `3:00`) empty. An empty cell is no row. `Date` cells
are Excel dates or `MM/DD/YYYY` text. `source_file` is `<workbook>[<sheet>]`. The daily
`Total` (MWh) is not a per-interval total, so `iso_total_mw` stays null.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl

from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import wall_clock_to_utc

LAYOUT = "fuel_mix_workbook"
MONTH_SHEETS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WORKBOOK_NAME = re.compile(r"(?<![A-Za-z])IntGenbyFuel(\d{4})\.xlsx$", re.IGNORECASE)
_INTERVAL_LABEL = re.compile(r"^(\d{1,2}):(\d{2})(\*?)$")
QUARTER_HOURS_PER_HOUR = 4  # MWh in a quarter hour x 4 = average MW
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y")


def is_fuel_mix_workbook(name: str | Path) -> bool:
    """`IntGenbyFuel2024.xlsx` (ERCOT spells it IntGenByFuel in some years)."""
    return bool(_WORKBOOK_NAME.search(Path(name).name))


def _month_sheets(path: Path) -> dict[str, pl.DataFrame]:
    """The month sheets of a workbook, every cell as calamine types it."""
    try:
        sheets = pl.read_excel(
            path, sheet_id=0, engine="calamine", raise_if_empty=False, infer_schema_length=None
        )
    except Exception as exc:  # fastexcel raises its own error types for bad files
        raise FormatError(path.name, f"not a readable .xlsx workbook ({exc})") from None
    sheets = sheets if isinstance(sheets, dict) else {"Sheet1": sheets}
    return {name: frame for name, frame in sheets.items() if name.strip()[:3] in MONTH_SHEETS}


def _fuel_column(frame: pl.DataFrame, where: str) -> str:
    for name in ("Fuel", "Fuel Type"):
        if name in frame.columns:
            return name
    raise FormatError(where, f"no Fuel column; columns were {frame.columns[:6]}")


def _interval_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if _INTERVAL_LABEL.match(str(c).strip())]


def _dates(column: pl.Series) -> pl.Series:
    if column.dtype in (pl.Date, pl.Datetime):
        return column.cast(pl.Date)
    text = column.cast(pl.Utf8).str.strip_chars()
    return pl.select(
        pl.coalesce([text.str.to_date(f, strict=False) for f in DATE_FORMATS])
    ).to_series()


def _sheet_rows(frame: pl.DataFrame, workbook: str, sheet: str) -> pl.DataFrame:
    """One month sheet -> date, fuel, label, value (MWh), a row per filled interval cell."""
    where = f"{workbook}[{sheet}]"
    if "Date" not in frame.columns:
        raise FormatError(where, f"no Date column; columns were {frame.columns[:6]}")
    fuel = _fuel_column(frame, where)
    intervals = _interval_columns(frame)
    if not intervals:
        raise FormatError(where, "no interval columns (labelled H:MM)")
    frame = frame.filter(pl.col(fuel).is_not_null() | pl.col("Date").is_not_null())
    days = _dates(frame["Date"])
    if days.null_count():
        row = int(days.is_null().arg_max())
        raise FormatError(where, f"Date {frame['Date'][row]!r} is no date (sheet row {row + 2})")
    values = frame.select(
        pl.Series("day", days),
        pl.col(fuel).cast(pl.Utf8).str.strip_chars().alias("fuel"),
        *(pl.col(c).cast(pl.Float64, strict=False).alias(str(c).strip()) for c in intervals),
    )
    long = values.unpivot(index=["day", "fuel"], variable_name="label", value_name="mwh")
    return long.filter(pl.col("mwh").is_not_null()).with_columns(pl.lit(where).alias("source_file"))


def _interval_starts(rows: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Interval-ending labels (`H:MM`, `*` for the repeated hour) -> UTC interval starts."""
    parts = pl.col("label").str.extract_groups(_INTERVAL_LABEL.pattern)
    labels = rows.select("day", "label").unique().with_columns(parts.alias("_p")).unnest("_p")
    hour, minute = pl.col("1").cast(pl.Int32), pl.col("2").cast(pl.Int32)
    end = pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=hour, minutes=minute)
    naive = end - pl.duration(minutes=spec.interval_minutes)
    table = labels.select(
        "day",
        "label",
        wall_clock_to_utc(naive, spec.timezone, pl.col("3") == "*").alias("interval_start_utc"),
        ((minute % spec.interval_minutes != 0) | (hour * 60 + minute > 24 * 60)).alias("_bad"),
    )
    bad = table.filter(pl.col("interval_start_utc").is_null() | pl.col("_bad"))
    if bad.height:
        label = bad.row(0, named=True)
        where = rows.join(bad.head(1), on=["day", "label"])["source_file"][0]
        raise FormatError(
            where,
            f"interval {label['label']!r} of {label['day']} is no 15-minute interval of the "
            f"day ({bad.height} bad label(s))",
        )
    return rows.join(table.drop("_bad"), on=["day", "label"])


def read_workbooks(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Fuel Mix Report workbooks -> the standard QUANTITY_BY_FUEL table (MW, every fuel as
    ERCOT names it; fuel_category from the spec's mapping)."""
    frames = []
    for path in map(Path, paths):
        if not is_fuel_mix_workbook(path):
            raise FormatError(path.name, "not an ERCOT Fuel Mix Report (IntGenbyFuel<YYYY>.xlsx)")
        for sheet, frame in _month_sheets(path).items():
            if frame.height:
                frames.append(_sheet_rows(frame, path.name, sheet))
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    rows = _interval_starts(pl.concat(frames), spec)
    rows = rows.with_columns((pl.col("mwh") * QUARTER_HOURS_PER_HOUR).alias("mw"))
    return to_standard(rows, spec)


def count_rows(path: Path | str) -> int:
    """Filled interval cells of the month sheets, counted on the cells as read (the
    row_count check compares them with the parsed rows)."""
    total = 0
    for frame in _month_sheets(Path(path)).values():
        columns = _interval_columns(frame)
        if columns:
            total += int(
                frame.select(pl.sum_horizontal(pl.col(columns).is_not_null())).sum().item()
            )
    return total


def workbook_days(path: Path | str) -> list[date]:
    """The days a workbook holds (the current year's stops at its last posted day)."""
    days: set[date] = set()
    for frame in _month_sheets(Path(path)).values():
        if "Date" in frame.columns and frame.height:
            days.update(d for d in _dates(frame["Date"]).to_list() if d is not None)
    return sorted(days)
