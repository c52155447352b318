"""PJM Data Miner fundamentals feeds (load, load forecast, fuel mix, wind, solar) into the
standard long tables of their kinds (docs/reference/fundamentals/pjm.md).

A dataset reads one or more feeds (`PjmSource.feeds`, registry/pjm.py): wind and solar read
their actuals and their forecast. Each stage-1 file is one feed's JSON reply page or CSV
export; the feed is told by the reply's `links` (`/api/v1/<feed>`), else by the fields it
carries (the file name breaks a tie). Every item gives one row per value field of its feed
(the solar forecast's utility-scale and behind-the-meter columns give two rows).

Time: the `_utc` fields are the truth and their `_ept` twins must agree in America/New_York,
so the fall-back day's repeated 01:00 EPT hour comes out as two UTC hours. Actual wind and
solar carry no publication time: published_at_utc is the interval end, and their partition
day is the day of the interval (the reader sets operating_day); forecasts are partitioned by
the EPT day of their vintage.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.pjm_dataminer import csv_header, is_json, json_items, parse_label
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.kinds import (
    ACTUAL_MODEL,
    FORECAST,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    RENEWABLE,
)
from power_market_assets.registry.kinds import (
    UTC as UTC_DTYPE,
)
from power_market_assets.registry.pjm import PJM_DATASETS, PjmFeed, ept_field
from power_market_assets.registry.spec import DatasetSpec

LAYOUT = "fundamentals"
_HREF_FEED = re.compile(r"/api/v1/([A-Za-z0-9_]+)")
_JSON_KEY = re.compile(r'"([A-Za-z0-9_]+)"\s*:')
_SPAN_FIELDS = ("datetime_beginning_utc", "datetime_ending_utc")
_JSON_VALUE = {f: re.compile(rf'"{f}"\s*:\s*"([^"]+)"') for f in _SPAN_FIELDS}
# Every fundamentals dataset and feed, longest feed name first (a name test never stops at a
# feed whose name is part of another's).
FEEDS: tuple[tuple[PjmFeed, DatasetSpec], ...] = tuple(
    sorted(
        ((feed, spec) for spec in PJM_DATASETS for feed in spec.source.feeds),
        key=lambda pair: -len(pair[0].feed),
    )
)


def is_fundamentals(spec: DatasetSpec) -> bool:
    return spec.file_layout == LAYOUT


# --------------------------------------------------------------------------- which feed


def _feed_named(feed_name: str) -> tuple[PjmFeed, DatasetSpec] | None:
    return next((pair for pair in FEEDS if pair[0].feed == feed_name.lower()), None)


def _head_fields(text: str) -> set[str]:
    """Field names visible in a (possibly cut) file head: JSON keys or the CSV header."""
    if text.lstrip()[:1] in ("{", "["):
        return set(_JSON_KEY.findall(text))
    first = text.splitlines()[0] if text.strip() else ""
    return set(csv_header(next(csv.reader([first]), [])))


def _head_interval_minutes(text: str) -> float | None:
    """Minutes from the first item's `datetime_beginning_utc` to its `datetime_ending_utc`."""
    if text.lstrip()[:1] in ("{", "["):
        values = {f: _JSON_VALUE[f].search(text) for f in _SPAN_FIELDS}
        labels = [m.group(1) if m else "" for m in values.values()]
    else:
        rows = list(csv.reader(text.splitlines()[:2]))
        header = csv_header(rows[0]) if rows else []
        first = rows[1] if len(rows) > 1 else []
        labels = [first[header.index(f)] if f in header[: len(first)] else "" for f in _SPAN_FIELDS]
    start, end = (parse_label(label) for label in labels)
    return (end - start).total_seconds() / 60 if start and end else None


def find_feed(name: str, text: str) -> tuple[PjmFeed, DatasetSpec] | None:
    """The feed (and its dataset) a file holds: the reply's own link names it; otherwise the
    feeds whose fields it carries, the file name breaking a tie, else the most specific."""
    for feed_name in _HREF_FEED.findall(text):
        pair = _feed_named(feed_name)
        if pair is not None:
            return pair
    fields = _head_fields(text)
    fitting = [pair for pair in FEEDS if set(pair[0].required_fields) <= fields]
    named = [pair for pair in fitting if pair[0].feed in name.lower()]
    if named or len(fitting) <= 1:
        return (named or fitting or [None])[0]
    # The hourly and five-minute forecasts share their fields: the first item's interval
    # length tells them apart.
    minutes = _head_interval_minutes(text)
    timed = [pair for pair in fitting if pair[1].interval_minutes == minutes] or fitting
    return max(timed, key=lambda pair: len(pair[0].required_fields))


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """The fundamentals dataset a Data Miner file belongs to, or None."""
    pair = find_feed(name, head.decode("utf-8-sig", "replace"))
    return pair[1] if pair else None


