"""Issue 9, items 4 and 7: values that slip through, and the whole-archive budget.

Item 4: a non-finite price (NaN, inf, -inf, 1e309) or a control character in a location name
is refused by every reader of every ISO at parse time, naming the file, the column and (for
CSV files) the line; a dropped file is refused before anything lands, a served day writes no
raw_parquet partition. Item 7: an archive whose members declare more than the budget (or
inflate too much in total) is refused before anything is inflated.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.automation.drops import recognize
from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.formats import archive, read_dataset_files
from power_market_assets.formats.archive import ArchiveError, extract_csv_members
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.registry import caiso, ercot, isone, nyiso, pjm
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets_tests.helpers import ingest_paths
from power_market_standins import caiso as caiso_samples
from power_market_standins import ercot as ercot_samples
from power_market_standins import isone as isone_samples
from power_market_standins import nyiso as nyiso_samples
from power_market_standins import pjm as pjm_samples
from power_market_standins.ercot_history import generate_history_workbook
from power_market_standins.ercot_server import ErcotStandInServer
from power_market_standins.xlsx import xlsx_bytes

DAY = date(2024, 11, 4)
BAD_PRICES = ["NaN", "inf", "-inf", "1e309"]
JSON_LITERALS = {"NaN": "NaN", "inf": "Infinity", "-inf": "-Infinity", "1e309": "1e309"}
PLACEHOLDER = "__BAD_VALUE__"


@dataclass(frozen=True)
class Case:
    path: Path
    spec: DatasetSpec
    columns: tuple[str, ...]  # the message must name one of these
    where: str | None  # "line 2" / "data row 1": where the file says the cell is


# -- editing real-format files ----------------------------------------------------------------


def _cells(line: bytes) -> list[bytes]:
    return line.rstrip(b"\r").split(b",")


def _bare(cell: bytes) -> bytes:
    return cell.strip().strip(b'"').strip()


def _is_data(line: bytes) -> bool:
    return bool(line.strip()) and _bare(_cells(line)[0]) not in (b"C", b"H", b"T")


def _replace_cell(line: bytes, index: int, value: bytes) -> bytes:
    cells = _cells(line)
    quoted = cells[index].startswith(b'"')
    cells[index] = b'"' + value + b'"' if quoted else value
    return b",".join(cells) + (b"\r" if line.endswith(b"\r") else b"")


def edit_csv(data: bytes, column: str, bad: str | None) -> tuple[bytes, int, int]:
    """Set `column` of the first data line to `bad`, or (None) put a NUL into that line's
    name in every line holding it -> (bytes, its line number, its data-row number)."""
    lines = data.split(b"\n")
    head = next(i for i, line in enumerate(lines) if column.encode() in map(_bare, _cells(line)))
    index = [_bare(c) for c in _cells(lines[head])].index(column.encode())
    rows = [i for i in range(head + 1, len(lines)) if _is_data(lines[i])]
    first = rows[0]
    if bad is not None:
        lines[first] = _replace_cell(lines[first], index, bad.encode())
    else:
        name = _bare(_cells(lines[first])[index])
        for i in rows:
            if _bare(_cells(lines[i])[index]) == name:
                lines[i] = _replace_cell(lines[i], index, name[:2] + b"\x00" + name[2:])
    return b"\n".join(lines), first + 1, rows.index(first) + 1


def json_with(payload: object, set_bad: Callable[[object], None]) -> bytes:
    """The payload with one value replaced by a raw JSON literal (NaN, Infinity, 1e309)."""
    set_bad(payload)
    return json.dumps(payload).encode()


def _json_literal(text: str, bad: str) -> bytes:
    return text.replace(f'"{PLACEHOLDER}"', JSON_LITERALS.get(bad, bad)).encode()


def _nul(name: str) -> str:
    return name[:2] + "\x00" + name[2:]


def edit_json_records(
    data: bytes,
    records: Callable[[dict], list],
    price: str,
    bad: str | None,
    get_name: Callable[[object], str],
    set_name: Callable[[object, str], None],
) -> bytes:
    """Set `price` of the first record to a non-finite literal, or put a NUL into the first
    record's location name wherever it appears."""
    payload = json.loads(data)
    items = records(payload)
    if bad is not None:
        items[0][price] = PLACEHOLDER
        return _json_literal(json.dumps(payload), bad)
    name = get_name(items[0])
    for item in items:
        if get_name(item) == name:
            set_name(item, _nul(name))
    return json.dumps(payload).encode()


