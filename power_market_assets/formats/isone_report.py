"""The ISO-NE report file (C/H/D/T lines) and its hour-ending labels, shared by the price
reader (formats/isone.py) and the load / fuel / forecast reader (formats/isone_fundamentals.py).

`"C"` comment lines, an `"H"` line of column names, an `"H"` line of column types (or units),
`"D"` data lines and a `"T"` trailer. Hour ending `"01"`..`"24"`; the spring-forward day omits
one label, the fall-back day adds the repeated hour as `"02X"` right after `"02"`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from power_market_assets.formats.csvjoin import CsvText, decode_to_utf8
from power_market_assets.formats.errors import FormatError

# "Total # of Data Records: 24" (histRpts, UNCONFIRMED) or "24 lines" (DASI report [3P ERW]).
_TRAILER_COUNT = re.compile(r"(\d+)(?:\s+lines?)?\s*$")


@dataclass(frozen=True)
class Report:
    """One report file: its comment lines, column names and the D lines as plain CSV."""

    text: CsvText
    comments: tuple[str, ...]
    trailer_count: int | None


def first_cell(line: str) -> str:
    return line.split(",", 1)[0].strip().strip('"').strip()


def split_report(data: bytes, name: str) -> Report:
    """Split a C/H/D/T file; the D lines lose their row-type cell and become a CSV body."""
    comments: list[str] = []
    headers: list[tuple[str, ...]] = []
    body: list[str] = []
    trailer: int | None = None
    for raw in decode_to_utf8(data).decode("utf-8").split("\n"):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        kind = first_cell(line)
        rest = line.split(",", 1)[1] if "," in line else ""
        if kind == "D":
            body.append(rest)
        elif kind == "H":
            headers.append(tuple(cell.strip().strip('"').strip() for cell in rest.split(",")))
        elif kind == "C":
            comments.append(rest.strip().strip('"'))
        elif kind == "T":
            match = _TRAILER_COUNT.search(rest.strip().strip('"'))
            trailer = int(match.group(1)) if match else None
        else:
            raise FormatError(name, f"line with unknown row type {kind!r}: {line[:80]!r}")
    if not headers:
        raise FormatError(name, 'no "H" header line (not an ISO-NE report, or an empty body)')
    payload = ("\n".join(body) + "\n").encode("utf-8") if body else b""
    text = CsvText(name=name, header=headers[0], body=payload, rows=len(body))
    if trailer is not None and trailer != len(body):
        raise FormatError(name, f"trailer says {trailer} data records but the file has {len(body)}")
    return Report(text=text, comments=tuple(comments), trailer_count=trailer)


def count_data_lines(data: bytes) -> int:
    """The "D" lines of a report, counted without parsing (for expected_rows)."""
    count = 0
    for line in data.split(b"\n"):
        stripped = line.lstrip()
        if stripped.startswith((b'"D"', b"D,")):
            count += 1
    return count


def hour_label_starts(frame: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """(date, hour_ending) labels -> interval_start_utc, once per distinct label.

    The start is the label's date + (HE - 1) hours, the earlier reading of an ambiguous wall
    time unless the label carries "X" (the repeated fall-back hour). On the spring-forward day
    HE "03" starts at a wall time that does not exist; it is then the hour before its end.
    """
    labels = frame.select("date", "hour_ending").unique()
    day = parse_date(pl.col("date"))
    label = pl.col("hour_ending").str.strip_chars().str.to_uppercase()
    repeated = label.str.ends_with("X")
    hour = label.str.strip_chars_end("X").cast(pl.Int32, strict=False)
    naive_start = day.cast(pl.Datetime("us")) + pl.duration(hours=hour - 1)
    ambiguous = pl.when(repeated).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    start = naive_start.dt.replace_time_zone(timezone, ambiguous=ambiguous, non_existent="null")
    end = (naive_start + pl.duration(hours=1)).dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    )
    start_utc = pl.coalesce(start, end - pl.duration(hours=1)).dt.convert_time_zone("UTC")
    valid = hour.is_between(1, 24) & (~repeated | (hour == 2))
    table = labels.with_columns(
        day.alias("_day"),
        pl.when(valid).then(start_utc).alias("interval_start_utc"),
    )
    _raise_bad_labels(frame, table, ["date", "hour_ending"])
    return frame.join(table.drop("_day"), on=["date", "hour_ending"], how="left")


def parse_date(column: pl.Expr) -> pl.Expr:
    text = column.cast(pl.Utf8).str.strip_chars().str.slice(0, 10)
    return pl.coalesce(
        text.str.to_date("%m/%d/%Y", strict=False), text.str.to_date("%Y-%m-%d", strict=False)
    )


def _raise_bad_labels(frame: pl.DataFrame, table: pl.DataFrame, keys: list[str]) -> None:
    bad = table.filter(pl.col("_day").is_null() | pl.col("interval_start_utc").is_null())
    if not bad.height:
        return
    first = bad.row(0, named=True)
    source = frame.join(bad.head(1), on=keys, how="semi").row(0, named=True)["source_file"]
    shown = ", ".join(f"{k}={first[k]!r}" for k in keys)
    raise FormatError(source, f"time label {shown} is not a valid ISO-NE interval label")
