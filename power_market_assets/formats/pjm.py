"""PJM Data Miner 2 files (JSON replies and CSV exports) into the standard long tables.

Price feeds are read here; the fundamentals feeds (layout "fundamentals": load, load
forecast, fuel mix, wind, solar) in formats/pjm_fundamentals.py, the marginal emission rates
(layout "marginal_emissions") in formats/pjm_emissions.py, which `read_files`, `identify` and
`expected_rows` hand them to.

Two stage-1 layouts carry the same field names (ISO_FORMATS.md 5.2, 5.3):

- JSON replies of `api.pjm.com/api/v1/<feed>`: `{"links":[...],"items":[{...}],
  "searchSpecification":{...},"totalRows":N}` (one file per page), or the bare item list that
  `download=true` returns.
- CSV exports users download from Data Miner: a header of the feed's field names, datetimes
  written ISO-style or US-style with a 12-hour clock (`11/3/2024 1:00:00 AM`; UNCONFIRMED,
  both accepted), quoting either way.

Time: `datetime_beginning_utc` is the truth; `datetime_beginning_ept` must agree with it in
America/New_York (the fall-back day's two 01:00 EPT hours differ only in the UTC column).
Superseded rows (`row_is_current` false) are dropped; `expected_rows` counts them out too.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from power_market_assets.formats import pjm_emissions as emissions
from power_market_assets.formats import pjm_fundamentals as fundamentals
from power_market_assets.formats.csvjoin import (
    parse_group,
    raise_on_bad_numbers,
    raise_on_control_characters,
    split_csv,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.pjm_dataminer import csv_header, is_json, json_items, parse_label
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.kinds import PRICE
from power_market_assets.registry.pjm import PJM_DATASETS
from power_market_assets.registry.schema import AGGREGATE, HUB, INTERFACE, NODE, ZONE
from power_market_assets.registry.spec import DatasetSpec

UTC_FIELD = "datetime_beginning_utc"
EPT_FIELD = "datetime_beginning_ept"
CURRENT_FIELD = "row_is_current"
# The spec.file_layout values read here (test_registry_completeness checks every spec has one):
# prices here, load / forecast / fuel mix / wind / solar in formats/pjm_fundamentals.py, the
# marginal emission rates in formats/pjm_emissions.py.
PRICE_LAYOUTS = frozenset({"lmp", "ancillary"})
LAYOUTS = PRICE_LAYOUTS | {fundamentals.LAYOUT, emissions.LAYOUT}

# PJM `type` codes -> standard location types (the code itself goes to iso_location_type).
PJM_LOCATION_TYPES = {
    "HUB": HUB,
    "ZONE": ZONE,
    "AGGREGATE": AGGREGATE,
    "RESIDUAL_METERED_EDC": AGGREGATE,
    "INTERFACE": INTERFACE,
    "EXT": INTERFACE,
    "TIE": INTERFACE,
    "GEN": NODE,
    "LOAD": NODE,
    "EHV": NODE,
    "BUS": NODE,
}
_FALSE = frozenset({"false", "f", "0", "n", "no"})
_HREF_FEED = re.compile(r"/api/v1/([A-Za-z0-9_]+)")
_JSON_KEY = re.compile(r'"([A-Za-z0-9_]+)"\s*:')
_JSON_UTC = re.compile(r'"datetime_beginning_utc"\s*:\s*"([^"]+)"')


# --------------------------------------------------------------------------- layouts


def price_fields(spec: DatasetSpec) -> tuple[str, ...]:
    """Numeric fields, the total first (lmp layout: total, energy, congestion, loss)."""
    if spec.file_layout == "lmp":
        s = spec.source.suffix
        return (
            f"total_lmp_{s}",
            f"system_energy_price_{s}",
            f"congestion_price_{s}",
            f"marginal_loss_price_{s}",
        )
    return (spec.source.value_field,)


def text_fields(spec: DatasetSpec) -> tuple[str, ...]:
    if spec.file_layout == "lmp":
        return (UTC_FIELD, EPT_FIELD, "pnode_name", "type")
    return (UTC_FIELD, EPT_FIELD, spec.source.product_field)


def required_fields(spec: DatasetSpec) -> tuple[str, ...]:
    return text_fields(spec) + price_fields(spec)


def optional_fields(spec: DatasetSpec) -> tuple[str, ...]:
    if spec.file_layout == "lmp":
        return (CURRENT_FIELD,)
    return (CURRENT_FIELD, spec.source.unit_field)


def _price_units(spec: DatasetSpec) -> frozenset[str]:
    return frozenset(spec.source.price_units)


def _keep_row(spec: DatasetSpec, current: object, unit: object) -> bool:
    """Superseded versions and (AS) non-price rows are not data of the dataset."""
    if current is not None and str(current).strip().lower() in _FALSE:
        return False
    if spec.file_layout == "lmp" or unit is None:
        return True
    units = _price_units(spec)
    return not units or str(unit).strip().lower() in units


# --------------------------------------------------------------------------- datetimes


def _time_table(labels: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Distinct (utc, ept, source_file) labels -> interval_start_utc; EPT checked against UTC."""
    tz = ZoneInfo(spec.timezone)
    starts = []
    for utc_text, ept_text, source in labels.iter_rows():
        utc = parse_label(utc_text or "")
        if utc is None:
            raise FormatError(source, f"column {UTC_FIELD}: {utc_text!r} is not a date-time")
        start = utc.replace(tzinfo=UTC)
        ept = parse_label(ept_text or "")
        local = start.astimezone(tz).replace(tzinfo=None)
        if ept != local:
            raise FormatError(
                source,
                f"column {EPT_FIELD}: {ept_text!r} disagrees with {UTC_FIELD} {utc_text!r} "
                f"(that instant is {local:%Y-%m-%d %H:%M:%S} in {spec.timezone})",
            )
        starts.append(start)
    return labels.with_columns(
        pl.Series("interval_start_utc", starts, dtype=pl.Datetime("us", "UTC"))
    )


