"""ERCOT rt_lmp (SCED LMPs, NP6-788-CD): reader, DST days, checks and Dagster for one day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.formats.csvjoin import split_csv
from power_market_assets.formats.ercot import identify, read_files, read_texts
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.ercot_resource import ErcotSource
from power_market_assets.io.lake import Lake
from power_market_assets.quality.checks import check_duplicates, check_gaps, check_price_range
from power_market_assets.registry.ercot import ERCOT_DATASETS, RT_LMP
from power_market_assets.transforms.flatten import flatten
from power_market_standins.ercot import SCED_HEADER, generate_documents, write_documents
from power_market_standins.ercot_server import ErcotStandInServer

CT = ZoneInfo("America/Chicago")
FALL_BACK, SPRING_FORWARD = date(2024, 11, 3), date(2024, 3, 10)
N_NODES = 3
POINTS = N_NODES + 7 + 8 + 4  # nodes, hubs, load zones, DC ties (each once: no type column)


def _read_docs(docs) -> pl.DataFrame:
    return read_texts([split_csv(d.csv_bytes, d.csv_name) for d in docs], RT_LMP)


@pytest.fixture(scope="module")
def fall_back_docs():
    return generate_documents(RT_LMP, [FALL_BACK], n_nodes=N_NODES)


def test_spec_is_registered_after_the_first_three() -> None:
    assert [s.dataset for s in ERCOT_DATASETS][:4] == [
        "da_prices",
        "rt_prices",
        "as_prices",
        "rt_lmp",
    ]
    assert RT_LMP.irregular_intervals and RT_LMP.interval_minutes == 5
    assert (RT_LMP.report_code, str(RT_LMP.source.report_type_id)) == ("NP6-788-CD", "12300")
    assert RT_LMP.source.api_path == "np6-788-cd/lmp_node_zone_hub"


def test_fall_back_day_runs_through_both_one_am_hours(fall_back_docs) -> None:
    frame = _read_docs(fall_back_docs)
    assert dict(frame.schema) == RT_LMP.schema
    assert frame.height == 300 * POINTS  # one run per 5-minute bucket over 25 hours
    north = frame.filter(pl.col("location") == "HB_NORTH")
    starts = north["interval_start_utc"]
    assert starts.n_unique() == 300
    ordered = starts.sort()
    assert (ordered.diff().drop_nulls() > timedelta(0)).all()
    # The SCED second is kept (no 5-minute grid is invented) ...
    assert (ordered.dt.second() != 0).all()
    # ... and 01:xx local happens twice: 06:xx UTC (CDT, flag N) and 07:xx UTC (CST, flag Y).
    local_one = north.filter(pl.col("interval_start_local").dt.hour() == 1)
    assert local_one.height == 24
    assert sorted(local_one["interval_start_utc"].dt.hour().unique().to_list()) == [6, 7]
    assert frame["operating_day"].unique().to_list() == [FALL_BACK]
    assert (frame["interval_end_utc"] - frame["interval_start_utc"]).unique().to_list() == [
        timedelta(minutes=5)
    ]
    kinds = dict(frame.group_by("location_type").len().iter_rows())
    assert kinds == {"HUB": 7 * 300, "ZONE": 8 * 300, "DC_TIE": 4 * 300, "NODE": N_NODES * 300}
    for check in (check_duplicates, check_gaps, check_price_range):
        outcome = check(frame, RT_LMP)
        assert outcome.passed, outcome.summary
    assert check_gaps(frame, RT_LMP).metadata["expected_intervals"] == 300


def test_repeated_hour_flag_decides_not_the_clock() -> None:
    body = SCED_HEADER + "\n11/03/2024 01:05:13,Y,HB_NORTH,21\n11/03/2024 01:05:13,N,HB_NORTH,20\n"
    frame = read_texts([split_csv(body.encode(), "sced.csv")], RT_LMP).sort("lmp")
    assert frame["interval_start_utc"].to_list() == [
        datetime(2024, 11, 3, 6, 5, 13, tzinfo=UTC),
        datetime(2024, 11, 3, 7, 5, 13, tzinfo=UTC),
    ]
    assert check_duplicates(frame, RT_LMP).passed


def test_spring_forward_day_has_no_two_am() -> None:
    docs = generate_documents(RT_LMP, [SPRING_FORWARD], n_nodes=N_NODES)
    assert len(docs) == 276
    frame = _read_docs(docs)
    local_hours = frame["interval_start_local"].dt.hour().unique().sort().to_list()
    assert 2 not in local_hours and len(local_hours) == 23
    assert frame["interval_start_utc"].n_unique() == 276
    assert check_gaps(frame, RT_LMP).passed
    assert check_duplicates(frame, RT_LMP).passed


def test_a_missing_sced_run_is_a_gap_and_an_extra_run_is_not(fall_back_docs) -> None:
    run = next(d for d in fall_back_docs if d.interval_end_local.strftime("%H:%M") == "10:05")
    gapped = _read_docs([d for d in fall_back_docs if d is not run])
    outcome = check_gaps(gapped, RT_LMP)
    assert not outcome.passed
    assert outcome.metadata["missing_intervals"] == 1
    assert outcome.metadata["missing_pairs"] == POINTS
    assert "10:05:00" in (outcome.sample_markdown or "")  # the bucket start, local
    # A second SCED run inside some buckets: more stamps, still no gap and no duplicate.
    extra = generate_documents(RT_LMP, [FALL_BACK], n_nodes=N_NODES, extra_run_rate=0.2)
    frame = _read_docs(extra)
    assert frame["interval_start_utc"].n_unique() == len(extra) > 300
    assert check_gaps(frame, RT_LMP).passed
    assert check_duplicates(frame, RT_LMP).passed


def test_flatten_keeps_observed_sced_timestamps(fall_back_docs) -> None:
    extra = generate_documents(RT_LMP, [FALL_BACK], n_nodes=N_NODES, extra_run_rate=0.1)
    result = flatten(_read_docs(extra), RT_LMP)
    assert result.frame.height == len(extra)
    assert result.frame["interval_start_utc"].is_sorted()
    assert result.expected_intervals == 300 and result.missing_intervals == 0
    assert result.filled_cells == 0 and result.unfilled_null_cells == 0


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("SCEDTime,RepeatedHourFlag,SettlementPoint,LMP", "SCEDTimestamp"),
        ("SCEDTimestamp,RepeatedHourFlag,SettlementPoint,Price", "LMP"),
        ("SCEDTimestamp,RepeatedHourFlag,LMP", "SettlementPoint"),
    ],
)
def test_drifted_sced_header_names_file_and_column(header: str, column: str) -> None:
    cells = header.count(",") + 1
    row = ",".join(["11/03/2024 00:00:12", "N", "HB_NORTH", "20"][:cells])
    text = split_csv(f"{header}\n{row}\n".encode(), "LMPSROSNODENP6788_drift.csv")
    with pytest.raises(FormatError) as info:
        read_texts([text], RT_LMP)
    assert info.value.file == "LMPSROSNODENP6788_drift.csv"
    assert column in info.value.problem


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("2024-13-45 00:00:12,N,HB_NORTH,20", ["SCEDTimestamp", "2024-13-45 00:00:12"]),
        ("03/10/2024 02:10:12,N,HB_NORTH,20", ["does not exist"]),
        ("11/03/2024 00:00:12,N,HB_NORTH,n/a", ["LMP", "n/a"]),
    ],
)
def test_bad_sced_cells_name_file_and_value(row: str, words: list[str]) -> None:
    text = split_csv(f"{SCED_HEADER}\n{row}\n".encode(), "bad.csv")
    with pytest.raises(FormatError) as info:
        read_texts([text], RT_LMP)
    assert info.value.file == "bad.csv"
    assert all(w in str(info.value) for w in words), str(info.value)


def test_identify_sced_csv() -> None:
    assert identify("x.csv", (SCED_HEADER + "\n").encode()) is RT_LMP
    assert identify("x.csv", b"SCEDTimestamp,RepeatedHourFlag,ElectricalBus,LMP\n") is None


@pytest.mark.slow
def test_dagster_one_fall_back_day(tmp_path: Path, fall_back_docs) -> None:
    """csv + raw_parquet for 2024-11-03 from the stand-in MIS, then the month's flattened."""
    assets = build_dataset_assets(RT_LMP)
    with ErcotStandInServer(fall_back_docs) as server:
        resources = {
            **lake_resources(tmp_path),
            "ercot_source": ErcotSource(mis_base_url=server.base_url, backoff_seconds=0.01),
        }
        daily = dg.materialize(
            assets,
            selection=dg.AssetSelection.assets(*assets[0].keys),
            partition_key=FALL_BACK.isoformat(),
            resources=resources,
        )
        monthly = dg.materialize(
            assets,
            selection=dg.AssetSelection.assets(assets[1].key),
            partition_key="2024-11-01",
            resources=resources,
        )
    assert daily.success and monthly.success
    checks = {e.check_name: e.passed for e in daily.get_asset_check_evaluations()}
    assert checks == {n: True for n in ("schema", "duplicates", "row_count", "gaps", "price_range")}
    lake = Lake.at(tmp_path)
    raw = pl.read_parquet(lake.partition_file("ercot/rt_lmp/raw_parquet", FALL_BACK.isoformat()))
    assert raw.height == 300 * POINTS
    assert (
        raw.group_by("location")
        .agg(pl.col("interval_start_utc").n_unique())["interval_start_utc"]
        .to_list()
        == [300] * POINTS
    )
    flat_files = lake.all_partition_files("ercot/rt_lmp/flattened")
    assert len(flat_files) == 1
    flat = pl.read_parquet(flat_files[0])
    assert flat.height == 300 and "hb_north" in flat.columns
    assert flat["interval_start_utc"].is_sorted()


def test_landing_a_dropped_day_of_sced_zips(tmp_path: Path, fall_back_docs) -> None:
    """The zips as ERCOT serves them land and parse like any day (read_files on the CSVs)."""
    from power_market_assets.sources.landing import land_operating_day

    paths = write_documents(fall_back_docs[:5], tmp_path / "zips")
    rows = land_operating_day(FALL_BACK, paths, tmp_path / "day")
    frame = read_files([Path(r["csv_path"]) for r in rows], RT_LMP)
    assert frame.height == 5 * POINTS
    assert sum(r["data_rows"] for r in rows) == frame.height