def _feed_of_file(name: str, data: bytes, spec: DatasetSpec) -> PjmFeed:
    pair = find_feed(name, data[:65536].decode("utf-8-sig", "replace"))
    if pair is None or pair[1] is not spec:
        got = f"{pair[1].iso} {pair[1].dataset} ({pair[0].feed})" if pair else "no PJM feed"
        feeds = ", ".join(f.feed for f in spec.source.feeds)
        raise FormatError(name, f"is {got}, not one of {spec.dataset}'s feeds ({feeds})")
    return pair[0]


# --------------------------------------------------------------------------- raw records


def _json_frame(items: list[dict], feed: PjmFeed, name: str) -> pl.DataFrame:
    """The feed's needed fields as text (values as given), one row per item."""
    if items:
        missing = [f for f in feed.required_fields if f not in items[0]]
        if missing:
            raise FormatError(
                name, f"missing field(s) {', '.join(missing)}; fields were {','.join(items[0])}"
            )
    fields = (*feed.required_fields, *feed.optional_fields)
    columns = {
        field: pl.Series(
            field, [None if (v := i.get(field)) is None else str(v) for i in items], pl.Utf8
        )
        for field in fields
    }
    return pl.DataFrame(columns, schema={f: pl.Utf8 for f in fields})


def _csv_frame(data: bytes, feed: PjmFeed, name: str) -> pl.DataFrame:
    """A CSV export's needed columns as text (header cells matched like csv_header)."""
    try:
        frame = pl.read_csv(
            io.BytesIO(data), infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=False
        )
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise FormatError(name, f"malformed CSV: {exc}") from None
    header = csv_header(frame.columns)
    missing = [f for f in feed.required_fields if f not in header]
    if missing:
        raise FormatError(
            name, f"missing column(s) {', '.join(missing)}; header was {','.join(frame.columns)}"
        )
    frame = frame.rename(dict(zip(frame.columns, header, strict=True)))
    optional = [
        pl.col(f).str.strip_chars() if f in header else pl.lit(None, pl.Utf8).alias(f)
        for f in feed.optional_fields
    ]
    return frame.select(
        *(pl.col(f).str.strip_chars() for f in feed.required_fields), *optional
    ).filter(
        pl.any_horizontal(pl.col(f).is_not_null() & (pl.col(f) != "") for f in feed.required_fields)
    )


def _records(path: Path, spec: DatasetSpec) -> tuple[pl.DataFrame, PjmFeed]:
    data = Path(path).read_bytes()
    name = Path(path).name
    feed = _feed_of_file(name, data, spec)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if is_json(name, data):
        frame = _json_frame(json_items(data, name), feed, name)
    else:
        frame = _csv_frame(data, feed, name)
    return frame.with_columns(pl.lit(name).alias("source_file")), feed


# --------------------------------------------------------------------------- times, values


def _utc_times(frame: pl.DataFrame, utc_field: str, spec: DatasetSpec, name: str) -> pl.Series:
    """The UTC field as Datetime(UTC), each distinct label checked against its EPT twin."""
    tz = ZoneInfo(spec.timezone)
    local_field = ept_field(utc_field)
    labels = frame.select(utc_field, local_field).unique(maintain_order=True)
    starts = []
    for utc_text, ept_text in labels.iter_rows():
        utc = parse_label(utc_text or "")
        if utc is None:
            raise FormatError(name, f"column {utc_field}: {utc_text!r} is not a date-time")
        start = utc.replace(tzinfo=UTC)
        local = start.astimezone(tz).replace(tzinfo=None)
        if parse_label(ept_text or "") != local:
            raise FormatError(
                name,
                f"column {local_field}: {ept_text!r} disagrees with {utc_field} {utc_text!r} "
                f"(that instant is {local:%Y-%m-%d %H:%M:%S} in {spec.timezone})",
            )
        starts.append(start)
    table = labels.with_columns(pl.Series("_utc", starts, dtype=UTC_DTYPE))
    return frame.join(table, on=[utc_field, local_field], how="left").get_column("_utc")


