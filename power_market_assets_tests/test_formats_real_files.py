"""Issue 9 "Trust", items 1 and 3: real ISO files that used to fail whole.

1. ERCOT's yearly DAM workbook (report 13060, one sheet per month) dropped whole: every day of
   the year lands from whichever sheet holds it, in one range run, row_count reconciled.
3. ISO-NE's SMD hourly workbook has 24 rows on the spring-forward day: hour ending 02 is
   synthesized (its Notes sheet says so) and must never land on the real hour.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.formats import expected_rows, read_dataset_files
from power_market_assets.formats.archive import sha256_file
from power_market_assets.io import stages
from power_market_assets.io.lake import Lake
from power_market_assets.quality.checks import check_duplicates
from power_market_assets.registry import get_spec
from power_market_assets.registry.ercot import DA_PRICES as ERCOT_DA
from power_market_assets.registry.ercot import HUBS, LOAD_ZONES
from power_market_standins.ercot_history import MONTHS, generate_history_workbook

SPRING_2025, FALL_2025 = date(2025, 3, 9), date(2025, 11, 2)
SPRING_2024 = date(2024, 3, 10)
ISONE_DA = get_spec("ISONE", "da_prices")


@pytest.fixture(scope="module")
def year_workbook(tmp_path_factory) -> Path:
    """A full 2025 13060 workbook (Jan..Dec sheets, real column names), two locations."""
    book = generate_history_workbook(ERCOT_DA, 2025, locations=("HB_NORTH", "LZ_WEST"))
    path = tmp_path_factory.mktemp("ercot_year") / book.member_name
    path.write_bytes(book.xlsx_bytes)
    return path


def _manifest(root: Path, landed: dict[date, Path]) -> pl.DataFrame:
    """Stage 1's manifest of one file landed under several days (what the csv stage writes)."""
    rows = [
        {
            "operating_day": day,
            "source_file": path.name,
            "csv_path": str(path.relative_to(root)),
            "csv_sha256": sha256_file(path),
            "data_rows": 0,
        }
        for day, path in landed.items()
    ]
    return pl.DataFrame(rows)


def _land_copies(root: Path, workbook: Path, days: list[date]) -> dict[date, Path]:
    out = {}
    for day in days:
        folder = root / "lake" / "csv" / day.isoformat()
        folder.mkdir(parents=True)
        (folder / workbook.name).write_bytes(workbook.read_bytes())
        out[day] = folder / workbook.name
    return out


def test_each_day_takes_its_rows_from_whichever_sheet_holds_them(
    year_workbook: Path, tmp_path: Path
) -> None:
    """The workbook landed under a January and an April day: each day gets its own rows
    (from the Jan or the Apr sheet), none is "misfiled", and row_count reconciles."""
    days = [date(2025, 1, 1), date(2025, 4, 1)]
    manifest = _manifest(tmp_path, _land_copies(tmp_path, year_workbook, days))
    parsed = list(stages.parse_days(ERCOT_DA, days, manifest, tmp_path, checks=True))
    assert [p.error for p in parsed] == [None, None]
    for day_result in parsed:
        frame = day_result.frame
        assert frame is not None
        assert set(frame.get_column("operating_day").to_list()) == {day_result.day}
        assert frame.height == 24 * 2
        sheet = MONTHS[day_result.day.month - 1]
        assert set(frame.get_column("source_file").to_list()) == {f"{year_workbook.name}[{sheet}]"}
        outcomes = day_result.outcomes
        assert outcomes["row_count"].passed, outcomes["row_count"].summary
        assert outcomes["duplicates"].passed


def test_a_workbook_listed_for_a_day_it_does_not_cover_is_still_misfiled(
    year_workbook: Path, tmp_path: Path
) -> None:
    """Sharing the parse must not silence the misfiled-file error on a day outside the book."""
    days = [date(2025, 12, 31), date(2026, 1, 1)]
    manifest = _manifest(tmp_path, _land_copies(tmp_path, year_workbook, days))
    parsed = list(stages.parse_days(ERCOT_DA, days, manifest, tmp_path, checks=True))
    assert parsed[0].error is None
    error = parsed[1].error
    assert error is not None and year_workbook.name in str(error)
    assert "but was listed for 2026-01-01" in str(error)