# --------------------------------------------------------------------------- JSON


def _float_series(field: str, values: list, name: str) -> pl.Series:
    series = pl.Series(field, values, dtype=pl.Float64, strict=False)
    for index in series.is_null().arg_true().to_list():
        value = values[index]
        if value is None:
            continue
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ValueError
            series[index] = float(value)
        except ValueError:
            raise FormatError(
                name, f"column {field} item {index + 1}: price {value!r} is not a number"
            ) from None
    infinite = (series.is_not_null() & ~series.is_finite()).arg_true()
    if infinite.len():  # JSON's NaN, Infinity and 1e309 parse as floats
        first = infinite[0]
        raise FormatError(
            name,
            f"column {field!r} item {first + 1}: price {values[first]!r} is not a finite number "
            f"({infinite.len()} bad value(s) in the file)",
        )
    return series


def _text_series(field: str, values: Iterable) -> pl.Series:
    return pl.Series(
        field, [None if v is None else str(v) for v in values], dtype=pl.Utf8, strict=False
    )


def read_json_file(data: bytes, name: str, spec: DatasetSpec) -> pl.DataFrame:
    items = json_items(data, name)
    if not items:
        return _empty_raw(spec)
    keys = set(items[0])
    missing = [f for f in required_fields(spec) if f not in keys]
    if missing:
        raise FormatError(
            name, f"missing column(s) {', '.join(missing)}; fields were {','.join(items[0])}"
        )
    columns = [_text_series(f, (i.get(f) for i in items)) for f in text_fields(spec)]
    columns += [_float_series(f, [i.get(f) for i in items], name) for f in price_fields(spec)]
    columns += [
        _text_series(f, (i.get(f) for i in items)) for f in optional_fields(spec) if f in keys
    ]
    return pl.DataFrame(columns).with_columns(pl.lit(name).alias("source_file"))


# --------------------------------------------------------------------------- CSV


