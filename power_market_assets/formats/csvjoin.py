"""Parse many small CSV files of one layout with a single parser call.

ISOs publish 96 to 288 small files a day; a CSV parser call has about 1 ms of fixed cost, so
the files of a day are grouped by header, their bodies joined into one buffer and parsed once
(see ../shared/reference/PERFORMANCE.md). `source_file` is rebuilt from per-file row counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from power_market_assets.formats.errors import FormatError

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvText:
    """One file split into its header names and its body (data lines, LF or CRLF)."""

    name: str
    header: tuple[str, ...]
    body: bytes
    rows: int


def _decode_to_utf8(data: bytes, name: str) -> bytes:
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
    data = _decode_to_utf8(data, name)
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


def read_csv_texts(paths: Sequence[Path]) -> list[CsvText]:
    return [split_csv(Path(p).read_bytes(), Path(p).name) for p in paths]


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
    # source_file per row without materializing millions of strings: a categorical gather.
    names = pl.Series("source_file", [t.name for t in texts], dtype=pl.Categorical)
    index = np.repeat(np.arange(len(texts), dtype=np.uint32), [t.rows for t in texts])
    return frame.with_columns(names.gather(index).alias("source_file"))
