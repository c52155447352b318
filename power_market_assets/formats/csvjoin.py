"""Parse many small CSV files of one layout with a single parser call.

ISOs publish 96 to 288 small files a day; a CSV parser call has about 1 ms of fixed cost, so
the files of a day are grouped by header, their bodies joined into one buffer and parsed once
(see docs/reference/PERFORMANCE.md). `source_file` is rebuilt from per-file row counts.

The readers that find columns by canonical field name (ERCOT, NYISO, ISO-NE) share the header
check (`check_fields`), the typed parse that names a bad cell (`parse_fields`) and the empty
price check (`check_filled`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from power_market_assets.formats.errors import FormatError

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvText:
    """One file split into its header names and its body (data lines, LF or CRLF).

    `parts`: when the body is the data lines of several files of one header, one after the
    other (a day's joined CSV, `joined_text`), each file's (name, lines) in order: their rows
    are labelled with their own names. A FormatError about such a text names its first file,
    so its caller re-reads the files one by one to name the right one (`read_joined_file`).
    """

    name: str
    header: tuple[str, ...]
    body: bytes
    rows: int
    parts: tuple[tuple[str, int], ...] = ()

    def files(self) -> tuple[tuple[str, int], ...]:
        """(name, lines) of each file whose data lines make up the body."""
        return self.parts or ((self.name, self.rows),)


def decode_to_utf8(data: bytes) -> bytes:
    """UTF-8 stays as is; anything else is read as Latin-1 (the other encoding ISOs use)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if data.isascii():
        return data
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8")


def split_csv(data: bytes, name: str) -> CsvText:
    """Split a CSV file into header and body; empty files are an error naming the file."""
    data = decode_to_utf8(data)
    newline = data.find(b"\n")
    header_line = data if newline < 0 else data[:newline]
    body = b"" if newline < 0 else data[newline + 1 :]
    header = tuple(
        cell.strip().strip('"').strip() for cell in header_line.decode().rstrip("\r").split(",")
    )
    if not any(header):
        raise FormatError(name, "empty file (no header line)")
    # Drop blank lines so that the row count matches what the parser will return.
    if b"\n\n" in body or body.startswith((b"\n", b"\r\n")) or b"\n\r\n" in body:
        body = b"\n".join(line for line in body.split(b"\n") if line.strip()) + b"\n"
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return CsvText(name=name, header=header, body=body, rows=body.count(b"\n"))


# ---------------------------------------------------------------------------------------------
# Stage 1: a day's small CSVs kept as one joined file


@dataclass(frozen=True)
class JoinedCsv:
    """A day's CSV members as one file: the first member whole, then every other member's
    data lines (their header line is the first member's, byte for byte). `body_ranges[i]` is
    where member i's data lines are in `data`; `member_bytes` gives a member back exactly."""

    data: bytes
    body_ranges: list[tuple[int, int]]


class JoinedMember(NamedTuple):
    """Where one member is in a day's joined CSV: its data lines are joined[start:end]."""

    name: str
    start: int
    end: int
    rows: int  # its data lines


def header_end(data: bytes) -> int:
    """Bytes of the first line, its line end included."""
    return data.index(b"\n") + 1


def join_members(members: Sequence[tuple[str, bytes]]) -> JoinedCsv | None:
    """One file for CSV members that can be joined so each is recoverable byte for byte and
    the joined file parses as the members would: two or more `.csv` members, the same header
    line, every member ending with a line end, UTF-8 (or ASCII) text. None otherwise (the
    members are then kept as files). Blank lines are left as they are: `joined_texts` readers
    fall back to the members one by one when the parse does not match the lines counted."""
    if len(members) < 2 or b"\n" not in members[0][1]:
        return None
    header = members[0][1][: header_end(members[0][1])]
    for name, data in members:
        if not name.lower().endswith(".csv") or not data.endswith(b"\n"):
            return None
        if not data.startswith(header) or len(data) == len(header):
            return None
    parts, ranges, offset = [], [], 0
    for index, (_, data) in enumerate(members):
        part = data if index == 0 else memoryview(data)[len(header) :]
        start = offset + (len(header) if index == 0 else 0)
        offset += len(part)
        parts.append(part)
        ranges.append((start, offset))
    joined = b"".join(parts)
    text = joined.removeprefix(UTF8_BOM)
    if decode_to_utf8(text) is not text:  # not UTF-8: each member is read as Latin-1
        return None
    return JoinedCsv(joined, ranges)


def member_bytes(joined: bytes, start: int, end: int) -> bytes:
    """A member of a joined file, exactly as it was published: the header line + its lines."""
    return joined[: header_end(joined)] + joined[start:end]


def joined_texts(joined: bytes, members: Sequence[JoinedMember]) -> list[CsvText]:
    """The members of a joined file as CsvTexts, without splitting or decoding each member
    again: the header is parsed once. A member with blank lines then parses to fewer rows
    than its lines: see `member_texts`."""
    header = split_csv(joined[: header_end(joined)], members[0].name if members else "joined")
    return [
        CsvText(name=name, header=header.header, body=joined[start:end], rows=rows)
        for name, start, end, rows in members
    ]


def joined_text(header_line: bytes, body: bytes, members: Sequence[JoinedMember]) -> CsvText | None:
    """A day's joined CSV (its header line, then `body`: every member's data lines) as ONE
    text of many parts, parsed in one call without cutting it into member texts and joining
    them again. None unless the members' data lines tile the body exactly, in file order
    (then `joined_texts` / `member_texts` read it member by member)."""
    if not members:
        return None
    position = len(header_line)
    for _, start, end, _ in members:
        if start != position or end < start:
            return None
        position = end
    if position != len(header_line) + len(body):
        return None
    header = split_csv(header_line, members[0].name).header
    parts = tuple((name, rows) for name, _, _, rows in members)
    rows = sum(rows for _, rows in parts)
    return CsvText(name=members[0].name, header=header, body=body, rows=rows, parts=parts)


def group_by_header(texts: Sequence[CsvText]) -> dict[tuple[str, ...], list[CsvText]]:
    """Files with identical headers (after trimming) can share one parse."""
    groups: dict[tuple[str, ...], list[CsvText]] = {}
    for text in texts:
        groups.setdefault(text.header, []).append(text)
    return groups


def parse_group(
    texts: Sequence[CsvText],
    schema: dict[str, pl.DataType],
) -> pl.DataFrame:
    """Parse files sharing one header in one call, adding `source_file` per row.

    `schema` gives a dtype for every header column (in header order).
    """
    header = texts[0].header
    buffer = b"".join(text.body for text in texts)
    if not buffer:
        frame = pl.DataFrame(schema=schema)
    else:
        frame = pl.read_csv(
            buffer,
            has_header=False,
            new_columns=list(header),
            schema=schema,
            quote_char='"',
            truncate_ragged_lines=False,
        )
    expected = sum(text.rows for text in texts)
    if frame.height != expected:
        raise FormatError(
            texts[0].name if len(texts) == 1 else f"{len(texts)} files ({texts[0].name}, ...)",
            f"parsed {frame.height} rows but the files hold {expected} data lines",
        )
    files = [file for text in texts for file in text.files()]
    return frame.with_columns(source_files(files))


def source_files(files: Sequence[tuple[str, int]]) -> pl.Series:
    """`source_file` of rows that came from `files` ((name, rows) in order): a gather of the
    names, whose rows share each name's bytes (string views) rather than copying them."""
    names = pl.Series("source_file", [name for name, _ in files], dtype=pl.Utf8)
    index = np.repeat(np.arange(len(files), dtype=np.uint32), [rows for _, rows in files])
    return names.gather(pl.Series(index))


def member_texts(joined: bytes, members: Sequence[JoinedMember]) -> list[CsvText]:
    """The members of a joined file one by one, as `split_csv` reads a file of its own (blank
    lines dropped...): the slower way, for when `joined_texts` did not parse."""
    return [split_csv(member_bytes(joined, start, end), name) for name, start, end, _ in members]


# ---------------------------------------------------------------------------------------------
# Readers that find their columns by canonical field name (ERCOT, NYISO, ISO-NE)


def check_fields(
    text: CsvText,
    fields: Sequence[str | None],
    required: Collection[str],
    column_name: Callable[[str], str],
) -> None:
    """FormatError naming the file and the column when a required field is missing from a
    header, or a field appears twice. `fields` is each header cell's canonical field (None:
    not used); `column_name` gives the published name of a field for the message."""
    missing = [f for f in required if f not in fields]
    if missing:
        wanted = ", ".join(f"{column_name(f)!r} ({f})" for f in missing)
        raise FormatError(
            text.name, f"header is missing column(s) {wanted}; header was {','.join(text.header)}"
        )
    repeated = sorted({f for f in fields if f is not None and fields.count(f) > 1})
    if repeated:
        raise FormatError(text.name, f"header repeats column(s) {repeated}")


# Control characters: never part of a real name, date or price. Line ends are the CSV's own.
CONTROL_CHARACTERS = "".join(map(chr, range(0x20))) + "\x7f"
_CONTROL_BYTES = CONTROL_CHARACTERS.replace("\n", "").replace("\r", "").encode()
_CONTROL_CELL = re.compile(f"[{re.escape(_CONTROL_BYTES.decode())}]")


def not_finite(text: pl.Expr) -> pl.Expr:
    """Cell text that is there but is no finite number: `n/a`, and also `NaN`, `inf` and
    `1e309`, which a Float64 parse accepts and would store as NaN or an infinity."""
    value = text.str.strip_chars()
    return (value != "") & ~value.cast(pl.Float64, strict=False).is_finite().fill_null(False)


def has_control_characters(text: pl.Expr) -> pl.Expr:
    """A NUL or another control character in a text cell (line breaks included)."""
    return text.str.contains_any(list(CONTROL_CHARACTERS)).fill_null(False)


def raise_on_bad_numbers(
    frame: pl.DataFrame, numeric: Sequence[str], *, line: str = "_line", where: str = "line"
) -> None:
    """FormatError naming the file, column, `where` (the `line` column) and value of the first
    cell of a text `frame` (with `source_file`) that is no finite number; nothing if none."""
    for column in numeric:
        bad = frame.filter(not_finite(pl.col(column)))
        if not bad.height:
            continue
        row = bad.row(0, named=True)
        source = str(row["source_file"])
        count = bad.filter(pl.col("source_file").cast(pl.Utf8) == source).height
        value = row[column]
        parsed = pl.Series([value]).str.strip_chars().cast(pl.Float64, strict=False)[0]
        problem = "is not a number" if parsed is None else "is not a finite number"
        raise FormatError(
            source,
            f"column {column!r} {where} {row[line]}: price {value!r} {problem} "
            f"({count} bad value(s) in the file)",
        )


def raise_on_control_characters(
    texts: Sequence[CsvText], *, where: str = "line", first: int = 2
) -> None:
    """FormatError naming the file, column, line and cell of the first control character
    (a NUL...) in these files' bodies. One C-speed pass over the bytes; `first` is the number
    of the body's first line (`where` "data row", 1: rows that are not the file's lines)."""
    for text in texts:
        if _free_of_control_bytes(text):
            continue
        lines = text.body.split(b"\n")
        bad = [
            i for i, row in enumerate(lines) if len(row.translate(None, _CONTROL_BYTES)) < len(row)
        ]
        line = lines[bad[0]].decode("utf-8", "replace").rstrip("\r")
        cells = next(csv.reader([line]))
        index = next((i for i, c in enumerate(cells) if _CONTROL_CELL.search(c)), 0)
        column = text.header[index] if index < len(text.header) else f"#{index + 1}"
        raise FormatError(
            text.name,
            f"column {column!r} {where} {bad[0] + first}: value {cells[index]!r} holds a "
            f"control character ({len(bad)} line(s) in the file)",
        )


def _free_of_control_bytes(text: CsvText) -> bool:
    """True when the body holds no control character: all its bytes below 0x20 are LFs and
    CRs, and it has no DEL. Vectorized counts without a copy (about half a `translate`);
    False means "look closer" (the scan that names the cell)."""
    codes = np.frombuffer(text.body, dtype=np.uint8)
    line_ends = np.count_nonzero(codes == 0x0A)
    if b"\r" in text.body:
        line_ends += np.count_nonzero(codes == 0x0D)
    return bool(np.count_nonzero(codes < 0x20) == line_ends) and b"\x7f" not in text.body


def parse_fields(
    texts: Sequence[CsvText],
    fields: Sequence[str | None],
    numeric: Collection[str],
    *,
    file_lines: bool = True,
    coded: Mapping[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """Files sharing one header (`parse_group`) -> their canonical fields and `source_file`.

    `fields` is each header cell's canonical field (None: the column is dropped); fields in
    `numeric` are parsed as Float64, those in `coded` as its dtype (a Categorical, for a
    field of a few distinct codes the reader maps once per code), the rest kept as text. A
    cell that is no finite number (`n/a`, `NaN`, `inf`, `1e309`), or a control character
    anywhere, raises FormatError naming the file, the column, the line and the value
    (`file_lines=False`: the data row, when the rows are not the lines after a one-line
    header, as in ISO-NE reports).
    """
    where, first = ("line", 2) if file_lines else ("data row", 1)
    raise_on_control_characters(texts, where=where, first=first)
    header = texts[0].header
    coded = coded or {}
    dtypes = {
        cell: (pl.Float64 if field in numeric else coded.get(field or "", pl.Utf8))
        for cell, field in zip(header, fields, strict=True)
    }
    numbers = [cell for cell, field in zip(header, fields, strict=True) if field in numeric]
    try:
        frame = parse_group(texts, dtypes)
    except FormatError:
        raise
    except Exception as exc:  # polars ComputeError and friends
        _diagnose_numbers(texts, numbers, where, first)
        raise FormatError(texts[0].name, f"could not be parsed: {exc}") from exc
    infinite = [pl.col(c).is_not_null() & ~pl.col(c).is_finite() for c in numbers]
    if infinite and frame.select(pl.any_horizontal(infinite).any()).item():
        _diagnose_numbers(texts, numbers, where, first)
    used = [pl.col(cell).alias(field) for cell, field in zip(header, fields, strict=True) if field]
    return frame.select(*used, "source_file")


def _diagnose_numbers(
    texts: Sequence[CsvText], numbers: Sequence[str], where: str, first: int
) -> None:
    """Re-read the files as text (only once something is wrong) to name the bad cell."""
    header = texts[0].header
    for text in texts:
        try:
            frame = parse_group([text], {cell: pl.Utf8 for cell in header})
        except Exception as exc:
            raise FormatError(text.name, f"malformed CSV: {exc}") from None
        raise_on_bad_numbers(frame.with_row_index("_line", offset=first), numbers, where=where)


def check_filled(frame: pl.DataFrame, columns: Mapping[str, str]) -> None:
    """FormatError naming the file of the first empty cell of a frame column (a key of
    `columns`) and its published column name (the value); absent columns are skipped."""
    for column, name in columns.items():
        if column not in frame.columns:
            continue
        empty = frame.filter(pl.col(column).is_null())
        if empty.height:
            raise FormatError(
                empty.row(0, named=True)["source_file"],
                f"column {name!r}: {empty.height} empty price cell(s)",
            )
