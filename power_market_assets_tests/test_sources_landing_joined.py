"""Stage 1 keeps a day of many small CSVs as one joined file, an index and the archives as
served: every original recoverable byte for byte, and stage 2 parses it as it would parse the
members one by one."""

from __future__ import annotations

import json
import zipfile
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from power_market_assets.formats import read_dataset_files
from power_market_assets.formats.archive import ArchiveError
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.stages import manifest_frame, read_stage_one
from power_market_assets.registry import ercot
from power_market_assets.sources.landing import (
    ARCHIVES_ZIP,
    JOINED_CSV,
    LandedSource,
    land_operating_day,
    member_bytes,
    read_metadata,
)
from power_market_standins.ercot import generate_documents, make_zip

RT = next(s for s in ercot.ERCOT_DATASETS if s.dataset == "rt_prices")
DAY = date(2024, 11, 3)  # the 25-hour fall-back day: 100 files


@pytest.fixture(scope="module")
def documents():
    return generate_documents(RT, [DAY], n_nodes=6, seed=1, compresslevel=1)


def _write_zips(tmp: Path, named: list[tuple[str, bytes]]) -> list[LandedSource]:
    sources = []
    for name, data in named:
        (tmp / name).write_bytes(data)
        sources.append(
            LandedSource(
                path=tmp / name,
                original_name=name,
                url=f"http://127.0.0.1/{name}",
                publish_time=datetime(2024, 11, 4, tzinfo=UTC),
            )
        )
    return sources


def _zip_of(csv_name: str, data: bytes) -> bytes:
    return make_zip(csv_name, data, datetime(2024, 11, 3, 12), compresslevel=1)


def _land(tmp: Path, sources, join_csv=True) -> tuple[Path, pl.DataFrame]:
    day_dir = tmp / "lake" / DAY.isoformat()
    rows = land_operating_day(DAY, sources, day_dir, join_csv=join_csv)
    return day_dir, manifest_frame(rows, tmp / "lake")


def test_a_day_of_documents_lands_as_one_joined_csv_with_index_and_archives(tmp_path, documents):
    sources = _write_zips(tmp_path, [(d.constructed_name, d.zip_bytes) for d in documents])
    day_dir, manifest = _land(tmp_path, sources)

    assert sorted(p.name for p in day_dir.iterdir()) == [ARCHIVES_ZIP, JOINED_CSV, "metadata.json"]
    assert manifest.height == len(documents) == 100
    rows = {row["source_file"]: row for row in manifest.iter_rows(named=True)}
    with zipfile.ZipFile(day_dir / ARCHIVES_ZIP) as bundle:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in bundle.infolist())
        for doc in documents:
            row = rows[doc.csv_name]
            # byte for byte, with the zip's CRC-32, the archive it came in and its URL
            assert member_bytes(day_dir, row) == doc.csv_bytes
            assert row["csv_crc32"] == zlib.crc32(doc.csv_bytes)
            assert row["data_rows"] == doc.csv_bytes.count(b"\n") - 1
            assert row["archive_name"] == doc.constructed_name
            assert row["source_url"].endswith(doc.constructed_name)
            assert bundle.read(doc.constructed_name) == doc.zip_bytes
    members = [m for f in read_metadata(day_dir)["files"] for m in f["members"]]
    assert {m["stored_in"] for m in members} == {JOINED_CSV}
    assert all(m["byte_range"][1] > m["byte_range"][0] for m in members)


def test_the_joined_day_parses_exactly_as_its_members_one_by_one(tmp_path, documents):
    sources = _write_zips(tmp_path, [(d.constructed_name, d.zip_bytes) for d in documents])
    _, manifest = _land(tmp_path, sources)
    joined = read_stage_one(manifest, RT, tmp_path / "lake", label="test")

    loose = tmp_path / "loose"
    loose.mkdir()
    for doc in documents:
        (loose / doc.csv_name).write_bytes(doc.csv_bytes)
    one_by_one = read_dataset_files(sorted(loose.iterdir()), RT)

    order = [*RT.unique_key, "source_file"]
    assert joined.height == one_by_one.height > 0
    assert_frame_equal(
        joined.sort(order),
        one_by_one.sort(order),
        check_column_order=False,
        categorical_as_str=True,
    )
    # the fall-back day: 25 hours of 15-minute intervals per location
    per_location = joined.group_by("location", "location_type").len().get_column("len")
    assert per_location.unique().to_list() == [100]


def _csvs(documents, count: int) -> list[tuple[str, bytes]]:
    return [(d.csv_name, d.csv_bytes) for d in documents[:count]]


