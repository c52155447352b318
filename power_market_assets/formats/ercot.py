"""ERCOT layouts (NP4-190-CD, NP6-905-CD, NP4-188-CD, NP6-788-CD) into the standard long tables.

Conventions (docs/reference/ISO_FORMATS.md section 1): Central prevailing time; hourly
files label hour ending 01:00..24:00; on the fall-back day the repeated (CST) hour carries
DSTFlag=Y; on the spring-forward day HE 03:00 is omitted. Files from before DSTFlag existed
have no flag: the repeated hour is then told apart by order of appearance.

SCED files (NP6-788-CD, layout "sced_lmp") carry the run time `MM/DD/YYYY HH:MM:SS` (not on a
5-minute grid) and RepeatedHourFlag=Y in the second (CST) 01:xx hour; the run time itself is
the interval start (the spec's interval is nominal) and there is no type column.

The fundamentals reports (NP6-345-CD load, NP3-565-CD load forecast, NP4-732-CD wind,
NP4-737-CD solar: wide hourly CSVs) are read by formats/ercot_fundamentals.py and the Fuel Mix
Report workbook by formats/ercot_fuel_mix.py; `read_texts`, `read_files`, `identify` and the
row counts below hand their layouts over (docs/reference/fundamentals/ercot.md).

Two channels, one table: the MIS CSVs and the public API's JSON replies (section 1.9: a
"fields" list of column names and positional "data" rows, ISO dates, booleans for the DST
flag). A .json file is turned into the same header + body text as a CSV and read by the same
code, so header drift and bad cells are reported the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from power_market_assets.formats import ercot_fuel_mix, ercot_fundamentals, ercot_history
from power_market_assets.formats.csvjoin import (
    CsvText,
    check_fields,
    check_filled,
    group_by_header,
    parse_fields,
    split_csv,
)
from power_market_assets.formats.ercot_fundamentals import FUNDAMENTAL_LAYOUTS
from power_market_assets.formats.ercot_layouts import LAYOUTS as PRICE_LAYOUTS
from power_market_assets.formats.ercot_layouts import canonical_fields
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.registry.kinds import PRICE
from power_market_assets.registry.schema import (
    DC_TIE,
    DC_TIE_EW,
    HUB,
    NODE,
    ZONE,
    ZONE_EW,
)
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import wall_clock_to_utc

# Every layout this reader knows: the price layouts (formats/ercot_layouts.py), the wide
# hourly fundamentals files (formats/ercot_fundamentals.py) and the Fuel Mix Report workbook
# (formats/ercot_fuel_mix.py).
LAYOUTS: dict[str, object] = {
    **PRICE_LAYOUTS,
    **FUNDAMENTAL_LAYOUTS,
    ercot_fuel_mix.LAYOUT: ercot_fuel_mix.LAYOUT,
}

# SCED run times: the MIS CSV writes MM/DD/YYYY HH:MM:SS; the API's form is UNCONFIRMED
# ("yyyy-MM-ddTH24:mm:ss" in its query parameters), so ISO forms are accepted too.
SCED_TIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")  # MIS CSV, public API JSON


# ERCOT settlement point type codes (NP6-905-CD) -> standard location types.
ERCOT_LOCATION_TYPES = {
    "HU": HUB,
    "SH": HUB,
    "AH": HUB,
    "LZ": ZONE,
    "LZEW": ZONE_EW,
    "LZ_DC": DC_TIE,
    "LZ_DCEW": DC_TIE_EW,
    "RN": NODE,
    "PCCRN": NODE,
    "LCCRN": NODE,
    "PUN": NODE,
}


def _with_repeated_hour_key(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Files from before DSTFlag existed: the second occurrence of a label is the repeated hour."""
    if "dst_flag" in frame.columns:
        return frame
    occurrence = pl.int_range(pl.len()).over(key)
    return frame.with_columns(
        pl.when(occurrence > 0).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("dst_flag")
    )


# Settlement point type codes: about ten distinct values in 100,000 rows a day, read as a
# categorical of their own (`Categories`: the process-wide pool would grow with every other
# categorical) so `_location_types` trims and maps each code once, not each row.
TYPE_CODES = pl.Categorical(pl.Categories("ercot_settlement_point_type"))
CODED_FIELDS = {"settlement_point_type": TYPE_CODES}


