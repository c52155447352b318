"""formats/archive.py: safe extraction of (nested) zips and the atomic-write helpers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from power_market_assets.formats.archive import (
    ArchiveError,
    atomic_path,
    atomic_write_bytes,
    extract_csv_members,
)
from power_market_standins.ercot_server import corrupt_zip_bytes

CSV = b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"
CSV += b"06/12/2026,01:00,HB_NORTH, 35.06,N\n"


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 6, 11, 12, 0, 0)), data, compress_type=method)
    return buf.getvalue()


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "evil", ["../x.csv", "/abs.csv", "a/../../x.csv", "C:\\evil.csv", "C:/evil.csv", "..\\x.csv"]
)
def test_path_escape_members_are_rejected(tmp_path: Path, evil: str) -> None:
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_bytes({"ok.csv": CSV, evil: CSV}))
    dest = tmp_path / "out" / "day"
    before = all_files(tmp_path)
    with pytest.raises(ArchiveError) as err:
        extract_csv_members(archive, dest, source_name="evil.zip")
    assert "evil.zip" in str(err.value)
    assert "escape" in str(err.value) or "absolute" in str(err.value)
    # Nothing new outside dest (the good member before it may be inside dest only).
    outside = {p for p in all_files(tmp_path) - before if dest not in p.parents}
    assert outside == set()
    assert not (tmp_path / "x.csv").exists() and not Path("/abs.csv").exists()


def test_members_in_subfolders_are_written_by_basename(tmp_path: Path) -> None:
    data = zip_bytes({"some/folder/a.csv": CSV, "readme.txt": b"skip me"})
    members = extract_csv_members(data, tmp_path / "out", source_name="folders.zip")
    assert [m.name for m in members] == ["a.csv"]
    assert members[0].path == tmp_path / "out" / "a.csv"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv"]


def test_zip_bomb_ratio_limit(tmp_path: Path) -> None:
    bomb = zip_bytes({"bomb.csv": b"0" * (20 << 20)})  # 20 MB of zeros, ~1000x
    assert len(bomb) < 100_000
    with pytest.raises(ArchiveError, match="bomb.zip.*too large"):
        extract_csv_members(bomb, tmp_path / "out", source_name="bomb.zip")
    assert not any((tmp_path / "out").iterdir())  # no partial member left


def test_total_size_limit(tmp_path: Path) -> None:
    data = zip_bytes({"a.csv": CSV * 100, "b.csv": CSV * 100}, zipfile.ZIP_STORED)
    with pytest.raises(ArchiveError, match="too large"):
        extract_csv_members(data, tmp_path / "out", source_name="big.zip", max_total_bytes=5000)


def test_nested_zip_of_zips(tmp_path: Path) -> None:
    inner1 = zip_bytes({"cdr.1.csv": CSV})
    inner2 = zip_bytes({"cdr.2.csv": CSV + b"06/12/2026,02:00,HB_NORTH, 30,N\n"})
    outer = zip_bytes({"111.cdr.1_csv.zip": inner1, "222.cdr.2_csv.zip": inner2})
    members = extract_csv_members(outer, tmp_path / "out", source_name="bulk.zip")
    by_name = {m.name: m for m in members}
    assert set(by_name) == {"cdr.1.csv", "cdr.2.csv"}
    assert by_name["cdr.1.csv"].archive_chain == ("bulk.zip", "111.cdr.1_csv.zip")
    assert by_name["cdr.1.csv"].path.read_bytes() == CSV
    assert by_name["cdr.2.csv"].size_bytes == len(CSV) + 32


def test_too_deep(tmp_path: Path) -> None:
    data = zip_bytes({"a.csv": CSV})
    for level in range(3):
        data = zip_bytes({f"level{level}.zip": data})
    with pytest.raises(ArchiveError, match="too deep"):
        extract_csv_members(data, tmp_path / "out", source_name="deep.zip", max_depth=3)
    assert len(extract_csv_members(data, tmp_path / "ok", source_name="deep.zip", max_depth=4))


def test_corrupt_and_truncated_zips_name_the_file(tmp_path: Path) -> None:
    good = zip_bytes({"a.csv": CSV * 50})
    for label, data in [
        ("corrupt", corrupt_zip_bytes(good)),
        ("truncated", good[: len(good) // 2]),
        ("garbage", b"PK\x03\x04" + b"\x00" * 40),
    ]:
        path = tmp_path / f"{label}.zip"
        path.write_bytes(data)
        with pytest.raises(ArchiveError) as err:
            extract_csv_members(path, tmp_path / label, source_name=path.name)
        assert path.name in str(err.value) and "bad zip" in str(err.value)
    html = tmp_path / "page.zip"
    html.write_bytes(b"<html>error</html>")
    with pytest.raises(ArchiveError, match="page.zip: bad zip"):
        extract_csv_members(html, tmp_path / "html", source_name="page.zip")


def test_bad_member_crc_is_an_archive_error(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"a.csv": CSV * 20}, zipfile.ZIP_STORED))
    start = data.find(b"DeliveryDate")
    data[start] = ord("X")  # content changed, CRC no longer matches
    with pytest.raises(ArchiveError, match="crc.zip"):
        extract_csv_members(bytes(data), tmp_path / "out", source_name="crc.zip")


def test_bare_csv_is_copied(tmp_path: Path) -> None:
    src = tmp_path / "dropped.csv"
    src.write_bytes(CSV)
    (member,) = extract_csv_members(src, tmp_path / "out", source_name="dropped.csv")
    assert member.name == "dropped.csv" and member.path.read_bytes() == CSV
    assert member.archive_chain == ()
    (member,) = extract_csv_members(CSV, tmp_path / "out2", source_name="bytes.csv")
    assert member.path.name == "bytes.csv"


def test_duplicate_member_names(tmp_path: Path) -> None:
    same = zip_bytes({"x/a.csv": CSV, "y/a.csv": CSV})
    assert len(extract_csv_members(same, tmp_path / "same", source_name="same.zip")) == 1
    different = zip_bytes({"x/a.csv": CSV, "y/a.csv": CSV + CSV})
    with pytest.raises(ArchiveError, match="duplicate"):
        extract_csv_members(different, tmp_path / "diff", source_name="diff.zip")


def test_real_dam_zip(real_ercot_dir: Path, tmp_path: Path) -> None:
    (member,) = extract_csv_members(
        real_ercot_dir / "dam-spp.zip", tmp_path, source_name="dam-spp.zip"
    )
    assert member.name == "cdr.00012331.0000000000000000.20260611.125132.DAMSPNP4190.csv"
    assert member.size_bytes == 986_574
    assert member.path.read_bytes().count(b"\n") == 26_665


def test_atomic_write_and_atomic_path(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.bin"
    atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"one"  # untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]  # no temp left
    with atomic_path(target) as temp:
        assert temp.parent == target.parent and temp != target
        temp.write_bytes(b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]


def test_a_bare_workbook_is_one_member_not_an_archive(tmp_path: Path) -> None:
    """An .xlsx is a zip inside; dropped on its own it must land whole (ISO-NE SMD books)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    workbook = tmp_path / "2024_smd_hourly.xlsx"
    workbook.write_bytes(buf.getvalue())
    for source in (workbook, buf.getvalue()):
        members = extract_csv_members(source, tmp_path / "out", source_name=workbook.name)
        assert [m.name for m in members] == [workbook.name]
        assert (tmp_path / "out" / workbook.name).read_bytes() == buf.getvalue()
