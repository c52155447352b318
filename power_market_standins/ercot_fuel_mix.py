"""Sample ERCOT Fuel Mix Report workbooks (`IntGenbyFuel<YYYY>.xlsx`) in the layout
formats/ercot_fuel_mix.py reads (facts and what is UNCONFIRMED: docs/reference/fundamentals/
ercot.md): a `Disclaimer` sheet, then one sheet per month holding the requested days, columns
`Date, Fuel, Settlement Type, Total` and one per 15-minute interval labelled by its ending
time (`0:15` .. `24:00`; the fall-back month adds `1:15*` .. `2:00*` after `2:00` for the
repeated CST hour). Values are quarter-hour MWh (average MW / 4).

The fuels add up to about the stand-in's load (ercot_fundamentals.true_load) plus storage
charging; wind and solar follow the same "true" curves as the hourly wind and solar files;
WSL (storage charging) is negative at midday, storage discharge sits in Other at the evening
peak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from power_market_standins.common import deflated_zip, local_interval_starts
from power_market_standins.ercot_fundamentals import true_load, true_solar, true_wind
from power_market_standins.xlsx import xlsx_bytes

FUELS = ("Biomass", "Coal", "Gas", "Gas-CC", "Hydro", "Nuclear", "Other", "Solar", "Wind", "WSL")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SETTLEMENT_TYPE = "FINAL"  # UNCONFIRMED spelling
REPEATED = "*"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LINKED_YEARS = 2  # the page links the current and the previous year; older ones are zipped


@dataclass(frozen=True)
class FuelMixWorkbook:
    """One year's workbook as ERCOT's generation page links it."""

    year: int
    posted: date  # the /files/docs/<posted>/ folder of its link
    data: bytes  # the .xlsx itself (ERCOT links the workbook, not a zip)

    @property
    def file_name(self) -> str:
        return f"IntGenbyFuel{self.year}.xlsx"

    @property
    def path(self) -> str:
        return f"/files/docs/{self.posted:%Y/%m/%d}/{self.file_name}"


def _label(start: datetime) -> str:
    """A quarter hour's column: its ending wall-clock time, `*` in the repeated hour."""
    naive = start.replace(tzinfo=None, fold=0)
    end = naive + timedelta(minutes=15)
    hours = 24 if end.date() > naive.date() else end.hour
    return f"{hours}:{end.minute:02d}" + (REPEATED if start.fold == 1 else "")


def month_labels(has_fall_back: bool) -> list[str]:
    """The interval columns of a month sheet."""
    labels = [f"{(q + 1) * 15 // 60}:{(q + 1) * 15 % 60:02d}" for q in range(96)]
    if has_fall_back:
        at = labels.index("2:00") + 1
        labels[at:at] = [f"{lab}{REPEATED}" for lab in ("1:15", "1:30", "1:45", "2:00")]
    return labels


def fuel_mw(starts: Sequence[datetime], seed: int) -> dict[str, np.ndarray]:
    """Average MW per fuel for each quarter hour."""
    n = len(starts)
    rng = np.random.default_rng([seed, 4817, starts[0].toordinal() if n else 0])
    hour = np.array([s.hour + s.minute / 60 for s in starts])
    evening = np.exp(-((hour - 19.0) ** 2) / 4.0)
    midday = np.exp(-((hour - 13.0) ** 2) / 6.0)
    mw = {
        "Biomass": 70 + rng.normal(0, 3, n),
        "Coal": 8_500 + 1_500 * evening + rng.normal(0, 80, n),
        "Hydro": 150 + rng.normal(0, 10, n),
        "Nuclear": 4_950 + rng.normal(0, 15, n),
        "Other": 300 + 2_500 * evening + rng.normal(0, 30, n),
        "Solar": true_solar(starts, seed),
        "Wind": true_wind(starts, seed),
        "WSL": -(1_800 * midday + 50),
    }
    served = true_load(starts, seed) - mw["WSL"]  # generation = load + storage charging
    gas = np.clip(served - sum(v for k, v in mw.items() if k != "WSL"), 3_000, None)
    mw["Gas-CC"] = 0.75 * gas
    mw["Gas"] = 0.25 * gas
    return {fuel: mw[fuel] for fuel in FUELS}