def edit_xlsx(data: bytes, column: str, bad: str | None) -> bytes:
    """The workbook with `column` of the first row of its first sheet as the text `bad`, or
    (None) with a NUL in that row's name wherever it appears."""
    sheets = pl.read_excel(io.BytesIO(data), sheet_id=0, engine="calamine")
    tables = {}
    for index, (name, frame) in enumerate(sheets.items()):
        rows = [list(r) for r in frame.rows()]
        at = frame.columns.index(column) if column in frame.columns else -1
        if at < 0:
            pass
        elif index == 0 and bad is not None:
            rows[0][at] = bad
        elif bad is None:
            first = rows[0][at]
            rows = [[*r[:at], _nul(r[at]) if r[at] == first else r[at], *r[at + 1 :]] for r in rows]
        tables[name] = [list(frame.columns), *rows]
    return xlsx_bytes(tables)


# -- one small file per reader ------------------------------------------------------------------


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def _csv_case(
    folder: Path,
    name: str,
    data: bytes,
    spec,
    price: str,
    location: str,
    bad: str | None,
    where: str = "line",
) -> Case:
    column = price if bad is not None else location
    edited, line, row = edit_csv(data, column, bad)
    spot = f"line {line}" if where == "line" else f"data row {row}"
    return Case(_write(folder, name, edited), spec, (column,), spot)


def ercot_csv(folder: Path, bad: str | None) -> Case:
    doc = ercot_samples.generate_documents(ercot.DA_PRICES, [DAY], n_nodes=2)[0]
    return _csv_case(
        folder,
        doc.csv_name,
        doc.csv_bytes,
        ercot.DA_PRICES,
        "SettlementPointPrice",
        "SettlementPoint",
        bad,
    )


def ercot_json(folder: Path, bad: str | None) -> Case:
    docs = ercot_samples.generate_documents(ercot.DA_PRICES, [DAY], n_nodes=2)
    payload = json.loads(ercot_samples.api_json_bytes(docs))
    names = [f["name"] for f in payload["fields"]]
    price, location = names.index("settlementPointPrice"), names.index("settlementPoint")
    rows = payload["data"]
    if bad is not None:
        rows[0][price] = PLACEHOLDER
        data = _json_literal(json.dumps(payload), bad)
    else:
        name = rows[0][location]
        for row in rows:
            row[location] = _nul(name) if row[location] == name else row[location]
        data = json.dumps(payload).encode()
    column = "settlementPointPrice" if bad is not None else "settlementPoint"
    path = _write(folder, "ercot_dam_api.json", data)
    return Case(path, ercot.DA_PRICES, (column,), "data row 1")  # the first record


def ercot_history(folder: Path, bad: str | None) -> Case:
    book = generate_history_workbook(ercot.DA_PRICES, 2019, months=(1,), locations=("HB_NORTH",))
    if bad is None:
        data = edit_xlsx(book.xlsx_bytes, "Settlement Point", None)
        columns = ("Settlement Point", "SettlementPoint", "location")
    else:
        data = edit_xlsx(book.xlsx_bytes, "Settlement Point Price", bad)
        columns = ("Settlement Point Price", "SettlementPointPrice", "lmp")
    return Case(_write(folder, book.member_name, data), ercot.DA_PRICES, columns, None)


def caiso_csv(folder: Path, bad: str | None) -> Case:
    name, data = caiso_samples.day_csv(caiso_samples.generate_rows(caiso.DA_PRICES, [DAY], 2), DAY)
    return _csv_case(folder, name, data, caiso.DA_PRICES, "MW", "NODE", bad)


def nyiso_csv(folder: Path, bad: str | None) -> Case:
    (file,) = nyiso_samples.generate_files(
        nyiso.DA_PRICES, [DAY], nyiso_samples.SampleOptions(n_locations=2)
    )[:1]
    return _csv_case(folder, file.name, file.data, nyiso.DA_PRICES, "LBMP ($/MWHr)", "Name", bad)


def _isone_file(channel: str) -> isone_samples.SampleFile:
    files = isone_samples.generate_files([isone.DA_PRICES], [DAY], 2)
    return next(f for f in files if f.channel == channel)


def isone_csv(folder: Path, bad: str | None) -> Case:
    file = _isone_file("reports")
    return _csv_case(
        folder,
        file.name,
        file.body,
        isone.DA_PRICES,
        "Locational Marginal Price",
        "Location Name",
        bad,
        where="data row",
    )


def isone_json(folder: Path, bad: str | None) -> Case:
    file = _isone_file("webservices")

    def set_name(item: dict, name: str) -> None:
        item["Location"]["$"] = name

    data = edit_json_records(
        file.body,
        lambda p: p["HourlyLmps"]["HourlyLmp"],
        "LmpTotal",
        bad,
        lambda item: item["Location"]["$"],
        set_name,
    )
    columns = ("LmpTotal", "lmp") if bad is not None else ("Location", "location")
    return Case(_write(folder, file.name, data), isone.DA_PRICES, columns, None)