def read_csv_file(data: bytes, name: str, spec: DatasetSpec) -> pl.DataFrame:
    text = split_csv(data, name)
    header = csv_header(text.header)
    missing = [f for f in required_fields(spec) if f not in header]
    if missing:
        raise FormatError(
            name, f"missing column(s) {', '.join(missing)}; header was {','.join(text.header)}"
        )
    if len(set(header)) != len(header):
        raise FormatError(name, f"header repeats a column: {','.join(text.header)}")
    renamed = type(text)(text.name, tuple(header), text.body, text.rows)
    raise_on_control_characters([text])
    try:
        frame = parse_group([renamed], {cell: pl.Utf8 for cell in header})
    except FormatError:
        raise
    except Exception as exc:  # polars ComputeError and friends: ragged lines, bad quoting
        raise FormatError(name, f"malformed CSV: {exc}") from None
    wanted = [*text_fields(spec), *(f for f in optional_fields(spec) if f in header)]
    prices = [f for f in price_fields(spec) if f in header]
    raise_on_bad_numbers(frame.with_row_index("_line", offset=2), prices)
    out = frame.select(*wanted, "source_file")
    for field in price_fields(spec):
        parsed = frame.get_column(field).str.strip_chars().cast(pl.Float64, strict=False)
        out = out.with_columns(parsed.alias(field))
    return out.with_columns(pl.col("source_file").cast(pl.Utf8))


# --------------------------------------------------------------------------- the table


def _empty_raw(spec: DatasetSpec) -> pl.DataFrame:
    schema = {f: pl.Utf8 for f in text_fields(spec)}
    schema.update({f: pl.Float64 for f in price_fields(spec)})
    schema["source_file"] = pl.Utf8
    return pl.DataFrame(schema=schema)


def read_file(path: Path, spec: DatasetSpec) -> pl.DataFrame:
    data = Path(path).read_bytes()
    name = Path(path).name
    if is_json(name, data):
        return read_json_file(data, name, spec)
    return read_csv_file(data, name, spec)


