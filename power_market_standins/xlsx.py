"""Workbooks for samples (ISO-NE SMD books, ERCOT yearly history books), via XlsxWriter.

Cells keep their Python type: str as text, int/float as numbers, `date` as an Excel date
(format m/d/yyyy), None as no cell, so a sample can mix date cells and text dates the way
real workbooks do. Output is deterministic (fixed creation time).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import xlsxwriter

Cell = str | int | float | date | None
FIXED_CREATED = datetime(2020, 1, 1)


def xlsx_bytes(sheets: Mapping[str, Sequence[Sequence[Cell]]]) -> bytes:
    """A workbook with one sheet per entry of `sheets` (rows include the header row)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": FIXED_CREATED})
    date_format = workbook.add_format({"num_format": "m/d/yyyy"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                _write(sheet, r, c, value, date_format)
    workbook.close()
    return buffer.getvalue()


def _write(sheet, row: int, col: int, value: Cell, date_format) -> None:
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, col, value)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), date_format)
    else:
        sheet.write_number(row, col, value)