def _day_rows(day: date, timezone: str, labels: list[str], seed: int) -> list[list]:
    starts = local_interval_starts(day, timezone, 15)
    by_label = {label: k for k, label in enumerate(map(_label, starts))}
    rows = []
    for fuel, values in fuel_mw(starts, seed).items():
        mwh = np.round(values / 4, 2)
        cells = [float(mwh[by_label[lab]]) if lab in by_label else None for lab in labels]
        rows.append([day, fuel, SETTLEMENT_TYPE, round(float(mwh.sum()), 2), *cells])
    return rows


def fuel_mix_workbooks(
    days: Sequence[date], timezone: str = "America/Chicago", seed: int = 0
) -> list[FuelMixWorkbook]:
    """One workbook per year of `days`, a sheet per month holding those days."""
    out = []
    for year in sorted({d.year for d in days}):
        sheets: dict[str, list[list]] = {
            "Disclaimer": [["ERCOT Fuel Mix Report (stand-in sample)"]]
        }
        year_days = sorted(d for d in set(days) if d.year == year)
        for month in sorted({d.month for d in year_days}):
            month_days = [d for d in year_days if d.month == month]
            fall_back = any(_has_fall_back(d, timezone) for d in _month(year, month))
            labels = month_labels(fall_back)
            rows = [["Date", "Fuel", "Settlement Type", "Total", *labels]]
            for day in month_days:
                rows += _day_rows(day, timezone, labels, seed)
            sheets[MONTHS[month - 1]] = rows
        posted = year_days[-1] + timedelta(days=2)
        out.append(FuelMixWorkbook(year, posted, xlsx_bytes(sheets)))
    return out


def _month(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    return [
        first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == month
    ]


def _has_fall_back(day: date, timezone: str) -> bool:
    return len(local_interval_starts(day, timezone, 60)) == 25


def _split(books: Sequence[FuelMixWorkbook]) -> tuple[list, list]:
    """(the newest years, linked one by one; the older years, in the previous-years zip)."""
    ordered = sorted(books, key=lambda b: b.year)
    return ordered[-LINKED_YEARS:], ordered[:-LINKED_YEARS]


def _archive_path(older: Sequence[FuelMixWorkbook]) -> str:
    posted = max(book.posted for book in older)
    return f"/files/docs/{posted:%Y/%m/%d}/FuelMixReport_PreviousYears.zip"


def site_files(books: Sequence[FuelMixWorkbook]) -> dict[str, tuple[bytes, str]]:
    """URL path -> (body, content type) of every file the generation page links: the newest
    workbooks, and `FuelMixReport_PreviousYears.zip` holding the older ones (named
    `IntGenByFuel<YYYY>.xlsx`: the capitalization differs by year [3P])."""
    linked, older = _split(books)
    files = {book.path: (book.data, XLSX_TYPE) for book in linked}
    if older:
        stamp = (2020, 1, 1, 0, 0, 0)
        members = [(f"IntGenByFuel{book.year}.xlsx", book.data, stamp) for book in older]
        files[_archive_path(older)] = (deflated_zip(members), "application/zip")
    return files


def generation_page(books: Sequence[FuelMixWorkbook]) -> bytes:
    """A minimal generation page linking the workbooks the way ERCOT's page does."""
    linked, older = _split(books)
    items = [(book.path, f"Fuel Mix Report: {book.year}") for book in linked]
    if older:
        items.append((_archive_path(older), "Fuel Mix Report: Previous Years"))
    links = "\n".join(f'<li><a href="{href}">{text}</a></li>' for href, text in items)
    return (
        "<!DOCTYPE html><html><head><title>Generation</title></head><body>"
        f"<h2>Fuel Mix Report</h2><ul>\n{links}\n</ul></body></html>\n"
    ).encode()
