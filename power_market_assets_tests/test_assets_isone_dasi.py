"""Issue 10, item 4: ISO-NE day-ahead ancillary prices (the DASI market, from 2025-03-01).

The `isone/as_prices` dataset: the ISO Express "Day-Ahead Hourly Reserve Requirements Prices
Designations and Forecast" CSV and the `/daasreservedata/day/{d}` web service, read on the DST
days in both UNCONFIRMED label forms, fetched from the stand-in under the real URL patterns, and
carried through the combined asset (as_* columns) and `all_isos.as_prices`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets import registry as catalog_registry
from power_market_assets.assets.combined import COMBINED_KINDS, build_combined_assets
from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.formats import isone as fmt
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.quality import checks as quality
from power_market_assets.registry import isone as registry
from power_market_assets.sources.http import HttpClient
from power_market_assets.sources.isone import IsoneReportsClient, fetch_days
from power_market_assets_tests.helpers import isone_source
from power_market_standins import isone as samples
from power_market_standins.isone_server import standin_server

SPEC = registry.AS_PRICES
FALL, SPRING, NORMAL = date(2025, 11, 2), date(2025, 3, 9), date(2025, 11, 3)
BEFORE_DASI = date(2025, 2, 28)
HOURS = {FALL: 25, SPRING: 23, NORMAL: 24}
PRODUCTS = {"TMSR", "TMNSR", "TMOR", "EIR"}


def _read(tmp: Path, files: list[samples.SampleFile]) -> tuple[pl.DataFrame, list[Path]]:
    tmp.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        (tmp / f.name).write_bytes(f.body)
        paths.append(tmp / f.name)
    return fmt.read_files(paths, SPEC), paths


def _labels(body: bytes) -> list[str]:
    lines = body.decode().splitlines()
    return [line.split(",")[2].strip('"') for line in lines if line.startswith('"D"')]


def test_spec_is_the_day_ahead_dasi_market() -> None:
    assert (SPEC.dataset, SPEC.market, SPEC.table_kind, SPEC.interval_minutes) == (
        "as_prices",
        "DAM",
        "ancillary",
        60,
    )
    assert SPEC.first_available == date(2025, 3, 1)
    assert set(SPEC.default_locations) == PRODUCTS
    assert catalog_registry.COMBINED_INPUTS["ISONE"][1] is SPEC


@pytest.mark.parametrize(
    "style",
    [
        samples.ReportStyle(),
        samples.ReportStyle(spring_label="02", transform_fall_label="02"),
    ],
    ids=["02X-omit-02", "repeated-02-omit-03"],
)
@pytest.mark.parametrize("day", [FALL, SPRING])
def test_report_reads_dst_days_in_both_label_forms(tmp_path, style, day) -> None:
    files = samples.report_files(SPEC, day, style=style)
    assert [f.name for f in files] == [f"daasreservedata_{day:%Y%m%d}.csv"]
    labels = _labels(files[0].body)
    if day == FALL:
        assert labels.count("02") == (2 if style.transform_fall_label == "02" else 1)
    frame, paths = _read(tmp_path, files)
    counts = frame.group_by("product").agg(pl.col("interval_start_utc").n_unique().alias("n"))
    assert set(counts["product"]) == PRODUCTS and set(counts["n"]) == {HOURS[day]}
    assert frame.schema == pl.Schema(SPEC.schema)
    assert set(frame["market"]) == {"DAM"} and frame["operating_day"].unique().to_list() == [day]
    for check in (quality.check_schema, quality.check_duplicates, quality.check_gaps):
        assert check(frame, SPEC).passed, check.__name__
    assert sum(fmt.expected_rows(p, SPEC, 0) for p in paths) == frame.height


def test_fall_back_repeated_hour_lands_on_0100_est(tmp_path) -> None:
    style = samples.ReportStyle(transform_fall_label="02")
    frame, _ = _read(tmp_path, samples.report_files(SPEC, FALL, style=style))
    starts = frame.filter(pl.col("product") == "TMSR").sort("interval_start_utc")
    stamps = starts["interval_start_utc"].to_list()
    assert stamps[1] == datetime(2025, 11, 2, 5, tzinfo=UTC)  # HE 02: 01:00 EDT
    assert stamps[2] == datetime(2025, 11, 2, 6, tzinfo=UTC)  # second HE 02: 01:00 EST


@pytest.mark.parametrize("milliseconds", [True, False])
@pytest.mark.parametrize("day", [FALL, SPRING])
def test_webservice_reply_carries_the_report_prices(tmp_path, day, milliseconds) -> None:
    replies = samples.ws_files(SPEC, day, ws_milliseconds=milliseconds)
    assert [f.url_path for f in replies] == [f"daasreservedata/day/{day:%Y%m%d}"]
    from_json, paths = _read(tmp_path / "ws", replies)
    from_csv, _ = _read(tmp_path / "csv", samples.report_files(SPEC, day))
    key = ["interval_start_utc", "product"]
    assert from_json.drop("source_file").sort(key).equals(from_csv.drop("source_file").sort(key))
    assert fmt.expected_rows(paths[0], SPEC, 0) == from_json.height == HOURS[day] * 4


def test_reader_names_the_file_for_bad_input(tmp_path) -> None:
    body = samples.report_files(SPEC, NORMAL)[0].body
    zoned = body.replace(b'"7000"', b'"7002"', 1)
    with pytest.raises(FormatError, match=r"daasreservedata_20251103\.csv.*7002"):
        _read(tmp_path / "a", [_with_body(SPEC, NORMAL, zoned)])
    no_eir = body.replace(b'"FER Price"', b'"FER Designation"')
    with pytest.raises(FormatError, match=r"daasreservedata_20251103\.csv.*FER Price"):
        _read(tmp_path / "b", [_with_body(SPEC, NORMAL, no_eir)])
    cut = b"\n".join(body.split(b"\n")[:12] + body.split(b"\n")[-2:])  # 6 D lines, "24 lines"
    with pytest.raises(FormatError, match=r"daasreservedata_20251103\.csv.*trailer"):
        _read(tmp_path / "c", [_with_body(SPEC, NORMAL, cut)])


def _with_body(spec, day: date, body: bytes) -> samples.SampleFile:
    original = samples.report_files(spec, day)[0]
    return samples.SampleFile(spec, day, "reports", original.url_path, original.name, body, "", 0)


def test_identify_report_and_reply() -> None:
    report = samples.report_files(SPEC, NORMAL)[0]
    reply = samples.ws_files(SPEC, NORMAL)[0]
    assert fmt.identify(report.name, report.body[:400]) is SPEC
    assert fmt.identify(reply.name, reply.body[:400]) is SPEC


# ---------------------------------------------------------------------------------------------
# Stand-in fetch and the Dagster chain


@pytest.fixture(scope="module")
def server():
    with standin_server([BEFORE_DASI, FALL], n_locations=10) as running:
        yield running


def test_reports_channel_fetches_the_query_url_with_the_session(tmp_path, server) -> None:
    http = HttpClient(timeout=(2.0, 1.0), max_retries=2, base_delay=0.01)
    reports = IsoneReportsClient(server.base_url, http)
    before = server.request_count("daasreservedata")
    got = fetch_days(SPEC, [BEFORE_DASI, FALL], tmp_path, reports=reports)
    assert list(got) == [FALL]  # before DASI there is no market: not asked for, not landed
    assert server.request_count("daasreservedata") == before + 1
    assert server.request_count("start=20251102&end=20251102") == 1
    assert [item.original_name for item in got[FALL]] == ["daasreservedata_20251102.csv"]
    assert server.request_count("/tree/ancillary-daas-hourly-rr") == 1


def _run(assets, stages, partition, root: Path, source) -> dg.ExecuteInProcessResult:
    # Keys end with the stage or combined kind ([iso, dataset, stage] or [iso, dataset_stage]).
    keys = [k for a in assets for k in a.keys if k.path[-1].endswith(tuple(stages))]
    return dg.materialize(
        assets,
        selection=dg.AssetSelection.assets(*keys),
        partition_key=partition,
        instance=dg.DagsterInstance.ephemeral(),
        resources={**lake_resources(root), "isone_source": source},
    )


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["reports", "webservices"])
def test_combined_carries_as_columns_and_all_isos_has_isone_rows(tmp_path, server, channel):
    specs = registry.COMBINED_INPUTS
    assets = [a for spec in specs for a in build_dataset_assets(spec)]
    assets.append(build_combined_assets(*specs))
    source = isone_source(server, channel)
    daily = _run(assets, {"csv", "raw_parquet"}, FALL.isoformat(), tmp_path, source)
    assert daily.success and all(e.passed for e in daily.get_asset_check_evaluations())
    monthly = _run(assets, {"flattened", *COMBINED_KINDS}, "2025-11-01", tmp_path, source)
    assert monthly.success
    lake = Lake.at(tmp_path)
    hourly = pl.read_parquet(lake.partition_file("isone/combined/da_as_hourly", "2025-11-01"))
    as_columns = {f"as_{p.lower()}" for p in PRODUCTS}
    assert as_columns <= set(hourly.columns)
    assert hourly.height == 25 and all(hourly[c].null_count() == 0 for c in as_columns)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT product, count(*) FROM all_isos.as_prices WHERE iso = 'ISONE' GROUP BY 1"
        ).fetchall()
    assert dict(rows) == {p: 25 for p in PRODUCTS}


@pytest.mark.slow
def test_month_before_dasi_combines_with_empty_as_columns(tmp_path, server) -> None:
    """Before 2025-03-01 there was no day-ahead reserve market: the AS days are 'not
    available', its month flattens to no rows, and the combined month still succeeds with
    all-null as_* columns (the ISO-NE demo window is in 2024)."""
    specs = registry.COMBINED_INPUTS
    assets = [a for spec in specs for a in build_dataset_assets(spec)]
    assets.append(build_combined_assets(*specs))
    source = isone_source(server, "reports")
    daily = _run(assets, {"csv", "raw_parquet"}, BEFORE_DASI.isoformat(), tmp_path, source)
    assert daily.success
    monthly = _run(assets, {"flattened", *COMBINED_KINDS}, "2025-02-01", tmp_path, source)
    assert monthly.success
    lake = Lake.at(tmp_path)
    hourly = pl.read_parquet(lake.partition_file("isone/combined/da_as_hourly", "2025-02-01"))
    assert hourly.height == 24 and hourly["as_tmsr"].null_count() == 24


@pytest.mark.slow
def test_demo_isone_chain_still_succeeds(tmp_path) -> None:
    """The demo's own ISO-NE step (`isone_daily` then `isone_monthly` through the jobs, against
    the stand-in) on its 2024 window, now with as_prices among the ISO's datasets."""
    from power_market_assets.commands.demo import _run_iso

    instance = dg.DagsterInstance.ephemeral()
    results = _run_iso("ISONE", [date(2024, 11, 3)], Lake.at(tmp_path), instance, nodes=5)
    assert [r.success for r in results] == [True, True]
    native = Lake.at(tmp_path).partition_file("isone/combined/da_as_rt_native", "2024-11-01")
    assert {f"as_{p.lower()}" for p in PRODUCTS} <= set(pl.read_parquet(native).columns)