def isone_smd(folder: Path, bad: str | None) -> Case:
    if bad is None:
        pytest.skip("SMD workbooks name locations by sheet: no location cell to corrupt")
    data = edit_xlsx(isone_samples.smd_workbook_bytes([DAY]), "DA_LMP", bad)
    return Case(_write(folder, "smd_hourly.xlsx", data), isone.DA_PRICES, ("DA_LMP", "lmp"), None)


def pjm_json(folder: Path, bad: str | None) -> Case:
    path = pjm_samples.write_json_day(pjm.DA_PRICES, DAY, folder, 2)

    def set_name(item: dict, name: str) -> None:
        item["pnode_name"] = name

    data = edit_json_records(
        path.read_bytes(),
        lambda p: p["items"],
        "total_lmp_da",
        bad,
        lambda item: item["pnode_name"],
        set_name,
    )
    path.write_bytes(data)
    columns = ("total_lmp_da", "lmp") if bad is not None else ("pnode_name", "location")
    return Case(path, pjm.DA_PRICES, columns, None)


def pjm_csv(folder: Path, bad: str | None) -> Case:
    path = pjm_samples.write_csv_day(pjm.DA_PRICES, DAY, folder, 2)
    return _csv_case(
        folder, path.name, path.read_bytes(), pjm.DA_PRICES, "total_lmp_da", "pnode_name", bad
    )


READERS = {
    "ercot_mis_csv": ercot_csv,
    "ercot_api_json": ercot_json,
    "ercot_history_xlsx": ercot_history,
    "caiso_csv": caiso_csv,
    "nyiso_csv": nyiso_csv,
    "isone_csv": isone_csv,
    "isone_json": isone_json,
    "isone_smd_xlsx": isone_smd,
    "pjm_json": pjm_json,
    "pjm_csv": pjm_csv,
}


def _assert_names_the_cell(error: FormatError, case: Case, value: str) -> None:
    message = str(error)
    assert case.path.name in message, message
    assert any(repr(c) in message or f"column {c} " in message for c in case.columns), message
    assert value in message, message
    if case.where is not None:
        assert case.where in message, message


def test_every_reader_reads_the_unedited_sample(tmp_path: Path) -> None:
    """The edits below are the only thing wrong with the files (guards the test itself)."""
    for reader_id, build in READERS.items():
        case = build(tmp_path / reader_id / "ok", "12.5")
        if reader_id == "caiso_csv":  # CAISO adds components up: 12.5 is read, and refused
            with pytest.raises(FormatError, match="LMP 12.5 of NODE .* is not MCE"):
                read_dataset_files([case.path], case.spec)
            continue
        frame = read_dataset_files([case.path], case.spec)
        assert frame.height > 0 and frame["lmp"].is_finite().all(), reader_id
        assert 12.5 in frame["lmp"].to_list(), reader_id


@pytest.mark.parametrize("bad", BAD_PRICES)
@pytest.mark.parametrize("reader_id", list(READERS))
def test_non_finite_price_is_a_format_error_naming_file_column_line(tmp_path, reader_id, bad):
    case = READERS[reader_id](tmp_path, bad)
    with pytest.raises(FormatError) as error:
        read_dataset_files([case.path], case.spec)
    _assert_names_the_cell(error.value, case, bad if reader_id.endswith("csv") else "")
    assert "finite" in str(error.value) or "not a number" in str(error.value)


@pytest.mark.parametrize("reader_id", list(READERS))
def test_control_character_in_a_location_name_is_a_format_error(tmp_path, reader_id):
    case = READERS[reader_id](tmp_path, None)
    with pytest.raises(FormatError) as error:
        read_dataset_files([case.path], case.spec)
    _assert_names_the_cell(error.value, case, "\\x00")
    assert "control character" in str(error.value)


@pytest.mark.parametrize("reader_id", list(READERS))
def test_dropped_file_with_nan_is_refused_and_nothing_lands(tmp_path, reader_id, capsys):
    case = READERS[reader_id](tmp_path / "drop", "NaN")
    original = case.path.read_bytes()
    with pytest.raises(FormatError, match=case.path.name.replace(".", r"\.")):
        recognize(case.path)
    root = tmp_path / "data"
    assert ingest_paths([case.path], data_root=str(root)) == 1
    assert case.path.read_bytes() == original  # left where it was, unchanged
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert "nothing ingested" in capsys.readouterr().out


