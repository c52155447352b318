"""Dropped ERCOT fundamentals files (what `power-market ingest` and the inbox sensor take) are
recognized by content (the MIS zips) or by name (the Fuel Mix workbook), parsed and dated."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from power_market_assets.automation.drops import recognize
from power_market_assets.registry.ercot import FUEL_MIX, LOAD, LOAD_FORECAST, SOLAR, WIND
from power_market_standins.ercot_fuel_mix import fuel_mix_workbooks
from power_market_standins.ercot_fundamentals import generate_fundamentals

DAY = date(2024, 11, 3)


@pytest.mark.parametrize("spec", [LOAD, LOAD_FORECAST, WIND, SOLAR], ids=lambda s: s.dataset)
def test_a_dropped_mis_zip_is_recognized(spec, tmp_path: Path) -> None:
    doc = generate_fundamentals(spec, [DAY])[-1]
    path = tmp_path / doc.constructed_name
    path.write_bytes(doc.zip_bytes)
    recognized = recognize(path)
    assert recognized.spec is spec
    assert recognized.operating_days == (DAY,)
    assert recognized.rows > 0


def test_a_dropped_fuel_mix_workbook_is_recognized(tmp_path: Path) -> None:
    (book,) = fuel_mix_workbooks([DAY, date(2024, 11, 4)])
    path = tmp_path / book.file_name
    path.write_bytes(book.data)
    recognized = recognize(path)
    assert recognized.spec is FUEL_MIX
    assert recognized.operating_days == (DAY, date(2024, 11, 4))
    assert recognized.rows == 10 * (100 + 96)