def test_members_that_cannot_be_joined_byte_for_byte_stay_files(tmp_path, documents):
    (name_a, a), (name_b, b) = _csvs(documents, 2)
    no_newline_at_end = a.rstrip(b"\n")
    other_header = b.replace(b"DeliveryDate", b"DeliveryDay", 1)
    latin1 = a.replace(b"HB_", b"HB\xe9", 1)
    for first in (no_newline_at_end, other_header, latin1):
        sources = _write_zips(
            tmp_path, [("a.zip", _zip_of(name_a, first)), ("b.zip", _zip_of(name_b, b))]
        )
        day_dir, manifest = _land(tmp_path, sources)
        assert JOINED_CSV not in {p.name for p in day_dir.iterdir()}
        assert manifest.get_column("byte_start").null_count() == 2
        assert (day_dir / name_a).read_bytes() == first  # kept as published


def test_a_single_member_day_and_a_reader_without_joined_support_keep_files(tmp_path, documents):
    sources = _write_zips(tmp_path, [(d.constructed_name, d.zip_bytes) for d in documents[:3]])
    day_dir, _ = _land(tmp_path, sources, join_csv=False)
    assert sorted(p.name for p in day_dir.iterdir()) == sorted(
        [d.csv_name for d in documents[:3]] + ["metadata.json"]
    )
    day_dir, _ = _land(tmp_path, sources[:1])
    assert sorted(p.name for p in day_dir.iterdir()) == [documents[0].csv_name, "metadata.json"]


def test_blank_lines_in_a_member_parse_as_they_would_in_its_own_file(tmp_path, documents):
    (name_a, a), (name_b, b) = _csvs(documents, 2)
    lines = b.split(b"\n")
    with_blank = b"\n".join([*lines[:3], b"", *lines[3:]])
    sources = _write_zips(
        tmp_path, [("a.zip", _zip_of(name_a, a)), ("b.zip", _zip_of(name_b, with_blank))]
    )
    day_dir, manifest = _land(tmp_path, sources)
    assert (day_dir / JOINED_CSV).exists()
    row = manifest.filter(pl.col("source_file") == name_b).row(0, named=True)
    assert member_bytes(day_dir, row) == with_blank
    frame = read_stage_one(manifest, RT, tmp_path / "lake", label="test")
    assert frame.height == a.count(b"\n") - 1 + b.count(b"\n") - 1


def test_a_bad_price_in_a_joined_member_names_that_member_and_its_line(tmp_path, documents):
    (name_a, a), (name_b, b) = _csvs(documents, 2)
    lines = b.split(b"\n")
    cells = lines[4].split(b",")
    cells[-2 if lines[0].split(b",")[-1].startswith(b"DSTFlag") else -1] = b"NaN"
    lines[4] = b",".join(cells)
    sources = _write_zips(
        tmp_path, [("a.zip", _zip_of(name_a, a)), ("b.zip", _zip_of(name_b, b"\n".join(lines)))]
    )
    _, manifest = _land(tmp_path, sources)
    with pytest.raises(FormatError) as error:
        read_stage_one(manifest, RT, tmp_path / "lake", label="test")
    assert name_b in str(error.value) and "line 5" in str(error.value)


def test_the_same_csv_twice_lands_once_and_a_clash_is_refused(tmp_path, documents):
    (name_a, a), (name_b, b) = _csvs(documents, 2)
    same = _write_zips(
        tmp_path,
        [
            ("a.zip", _zip_of(name_a, a)),
            ("b.zip", _zip_of(name_b, b)),
            ("c.zip", _zip_of(name_a, a)),
        ],
    )
    day_dir, manifest = _land(tmp_path, same)
    assert manifest.height == 2
    assert len(json.loads((day_dir / "metadata.json").read_text())["files"]) == 3

    clash = _write_zips(tmp_path, [("a.zip", _zip_of(name_a, a)), ("d.zip", _zip_of(name_a, b))])
    with pytest.raises(ArchiveError, match="different contents"):
        _land(tmp_path, clash)
    # the day keeps its previous landing, and no staging folder is left
    assert sorted(p.name for p in day_dir.iterdir()) == [ARCHIVES_ZIP, JOINED_CSV, "metadata.json"]
    assert [p.name for p in (tmp_path / "lake").iterdir() if p.name.startswith(".")] == []


def test_two_archives_of_one_name_are_both_kept_as_served(tmp_path, documents):
    (name_a, a), (name_b, b) = _csvs(documents, 2)
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    sources = _write_zips(first, [("day.zip", _zip_of(name_a, a))])
    sources += _write_zips(second, [("day.zip", _zip_of(name_b, b))])
    day_dir, _ = _land(tmp_path, sources)

    files = read_metadata(day_dir)["files"]
    assert [f["stored_as"] for f in files] == [
        f"{ARCHIVES_ZIP}/day.zip",
        f"{ARCHIVES_ZIP}/day~2.zip",
    ]
    with zipfile.ZipFile(day_dir / ARCHIVES_ZIP) as bundle:
        assert bundle.read("day.zip") == (first / "day.zip").read_bytes()
        assert bundle.read("day~2.zip") == (second / "day.zip").read_bytes()
