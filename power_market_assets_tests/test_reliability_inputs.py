"""Bad input (issue 5): files dropped into the landing inbox or served by an ISO.

Every bad file goes through the real landing sensor (one tick for all of them): it must
never crash, must keep each refused file in landing/quarantine/ with a reason, and must
write nothing outside its folders. Files with a documented handling (encodings, line
endings, extra columns, a name whose date differs from the contents) are run end to end.
Format-level parsing of the same inputs is covered in test_formats_ercot.py.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.automation.drops import Recognized, land
from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.io.resources import LakeResource
from power_market_assets.registry.ercot import DA_PRICES
from power_market_standins.ercot import SampleDocument, generate_documents, make_zip
from power_market_standins.ercot_server import ErcotStandInServer

FIRST = date(2024, 11, 5)
DAYS = [FIRST + timedelta(days=i) for i in range(8)]
RAW_DA = "ercot/da_prices/raw_parquet"


@pytest.fixture(scope="module")
def docs() -> list[SampleDocument]:
    return generate_documents(DA_PRICES, DAYS, n_nodes=2)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2024, 11, 4, 12, 0, 0))
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _drop_columns(text: str, index: int) -> str:
    return "\n".join(
        ",".join(c for i, c in enumerate(line.split(",")) if i != index) if line else line
        for line in text.split("\n")
    )


def _set_cell(text: str, row: int, col: int, value: str) -> str:
    lines = text.split("\n")
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines)


def refused_inputs(doc: SampleDocument) -> dict[str, tuple[bytes, str]]:
    """File name -> (bytes, what the quarantine reason must say)."""
    text = doc.csv_bytes.decode("ascii")
    header = text.split("\n", 1)[0]
    lines = text.split("\n")
    nested = doc.csv_bytes
    for level in range(4):  # a csv inside four zips: one level more than allowed
        nested = _zip({f"level{level}.{'csv' if level == 0 else 'zip'}": nested})
    return {
        "escape_dotdot.zip": (_zip({"../../escaped.csv": doc.csv_bytes}), "path escape"),
        "escape_absolute.zip": (_zip({"/tmp/escaped_abs.csv": doc.csv_bytes}), "absolute path"),
        "bomb.zip": (_zip({"bomb.csv": header.encode() + b"\n" + b"0" * (8 << 20)}), "zip bomb"),
        "too_deep.zip": (nested, "nested more than 3 levels"),
        "renamed_column.csv": (
            text.replace("SettlementPointPrice", "PriceUSD", 1).encode(),
            "matches no known dataset",
        ),
        "missing_column.csv": (_drop_columns(text, 3).encode(), "matches no known dataset"),
        "price_not_a_number.csv": (
            _set_cell(text, 3, 3, " n/a").encode(),
            "price ' n/a' is not a number",
        ),
        "price_empty.csv": (_set_cell(text, 2, 3, "").encode(), "empty price cell"),
        "empty.csv": (b"", "is empty (0 bytes)"),
        "header_only.csv": ((header + "\n").encode(), "no data rows"),
        "duplicate_rows.csv": (
            (text + "\n".join(lines[1:4]) + "\n").encode(),
            "duplicate",
        ),
        "utf16.csv": (text.encode("utf-16"), "matches no known dataset"),
    }


def accepted_inputs(docs: list[SampleDocument]) -> dict[str, tuple[bytes, date, str]]:
    """File name -> (bytes, operating day it must land on, a location that must survive)."""
    by_day = {d.operating_day: d.csv_bytes.decode("ascii") for d in docs}
    latin = by_day[DAYS[0]].replace("HB_BUSAVG", "HB_BUSÁVG")
    return {
        "latin1.csv": (latin.encode("latin-1"), DAYS[0], "HB_BUSÁVG"),
        "utf8_bom.csv": (b"\xef\xbb\xbf" + by_day[DAYS[1]].encode(), DAYS[1], "HB_NORTH"),
        "crlf.csv": (by_day[DAYS[2]].replace("\n", "\r\n").encode(), DAYS[2], "HB_NORTH"),
        "lf.csv": (by_day[DAYS[3]].encode(), DAYS[3], "HB_NORTH"),
        "extra_column.csv": (
            "\n".join(
                f"{line},X" if line else line for line in by_day[DAYS[4]].split("\n")
            ).encode(),
            DAYS[4],
            "HB_NORTH",
        ),
        # ERCOT names carry the publication date; the contents decide the operating day.
        "cdr.00012331.0000000000000000.20250101.120000.DAMSPNP4190.csv": (
            by_day[DAYS[5]].encode(),
            DAYS[5],
            "HB_NORTH",
        ),
    }


def _tick(defs: dg.Definitions, root: Path) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def("landing_inbox")
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=None,
        resources={"lake": LakeResource(data_root=str(root))},
        definitions=defs,
    )
    return sensor.evaluate_tick(context)


def test_bad_inputs_are_quarantined_with_a_reason_and_never_escape(tmp_path, docs) -> None:
    root = tmp_path / "data"
    lake = Lake.at(root)
    lake.inbox_dir.mkdir(parents=True)
    cases = refused_inputs(docs[-1])
    for name, (data, _) in cases.items():
        (lake.inbox_dir / name).write_bytes(data)

    result = _tick(build_definitions(data_root=str(root), inbox_settle_seconds=0), root)

    assert result.run_requests == []
    assert list(lake.inbox_dir.iterdir()) == []
    reasons = {
        p.name.split("-", 1)[1].removesuffix(".reason.txt"): p.read_text()
        for p in lake.quarantine_dir.glob("*.reason.txt")
    }
    assert set(reasons) == set(cases)
    for name, (data, expected) in cases.items():
        assert expected in reasons[name], (name, reasons[name])
        (kept,) = lake.quarantine_dir.glob(f"*-{name}")
        assert kept.read_bytes() == data  # the offending file is kept, unchanged
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not {"escaped.csv", "escaped_abs.csv"} & written
    assert not Path("/tmp/escaped_abs.csv").exists()
    assert not lake.lake_dir.exists() and not (lake.landing_dir / "ercot").exists()


@pytest.mark.slow
def test_documented_inputs_land_and_run(tmp_path, docs) -> None:
    root = tmp_path / "data"
    lake = Lake.at(root)
    lake.inbox_dir.mkdir(parents=True)
    cases = accepted_inputs(docs)
    for name, (data, _, _) in cases.items():
        (lake.inbox_dir / name).write_bytes(data)
    defs = build_definitions(data_root=str(root), inbox_settle_seconds=0)

    result = _tick(defs, root)

    by_day = {r.partition_key: r for r in result.run_requests}
    assert set(by_day) == {day.isoformat() for _, day, _ in cases.values()}
    assert not lake.quarantine_dir.exists()
    instance = dg.DagsterInstance.ephemeral()
    for name, (_, day, location) in cases.items():
        request = by_day[day.isoformat()]
        run = defs.resolve_job_def(request.job_name).execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            run_config=request.run_config,
            raise_on_error=False,
        )
        assert run.success, name
        raw = pl.read_parquet(lake.partition_file(RAW_DA, day.isoformat()))
        assert raw.height == 24 * raw["location"].n_unique(), name
        assert location in raw["location"].to_list(), name
        assert raw["lmp"].dtype == pl.Float64 and raw["lmp"].null_count() == 0


def test_iso_file_whose_rows_belong_to_another_day_fails_that_day(tmp_path, docs) -> None:
    listed, other = docs[0], docs[2]
    wrong = make_zip(listed.csv_name, other.csv_bytes, listed.publish_time)
    entry = {**listed.listing_entry, "ContentSize": str(len(wrong))}
    served = dataclasses.replace(
        listed, csv_bytes=other.csv_bytes, zip_bytes=wrong, listing_entry=entry
    )
    with ErcotStandInServer([served]) as server:
        defs = build_definitions(data_root=str(tmp_path), ercot_mis_url=server.base_url)
        key = listed.operating_day.isoformat()
        run = run_range(defs, "ercot_da_prices_daily", key, key, dg.DagsterInstance.ephemeral())
    assert not run.success
    lake = Lake.at(tmp_path)
    marker = lake.failure_marker(RAW_DA, key)
    assert f"holds rows for operating day {other.operating_day}" in marker.read_text()
    assert lake.all_partition_files(RAW_DA) == []


@pytest.mark.parametrize("dataset", ["../../etc", "a/b", "..", ".hidden", "x\x00y"])
def test_hostile_dataset_names_cannot_escape_the_data_root(tmp_path, dataset) -> None:
    lake = Lake.at(tmp_path / "data")
    dropped = tmp_path / "file.csv"
    dropped.write_text("x\n")
    hostile = dataclasses.replace(DA_PRICES, dataset=dataset)
    with pytest.raises(ValueError, match="unsafe path component"):
        land(Recognized(dropped, hostile, (FIRST,), 1), lake)
    try:  # a lake path is split on "/": each part must be safe, the whole stays inside
        inside = lake.csv_day_dir(f"ercot/{dataset}/csv", FIRST.isoformat())
    except ValueError as exc:
        assert "unsafe path component" in str(exc)
    else:
        assert inside.resolve().is_relative_to(lake.lake_dir)
    assert [p.name for p in tmp_path.rglob("*")] == ["file.csv"]


def test_hostile_file_name_lands_inside_its_folder(tmp_path, docs) -> None:
    lake = Lake.at(tmp_path / "data")
    lake.inbox_dir.mkdir(parents=True)
    name = "é $(rm -rf) ;'..\"name.csv"
    (lake.inbox_dir / name).write_bytes(docs[6].csv_bytes)
    result = _tick(build_definitions(data_root=str(lake.root), inbox_settle_seconds=0), lake.root)
    assert [r.partition_key for r in result.run_requests] == [DAYS[6].isoformat()]
    landed = lake.landing_day_dir("ERCOT", "da_prices", DAYS[6].isoformat()) / name
    assert landed.read_bytes() == docs[6].csv_bytes
    assert {p.name for p in tmp_path.rglob("*") if p.is_file()} == {name}


def test_recognize_turns_reader_crashes_into_format_errors(tmp_path) -> None:
    """A header-only ERCOT file made Polars panic (a BaseException) inside the reader."""
    from power_market_assets.io.stages import read_files_guarded

    path = tmp_path / "header_only.csv"
    path.write_text("DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n")
    try:
        frame = read_files_guarded([path], DA_PRICES, label="t")
    except FormatError as exc:
        assert "header_only.csv" in str(exc)
    else:
        assert frame.height == 0
