"""Stage 2's fast read of a day's joined CSV (issue 12): the members' data lines parsed as one
text of many parts, one control-character scan, row counts from the landing's index. Each
shortcut must give exactly what the member-by-member read gives, and fall back to it (and
to its messages) on anything odd."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from power_market_assets.formats import expected_joined_rows, read_dataset_files
from power_market_assets.formats.csvjoin import (
    _CONTROL_BYTES,
    CsvText,
    JoinedMember,
    _free_of_control_bytes,
    joined_text,
    source_files,
)
from power_market_assets.formats.ercot import (
    ERCOT_LOCATION_TYPES,
    NODE,
    RUN_SHARE,
    _interval_table,
    _interval_times,
    _location_types,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.stages import manifest_frame, read_day, row_count_outcome
from power_market_assets.registry import ercot
from power_market_assets.sources.landing import JOINED_CSV, LandedSource, land_operating_day
from power_market_standins.ercot import make_zip
from power_market_standins.ercot_fundamentals import generate_any

RT = next(s for s in ercot.ERCOT_DATASETS if s.dataset == "rt_prices")
LOAD_FORECAST = next(s for s in ercot.ERCOT_DATASETS if s.dataset == "load_forecast")
DAY = date(2024, 11, 3)  # the fall-back day


@pytest.fixture(scope="module")
def documents():
    return generate_any(RT, [DAY], n_nodes=4, seed=2, compresslevel=1)


def _land(tmp: Path, named: list[tuple[str, bytes]], day: date = DAY):
    """Land CSVs (name, bytes) as one day: (the manifest, the data root)."""
    sources = []
    for index, (name, data) in enumerate(named):
        archive = tmp / f"{index:03d}.zip"
        archive.write_bytes(make_zip(name, data, datetime(2024, 11, 3, 12), compresslevel=1))
        sources.append(
            LandedSource(path=archive, original_name=archive.name, publish_time=datetime.now(UTC))
        )
    root = tmp / "lake"
    rows = land_operating_day(day, sources, root / day.isoformat(), join_csv=True)
    return manifest_frame(rows, root), root


def _one_by_one(tmp: Path, named: list[tuple[str, bytes]], spec=RT) -> pl.DataFrame:
    loose = tmp / "loose"
    loose.mkdir(exist_ok=True)
    for name, data in named:
        (loose / name).write_bytes(data)
    return read_dataset_files([loose / name for name, _ in named], spec)


def _with_cell(data: bytes, line: int, column: int, value: bytes) -> bytes:
    lines = data.split(b"\n")
    cells = lines[line].split(b",")
    cells[column] = value
    lines[line] = b",".join(cells)
    return b"\n".join(lines)


def test_a_joined_day_reads_exactly_as_its_members_do_one_by_one(tmp_path, documents):
    named = [(d.csv_name, d.csv_bytes) for d in documents]
    files, root = _land(tmp_path, named)
    assert files.get_column("byte_start").null_count() == 0  # joined

    frame, counted = read_day(RT, DAY, files, root)

    assert_frame_equal(frame, _one_by_one(tmp_path, named))
    assert counted.get_column("source_file").to_list() == frame.get_column("source_file").to_list()
    outcome = row_count_outcome(RT, frame, files, root, counted)
    assert outcome.passed and outcome.metadata["files_checked"] == len(named)


@pytest.mark.parametrize("crlf", [False, True])
def test_a_control_character_in_a_joined_member_names_the_member_line_and_column(
    tmp_path, documents, crlf
):
    named = [(d.csv_name, d.csv_bytes) for d in documents[:5]]
    name, data = named[3]
    named[3] = (name, _with_cell(data, 6, 3, b"HB_\x00X"))
    if crlf:
        named = [(n, d.replace(b"\n", b"\r\n")) for n, d in named]
    files, root = _land(tmp_path, named)
    assert files.get_column("byte_start").null_count() == 0

    with pytest.raises(FormatError) as error:
        read_day(RT, DAY, files, root)
    assert str(error.value).startswith(f"{name}: column 'SettlementPointName' line 7: ")
    assert "holds a control character (1 line(s) in the file)" in str(error.value)


def test_a_blank_line_falls_back_to_the_members_and_row_count_names_that_member(
    tmp_path, documents
):
    named = [(d.csv_name, d.csv_bytes) for d in documents[:4]]
    name, data = named[2]
    lines = data.split(b"\n")
    named[2] = (name, b"\n".join([*lines[:3], b"", *lines[3:]]))
    files, root = _land(tmp_path, named)

    frame, counted = read_day(RT, DAY, files, root)
    assert frame.height == sum(d.count(b"\n") - 1 for _, d in named) - 1

    outcome = row_count_outcome(RT, frame, files, root, counted)
    assert not outcome.passed and outcome.metadata["files_disagreeing"] == 1
    assert name in (outcome.sample_markdown or "")


def test_joined_text_needs_members_that_tile_the_body():
    header = b"A,B\n"
    body = b"1,2\n3,4\n5,6\n"
    members = [JoinedMember("a.csv", 4, 12, 2), JoinedMember("b.csv", 12, 16, 1)]
    text = joined_text(header, body, members)
    assert text is not None
    assert (text.header, text.rows, text.files()) == (("A", "B"), 3, (("a.csv", 2), ("b.csv", 1)))
    assert source_files(text.files()).to_list() == ["a.csv", "a.csv", "b.csv"]

    gap = [JoinedMember("a.csv", 4, 8, 1), JoinedMember("b.csv", 12, 16, 1)]
    short = [JoinedMember("a.csv", 4, 12, 2)]
    assert joined_text(header, body, gap) is None
    assert joined_text(header, body, short) is None
    assert joined_text(header, body, []) is None


def test_the_control_byte_count_agrees_with_the_exact_scan():
    """`_free_of_control_bytes` is a shortcut for "no byte of _CONTROL_BYTES": random bodies
    of cells, line ends (LF, CRLF, lone CR) and now and then a control byte or DEL."""
    pieces = [b"HB_N", b"12.5", b",", b"\n", b"\r\n", b"\r", b" ", "é".encode()]
    odd = [bytes([c]) for c in _CONTROL_BYTES]
    rng = random.Random(7)
    for _ in range(400):
        parts = [rng.choice(pieces) for _ in range(rng.randrange(0, 40))]
        if rng.random() < 0.4:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(odd))
        body = b"".join(parts)
        rows = body.count(b"\n")
        exact = len(body.translate(None, _CONTROL_BYTES)) == len(body)
        # the text's own row count does not matter: the line ends are counted in the bytes
        for claimed in (rows, rows + 1, max(rows - 1, 0)):
            assert _free_of_control_bytes(CsvText("x.csv", ("a",), body, claimed)) == exact


def test_location_types_are_the_trimmed_code_and_its_type_per_row():
    codes = ["RN", " HU ", None, "ZZ", "LZ_DC ", "LZEW", "RN", " HU "]
    expected = pl.select(
        code=pl.Series(codes).str.strip_chars(),
        kind=pl.Series(codes)
        .str.strip_chars()
        .replace_strict(ERCOT_LOCATION_TYPES, default=pl.lit(NODE)),
    )
    code, kind = _location_types(pl.Series(codes))  # text: coded on the way
    assert code.to_list() == expected.get_column("code").to_list()
    assert kind.to_list() == expected.get_column("kind").to_list()
    assert kind.to_list()[2] == NODE  # an empty code is a node, as replace_strict's default


def test_interval_times_by_runs_equal_a_join_by_label():
    """Labels in runs (a null flag among them) take the run path; labels changing row by row
    the join; both give every row the times of its label."""
    labels = {
        "delivery_date": ["11/03/2024"] * 12,
        "delivery_hour": ["1"] * 4 + ["2"] * 4 + ["1"] * 4,
        "delivery_interval": ["1"] * 12,
        "dst_flag": ["N"] * 4 + ["N"] * 3 + [None] + ["Y"] * 4,
    }
    runs = pl.DataFrame({**labels, "source_file": ["f.csv"] * 12})
    shuffled = runs.sample(fraction=1.0, shuffle=True, seed=1)
    for frame in (pl.concat([runs] * RUN_SHARE), shuffled):
        table = _interval_table(frame.select(list(labels)).unique(), RT).drop("_naive")
        expected = frame.join(table, on=list(labels), how="left", maintain_order="left")
        assert_frame_equal(_interval_times(frame, RT), expected)


def test_row_counts_of_a_price_day_come_from_the_index_without_reading_it(tmp_path, documents):
    named = [(d.csv_name, d.csv_bytes) for d in documents[:3]]
    files, root = _land(tmp_path, named)
    members = [
        JoinedMember(name, start, end, rows)
        for name, start, end, rows in files.select(
            "source_file", "byte_start", "byte_end", "data_rows"
        ).iter_rows()
    ]
    (root / files.get_column("csv_path")[0]).unlink()  # no need to read it again

    counts = expected_joined_rows(root / files.get_column("csv_path")[0], members, RT)
    assert counts == {name: data.count(b"\n") - 1 for name, data in named}


def test_a_wide_fundamentals_day_is_still_counted_from_its_text(tmp_path):
    """Not every line is one row there: the reader counts its series cells."""
    docs = generate_any(LOAD_FORECAST, [DAY], compresslevel=1)[:3]
    named = [(d.csv_name, d.csv_bytes) for d in docs]
    files, root = _land(tmp_path, named)
    assert (root / DAY.isoformat() / JOINED_CSV).exists()

    frame, counted = read_day(LOAD_FORECAST, DAY, files, root)
    assert_frame_equal(frame, _one_by_one(tmp_path, named, LOAD_FORECAST))
    outcome = row_count_outcome(LOAD_FORECAST, frame, files, root, counted)
    assert outcome.passed
    lines = sum(d.count(b"\n") - 1 for _, d in named)
    assert outcome.metadata["expected_rows"] == frame.height != lines
