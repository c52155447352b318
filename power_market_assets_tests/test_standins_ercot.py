"""power_market_standins.ercot: generated documents match real ERCOT MIS bytes and conventions."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES, RT_LMP, RT_PRICES
from power_market_standins.ercot import (
    DAM_HEADER,
    MCPC_HEADER,
    RTM_HEADER,
    SCED_HEADER,
    build_listing,
    corrupt_document,
    format_price,
    generate_documents,
    listing_bytes,
    make_zip,
    write_documents,
)

CT = ZoneInfo("America/Chicago")
NUM = r"-?(0|[1-9]\d*)(\.\d?[1-9])?"  # shortest form, at most 2 decimals, no trailing zero
DAM_LINE = re.compile(rf"^\d\d/\d\d/\d{{4}},(0[1-9]|1\d|2[0-4]):00,[A-Z0-9_.-]+, {NUM},[NY]$")
RTM_LINE = re.compile(
    rf"^\d\d/\d\d/\d{{4}},([1-9]|1\d|2[0-4]),[1-4],[A-Z0-9_.-]+,"
    rf"(RN|PCCRN|LCCRN|PUN|LZ|LZEW|HU|LZ_DC|LZ_DCEW|SH|AH),{NUM},[NY]$"
)
AS_LINE = re.compile(
    rf"^\d\d/\d\d/\d{{4}},(0[1-9]|1\d|2[0-4]):00,(ECRS|NSPIN|REGDN|REGUP|RRS),{NUM},[NY]$"
)
MEMBER = re.compile(r"^cdr\.000\d{5}\.0{16}\.\d{8}\.\d{6}\.[A-Za-z0-9_]+\.csv$")
CONSTRUCTED = re.compile(r"^cdr\.000\d{5}\.0{16}\.\d{8}\.\d{9}\.[A-Za-z0-9_]+_csv\.zip$")


def zip_info(data: bytes) -> zipfile.ZipInfo:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (info,) = zf.infolist()
        return info


def lines_of(csv_bytes: bytes) -> list[str]:
    assert csv_bytes.endswith(b"\n") and b"\r" not in csv_bytes and b'"' not in csv_bytes
    return csv_bytes.decode("ascii").split("\n")[:-1]


@pytest.fixture(scope="module")
def dam_docs():
    return generate_documents(DA_PRICES, [date(2026, 6, 12), date(2026, 6, 13)], n_nodes=30)


@pytest.fixture(scope="module")
def rt_docs():
    return generate_documents(RT_PRICES, [date(2026, 6, 11)], n_nodes=30)


def test_make_zip_reproduces_real_zips_byte_for_byte(real_ercot_dir: Path) -> None:
    for name, published in [
        ("dam-spp.zip", datetime(2026, 6, 11, 12, 51, 32, tzinfo=CT)),
        ("rtm-spp.zip", datetime(2026, 6, 11, 13, 32, 1, tzinfo=CT)),
    ]:
        raw = (real_ercot_dir / name).read_bytes()
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            (member,) = zf.namelist()
            assert make_zip(member, zf.read(member), published) == raw


def test_zip_layout_matches_real(real_ercot_dir: Path, dam_docs, rt_docs) -> None:
    real = zip_info((real_ercot_dir / "dam-spp.zip").read_bytes())
    for doc in (dam_docs[0], rt_docs[0]):
        info = zip_info(doc.zip_bytes)
        for attr in (
            "flag_bits", "create_version", "extract_version", "create_system", "external_attr",
            "internal_attr", "extra", "comment", "compress_type",
        ):  # fmt: skip
            assert getattr(info, attr) == getattr(real, attr), attr
        assert info.filename == doc.csv_name
        assert info.date_time[:5] == doc.publish_time.timetuple()[:5]
        assert doc.zip_bytes[6:8] == b"\x08\x08"  # local header flags
        assert doc.zip_bytes[14:26] == b"\x00" * 12  # CRC and sizes in the data descriptor


def test_dam_text_matches_real_conventions(real_ercot_dir: Path, dam_docs) -> None:
    with zipfile.ZipFile(real_ercot_dir / "dam-spp.zip") as zf:
        real = zf.read(zf.namelist()[0])
    doc = dam_docs[0]
    assert doc.csv_bytes.split(b"\n", 1)[0] == real.split(b"\n", 1)[0] == DAM_HEADER.encode()
    lines = lines_of(doc.csv_bytes)
    for line in lines[1:]:
        assert DAM_LINE.match(line), line
    # The real file follows the same line grammar.
    assert all(DAM_LINE.match(line) for line in real.decode().split("\n")[1:-1])
    rows = [line.split(",") for line in lines[1:]]
    assert {r[0] for r in rows} == {"06/12/2026"}
    assert rows == sorted(rows, key=lambda r: (r[1], r[2].encode()))
    assert len(rows) == 24 * (30 + 7 + 8 + 4)
    assert any(r[3].startswith(" -") for r in rows)  # a few negative prices
    names = {r[2] for r in rows}
    assert {"HB_NORTH", "HB_HUBAVG", "LZ_WEST", "DC_E"} <= names


def test_rt_text_matches_real_conventions(real_ercot_dir: Path, rt_docs) -> None:
    with zipfile.ZipFile(real_ercot_dir / "rtm-spp.zip") as zf:
        real = zf.read(zf.namelist()[0])
    assert real.split(b"\n", 1)[0] == RTM_HEADER.encode()
    assert all(RTM_LINE.match(line) for line in real.decode().split("\n")[1:-1])
    assert len(rt_docs) == 96
    for doc in rt_docs:
        lines = lines_of(doc.csv_bytes)
        assert lines[0] == RTM_HEADER
        assert all(RTM_LINE.match(line) for line in lines[1:])
        assert ", " not in doc.csv_bytes.decode()  # no leading space in RT
    doc = rt_docs[53]  # 13:15-13:30, like the real file
    assert doc.friendly_name == "SPPHLZNP6905_20260611_1330_csv"
    rows = [line.split(",") for line in lines_of(doc.csv_bytes)[1:]]
    assert {(r[1], r[2]) for r in rows} == {("14", "2")}
    assert [r[3] for r in rows] == sorted((r[3] for r in rows), key=str.encode)
    types = {}
    for r in rows:
        types.setdefault(r[4], set()).add(r[3])
    assert types["LZ"] == types["LZEW"] and len(types["LZ"]) == 8
    assert types["LZ_DC"] == types["LZ_DCEW"] and len(types["LZ_DC"]) == 4
    assert types["SH"] == {"HB_BUSAVG"} and types["AH"] == {"HB_HUBAVG"} and len(types["HU"]) == 5
    # Friendly-name time is the interval end: the day's first file is 0015, its last 0000
    # of the next day (hour 24, interval 4), published about 2 minutes later.
    assert rt_docs[0].friendly_name == "SPPHLZNP6905_20260611_0015_csv"
    assert rt_docs[-1].friendly_name == "SPPHLZNP6905_20260612_0000_csv"
    last = lines_of(rt_docs[-1].csv_bytes)[1].split(",")
    assert last[:3] == ["06/11/2026", "24", "4"]
    assert rt_docs[-1].publish_time.date() == date(2026, 6, 12)
    assert timedelta(minutes=1) < rt_docs[-1].publish_time - datetime(2026, 6, 12, tzinfo=CT)
    assert rt_docs[-1].publish_time - datetime(2026, 6, 12, tzinfo=CT) < timedelta(minutes=3)


def test_names(dam_docs, rt_docs) -> None:
    for doc in [*dam_docs, *rt_docs]:
        assert MEMBER.match(doc.csv_name), doc.csv_name
        assert CONSTRUCTED.match(doc.constructed_name), doc.constructed_name
        stem = doc.friendly_name.removesuffix("_csv")
        assert doc.csv_name.endswith(f".{doc.publish_time:%Y%m%d.%H%M%S}.{stem}.csv")
        assert doc.constructed_name.endswith(f".{stem}_csv.zip")
        assert doc.csv_name.startswith(f"cdr.{doc.spec.source.report_type_id:08d}.")
    assert dam_docs[0].friendly_name == "DAMSPNP4190_csv"
    assert dam_docs[0].publish_time.date() == date(2026, 6, 11)  # the day before delivery
    assert 12 <= dam_docs[0].publish_time.hour <= 13


def test_listing_matches_real_shape(real_ercot_dir: Path, dam_docs, rt_docs) -> None:
    for real_name, docs in [("doclist-dam.json", dam_docs), ("doclist-rtm.json", rt_docs)]:
        real_bytes = (real_ercot_dir / real_name).read_bytes()
        real = json.loads(real_bytes)["ListDocsByRptTypeRes"]["DocumentList"]
        generated_bytes = listing_bytes(build_listing(docs))
        gen = json.loads(generated_bytes)["ListDocsByRptTypeRes"]["DocumentList"]
        assert real_bytes.startswith(b'{"ListDocsByRptTypeRes":{"DocumentList":[{"Document":{')
        assert generated_bytes.startswith(b'{"ListDocsByRptTypeRes":{"DocumentList":[{"Document":{')
        assert len(gen) == 2 * len(docs)
        for item in gen:
            doc = item["Document"]
            assert list(doc) == list(real[0]["Document"])  # same keys, same order
            assert all(isinstance(v, str) for v in doc.values())
        for key in ("ILMStatus", "SecurityStatus", "Extension", "ReportTypeID", "Prefix",
                    "ReportName", "DUNS", "DocCount"):  # fmt: skip
            assert gen[0]["Document"][key] == real[0]["Document"][key], key
        # newest first, each _csv directly before its _xml twin with the same PublishDate
        publishes = [datetime.fromisoformat(i["Document"]["PublishDate"]) for i in gen]
        assert publishes == sorted(publishes, reverse=True)
        for csv_item, xml_item in zip(gen[::2], gen[1::2], strict=True):
            assert csv_item["Document"]["FriendlyName"].endswith("_csv")
            assert xml_item["Document"]["FriendlyName"].endswith("_xml")
            assert csv_item["Document"]["PublishDate"] == xml_item["Document"]["PublishDate"]
    by_id = {d.doc_id: d for d in dam_docs}
    for item in build_listing(dam_docs)["ListDocsByRptTypeRes"]["DocumentList"][::2]:
        entry = item["Document"]
        doc = by_id[entry["DocID"]]
        assert entry["ContentSize"] == str(len(doc.zip_bytes))
        published = datetime.fromisoformat(entry["PublishDate"])
        expired = datetime.fromisoformat(entry["ExpiredDate"])
        assert expired.date() == published.date() + timedelta(days=31)
        assert expired.time().isoformat() == "23:59:59"
    rt_entry = build_listing(rt_docs)["ListDocsByRptTypeRes"]["DocumentList"][0]["Document"]
    assert datetime.fromisoformat(rt_entry["ExpiredDate"]).date() == date(2026, 6, 19)


def test_dst_days_dam_and_as() -> None:
    spring, fall = date(2024, 3, 10), date(2024, 11, 3)
    for spec, header in [(DA_PRICES, DAM_HEADER), (AS_PRICES, MCPC_HEADER)]:
        docs = generate_documents(spec, [spring, fall], n_nodes=3)
        assert [d.operating_day for d in docs] == [spring, fall]
        for doc in docs:
            lines = lines_of(doc.csv_bytes)
            assert lines[0] == header
            pattern = DAM_LINE if spec is DA_PRICES else AS_LINE
            assert all(pattern.match(line) for line in lines[1:])
        spring_rows = [r.split(",") for r in lines_of(docs[0].csv_bytes)[1:]]
        hours = list(dict.fromkeys(r[1] for r in spring_rows))
        assert (
            len(hours) == 23 and "03:00" not in hours and hours[:3] == ["01:00", "02:00", "04:00"]
        )
        assert {r[4] for r in spring_rows} == {"N"}
        fall_rows = [r.split(",") for r in lines_of(docs[1].csv_bytes)[1:]]
        labels = list(dict.fromkeys((r[1], r[4]) for r in fall_rows))
        assert len(labels) == 25
        assert labels[1:3] == [("02:00", "N"), ("02:00", "Y")]
        assert {r[4] for r in fall_rows if r[1] != "02:00"} == {"N"}


def test_dst_days_rt() -> None:
    spring = generate_documents(RT_PRICES, [date(2024, 3, 10)], n_nodes=2)
    assert len(spring) == 92
    names = {d.friendly_name.removesuffix("_csv")[-4:] for d in spring}
    assert {"0200", "0315"} <= names and not names & {"0215", "0230", "0245", "0300"}
    hours = [lines_of(d.csv_bytes)[1].split(",")[1] for d in spring]
    assert "3" not in hours and hours.count("2") == 4 and hours.count("4") == 4
    fall = generate_documents(RT_PRICES, [date(2024, 11, 3)], n_nodes=2)
    assert len(fall) == 100
    xhr = [d for d in fall if "xhr" in d.friendly_name]
    assert [d.friendly_name for d in xhr] == [
        f"SPPHLZNP6905_xhr_20241103_{t}_csv" for t in ("0115", "0130", "0145", "0200")
    ]
    firsts = [lines_of(d.csv_bytes)[1].split(",") for d in fall]
    hour2 = [r for r in firsts if r[1] == "2"]
    assert [(r[1], r[2], r[6]) for r in hour2] == [("2", str(i), "N") for i in (1, 2, 3, 4)] + [
        ("2", str(i), "Y") for i in (1, 2, 3, 4)
    ]
    assert all(d.publish_time.utcoffset() == timedelta(hours=-6) for d in xhr)
    suffix = generate_documents(RT_PRICES, [date(2024, 11, 3)], n_nodes=2, xhr_style="suffix")
    assert "SPPHLZNP6905_20241103_0115_xhr_csv" in {d.friendly_name for d in suffix}


def test_as_products_by_era() -> None:
    before, after = generate_documents(AS_PRICES, [date(2023, 6, 9), date(2023, 6, 10)])
    assert before.data_rows == 96 and after.data_rows == 120
    rows = [r.split(",") for r in lines_of(after.csv_bytes)[1:6]]
    assert [r[2] for r in rows] == ["ECRS", "NSPIN", "REGDN", "REGUP", "RRS"]
    assert "ECRS" not in before.csv_bytes.decode()
    assert ", " not in after.csv_bytes.decode()
    assert all(not r[3].startswith("-") for r in rows)


def test_deterministic_and_independent_of_other_days() -> None:
    one = generate_documents(DA_PRICES, [date(2025, 1, 2)], n_nodes=10, seed=3)
    two = generate_documents(DA_PRICES, [date(2025, 1, 1), date(2025, 1, 2)], n_nodes=10, seed=3)
    assert one[0].zip_bytes == two[1].zip_bytes and one[0].doc_id == two[1].doc_id
    other = generate_documents(DA_PRICES, [date(2025, 1, 2)], n_nodes=10, seed=4)
    assert other[0].csv_bytes != one[0].csv_bytes
    rt = generate_documents(RT_PRICES, [date(2025, 1, 2)], n_nodes=10)
    ids = [d.doc_id for d in rt] + [d.xml_doc_id for d in rt] + [one[0].doc_id]
    assert len(set(ids)) == len(ids)


def test_format_price() -> None:
    assert [format_price(v) for v in (35.2, 13.0, -4.22, 0.0, 0.05, -0.5, 99999)] == [
        "35.2", "13", "-4.22", "0", "0.05", "-0.5", "99999",
    ]  # fmt: skip


def test_corrupt_document(dam_docs) -> None:
    doc = dam_docs[0]
    bad = corrupt_document(doc, duplicate_rows=2, spike_price=99999)
    lines = lines_of(bad.csv_bytes)
    assert len(lines) == len(lines_of(doc.csv_bytes)) + 2
    assert lines[1] == lines[3] and lines[2] == lines[4]
    assert lines[1].endswith(", 99999,N")
    assert bad.listing_entry["ContentSize"] == str(len(bad.zip_bytes))
    with zipfile.ZipFile(io.BytesIO(bad.zip_bytes)) as zf:
        assert zf.read(doc.csv_name) == bad.csv_bytes


def test_write_documents(tmp_path: Path, dam_docs) -> None:
    paths = write_documents(dam_docs, tmp_path)
    assert [p.name for p in paths] == [d.constructed_name for d in dam_docs]
    assert paths[0].read_bytes() == dam_docs[0].zip_bytes


SCED_LINE = re.compile(
    rf"^\d\d/\d\d/\d{{4}} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d,[NY],[A-Z0-9_.-]+,{NUM}$"
)


def test_sced_documents_layout_and_counts() -> None:
    for day, runs in [(date(2024, 11, 3), 300), (date(2024, 3, 10), 276), (date(2024, 7, 1), 288)]:
        docs = generate_documents(RT_LMP, [day], n_nodes=2)
        assert len(docs) == runs
        assert len({d.csv_name for d in docs}) == runs and len({d.doc_id for d in docs}) == runs
    doc = docs[0]
    lines = doc.csv_bytes.decode("ascii").split("\n")
    assert lines[0] == SCED_HEADER and lines[-1] == "" and "\r" not in doc.csv_bytes.decode()
    assert all(SCED_LINE.match(line) for line in lines[1:-1]), lines[1:4]
    names = [line.split(",")[2] for line in lines[1:-1]]
    assert names == sorted(names) and len(names) == 2 + 7 + 8 + 4
    stamp = datetime.strptime(lines[1].split(",")[0], "%m/%d/%Y %H:%M:%S")
    assert doc.friendly_name == f"LMPSROSNODENP6788_{stamp:%Y%m%d_%H%M%S}_csv"
    assert MEMBER.match(doc.csv_name) and CONSTRUCTED.match(doc.constructed_name)
    assert 0 < (doc.publish_time.replace(tzinfo=None) - doc.interval_end_local).seconds < 6


def test_sced_repeated_hour_flag_and_xhr() -> None:
    docs = generate_documents(RT_LMP, [date(2024, 11, 3)], n_nodes=1)
    repeated = [d for d in docs if d.dst_repeated]
    assert len(repeated) == 12
    assert all("_xhr_20241103_01" in d.friendly_name for d in repeated)
    assert all(b",Y," in d.csv_bytes and b",N," not in d.csv_bytes for d in repeated)
    extra = generate_documents(RT_LMP, [date(2024, 11, 3)], n_nodes=1, extra_run_rate=0.5)
    assert 300 < len(extra) < 600
    again = generate_documents(RT_LMP, [date(2024, 11, 3)], n_nodes=1)
    assert [d.zip_bytes for d in again] == [d.zip_bytes for d in docs]