def _location_types(codes: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Each row's type code (trimmed) and its standard location type (a code not listed, or
    none: a node), worked out per distinct code and spread over the rows by their codes."""
    if codes.dtype != TYPE_CODES:
        codes = codes.cast(pl.Utf8).cast(TYPE_CODES)
    distinct = codes.cat.get_categories().str.strip_chars()  # in code order
    types = distinct.replace_strict(ERCOT_LOCATION_TYPES, default=pl.lit(NODE))
    index = codes.to_physical()
    return distinct.gather(index), types.gather(index).fill_null(NODE)


def _location_type_from_name(location: pl.Expr) -> pl.Expr:
    """DAM files have no type column: hubs, load zones and DC ties are known by prefix."""
    return (
        pl.when(location.str.starts_with("HB_"))
        .then(pl.lit(HUB))
        .when(location.str.starts_with("LZ_"))
        .then(pl.lit(ZONE))
        .when(location.str.starts_with("DC_"))
        .then(pl.lit(DC_TIE))
        .otherwise(pl.lit(NODE))
    )


def _parse_date(text: pl.Expr) -> pl.Expr:
    text = text.str.strip_chars()
    return pl.coalesce([text.str.to_date(f, strict=False) for f in DATE_FORMATS])


def _is_repeated(flag: pl.Expr) -> pl.Expr:
    """Y (MIS CSV) or true (public API boolean) marks the repeated (CST) fall-back hour."""
    return flag.str.strip_chars().str.to_uppercase().is_in(["Y", "TRUE"])


def _interval_table(labels: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Local clock labels + repeated-hour flag -> DST-correct UTC interval starts.

    Computed once per distinct label (about 100 a day) and joined back, not once per row.
    """
    day = _parse_date(pl.col("delivery_date"))
    if "hour_ending" in labels.columns:
        hour = pl.col("hour_ending").str.strip_chars().str.split(":").list.first()
        minutes = pl.lit(0)
    else:
        hour = pl.col("delivery_hour").str.strip_chars()
        interval = pl.col("delivery_interval").str.strip_chars().cast(pl.Int32, strict=False)
        minutes = (interval - 1) * spec.interval_minutes
    hour = hour.cast(pl.Int32, strict=False)
    naive = day.cast(pl.Datetime("us")) + pl.duration(hours=hour - 1, minutes=minutes)
    return labels.with_columns(
        day.alias("operating_day"),
        naive.alias("_naive"),
        wall_clock_to_utc(naive, spec.timezone, _is_repeated(pl.col("dst_flag"))).alias(
            "interval_start_utc"
        ),
    )


