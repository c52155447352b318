"""Deterministic ERCOT yearly history documents (NP4-180-ER DAM, NP6-785-ER RTM) for tests.

A document is a zip holding one .xlsx workbook with one sheet per month (`Jan` .. `Dec`) of
hub and load-zone prices (docs/reference/ISO_FORMATS.md section 1; formats/ercot_history.py
lists the facts and which are UNCONFIRMED). Every UNCONFIRMED choice is a parameter:

- `date_cells`: "text" (`01/31/2019`) or "date" (Excel date cells).
- `fallback_style`: "repeat" (HE 02 twice, the second flagged Y) or "hour25" (HE 1..25).
- `flag_column`: False drops the Repeated Hour Flag column (order tells the repeated hour).
- `friendly_suffix`: appended to the friendly name (`DAMLZHBSPP_2019` + e.g. "_xlsx").
- Names: member `rpt.<RTID8>.<DUNS>.<STEM>_<YYYY>.xlsx` (as 3P copies are named on disk) and
  ConstructedName `rpt.<RTID8>.<DUNS>.<STEM>_<YYYY>.zip` (GS finds the document by
  "<year>.zip" in it); the listing's `Prefix` and timestamps are UNCONFIRMED.

The workbook is written by xlsx.py (XlsxWriter, fixed creation time); polars/fastexcel
(calamine) read it like any Excel file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from power_market_assets.formats.ercot_history import HistoryReport, history_report
from power_market_assets.registry.ercot import HUBS, LOAD_ZONES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import next_month
from power_market_standins.common import deflated_zip, local_interval_starts
from power_market_standins.ercot import DUNS, listing_entry
from power_market_standins.xlsx import Cell
from power_market_standins.xlsx import xlsx_bytes as workbook_bytes

DateCells = Literal["text", "date"]
FallbackStyle = Literal["repeat", "hour25"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAM_COLUMNS = (
    "Delivery Date",
    "Hour Ending",
    "Repeated Hour Flag",
    "Settlement Point",
    "Settlement Point Price",
)
RTM_COLUMNS = (
    "Delivery Date",
    "Delivery Hour",
    "Delivery Interval",
    "Repeated Hour Flag",
    "Settlement Point Name",
    "Settlement Point Type",
    "Settlement Point Price",
)
# RT type codes of the yearly file's hubs and zones (3P: zones appear as LZ and LZEW).
_RT_HUB_TYPES = {"HB_BUSAVG": "SH", "HB_HUBAVG": "AH"}


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]]) -> bytes:
    """A workbook of `(sheet name, header, rows)` (see xlsx.py for cell types)."""
    return workbook_bytes({name: [list(header), *rows] for name, header, rows in sheets})


# ---------------------------------------------------------------------------------------------
# Rows


@dataclass(frozen=True)
class _Slot:
    """One interval of a local day: hour ending label, interval 1..4, repeated-hour flag."""

    hour: int  # hour ending 1..24 (1..25 in the "hour25" style)
    interval: int
    repeated: bool


def _day_slots(day: date, minutes: int, timezone: str, fallback_style: FallbackStyle) -> list:
    starts = local_interval_starts(day, timezone, minutes)
    count = len(starts)
    slots = []
    for k, local in enumerate(starts):
        if fallback_style == "hour25" and count * minutes > 24 * 60:
            hour = k * minutes // 60 + 1  # hours simply counted 1..25
            slots.append(_Slot(hour, local.minute // minutes + 1, False))
        else:
            slots.append(_Slot(local.hour + 1, local.minute // minutes + 1, local.fold == 1))
    return slots


def _prices(day: date, slots: list[_Slot], n_points: int, seed: int) -> np.ndarray:
    """(slots, points) prices in dollars with two decimals; made up but plausible."""
    rng = np.random.default_rng([seed, day.toordinal()])
    hour = np.array([s.hour for s in slots], dtype=float)
    shape = 0.8 + 0.9 * np.exp(-((hour - 18.0) ** 2) / 10.0) - 0.2 * np.exp(-((hour - 4) ** 2) / 8)
    level = 25.0 * float(np.exp(rng.normal(0, 0.2)))
    offsets = np.random.default_rng([seed, 7]).normal(0, 1.5, n_points)
    noise = rng.normal(0, 0.8, (len(slots), n_points))
    return np.round(level * shape[:, None] + offsets[None, :] + noise, 2)


def _date_cell(day: date, date_cells: DateCells) -> Cell:
    return day if date_cells == "date" else f"{day:%m/%d/%Y}"


def _rt_points(locations: Sequence[str]) -> list[tuple[str, str]]:
    points = []
    for name in sorted(locations):
        if name.startswith("LZ_"):
            points += [(name, "LZ"), (name, "LZEW")]
        else:
            points.append((name, _RT_HUB_TYPES.get(name, "HU")))
    return points


def _day_rows(
    layout: str,
    day: date,
    locations: Sequence[str],
    *,
    timezone: str,
    seed: int,
    date_cells: DateCells,
    fallback_style: FallbackStyle,
    flag_column: bool,
) -> list[list[Cell]]:
    minutes = 60 if layout == "dam_spp" else 15
    slots = _day_slots(day, minutes, timezone, fallback_style)
    points = [(n, "") for n in sorted(locations)] if layout == "dam_spp" else _rt_points(locations)
    prices = _prices(day, slots, len(points), seed)
    when = _date_cell(day, date_cells)
    rows: list[list[Cell]] = []
    for i, slot in enumerate(slots):
        flag = ["Y" if slot.repeated else "N"] if flag_column else []
        for j, (name, code) in enumerate(points):
            price = float(prices[i, j])
            if layout == "dam_spp":
                rows.append([when, f"{slot.hour:02d}:00", *flag, name, price])
            else:
                rows.append([when, slot.hour, slot.interval, *flag, name, code, price])
    return rows


# ---------------------------------------------------------------------------------------------
# Documents


@dataclass(frozen=True)
class HistoryWorkbook:
    """One yearly MIS document: its zip, its workbook and its listing entry."""

    report: HistoryReport
    year: int
    doc_id: str
    friendly_name: str
    constructed_name: str
    member_name: str
    publish_time: datetime  # tz-aware, local
    days: tuple[date, ...]
    rows: int
    xlsx_bytes: bytes
    zip_bytes: bytes
    listing_entry: dict[str, str]

    @property
    def spec(self) -> DatasetSpec:
        return self.report.spec

    @property
    def report_type_id(self) -> str:
        return self.report.report_type_id

    @property
    def report_code(self) -> str:
        return self.report.report_code

    @property
    def post_datetime(self) -> str:
        return self.publish_time.replace(tzinfo=None).isoformat(timespec="seconds")


def _month_days(year: int, month: int, through: date | None) -> list[date]:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = min(nxt - timedelta(days=1), through) if through else nxt - timedelta(days=1)
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def generate_history_workbook(
    spec: DatasetSpec,
    year: int,
    *,
    months: Sequence[int] = tuple(range(1, 13)),
    locations: Sequence[str] = HUBS + LOAD_ZONES,
    through: date | None = None,
    seed: int = 0,
    date_cells: DateCells = "text",
    fallback_style: FallbackStyle = "repeat",
    flag_column: bool = True,
    friendly_suffix: str = "",
    publish_time: datetime | None = None,
    doc_id: str | None = None,
) -> HistoryWorkbook:
    """The yearly document of `spec` (da_prices or rt_prices) for `year`.

    `months` picks the sheets (a small sample: a few months); `through` ends the data early,
    as in the current year's workbook, which ERCOT refreshes weekly. Published by default on
    the 3rd of the month after the last day, 07:30 Central.
    """
    report = history_report(spec)
    if report is None:
        raise ValueError(f"{spec.iso}/{spec.dataset}: no yearly history report")
    tz = ZoneInfo(spec.timezone)
    columns = list(DAM_COLUMNS if spec.file_layout == "dam_spp" else RTM_COLUMNS)
    if not flag_column:
        columns.remove("Repeated Hour Flag")
    sheets, days = [], []
    for month in sorted(set(months)):
        month_days = _month_days(year, month, through)
        rows = [
            row
            for day in month_days
            for row in _day_rows(
                spec.file_layout,
                day,
                locations,
                timezone=spec.timezone,
                seed=seed,
                date_cells=date_cells,
                fallback_style=fallback_style,
                flag_column=flag_column,
            )  # fmt: skip
        ]
        sheets.append((MONTHS[month - 1], columns, rows))
        days += month_days
    last = days[-1] if days else date(year, 12, 31)
    publish = publish_time or datetime.combine(
        next_month(last).replace(day=3), datetime.min.time(), tz
    ).replace(hour=7, minute=30)
    rtid8 = f"{int(report.report_type_id):08d}"
    base = f"rpt.{rtid8}.{DUNS}.{report.stem}_{year}"
    workbook = xlsx_bytes(sheets)
    doc_id = doc_id or str(900_000_000 + year * 100 + int(report.report_type_id) % 100)
    friendly = f"{report.stem}_{year}{friendly_suffix}"
    zipped = deflated_zip([(f"{base}.xlsx", workbook, publish.timetuple()[:6])])
    return HistoryWorkbook(
        report=report,
        year=year,
        doc_id=doc_id,
        friendly_name=friendly,
        constructed_name=f"{base}.zip",
        member_name=f"{base}.xlsx",
        publish_time=publish,
        days=tuple(days),
        rows=sum(len(rows) for _, _, rows in sheets),
        xlsx_bytes=workbook,
        zip_bytes=zipped,
        listing_entry=listing_entry(
            report_type_id=report.report_type_id,
            report_name=report.title,
            prefix="rpt",
            keep_days=400,
            friendly=friendly,
            constructed=f"{base}.zip",
            doc_id=doc_id,
            publish=publish,
            size=len(zipped),
        ),
    )