def _kept(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    keep = pl.lit(True)
    if CURRENT_FIELD in frame.columns:
        flag = pl.col(CURRENT_FIELD).str.strip_chars().str.to_lowercase()
        keep = keep & (flag.is_null() | ~flag.is_in(list(_FALSE)))
    unit_field = spec.source.unit_field
    units = _price_units(spec)
    if spec.file_layout != "lmp" and unit_field in frame.columns and units:
        unit = pl.col(unit_field).str.strip_chars().str.to_lowercase()
        keep = keep & (unit.is_null() | unit.is_in(list(units)))
    return frame.filter(keep)


def _check_values(frame: pl.DataFrame, spec: DatasetSpec) -> None:
    total = price_fields(spec)[0]
    empty = frame.filter(pl.col(total).is_null())
    if empty.height:
        raise FormatError(
            empty.row(0, named=True)["source_file"],
            f"column {total}: {empty.height} row(s) have an empty price",
        )
    name_field = text_fields(spec)[2]
    blank = frame.filter(pl.col(name_field).is_null() | (pl.col(name_field) == ""))
    if blank.height:
        raise FormatError(
            blank.row(0, named=True)["source_file"],
            f"column {name_field}: {blank.height} row(s) have no name",
        )


def _finish(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Add the standard columns and cast to the registry schema, in schema order."""
    labels = frame.select(UTC_FIELD, EPT_FIELD, "source_file").unique(maintain_order=True)
    times = _time_table(labels, spec)
    base = frame.join(times, on=[UTC_FIELD, EPT_FIELD, "source_file"], how="left")
    prices = price_fields(spec)
    if spec.table_kind is PRICE:
        code = pl.col("type").str.strip_chars().str.to_uppercase()
        base = base.with_columns(
            pl.col("pnode_name").alias("location"),
            code.replace_strict(PJM_LOCATION_TYPES, default=pl.lit(NODE)).alias("location_type"),
            pl.col("type").alias("iso_location_type"),
            pl.col(prices[0]).alias("lmp"),
            pl.col(prices[1]).alias("energy"),
            pl.col(prices[2]).alias("congestion"),
            pl.col(prices[3]).alias("loss"),
        )
    else:
        base = base.with_columns(
            pl.col(text_fields(spec)[2]).alias("product"), pl.col(prices[0]).alias("price")
        )
    return to_standard(base, spec).sort("interval_start_utc", spec.pivot_column)


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Stage-1 Data Miner files (JSON pages or CSV exports) -> the standard long table."""
    if fundamentals.is_fundamentals(spec):
        return fundamentals.read_files(paths, spec)
    if emissions.is_emissions(spec):
        return emissions.read_files(paths, spec)
    frames = [read_file(Path(p), spec) for p in paths]
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    frame = _kept(pl.concat(frames, how="diagonal_relaxed"), spec)
    _check_values(frame, spec)
    return _finish(frame, spec)


# --------------------------------------------------------------------------- row counts


def _count_kept_records(records: Iterable[dict], spec: DatasetSpec) -> int:
    unit_field = spec.source.unit_field
    return sum(1 for r in records if _keep_row(spec, r.get(CURRENT_FIELD), r.get(unit_field)))


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """Rows a file must yield: its items (JSON) or data lines (CSV), less superseded rows
    and (AS) non-price rows; counted with the stdlib, apart from `read_files`."""
    if fundamentals.is_fundamentals(spec):
        return fundamentals.expected_rows(path, spec, data_lines)
    if emissions.is_emissions(spec):
        return emissions.expected_rows(path, spec, data_lines)
    data = Path(path).read_bytes()
    name = Path(path).name
    if is_json(name, data):
        return _count_kept_records(json_items(data, name), spec)
    text = data.decode("utf-8-sig", "replace")
    if "false" not in text.lower() and spec.file_layout == "lmp":
        return data_lines
    rows = csv.DictReader(io.StringIO(text))
    lowered = ({(k or "").strip().lower(): v for k, v in r.items()} for r in rows)
    return _count_kept_records((r for r in lowered if any(r.values())), spec)


# --------------------------------------------------------------------------- identify


PRICE_DATASETS = tuple(s for s in PJM_DATASETS if s.file_layout in PRICE_LAYOUTS)


def _spec_for_feed(feed: str) -> DatasetSpec | None:
    return next((s for s in PRICE_DATASETS if s.source.feed == feed.lower()), None)


def _head_fields_and_starts(head: str) -> tuple[set[str], list[datetime]]:
    """Field names and the first interval starts visible in a (possibly cut) file head."""
    if head.lstrip()[:1] in ("{", "["):
        fields = set(_JSON_KEY.findall(head))
        starts = [parse_label(t) for t in _JSON_UTC.findall(head)]
    else:
        lines = head.splitlines()
        if len(lines) > 1 and not head.endswith(("\n", "\r")):
            lines = lines[:-1]  # the last line may be cut by the head limit
        rows = list(csv.reader(lines))
        header = csv_header(rows[0]) if rows else []
        fields = set(header)
        index = header.index(UTC_FIELD) if UTC_FIELD in header else None
        starts = [parse_label(r[index]) for r in rows[1:] if index is not None and len(r) > index]
    return fields, [s for s in starts if s is not None]


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """Which PJM dataset a JSON reply or CSV export is (None when it is not PJM's).

    A fundamentals feed is recognized first (formats/pjm_fundamentals.py `identify`).

    The fields decide DA against RT against AS. Five-minute and hourly RT share their
    fields, so the feed name (in the file name or the reply's `links`) decides, else the
    interval starts: any start off the hour means five-minute, two starts an hour apart
    hourly; one single start (a cut head of a big file) is not enough and gives None.
    """
    found = fundamentals.identify(name, head)
    if found is not None:
        return found
    text = head.decode("utf-8-sig", "replace")
    fields, starts = _head_fields_and_starts(text)
    candidates = [s for s in PRICE_DATASETS if set(required_fields(s)) <= fields]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    by_feed = sorted(candidates, key=lambda s: len(s.source.feed), reverse=True)
    for feed in _HREF_FEED.findall(text):
        spec = _spec_for_feed(feed)
        if spec in candidates:
            return spec
    for spec in by_feed:
        if spec.source.feed in name.lower():
            return spec
    if any(s.minute or s.second for s in starts):
        return next((s for s in candidates if s.interval_minutes < 60), None)
    if len(set(starts)) >= 2:
        return next((s for s in candidates if s.interval_minutes == 60), None)
    return None