def number_column(frame: pl.DataFrame, field: str, name: str, required: bool = True) -> pl.Series:
    """A numeric field as Float64: text that is not a finite number fails, naming the file,
    field and record; a blank is null unless the field is `required`."""
    text = frame.get_column(field).str.strip_chars()
    values = text.cast(pl.Float64, strict=False)
    given = text.is_not_null() & (text != "")
    bad = (given & (values.is_null() | ~values.is_finite())) | (~given if required else False)
    if bad.any():
        index = bad.arg_true()[0]
        raise FormatError(
            name,
            f"column {field} record {index + 1}: {text[index]!r} is not a number "
            f"({bad.sum()} bad value(s) in the file)",
        )
    return values


def _long_rows(frame: pl.DataFrame, feed: PjmFeed, spec: DatasetSpec) -> pl.DataFrame:
    """interval_start_utc, name, model, mw, published_at_utc (null for actuals), file."""
    name = frame.get_column("source_file")[0] if frame.height else ""
    start = _utc_times(frame, feed.start_field, spec, name)
    vintage = (
        _utc_times(frame, feed.vintage_field, spec, name)
        if feed.vintage_field
        else pl.Series([None] * frame.height, dtype=UTC_DTYPE)
    )
    label = (
        frame.get_column(feed.name_field).str.strip_chars()
        if feed.name_field
        else pl.Series([feed.fixed_name] * frame.height, dtype=pl.Utf8)
    )
    if (label.is_null() | (label == "")).any():
        raise FormatError(name, f"column {feed.name_field}: a record has no name")
    base = pl.DataFrame(
        {
            "interval_start_utc": start,
            "name": label,
            "published_at_utc": vintage,
            "technology": pl.Series([feed.technology] * frame.height, dtype=pl.Utf8),
            "source_file": frame.get_column("source_file"),
        }
    )
    return pl.concat(
        [
            base.with_columns(
                pl.lit(model).alias("model"), number_column(frame, field, name).alias("mw")
            )
            for field, model in feed.values
        ]
    )


# --------------------------------------------------------------------------- the table


def _as_kind(rows: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The reader's rows in the columns of the spec's kind (to_standard adds the rest)."""
    kind = spec.table_kind
    if kind != RENEWABLE:
        rows = rows.drop("technology")
    if kind == QUANTITY_BY_AREA:
        return rows.rename({"name": "area"})
    if kind == QUANTITY_BY_FUEL:
        return rows.rename({"name": "fuel"})
    if kind == FORECAST:
        return rows.rename({"name": "area"})
    if kind == RENEWABLE:
        end = pl.col("interval_start_utc") + pl.duration(minutes=spec.interval_minutes)
        actual = pl.col("model") == ACTUAL_MODEL
        published = pl.when(actual).then(end).otherwise(pl.col("published_at_utc"))
        day_of = pl.when(actual).then(pl.col("interval_start_utc")).otherwise(published)
        return rows.rename({"name": "area"}).with_columns(
            published.alias("published_at_utc"),
            day_of.dt.convert_time_zone(spec.timezone).dt.date().alias("operating_day"),
        )
    raise FormatError(spec.dataset, f"no PJM fundamentals reading for kind {kind}")


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "interval_start_utc": UTC_DTYPE,
            "name": pl.Utf8,
            "published_at_utc": UTC_DTYPE,
            "technology": pl.Utf8,
            "source_file": pl.Utf8,
            "model": pl.Utf8,
            "mw": pl.Float64,
        }
    )


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Stage-1 files of a fundamentals dataset (any of its feeds) -> its long table."""
    parts = [_long_rows(*_records(Path(p), spec), spec) for p in paths]
    rows = pl.concat([_empty_rows(), *parts], how="vertical_relaxed")
    return to_standard(_as_kind(rows, spec), spec).sort(*spec.unique_key)


# --------------------------------------------------------------------------- row counts


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """Rows a file must yield: its items (JSON) or non-blank data lines (CSV), times the
    value fields of its feed; counted with the stdlib, apart from `read_files`."""
    feed, records = record_count(path, spec)
    return records * len(feed.values)


def record_count(path: Path, spec: DatasetSpec) -> tuple[PjmFeed, int]:
    """A file's feed and its items (JSON) or non-blank data lines (CSV), with the stdlib."""
    data = Path(path).read_bytes()
    name = Path(path).name
    feed = _feed_of_file(name, data, spec)
    if is_json(name, data):
        records = len(json_items(data, name))
    else:
        text = data.decode("utf-8-sig", "replace")
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
        records = max(len(rows) - 1, 0)
    return feed, records
