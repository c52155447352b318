"""ERCOT's yearly history workbooks (NP4-180-ER DAM, NP6-785-ER RTM) into the standard tables.

ERCOT keeps only ~31 days of daily DAM files (and 7 of RT) on the MIS. Older years come as one
document per year per report (docs/reference/ISO_FORMATS.md section 1.2, 1.4, 1.6):

- NP4-180-ER "Historical DAM Load Zone and Hub Prices" (RTID 13060, `DAMLZHBSPP_YYYY`) and
  NP6-785-ER "Historical RTM Load Zone and Hub Prices" (RTID 13061, `RTMLZHBSPP_YYYY`): a zip
  holding one .xlsx workbook, one sheet per month (`Jan` .. `Dec`) [3P RES] [CLIENT: GS reads
  every sheet]; hubs and load zones only.
- Spaced column names. DAM: `Delivery Date, Hour Ending, Repeated Hour Flag, Settlement
  Point, Settlement Point Price`; RTM: `Delivery Date, Delivery Hour, Delivery Interval,
  Repeated Hour Flag, Settlement Point Name, Settlement Point Type, Settlement Point Price`
  [3P RES, 3P readers]. They map to the same canonical fields as the daily CSV headers
  (formats/ercot.py FIELD_ALIASES compares names without spaces and underscores).

UNCONFIRMED, so accepted in every form (the sample generator emits each; tests cover both):
- Delivery Date cells: text `MM/DD/YYYY` (what 3P readers parse) or Excel date cells.
- The fall-back day: HE 02 repeated with Repeated Hour Flag=Y (as in the daily files), or the
  hours numbered 1..25 (GS copes with workbooks that do this). HE 25 days are renumbered: HE 3
  becomes the repeated (CST) HE 02, HE n>3 becomes n-1. A day numbered up to 25 that is not a
  fall-back day is an error.
- A missing Repeated Hour Flag column: the second occurrence of a label is the repeated hour,
  the same rule formats/ercot.py applies to files from before DSTFlag.
- Fully blank rows (GS drops one per RTM year) are skipped; a partly blank row is an error.

How: each sheet is normalized to typed columns (checked cell by cell, so an error names the
workbook, the sheet, the workbook's own column name and the Excel row), then rendered in the
daily-CSV layout and read by formats/ercot.py `read_texts`. DST handling, location typing,
Float64 prices and the schema are therefore exactly those of the daily files; `source_file`
is `<workbook>[<sheet>]`. The same rendering, cut per operating day, is what the "history"
channel lands in stage 1 (`split_workbook`, see sources/ercot_history.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.formats.csvjoin import CsvText, split_csv
from power_market_assets.formats.ercot_layouts import LAYOUTS, canonical_fields
from power_market_assets.formats.errors import FormatError
from power_market_assets.registry.ercot import DA_PRICES, RT_PRICES
from power_market_assets.registry.spec import DatasetSpec

WORKBOOK_SUFFIXES = (".xlsx",)


@dataclass(frozen=True)
class HistoryReport:
    """A yearly ERCOT report and the daily dataset it backfills (section 1.2 of the reference)."""

    spec: DatasetSpec  # the daily dataset (same standard table)
    report_type_id: str  # MIS RTID
    report_code: str  # EMIL id
    stem: str  # friendly-name stem, followed by _YYYY
    title: str


HISTORY_REPORTS: dict[str, HistoryReport] = {
    DA_PRICES.dataset: HistoryReport(
        DA_PRICES, "13060", "NP4-180-ER", "DAMLZHBSPP", "Historical DAM Load Zone and Hub Prices"
    ),
    RT_PRICES.dataset: HistoryReport(
        RT_PRICES, "13061", "NP6-785-ER", "RTMLZHBSPP", "Historical RTM Load Zone and Hub Prices"
    ),
}
# Friendly-name stem of each yearly report -> the daily dataset it backfills.
WORKBOOK_STEMS: dict[str, DatasetSpec] = {r.stem: r.spec for r in HISTORY_REPORTS.values()}


def history_report(spec: DatasetSpec) -> HistoryReport | None:
    """The yearly report backfilling an ERCOT dataset (None: no yearly workbook for it)."""
    report = HISTORY_REPORTS.get(spec.dataset) if spec.iso == "ERCOT" else None
    return report if report is not None and report.spec.file_layout == spec.file_layout else None


# Daily-CSV layouts the sheets are rendered into (the NP4-190-CD / NP6-905-CD headers).
DAILY_HEADERS = {
    "dam_spp": ("DeliveryDate", "HourEnding", "SettlementPoint", "SettlementPointPrice", "DSTFlag"),
    "rtm_spp": (
        "DeliveryDate",
        "DeliveryHour",
        "DeliveryInterval",
        "SettlementPointName",
        "SettlementPointType",
        "SettlementPointPrice",
        "DSTFlag",
    ),
}
# The workbook's own spelling of each canonical field, for error messages on a missing column.
WORKBOOK_NAMES = {
    "delivery_date": "Delivery Date",
    "hour_ending": "Hour Ending",
    "delivery_hour": "Delivery Hour",
    "delivery_interval": "Delivery Interval",
    "settlement_point": "Settlement Point",
    "settlement_point_type": "Settlement Point Type",
    "price": "Settlement Point Price",
    "dst_flag": "Repeated Hour Flag",
}
TEXT_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Sheet:
    """One month sheet, normalized: typed canonical columns plus the Excel row of each row."""

    workbook: str
    name: str
    frame: pl.DataFrame  # delivery_date, hour, [interval, settlement_point_type], ...

    @property
    def label(self) -> str:
        """`source_file` of its rows when the workbook is read directly."""
        return f"{self.workbook}[{self.name}]"


def is_workbook(path: Path | str) -> bool:
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def identify_workbook(name: str) -> DatasetSpec | None:
    """The dataset a yearly workbook (or its zip) backfills, from its name: the 64 KB head of
    a zip holds compressed sheets, so the header cannot be read from it."""
    base = Path(name).name.upper()
    for stem, spec in WORKBOOK_STEMS.items():
        if re.search(rf"(?<![A-Z]){stem}_\d{{4}}", base):
            return spec
    return None


def workbook_layout(spec: DatasetSpec) -> str:
    if spec.iso != "ERCOT" or spec.file_layout not in DAILY_HEADERS:
        raise ValueError(f"{spec.iso}/{spec.dataset}: no yearly ERCOT workbook layout")
    return spec.file_layout


# ---------------------------------------------------------------------------------------------
# Reading and normalizing sheets


def read_raw_sheets(path: Path) -> dict[str, pl.DataFrame]:
    """Every sheet as Polars (calamine) reads it, with inferred cell types and every row kept
    (so that row numbers are Excel's). Where a cell does not fit its column's type it comes
    back as null; `text_sheet` reads it again as text."""
    try:
        sheets = pl.read_excel(
            path, sheet_id=0, engine="calamine", raise_if_empty=False, drop_empty_rows=False
        )
    except Exception as exc:  # fastexcel raises its own error types for bad files
        raise FormatError(Path(path).name, f"not a readable .xlsx workbook ({exc})") from None
    return sheets if isinstance(sheets, dict) else {"Sheet1": sheets}


def count_workbook_rows(path: Path | str) -> int:
    """Data rows of every sheet (blank rows left out), counted from the cells as read, not
    from the normalized sheets: the row_count check compares the two."""
    sheets = read_raw_sheets(Path(path))
    return sum(_numbered_rows(raw).height for raw in sheets.values() if raw.width)


def text_sheet(path: Path, sheet: str) -> pl.DataFrame:
    """One sheet with every cell as text (numbers and dates as calamine renders them)."""
    return pl.read_excel(
        path,
        sheet_name=sheet,
        engine="calamine",
        infer_schema_length=0,
        raise_if_empty=False,
        drop_empty_rows=False,
    )


def _header_fields(raw: pl.DataFrame, where: str, layout: str) -> dict[str, str]:
    """Canonical field -> the sheet's column name; FormatError on a missing or repeated one."""
    fields = canonical_fields(raw.columns)
    required = LAYOUTS[layout].required
    missing = [f for f in required if f not in fields]
    if missing:
        wanted = ", ".join(f"{WORKBOOK_NAMES[f]!r}" for f in missing)
        raise FormatError(
            where, f"sheet header is missing column {wanted}; header was {', '.join(raw.columns)}"
        )
    repeated = sorted({f for f in fields if f is not None and fields.count(f) > 1})
    if repeated:
        names = ", ".join(WORKBOOK_NAMES[f] for f in repeated)
        raise FormatError(where, f"sheet header repeats column {names}")
    return {f: c for f, c in zip(fields, raw.columns, strict=True) if f is not None}


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Utf8).str.strip_chars()