def _sced_table(labels: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """SCED run times (local wall clock, seconds kept) + RepeatedHourFlag -> UTC starts.

    The run time is the interval start as published: no flooring to a 5-minute grid. The
    operating day is its local date.
    """
    text = pl.col("sced_timestamp").str.strip_chars()
    naive = pl.coalesce(
        [text.str.to_datetime(f, time_unit="us", strict=False) for f in SCED_TIME_FORMATS]
    )
    return labels.with_columns(
        naive.dt.date().alias("operating_day"),
        naive.alias("_naive"),
        wall_clock_to_utc(naive, spec.timezone, _is_repeated(pl.col("dst_flag"))).alias(
            "interval_start_utc"
        ),
    )


TIME_LABELS = ("delivery_date", "hour_ending", "delivery_hour", "delivery_interval")
# A file's rows share their time label in runs (an RT or SCED file is one interval, a DAM
# file hour after hour): the times are joined to each run, then spread over its rows, instead
# of a join on the labels' text row by row (about a third of the cost). When the runs are
# short (more than one in RUN_SHARE rows), the plain join.
RUN_SHARE = 8


def _interval_times(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """operating_day and interval_start_utc of every row, worked out once per distinct time
    label (`_interval_table`, `_sced_table`) and given to each run of rows sharing a label
    (RUN_SHARE), or joined back by label when the runs are short."""
    labels = [c for c in (*TIME_LABELS, "sced_timestamp", "dst_flag") if c in frame.columns]
    runs = frame.select(pl.struct(labels).rle()).to_series().struct.unnest()
    run_labels = runs.get_column("value").struct.unnest()
    unique = run_labels.unique()
    sced = "sced_timestamp" in frame.columns
    table = _sced_table(unique, spec) if sced else _interval_table(unique, spec)
    bad = table.filter(pl.col("operating_day").is_null() | pl.col("interval_start_utc").is_null())
    if bad.height:
        first = frame.join(bad.head(1), on=labels, how="semi").row(0, named=True)
        _raise_on_bad_time(bad.row(0, named=True), first["source_file"], bad.height)
    times = table.drop("_naive")
    if run_labels.height > frame.height // RUN_SHARE:  # labels change row by row: plain join
        return frame.join(times, on=labels, how="left")
    per_run = run_labels.join(times, on=labels, how="left", maintain_order="left")
    lengths = runs.get_column("len").to_numpy()
    run_of_row = np.repeat(np.arange(runs.height, dtype=np.uint32), lengths)
    return frame.with_columns(per_run.drop(labels).select(pl.all().gather(pl.Series(run_of_row))))


def _raise_on_bad_time(label: dict, source_file: str, count: int) -> None:
    if "sced_timestamp" in label and label["_naive"] is None:
        problem = (
            f"column SCEDTimestamp: {label['sced_timestamp']!r} is not MM/DD/YYYY HH:MM:SS "
            "(or YYYY-MM-DDTHH:MM:SS)"
        )
    elif label["operating_day"] is None:
        problem = f"delivery date {label['delivery_date']!r} is not MM/DD/YYYY or YYYY-MM-DD"
    elif label["_naive"] is None:
        problem = "hour/interval label is not a number in range"
    else:
        problem = f"local time {label['_naive']} does not exist (skipped by the DST change)"
    raise FormatError(source_file, f"{problem} ({count} bad label(s))")


def _finish(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Locations (or products) from the ERCOT columns; to_standard adds the rest (operating_day
    stays the labelled delivery date). Every cell came through parse_fields, which checked it."""
    base = frame
    if spec.table_kind is PRICE:
        if "settlement_point_type" in base.columns:
            code, location_type = _location_types(base.get_column("settlement_point_type"))
        else:
            code = pl.lit(None, dtype=pl.Utf8)
            location_type = _location_type_from_name(pl.col("settlement_point"))
        base = base.with_columns(
            pl.col("settlement_point").str.strip_chars().alias("location"),
            location_type.alias("location_type"),
            code.alias("iso_location_type"),
            pl.col("price").alias("lmp"),
        )
    else:
        base = base.with_columns(pl.col("ancillary_type").str.strip_chars().alias("product"))
    return to_standard(base, spec, cells_checked=True)


def read_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """CSV texts of one ERCOT dataset (any mix of header eras) -> standard long table."""
    if spec.file_layout in FUNDAMENTAL_LAYOUTS:
        return ercot_fundamentals.read_texts(texts, spec)
    if spec.file_layout not in PRICE_LAYOUTS:  # the Fuel Mix Report is only a workbook
        name = texts[0].name if texts else spec.dataset
        raise FormatError(name, f"ERCOT {spec.dataset} is read from its .xlsx workbook, not CSV")
    layout = PRICE_LAYOUTS[spec.file_layout]
    frames, header_of = [], {}
    for header, group in group_by_header(texts).items():
        fields = canonical_fields(header)
        check_fields(group[0], fields, layout.required, layout.column_name)
        header_of.update({f: cell for cell, f in zip(header, fields, strict=True) if f})
        json_rows = group[0].name.lower().endswith(".json")  # a bad cell is a record, not a line
        frames.append(
            parse_fields(group, fields, {"price"}, file_lines=not json_rows, coded=CODED_FIELDS)
        )
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    frame = pl.concat(frames, how="diagonal_relaxed")
    check_filled(frame, {"price": header_of["price"]})
    time_key = [*TIME_LABELS, "sced_timestamp"]
    name_key = [
        c for c in ("settlement_point", "settlement_point_type", "ancillary_type") if c in frame
    ]
    frame = _with_repeated_hour_key(frame, [c for c in time_key if c in frame.columns] + name_key)
    frame = _interval_times(frame, spec)
    return _finish(frame, spec)


def _json_cell(value: object) -> str:
    """A JSON value as CSV cell text: booleans as true/false, null as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_to_text(data: bytes, name: str) -> CsvText:
    """A public API reply (`{"fields": [{"name": ...}], "data": [[...], ...]}`) -> CsvText.

    The field names become the header (they map to the same canonical fields as the CSV
    headers) and each positional row a CSV line, so the CSV reader does the rest.
    """
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(name, f"not valid JSON: {exc}") from None
    fields = payload.get("fields") if isinstance(payload, dict) else None
    rows = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(fields, list) or not isinstance(rows, list):
        raise FormatError(name, 'not an ERCOT API reply: needs a "fields" list and a "data" list')
    names = [f.get("name") if isinstance(f, dict) else None for f in fields]
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise FormatError(name, f'"fields" entries must each have a "name": {fields[:5]!r}')
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise FormatError(
                name,
                f"data row {index} has {len(row) if isinstance(row, list) else 'no'} values "
                f"but fields name {len(names)} columns ({','.join(names)})",
            )
        writer.writerow([_json_cell(v).strip() for v in row])
    return split_csv(out.getvalue().encode("utf-8"), name)


def _read_text(path: Path) -> CsvText:
    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        return json_to_text(data, path.name)
    return split_csv(data, path.name)


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read extracted ERCOT files (stage 1: MIS .csv or public API .json) into the standard
    long table (stage 2). Yearly history workbooks (.xlsx) are read by formats/ercot_history.py,
    which renders their sheets in the daily layout, so every file goes through read_texts."""
    paths = [Path(p) for p in paths]
    if spec.file_layout == ercot_fuel_mix.LAYOUT:
        return ercot_fuel_mix.read_workbooks(paths, spec)
    books = [p for p in paths if ercot_history.is_workbook(p)]
    texts = [_read_text(p) for p in paths if not ercot_history.is_workbook(p)]
    return read_texts(texts + ercot_history.workbook_texts(books, spec), spec)


def read_workbook(path: Path | str, spec: DatasetSpec) -> pl.DataFrame:
    """A yearly history workbook -> the dataset's standard long table (rows of every sheet)."""
    return read_texts(ercot_history.sheet_texts(path, spec), spec)


def expected_text_rows(text: CsvText, spec: DatasetSpec) -> int:
    """A price CSV text yields one row per data line (JoinedCsvFormat); a wide fundamentals
    text one per filled series cell."""
    if spec.file_layout in FUNDAMENTAL_LAYOUTS:
        return ercot_fundamentals.expected_text_rows(text, spec)
    return text.rows


def lines_are_rows(spec: DatasetSpec) -> bool:
    """Whether each data line of the dataset's CSV is one standard row labelled with its
    file's name (the price layouts; `read_texts` takes a text of many parts): a wide
    fundamentals line is a row per series, and its rows are labelled per text."""
    return spec.file_layout in PRICE_LAYOUTS


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """A CSV yields one row per data line; an API JSON one per entry of its "data" list; a
    yearly workbook one per filled row of its sheets."""
    if spec.file_layout == ercot_fuel_mix.LAYOUT:
        return ercot_fuel_mix.count_rows(path)
    if ercot_history.is_workbook(path):
        return ercot_history.count_workbook_rows(path)
    if spec.file_layout in FUNDAMENTAL_LAYOUTS:
        return ercot_fundamentals.expected_text_rows(_read_text(Path(path)), spec)
    if Path(path).suffix.lower() != ".json":
        return data_lines
    try:
        rows = json.loads(Path(path).read_bytes().decode("utf-8-sig")).get("data")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return data_lines
    return len(rows) if isinstance(rows, list) else data_lines


def identify_dataset(header: Sequence[str]) -> DatasetSpec | None:
    """Which ERCOT dataset a CSV header (or API field list) belongs to (None if no layout)."""
    fundamentals = ercot_fundamentals.identify_header(header)
    if fundamentals is not None:
        return fundamentals
    fields = set(canonical_fields(header))
    matches = [
        spec
        for spec in ALL_DATASETS
        if spec.iso == "ERCOT"
        and spec.file_layout in PRICE_LAYOUTS
        and set(PRICE_LAYOUTS[spec.file_layout].required) <= fields
    ]
    # The most specific layout wins (RT has every DAM field plus hour/interval/type).
    matches.sort(key=lambda s: len(PRICE_LAYOUTS[s.file_layout].required), reverse=True)
    return matches[0] if matches else None


_JSON_FIELD_NAME = re.compile(rb'"name"\s*:\s*"([^"]*)"')


def json_field_names(head: bytes) -> list[str]:
    """Column names of an API reply from its first bytes (the "fields" list precedes "data";
    a cut-off head is fine as long as the field list is complete)."""
    start = head.find(b'"fields"')
    if start < 0:
        return []
    end = head.find(b'"data"', start)
    section = head[start : end if end > 0 else len(head)]
    return [m.decode("utf-8", "replace") for m in _JSON_FIELD_NAME.findall(section)]


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """Which ERCOT dataset a file is: a CSV by its header line, an API JSON reply by the names
    in its "fields" list (the file name is not needed); a yearly history workbook by its name."""
    if ercot_fuel_mix.is_fuel_mix_workbook(name):
        return next(s for s in ALL_DATASETS if s.file_layout == ercot_fuel_mix.LAYOUT)
    if ercot_history.is_workbook(name):
        return ercot_history.identify_workbook(name)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        names = json_field_names(stripped)
        return identify_dataset(names) if names else None
    first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip()
    if not first_line:
        return None
    return identify_dataset([field.strip().strip('"') for field in first_line.split(",")])