def test_a_workbook_landed_under_many_days_is_parsed_once_per_run(
    year_workbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """365 days sharing one workbook must not read it 365 times (a year would take minutes)."""
    days = [date(2025, 2, 1), date(2025, 2, 2), date(2025, 7, 4)]
    manifest = _manifest(tmp_path, _land_copies(tmp_path, year_workbook, days))
    reads: list[int] = []

    def counting_read(paths, spec):
        reads.append(len(paths))
        return read_dataset_files(paths, spec)

    monkeypatch.setattr(stages, "read_dataset_files", counting_read)
    parsed = list(stages.parse_days(ERCOT_DA, days, manifest, tmp_path, checks=True))
    assert [p.error for p in parsed] == [None, None, None]
    assert reads == [1]


def test_expected_rows_of_a_yearly_workbook_counts_its_sheet_rows(year_workbook: Path) -> None:
    """row_count needs an independent count of a workbook's rows (not its binary lines)."""
    assert expected_rows(year_workbook, ERCOT_DA, data_lines=7) == 8760 * 2


@pytest.mark.slow
def test_a_whole_yearly_dam_workbook_is_ingested_as_one_range_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`power-market ingest` of the real shape (12 month sheets, hubs and load zones): one run
    for 2025-01-01..2025-12-31, 23 hours on the spring day, 25 on the fall-back day with both
    01:00 hours (Repeated Hour Flag N, then Y), and every workbook row in the lake once."""
    from power_market_assets.commands import ingest
    from power_market_assets_tests.helpers import ingest_paths

    locations = (HUBS + LOAD_ZONES)[::5]  # 3 of the 15, to stay fast
    book = generate_history_workbook(ERCOT_DA, 2025, locations=locations)
    path = tmp_path / book.member_name
    path.write_bytes(book.xlsx_bytes)
    root = tmp_path / "root"
    # An in-memory Dagster instance: the on-disk one spends minutes committing 1,500 events
    # of a 365-partition run to SQLite on a busy disk, which is not what this test is about.
    monkeypatch.setattr(ingest, "persistent_instance", lambda root: dg.DagsterInstance.ephemeral())
    assert ingest_paths([path], data_root=str(root)) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "ercot_da_prices_daily 2025-01-01..2025-12-31: success" in out
    lake = Lake.at(root)
    raw = lake.all_partition_files("ercot/da_prices/raw_parquet")
    assert len(raw) == 365
    glob = f"{root}/lake/ercot/da_prices/raw_parquet/*/*.parquet"
    hours = duckdb.sql(
        f"select operating_day, location, count(*) as n from '{glob}' "
        "where operating_day in ('2025-03-09', '2025-11-02', '2025-07-01') group by all"
    ).pl()
    per_day = {d: set(g["n"]) for (d,), g in hours.group_by("operating_day")}
    assert per_day == {SPRING_2025: {23}, FALL_2025: {25}, date(2025, 7, 1): {24}}
    assert hours.height == 3 * len(locations)
    fall_back = pl.read_parquet(lake.partition_file("ercot/da_prices/raw_parquet", "2025-11-02"))
    one_am = fall_back.filter(
        (pl.col("location") == locations[0]) & (pl.col("interval_start_local").dt.hour() == 1)
    ).sort("interval_start_utc")
    assert one_am.height == 2  # 01:00 CDT (flag N) then 01:00 CST (flag Y), an hour apart
    starts = one_am.get_column("interval_start_utc")
    assert (starts[1] - starts[0]).total_seconds() == 3600
    total = duckdb.sql(f"select count(*) from '{glob}'").fetchone()[0]
    assert total == book.rows


# ---------------------------------------------------------------------------------------------
# ISO-NE SMD hourly workbook: the synthesized spring-forward hour


@pytest.fixture(scope="module")
def smd_spring(tmp_path_factory) -> Path:
    from power_market_standins.isone import smd_workbook_bytes

    path = tmp_path_factory.mktemp("smd") / "2024_smd_hourly.xlsx"
    path.write_bytes(smd_workbook_bytes([date(2024, 3, 9), SPRING_2024, date(2024, 3, 11)]))
    return path


def test_smd_sample_is_realistic_on_the_spring_day(smd_spring: Path) -> None:
    """As the real workbooks: 24 rows on every day, the spring day included, and a Notes sheet
    saying HE 02 of the March DST day is the average of HE01 and HE03."""
    sheets = pl.read_excel(smd_spring, sheet_id=0)
    assert "Notes" in sheets
    notes = " ".join(str(v) for v in sheets["Notes"].to_series(0).to_list())
    assert "averag" in notes.lower() and "02" in notes
    hub = sheets["ISO NE CA"].with_columns(pl.col("Date").cast(pl.Date))
    spring = hub.filter(pl.col("Date") == SPRING_2024)
    assert spring.height == 24
    by_hour = {r["Hr_End"]: r for r in spring.iter_rows(named=True)}
    assert by_hour["02"]["DA_LMP"] == pytest.approx(
        (by_hour["01"]["DA_LMP"] + by_hour["03"]["DA_LMP"]) / 2, abs=0.006
    )


def test_the_synthesized_spring_hour_never_lands_on_a_real_one(
    smd_spring: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """HE 02 of the spring day is dropped (and reported), HE 03 keeps the real hour; the
    file passes its duplicates check and row_count reconciles with an independent count."""
    with caplog.at_level(logging.WARNING):
        frame = read_dataset_files([smd_spring], ISONE_DA)
    assert check_duplicates(frame, ISONE_DA).passed
    spring = frame.filter(pl.col("operating_day") == SPRING_2024)
    locations = spring.get_column("location").n_unique()
    assert spring.height == 23 * locations
    dropped = [r.getMessage() for r in caplog.records if "synthesized" in r.getMessage()]
    assert dropped and f"{locations} row(s)" in dropped[0] and smd_spring.name in dropped[0]
    hub = pl.read_excel(smd_spring, sheet_name="ISO NE CA")
    hub = hub.with_columns(pl.col("Date").cast(pl.Date))
    real = hub.filter((pl.col("Date") == SPRING_2024) & (pl.col("Hr_End") == "03"))["DA_LMP"][0]
    first_real_after_01 = (
        spring.filter(pl.col("location") == ".H.INTERNAL_HUB")
        .sort("interval_start_utc")
        .get_column("lmp")[1]
    )
    assert first_real_after_01 == real
    assert expected_rows(smd_spring, ISONE_DA, data_lines=0) == frame.height