def test_served_day_with_nan_price_writes_no_raw_partition(tmp_path: Path) -> None:
    listed = ercot_samples.generate_documents(ercot.DA_PRICES, [DAY], n_nodes=2)[0]
    bad, line, _ = edit_csv(listed.csv_bytes, "SettlementPointPrice", "NaN")
    zipped = ercot_samples.make_zip(listed.csv_name, bad, listed.publish_time)
    entry = {**listed.listing_entry, "ContentSize": str(len(zipped))}
    served = dataclasses.replace(listed, csv_bytes=bad, zip_bytes=zipped, listing_entry=entry)
    with ErcotStandInServer([served]) as server:
        defs = build_definitions(data_root=str(tmp_path), ercot_mis_url=server.base_url)
        key = DAY.isoformat()
        run = run_range(defs, "ercot_da_prices_daily", key, key, dg.DagsterInstance.ephemeral())
    assert not run.success
    lake = Lake.at(tmp_path)
    raw = "ercot/da_prices/raw_parquet"
    assert lake.all_partition_files(raw) == []
    reason = lake.failure_marker(raw, key).read_text()
    assert listed.csv_name in reason and f"line {line}" in reason and "'NaN'" in reason


# -- item 7: the whole archive's budget ------------------------------------------------------


def repeated_member_zip(count: int, member: bytes, suffix: str = ".csv") -> bytes:
    """A zip of `count` deflated copies of `member`, compressed once (fast to build even for
    gigabytes of declared content)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = packer.compress(member) + packer.flush()
    crc = zlib.crc32(member)
    out, central = io.BytesIO(), io.BytesIO()
    for i in range(count):
        name = f"zeros_{i:05d}{suffix}".encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(deflated),
                len(member),
                len(name),
                0,
            )
        )
        out.write(name + deflated)
        central.write(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(deflated),
                len(member),
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.write(name)
    start = out.tell()
    directory = central.getvalue()
    out.write(directory)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


@pytest.fixture
def bytes_written(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts every byte extraction writes; stops a run-away extraction at 64 MB."""
    total = 0
    copy = archive._copy_limited

    class Counting:
        def __init__(self, dst):
            self.dst = dst

        def write(self, chunk: bytes) -> int:
            nonlocal total
            total += len(chunk)
            assert total < 64 << 20, "more than 64 MB inflated before the archive was refused"
            return self.dst.write(chunk)

    def counting_copy(src, dst, *args, **kwargs):
        return copy(src, Counting(dst), *args, **kwargs)

    monkeypatch.setattr(archive, "_copy_limited", counting_copy)
    return lambda: total


def test_archive_over_the_total_budget_is_refused_before_inflating(tmp_path, bytes_written):
    data = repeated_member_zip(40, b"1,2,3\n" * 10_000)  # 40 x 60 kB, each well under budget
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"many\.zip: too large: .*2,400,000 bytes"):
        extract_csv_members(data, dest, source_name="many.zip", max_total_bytes=1_000_000)
    assert bytes_written() == 0
    assert list(dest.iterdir()) == []


def test_archive_over_the_total_ratio_is_refused_before_inflating(tmp_path, bytes_written):
    data = repeated_member_zip(40, bytes(64 << 10))  # 2.5 MiB of zeros, each under the grace
    with pytest.raises(ArchiveError, match=r"zeros\.zip: too large: .*zip bomb"):
        extract_csv_members(data, tmp_path / "out", source_name="zeros.zip", max_ratio=50)
    assert bytes_written() == 0
    assert list((tmp_path / "out").iterdir()) == []


def test_default_limits_refuse_1900_members_of_1_mib_zeros_early(tmp_path, bytes_written):
    data = repeated_member_zip(1_900, bytes(1 << 20))  # declares 1.9 GiB
    assert len(data) < 5 << 20
    path = tmp_path / "bomb.zip"
    path.write_bytes(data)
    with pytest.raises(ArchiveError, match="bomb.zip: too large"):
        extract_csv_members(path, tmp_path / "out", source_name="bomb.zip")
    assert bytes_written() < 4 << 20
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["bomb.zip"]


def test_inner_zips_share_the_budget_of_the_outer_archive(tmp_path, bytes_written):
    inner = repeated_member_zip(10, b"1,2,3\n" * 10_000)  # 600 kB declared each
    outer = repeated_member_zip(3, inner, suffix=".zip")
    with pytest.raises(ArchiveError, match="too large"):
        extract_csv_members(
            outer, tmp_path / "out", source_name="outer.zip", max_total_bytes=1_000_000
        )
    # the first inner zip fits, its members are written; the second is refused up front
    assert bytes_written() <= 2 * len(inner) + 600_000


def test_ordinary_archives_still_extract(tmp_path, bytes_written):
    member = b"DeliveryDate,HourEnding\n06/12/2026,01:00\n"
    data = repeated_member_zip(5, member)
    members = extract_csv_members(data, tmp_path / "out", source_name="ok.zip")
    assert len(members) == 5 and bytes_written() == 5 * len(member)
    assert all(m.path.read_bytes() == member for m in members)
