"""ERCOT yearly history workbooks: reader, per-day split, "history" channel, Dagster, backfill."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.automation.runs import daily_job_name, run_range
from power_market_assets.commands.backfill import run_backfill
from power_market_assets.definitions import build_definitions
from power_market_assets.formats import ercot as ercot_format
from power_market_assets.formats import identify_file, read_dataset_files
from power_market_assets.formats.ercot import read_workbook
from power_market_assets.formats.ercot_history import split_workbook
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.ercot_resource import ErcotSource
from power_market_assets.io.lake import Lake
from power_market_assets.registry import ercot
from power_market_assets.sources.landing import read_metadata
from power_market_standins.ercot_history import (
    DAM_COLUMNS,
    HistoryWorkbook,
    generate_history_workbook,
    xlsx_bytes,
)
from power_market_standins.ercot_server import ErcotStandInServer

pytestmark = pytest.mark.slow  # yearly workbooks through Dagster

FALL_BACK, SPRING_FORWARD = date(2019, 11, 3), date(2019, 3, 10)
LOCATIONS = ("HB_HOUSTON", "HB_NORTH", "LZ_WEST")


def _write(tmp_path: Path, book: HistoryWorkbook) -> Path:
    path = tmp_path / book.member_name
    path.write_bytes(book.xlsx_bytes)
    return path


def _per_day_location(frame: pl.DataFrame, day: date) -> list[int]:
    rows = frame.filter(pl.col("operating_day") == day)
    return rows.group_by("location", "location_type").len().sort("location")["len"].to_list()


@pytest.fixture(scope="module")
def da_year() -> HistoryWorkbook:
    """A small 2019 DAM year: three sheets, including both DST days."""
    return generate_history_workbook(ercot.DA_PRICES, 2019, months=(1, 3, 11), locations=LOCATIONS)


# ---------------------------------------------------------------------------------------------
# Reader


@pytest.mark.parametrize(
    ("date_cells", "fallback_style", "flag_column"),
    [
        ("text", "repeat", True),
        ("date", "repeat", True),
        ("text", "hour25", True),
        ("date", "hour25", True),
        ("text", "repeat", False),
    ],
)
def test_dam_workbook_dst_days(tmp_path, date_cells, fallback_style, flag_column) -> None:
    book = generate_history_workbook(
        ercot.DA_PRICES, 2019, months=(3, 11), locations=LOCATIONS, date_cells=date_cells,
        fallback_style=fallback_style, flag_column=flag_column,
    )  # fmt: skip
    frame = read_workbook(_write(tmp_path, book), ercot.DA_PRICES)
    assert frame.schema == pl.Schema(ercot.DA_PRICES.schema)
    assert frame.height == book.rows
    assert _per_day_location(frame, FALL_BACK) == [25, 25, 25]
    assert _per_day_location(frame, SPRING_FORWARD) == [23, 23, 23]
    north = frame.filter(
        (pl.col("location") == "HB_NORTH") & (pl.col("operating_day") == FALL_BACK)
    ).sort("interval_start_utc")
    starts = north["interval_start_utc"].to_list()
    # HE 02 twice: 01:00 CDT (06:00 UTC), then the repeated 01:00 CST (07:00 UTC).
    assert starts[1:3] == [
        datetime(2019, 11, 3, 6, tzinfo=UTC),
        datetime(2019, 11, 3, 7, tzinfo=UTC),
    ]
    assert north["interval_start_utc"].n_unique() == 25
    assert dict(zip(frame["location"], frame["location_type"], strict=True)) == {
        "HB_HOUSTON": "HUB", "HB_NORTH": "HUB", "LZ_WEST": "ZONE",
    }  # fmt: skip
    assert set(frame["source_file"]) == {f"{book.member_name}[Mar]", f"{book.member_name}[Nov]"}


def test_prices_are_the_workbook_cells(tmp_path, da_year) -> None:
    path = _write(tmp_path, da_year)
    frame = read_workbook(path, ercot.DA_PRICES)
    cells = pl.concat(pl.read_excel(path, sheet_id=0).values())
    assert frame["lmp"].dtype == pl.Float64
    assert frame["lmp"].to_list() == cells["Settlement Point Price"].to_list()


def test_rtm_workbook_fall_back_and_types(tmp_path) -> None:
    book = generate_history_workbook(ercot.RT_PRICES, 2019, months=(11,), locations=LOCATIONS)
    frame = read_workbook(_write(tmp_path, book), ercot.RT_PRICES)
    assert frame.height == book.rows
    # Load zones twice (LZ and the energy-weighted LZEW), 100 quarter hours on the fall-back day.
    assert _per_day_location(frame, FALL_BACK) == [100, 100, 100, 100]
    types = frame.filter(pl.col("location") == "LZ_WEST")["location_type"].unique().sort()
    assert types.to_list() == ["ZONE", "ZONE_EW"]


def test_drifted_header_names_workbook_sheet_and_column(tmp_path) -> None:
    header = [c if c != "Settlement Point Price" else "SPP" for c in DAM_COLUMNS]
    good = ["01/01/2019", "01:00", "N", "HB_NORTH", 20.5]
    data = xlsx_bytes([("Jan", list(DAM_COLUMNS), [good]), ("Feb", header, [good])])
    path = tmp_path / "DAMLZHBSPP_2019.xlsx"
    path.write_bytes(data)
    with pytest.raises(FormatError) as error:
        read_workbook(path, ercot.DA_PRICES)
    assert error.value.file == "DAMLZHBSPP_2019.xlsx[Feb]"
    assert "'Settlement Point Price'" in error.value.problem


def test_bad_cell_names_column_and_row(tmp_path) -> None:
    rows = [["01/01/2019", f"{h:02d}:00", "N", "HB_NORTH", 20.5] for h in range(1, 5)]
    rows[2][4] = "n/a"
    path = tmp_path / "DAMLZHBSPP_2019.xlsx"
    path.write_bytes(xlsx_bytes([("Jan", list(DAM_COLUMNS), rows)]))
    with pytest.raises(FormatError, match=r"\[Jan\].*'Settlement Point Price' row 4: 'n/a'"):
        read_workbook(path, ercot.DA_PRICES)


def test_mixed_date_cells_and_blank_rows(tmp_path) -> None:
    """Date cells and text dates in one column, blank rows between: all read; a bad date is
    reported by its Excel row (header = row 1)."""
    rows: list[list] = [
        [date(2019, 1, 1) if h % 2 else "01/01/2019", f"{h:02d}:00", "N", "HB_NORTH", 20.0 + h]
        for h in range(1, 25)
    ]
    rows[5:5] = [[None] * 5, ["", " ", "", "", None]]
    path = tmp_path / "DAMLZHBSPP_2019.xlsx"
    path.write_bytes(xlsx_bytes([("Jan", list(DAM_COLUMNS), rows)]))
    frame = read_workbook(path, ercot.DA_PRICES)
    assert frame["lmp"].to_list() == [20.0 + h for h in range(1, 25)]
    rows[10][0] = "13/45/2019"
    path.write_bytes(xlsx_bytes([("Jan", list(DAM_COLUMNS), rows)]))
    with pytest.raises(FormatError, match="'Delivery Date' row 12: '13/45/2019'"):
        read_workbook(path, ercot.DA_PRICES)


def test_hour_25_only_on_the_fall_back_day(tmp_path) -> None:
    rows = [["01/02/2019", f"{h:02d}:00", "N", "HB_NORTH", 20.0] for h in range(1, 26)]
    path = tmp_path / "DAMLZHBSPP_2019.xlsx"
    path.write_bytes(xlsx_bytes([("Jan", list(DAM_COLUMNS), rows)]))
    with pytest.raises(FormatError, match="not a fall-back day"):
        read_workbook(path, ercot.DA_PRICES)


def test_split_days_read_like_the_workbook(tmp_path, da_year) -> None:
    path = _write(tmp_path, da_year)
    files = split_workbook(path, ercot.DA_PRICES, tmp_path / "days", days=[FALL_BACK])
    assert list(files) == [FALL_BACK]
    (day_file,) = files[FALL_BACK]
    assert day_file.name == "rpt.00013060.0000000000000000.DAMLZHBSPP_2019.Nov.20191103.csv"
    head = day_file.read_bytes()
    assert head.startswith(b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DST")
    assert identify_file(day_file.name, head) == ercot.DA_PRICES
    assert identify_file(path.name, b"PK\x03\x04") == ercot.DA_PRICES
    from_csv = ercot_format.read_files([day_file], ercot.DA_PRICES).drop("source_file")
    whole = read_dataset_files([path], ercot.DA_PRICES)  # the .xlsx dispatch
    from_book = whole.filter(pl.col("operating_day") == FALL_BACK).drop("source_file")
    assert from_csv.equals(from_book)


# ---------------------------------------------------------------------------------------------
# Channel, stand-in, Dagster, backfill


def test_history_channel_fetch(tmp_path, da_year) -> None:
    older = generate_history_workbook(
        ercot.DA_PRICES, 2019, months=(1,), locations=LOCATIONS, friendly_suffix="_xlsx",
        publish_time=datetime(2019, 2, 4, 7, 30, tzinfo=UTC), doc_id="900000001",
    )  # fmt: skip
    with ErcotStandInServer(history=[older, da_year]) as server:
        source = ErcotSource(channel="history", mis_base_url=server.base_url, max_retries=0)
        days = [date(2018, 12, 31), date(2019, 1, 5), FALL_BACK, date(2019, 12, 31)]
        got = source.fetch(ercot.DA_PRICES, days, tmp_path)
        assert sorted(got) == [date(2019, 1, 5), FALL_BACK]  # no 2018 document; Dec not in it
        (landed,) = got[FALL_BACK]
        assert landed.doc_id == da_year.doc_id  # the newest document of the year
        assert landed.url.endswith(f"mirDownload?doclookupId={da_year.doc_id}")
        assert landed.publish_time == da_year.publish_time
        again = source.fetch(ercot.DA_PRICES, [date(2019, 3, 1)], tmp_path)
        assert list(again) == [date(2019, 3, 1)]
        assert server.request_count("mirDownload") == 1  # the year was downloaded once
        split = json.loads((tmp_path / "history" / da_year.doc_id / "split.json").read_text())
        assert split["document"]["sha256"] == hashlib.sha256(da_year.zip_bytes).hexdigest()
        # Datasets without a yearly report use the MIS listing (empty on this stand-in).
        assert source.fetch(ercot.AS_PRICES, [FALL_BACK], tmp_path) == {}
    with pytest.raises(ValueError, match="unknown ERCOT channel"):
        ErcotSource(channel="ftp").fetch(ercot.DA_PRICES, [FALL_BACK], tmp_path)


def _history_env(monkeypatch, server: ErcotStandInServer, root: Path) -> None:
    monkeypatch.setenv("PMA_ERCOT_CHANNEL", "history")
    monkeypatch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))


def test_fall_back_day_through_dagster(tmp_path, da_year, monkeypatch) -> None:
    rt_year = generate_history_workbook(ercot.RT_PRICES, 2019, months=(11,), locations=LOCATIONS)
    with ErcotStandInServer(history=[da_year, rt_year]) as server:
        _history_env(monkeypatch, server, tmp_path)
        defs = build_definitions(data_root=str(tmp_path))
        instance = dg.DagsterInstance.ephemeral()
        for spec, intervals in ((ercot.DA_PRICES, 25), (ercot.RT_PRICES, 100)):
            result = run_range(defs, daily_job_name(spec), "2019-11-03", "2019-11-03", instance)
            assert result.success
            assert all(e.passed for e in result.get_asset_check_evaluations())
            lake = Lake.at(tmp_path)
            raw = pl.read_parquet(
                lake.partition_file(f"ercot/{spec.dataset}/raw_parquet", "2019-11-03")
            )
            assert raw["interval_start_utc"].n_unique() == intervals
            meta = read_metadata(lake.csv_day_dir(f"ercot/{spec.dataset}/csv", "2019-11-03"))
            (origin,) = meta["files"]
            book = da_year if spec is ercot.DA_PRICES else rt_year
            assert origin["doc_id"] == book.doc_id
            assert origin["source_url"].endswith(f"doclookupId={book.doc_id}")
            assert origin["original_name"].endswith(".Nov.20191103.csv")


def test_backfill_command_on_history(tmp_path, da_year, monkeypatch) -> None:
    root = tmp_path / "data"
    with ErcotStandInServer(history=[da_year]) as server:
        _history_env(monkeypatch, server, root)
        err = io.StringIO()
        code = run_backfill(
            "ERCOT", "da_prices", "2019-03-08", "2019-03-12", data_root=str(root), err=err
        )
    assert code == 0, err.getvalue()
    lake = Lake.at(root)
    raw = [p.stem for p in lake.all_partition_files("ercot/da_prices/raw_parquet")]
    assert raw == [f"2019-03-{d:02d}" for d in range(8, 13)]
    assert f"5/5 days  {3 * (24 * 4 + 23):,} rows" in err.getvalue()
    assert lake.partition_file("ercot/da_prices/flattened", "2019-03-01").exists()
    flat = pl.read_parquet(lake.partition_file("ercot/da_prices/flattened", "2019-03-01"))
    assert json.dumps(sorted(c for c in flat.columns if c.startswith("hb_"))) == json.dumps(
        ["hb_houston", "hb_north"]
    )


def test_auto_channel_takes_old_days_from_history_and_recent_ones_from_the_mis(
    tmp_path, da_year, monkeypatch
) -> None:
    """One backfill range can reach back years: days the MIS no longer lists come from the
    yearly workbook, the last week from the MIS listing."""
    from power_market_assets.io import ercot_resource
    from power_market_standins.ercot import generate_documents

    recent = date(2024, 11, 3)
    monkeypatch.setattr(ercot_resource, "_today", lambda tz: date(2024, 11, 5))
    docs = generate_documents(ercot.DA_PRICES, [recent], n_nodes=2)
    with ErcotStandInServer(docs, history=[da_year]) as server:
        source = ErcotSource(channel="auto", mis_base_url=server.base_url, max_retries=0)
        got = source.fetch(ercot.DA_PRICES, [FALL_BACK, recent], tmp_path)
    assert sorted(got) == [FALL_BACK, recent]
    assert got[FALL_BACK][0].doc_id == da_year.doc_id  # the 2019 workbook
    assert got[recent][0].doc_id == docs[0].doc_id  # the MIS document