def _date_expr(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        return pl.col(column)
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.date()
    text = _text(column)
    return pl.coalesce([text.str.to_datetime(f, strict=False).dt.date() for f in TEXT_DATE_FORMATS])


def _number_expr(column: str, dtype: pl.DataType) -> pl.Expr:
    """An integer label (hour, interval): a number cell, or text such as `01:00` or `2`."""
    if dtype.is_numeric():
        value = pl.col(column).cast(pl.Float64)
        return pl.when(value == value.round(0)).then(value.cast(pl.Int32))
    return _text(column).str.split(":").list.first().cast(pl.Int32, strict=False)


def _price_expr(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_numeric():
        return pl.col(column).cast(pl.Float64)
    return _text(column).cast(pl.Float64, strict=False)


def _flag_expr(column: str) -> pl.Expr:
    text = _text(column).str.to_uppercase()
    return (
        pl.when(text.is_in(["Y", "TRUE", "1"]))
        .then(True)
        .when(text.is_in(["N", "FALSE", "0"]))
        .then(False)
    )


def _typed(raw: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Typed canonical columns next to the raw cells (kept for error messages)."""
    schema = raw.schema
    exprs = []
    for field, column in names.items():
        dtype = schema[column]
        if field == "delivery_date":
            exprs.append(_date_expr(column, dtype).alias("delivery_date"))
        elif field in ("hour_ending", "delivery_hour"):
            exprs.append(_number_expr(column, dtype).alias("hour"))
        elif field == "delivery_interval":
            exprs.append(_number_expr(column, dtype).alias("interval"))
        elif field == "price":
            exprs.append(_price_expr(column, dtype).alias("price"))
        elif field == "dst_flag":
            exprs.append(_flag_expr(column).alias("repeated"))
        elif field in ("settlement_point", "settlement_point_type"):
            exprs.append(_text(column).alias(field))
    return raw.with_columns(exprs)


_TARGETS = {
    "delivery_date": "delivery_date",
    "hour_ending": "hour",
    "delivery_hour": "hour",
    "delivery_interval": "interval",
    "price": "price",
    "dst_flag": "repeated",
    "settlement_point": "settlement_point",
    "settlement_point_type": "settlement_point_type",
}


def _check_cells(typed: pl.DataFrame, names: dict[str, str], where: str) -> None:
    """The first cell that did not convert, by the workbook's column name and Excel row."""
    for field, column in names.items():
        target = _TARGETS[field]
        bad_cell = pl.col(target).is_null()
        if target in ("settlement_point", "settlement_point_type"):
            bad_cell = bad_cell | (pl.col(target) == "")
        bad = typed.filter(bad_cell)
        if bad.height:
            row = bad.row(0, named=True)
            raise FormatError(
                where,
                f"column {column!r} row {row['excel_row']}: {row[column]!r} is not a valid "
                f"{field.replace('_', ' ')} ({bad.height} bad cell(s) in the sheet)",
            )


def normalize_sheet(
    raw: pl.DataFrame,
    workbook: str,
    sheet: str,
    layout: str,
    as_text: Callable[[], pl.DataFrame] | None = None,
) -> Sheet:
    """One sheet -> typed canonical columns (FormatError names workbook, sheet, column, row).

    `as_text` reads the same sheet as text: rows where a typed cell came back null (a text
    date among date cells, "n/a" among prices) are converted again from their text, which
    either succeeds or shows the cell's text in the error."""
    where = f"{workbook}[{sheet}]"
    if raw.width == 0:
        return Sheet(workbook, sheet, pl.DataFrame())
    names = _header_fields(raw, where, layout)
    typed = _typed(_numbered_rows(raw), names)
    if as_text is not None and typed.select(_any_null(names)).to_series().any():
        typed = _retyped_from_text(typed, _typed(_numbered_rows(as_text()), names), names)
    _check_cells(typed, names, where)
    keep = ["excel_row", "delivery_date", "hour"]
    keep += ["interval", "settlement_point", "settlement_point_type"] if layout == "rtm_spp" else []
    keep += ["settlement_point"] if layout == "dam_spp" else []
    keep += ["price"] + (["repeated"] if "dst_flag" in names else [])
    frame = _renumber_hour25(typed.select(keep), where)
    return Sheet(workbook, sheet, _with_repeated_flag(frame))


def _numbered_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """The Excel row number of each row (header on row 1), then blank rows dropped (every
    cell empty or whitespace: GS drops one such row per RTM year)."""
    numbered = raw.with_columns(pl.int_range(2, pl.len() + 2).alias("excel_row"))
    empty = [pl.col(c).cast(pl.Utf8).str.strip_chars().fill_null("") == "" for c in raw.columns]
    return numbered.filter(~pl.all_horizontal(empty))


def _any_null(names: dict[str, str]) -> pl.Expr:
    targets = {_TARGETS[field] for field in names}
    return pl.any_horizontal([pl.col(t).is_null() for t in targets]).alias("any_null")


def _retyped_from_text(
    typed: pl.DataFrame, from_text: pl.DataFrame, names: dict[str, str]
) -> pl.DataFrame:
    """Rows with a null typed cell replaced by their conversion from the text read."""
    columns = sorted({_TARGETS[f] for f in names}) + sorted(set(names.values()))
    casts = [pl.col(c).cast(pl.Utf8) if c in names.values() else pl.col(c) for c in columns]
    flagged = typed.with_columns(_any_null(names))
    bad_rows = flagged.filter(pl.col("any_null"))["excel_row"]
    keep = flagged.filter(~pl.col("any_null")).select("excel_row", *casts)
    redo = from_text.filter(pl.col("excel_row").is_in(bad_rows.implode())).select(
        "excel_row", *casts
    )
    return pl.concat([keep, redo], how="vertical_relaxed").sort("excel_row")


def _is_fall_back_day(day: date, tz: ZoneInfo) -> bool:
    """A 25-hour local day (the only day an hour 25 may appear on)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return (end.timestamp() - start.timestamp()) > 24 * 3600


def _renumber_hour25(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """Days whose hours run 1..25: HE 3 -> repeated HE 2, HE n>3 -> n-1 (see the docstring)."""
    if frame.is_empty():
        return frame
    days = frame.group_by("delivery_date").agg(pl.col("hour").max().alias("max_hour"))
    long_days = days.filter(pl.col("max_hour") > 24)["delivery_date"].to_list()
    if not long_days:
        return frame
    tz = ZoneInfo(DA_PRICES.timezone)
    wrong = [d for d in long_days if not _is_fall_back_day(d, tz)]
    if wrong:
        raise FormatError(where, f"hour 25 on {wrong[0]:%m/%d/%Y}, which is not a fall-back day")
    on_long = pl.col("delivery_date").is_in(long_days)
    hour = pl.col("hour")
    renumbered = frame.with_columns(
        pl.when(on_long & (hour >= 3)).then(hour - 1).otherwise(hour).alias("hour"),
        *(
            [(pl.col("repeated") | (on_long & (hour == 3))).alias("repeated")]
            if "repeated" in frame.columns
            else [pl.when(on_long & (hour == 3)).then(True).alias("repeated")]
        ),
    )
    return renumbered


def _with_repeated_flag(frame: pl.DataFrame) -> pl.DataFrame:
    """No flag column (or no value for a row): the second occurrence of a label is repeated."""
    if frame.is_empty():
        return frame
    key = [c for c in ("delivery_date", "hour", "interval") if c in frame.columns]
    key += [c for c in ("settlement_point", "settlement_point_type") if c in frame.columns]
    by_order = pl.int_range(pl.len()).over(key) > 0
    if "repeated" not in frame.columns:
        return frame.with_columns(by_order.alias("repeated"))
    return frame.with_columns(pl.col("repeated").fill_null(by_order))


def read_sheets(path: Path | str, spec: DatasetSpec) -> list[Sheet]:
    """Every month sheet of a workbook, normalized (empty sheets skipped)."""
    path = Path(path)
    layout = workbook_layout(spec)
    sheets = [
        normalize_sheet(raw, path.name, name, layout, lambda n=name: text_sheet(path, n))
        for name, raw in read_raw_sheets(path).items()
    ]
    return [s for s in sheets if not s.frame.is_empty()]


# ---------------------------------------------------------------------------------------------
# Rendering in the daily-CSV layout


def daily_layout_csv(frame: pl.DataFrame, layout: str) -> bytes:
    """Normalized rows -> CSV bytes in the daily file's layout (header + LF lines).

    Prices are written in Polars' shortest round-trip form, so the Float64 read back is the
    workbook's value exactly."""
    flag = pl.when(pl.col("repeated")).then(pl.lit("Y")).otherwise(pl.lit("N"))
    day = pl.col("delivery_date").dt.strftime("%m/%d/%Y")
    if layout == "dam_spp":
        hour = pl.col("hour").cast(pl.Utf8).str.zfill(2) + pl.lit(":00")
        columns = [day, hour, pl.col("settlement_point"), pl.col("price"), flag]
    else:
        columns = [
            day,
            pl.col("hour"),
            pl.col("interval"),
            pl.col("settlement_point"),
            pl.col("settlement_point_type"),
            pl.col("price"),
            flag,
        ]
    header = DAILY_HEADERS[layout]
    out = frame.select([c.alias(h) for c, h in zip(columns, header, strict=True)])
    return out.write_csv(quote_style="never", line_terminator="\n").encode("utf-8")


def sheet_texts(path: Path | str, spec: DatasetSpec) -> list[CsvText]:
    """One CsvText per sheet, named `<workbook>[<sheet>]`, for formats/ercot.py read_texts."""
    layout = workbook_layout(spec)
    return [split_csv(daily_layout_csv(s.frame, layout), s.label) for s in read_sheets(path, spec)]


def workbook_texts(paths: Iterable[Path | str], spec: DatasetSpec) -> list[CsvText]:
    return [text for path in paths for text in sheet_texts(path, spec)]


# ---------------------------------------------------------------------------------------------
# Splitting into per-day files (stage 1 of the "history" channel)


def day_file_name(workbook: str, sheet: str, day: date) -> str:
    """`<workbook stem>.<sheet>.<YYYYMMDD>.csv`: the origin stays readable in source_file."""
    stem = Path(workbook).name
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
    return f"{stem}.{_UNSAFE.sub('_', sheet) or 'sheet'}.{day:%Y%m%d}.csv"


def split_workbook(
    path: Path | str,
    spec: DatasetSpec,
    dest_dir: Path | str,
    days: Iterable[date] | None = None,
) -> dict[date, list[Path]]:
    """Write one daily-layout CSV per operating day (per sheet it appears on) into `dest_dir`.

    `days` limits the output (None: every day of the workbook). Each file is written under a
    temp name and renamed (atomic_write_bytes), so a reader never sees half a file.
    """
    layout = workbook_layout(spec)
    wanted = set(days) if days is not None else None
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[date, list[Path]] = {}
    for sheet in read_sheets(path, spec):
        parts = sheet.frame.partition_by("delivery_date", as_dict=True, maintain_order=True)
        for (day,), rows in parts.items():
            if wanted is not None and day not in wanted:
                continue
            target = dest / day_file_name(sheet.workbook, sheet.name, day)
            atomic_write_bytes(target, daily_layout_csv(rows, layout))
            out.setdefault(day, []).append(target)
    return dict(sorted(out.items()))
