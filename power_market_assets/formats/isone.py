"""ISO New England layouts into the standard long tables (ISO_FORMATS.md section 4).

Three file families carry the same prices:

- ISO Express report CSVs: `"C"` comment lines, an `"H"` line of column names, an `"H"` line
  of column types, `"D"` data lines and a `"T"` trailer. Text cells are quoted, numbers bare.
  Hour ending `"01"`..`"24"`; in the reports the spring-forward day omits `"02"` (not so in
  the SMD workbooks, below), the fall-back day adds the repeated hour as `"02X"` right after
  `"02"`. Five-minute files carry `Local Time` (the interval start, time of day) and
  location ids only.
- Web-service JSON (`{"HourlyLmps":{"HourlyLmp":[...]}}`, `{"FiveMinLmps":{...}}`):
  `BeginDate` is the local interval start with its UTC offset, so no DST guessing is needed.
- Day-ahead ancillary (DASI) reserve data: the same C/H/D/T report, served from
  `/transform/csv/daasreservedata` (`Local Date`, `Hour Ending`, `Location ID` 7000 only and
  four clearing prices), and the `/daasreservedata` web service (`{"isone_web_services":
  {"day_ahead_reserves":{"day_ahead_reserve":[...]}}}`, each record's `market_hour.local_day`
  the local hour start with its offset). Whether the report's fall-back day writes `"02X"` or
  `"02"` twice is UNCONFIRMED: a second `"02"` of a day is read as the repeated hour.
- Yearly SMD hourly workbooks (.xlsx): one sheet per load zone (and "ISO NE CA") with
  `Date`, `Hr_End` and `DA_LMP`/`DA_EC`/`DA_CC`/`DA_MLC` (`RT_*` for real time), and a Notes
  sheet. Unlike the reports, every day has 24 rows, the spring-forward day included: its HE
  `02` is synthesized by averaging HE01 and HE03 (the Notes say so; CONFIRMED on a real 2023
  workbook). That hour never existed and would land on HE 03, the real 01:00-02:00 EST hour,
  so it is dropped, counted out of `expected_rows`, and the drop is logged with its count.

Columns are found by name (case, spaces, underscores and punctuation ignored), so the column
order of the RT reports, which is UNCONFIRMED, does not matter.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from power_market_assets.formats import isone_fundamentals as fundamentals
from power_market_assets.formats.csvjoin import (
    check_fields,
    check_filled,
    group_by_header,
    parse_fields,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.filenames import name_tokens
from power_market_assets.formats.isone_report import (
    Report,
    count_data_lines,
    first_cell,
    hour_label_starts,
    parse_date,
    split_report,
)
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry import isone as registry
from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.schema import HUB, NODE, ZONE
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import expected_interval_count, wall_clock_to_utc

# Canonical field -> header spellings (normalized: lower case, letters and digits only).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("Date", "Local Date", "Operating Date"),
    "hour_ending": ("Hour Ending", "HE", "Hr_End"),
    "local_time": ("Local Time", "Interval Beginning", "Begin Date"),
    "location_id": ("Location ID", "LocId"),
    "location_name": ("Location Name",),
    "location_type": ("Location Type", "LocType"),
    "lmp": ("Locational Marginal Price", "LMP", "LMP Total"),
    "energy": ("Energy Component",),
    "congestion": ("Congestion Component",),
    "loss": ("Marginal Loss Component", "Loss Component"),
    "zone_id": ("Reserve Zone ID", "Reserve Zone Id"),
    "zone_name": ("Reserve Zone Name",),
    "TMSR": ("TMSR Clearing Price", "Ten Minute Spinning Reserve Clearing Price"),
    "TMNSR": (
        "TMNSR Clearing Price",
        "Ten Minute Non-Spinning Reserve Clearing Price",
        "Ten Minute Reserve Clearing Price",  # DASI report [3P ERW]
    ),
    "TMOR": (
        "TMOR Clearing Price",
        "Thirty Minute Operating Reserve Clearing Price",
        "Total Thirty Reserve Clearing Price",  # DASI report [3P ERW]
    ),
    "EIR": ("FER Price", "FER Clearing Price", "EIR Clearing Price"),
}
PRICE_FIELDS = ("lmp", "energy", "congestion", "loss")
RESERVE_FIELDS = registry.RESERVE_PRODUCTS
DA_AS_FIELDS = registry.DA_AS_PRODUCTS
NUMERIC_FIELDS = frozenset(PRICE_FIELDS + RESERVE_FIELDS + DA_AS_FIELDS)


@dataclass(frozen=True)
class Layout:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


LAYOUTS: dict[str, Layout] = {
    "hourly_lmp": Layout(
        required=("date", "hour_ending", "location_id", "location_name", "location_type")
        + PRICE_FIELDS
    ),
    "five_minute_lmp": Layout(
        required=("local_time", "location_id") + PRICE_FIELDS,
        optional=("date", "location_name", "location_type"),
    ),
    "hourly_reserve": Layout(
        required=("date", "hour_ending", "zone_name") + RESERVE_FIELDS, optional=("zone_id",)
    ),
    "daas_reserve": Layout(
        required=("date", "hour_ending") + DA_AS_FIELDS, optional=("location_id",)
    ),
    # Load, fuel mix and forecasts: read by formats/isone_fundamentals.py (its own fields).
    **{layout: Layout(required=()) for layout in fundamentals.LAYOUTS},
}
# Layout -> (fields unpivoted into products, products per record) for ancillary tables.
PRODUCT_FIELDS = {"hourly_reserve": RESERVE_FIELDS, "daas_reserve": DA_AS_FIELDS}

# ISO-NE location type codes -> standard location types (external nodes stay NODE; their
# ISO code is kept in iso_location_type).
LOCATION_TYPES = {"HUB": HUB, "LOAD ZONE": ZONE, "NETWORK NODE": NODE, "EXT. NODE": NODE}

# Report titles (first "C" line) -> dataset [HDR].
TITLES = {
    "Day-Ahead Energy Market Hourly LMP Report": registry.DA_PRICES,
    "Real-Time Energy Market Hourly LMP Report": registry.RT_PRICES_HOURLY,
    "Five-Minute Locational Marginal Prices": registry.RT_PRICES,
    "Final Hourly Reserve Zone Prices & Designations": registry.RT_AS_PRICES,
    # The DASI report's title line is UNCONFIRMED: the ISO Express report name [3P ERW].
    registry.AS_PRICES.title: registry.AS_PRICES,
}
# SMD workbook sheet -> pricing location. "ISO NE CA" as the hub is UNCONFIRMED.
SMD_SHEETS = {
    "ISO NE CA": (".H.INTERNAL_HUB", "HUB"),
    "ME": (".Z.MAINE", "LOAD ZONE"),
    "NH": (".Z.NEWHAMPSHIRE", "LOAD ZONE"),
    "VT": (".Z.VERMONT", "LOAD ZONE"),
    "CT": (".Z.CONNECTICUT", "LOAD ZONE"),
    "RI": (".Z.RHODEISLAND", "LOAD ZONE"),
    "SEMA": (".Z.SEMASS", "LOAD ZONE"),
    "WCMA": (".Z.WCMASS", "LOAD ZONE"),
    "NEMA": (".Z.NEMASSBOST", "LOAD ZONE"),
}
SMD_SUFFIXES = {"lmp": "LMP", "energy": "EC", "congestion": "CC", "loss": "MLC"}
# File name words -> the HourlyLmps dataset they name (`hourlylmp_da`, `isone-da-final-...`).
_MARKET_TOKENS = {
    "da": registry.DA_PRICES,
    "dam": registry.DA_PRICES,
    "dayahead": registry.DA_PRICES,
    "hourlylmpda": registry.DA_PRICES,
    "rt": registry.RT_PRICES_HOURLY,
    "rtm": registry.RT_PRICES_HOURLY,
    "realtime": registry.RT_PRICES_HOURLY,
    "hourlylmprt": registry.RT_PRICES_HOURLY,
}
log = logging.getLogger(__name__)
_NAME_DAY = re.compile(r"(?<!\d)(\d{8})(?!\d)")


def _normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ALIAS_LOOKUP = {_normalize(a): field for field, names in FIELD_ALIASES.items() for a in names}


def canonical_fields(header: Sequence[str]) -> list[str | None]:
    return [_ALIAS_LOOKUP.get(_normalize(cell)) for cell in header]


# ---------------------------------------------------------------------------------------------
# C/H/D/T report files


def _report_frames(reports: Sequence[Report], layout: Layout) -> pl.DataFrame | None:
    frames = []
    for header, group in group_by_header([r.text for r in reports]).items():
        fields = canonical_fields(header)
        check_fields(group[0], fields, layout.required, lambda f: FIELD_ALIASES[f][0])
        frames.append(parse_fields(group, fields, NUMERIC_FIELDS, file_lines=False))
    if not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.col("source_file").cast(pl.Utf8)
    )


# ---------------------------------------------------------------------------------------------
# Local labels -> UTC


def _five_minute_starts(frame: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """`Local Time` (interval start) -> UTC. The repeated fall-back hour is told apart by a
    trailing "X" when present, else by order: a location's second 01:MM row is the later one."""
    text = pl.col("local_time").str.strip_chars()
    has_date = text.str.contains(" ")
    date_part = pl.when(has_date).then(text.str.split(" ").list.first())
    time_part = pl.when(has_date).then(text.str.split(" ").list.last()).otherwise(text)
    marked = time_part.str.to_uppercase().str.ends_with("X")
    clock = time_part.str.to_uppercase().str.strip_chars_end("X")
    clock = pl.when(clock.str.count_matches(":") == 1).then(clock + ":00").otherwise(clock)
    frame = frame.with_columns(
        pl.coalesce(parse_date(date_part), pl.col("_file_day")).alias("_day"),
        clock.str.to_time("%H:%M:%S", strict=False).alias("_clock"),
        marked.alias("_marked"),
    )
    occurrence = pl.int_range(pl.len()).over("_day", "_clock", "location_id")
    frame = frame.with_columns((pl.col("_marked") | (occurrence > 0)).alias("_repeat"))
    naive = pl.col("_day").dt.combine(pl.col("_clock"))
    frame = frame.with_columns(
        wall_clock_to_utc(naive, timezone, pl.col("_repeat")).alias("interval_start_utc")
    )
    bad = frame.filter(pl.col("interval_start_utc").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"local time {row['local_time']!r} (day {row['_day']}) is not a valid interval start "
            f"({bad.height} bad row(s))",
        )
    return frame.drop("_day", "_clock", "_marked", "_repeat", "_file_day")


def _file_day(name: str, comments: Sequence[str]) -> date | None:
    """The operating day of a report from its name (YYYYMMDD) or its "Report for:" line."""
    match = _NAME_DAY.search(name)
    if match:
        try:
            return date(int(match[1][:4]), int(match[1][4:6]), int(match[1][6:]))
        except ValueError:
            pass
    for comment in comments:
        found = re.search(r"Report for:\s*(\d{2})/(\d{2})/(\d{4})", comment)
        if found:
            return date(int(found[3]), int(found[1]), int(found[2]))
    return None


# ---------------------------------------------------------------------------------------------
# Standard columns


def _finish(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Add the standard columns and cast to `spec.schema`, in schema order."""
    # operating_day is derived from the interval start (to_standard), whatever the file said.
    base = frame.drop("operating_day", strict=False)
    if spec.table_kind is PRICE:
        code = pl.col("iso_location_type")
        base = base.with_columns(
            code.replace_strict(LOCATION_TYPES, default=pl.lit(NODE)).alias("location_type")
        )
    return to_standard(base, spec)


def _resolve_locations(frame: pl.DataFrame) -> pl.DataFrame:
    """Name and type from the file, else from the known hub/zone ids, else the id as name."""
    known_names = {k: v[0] for k, v in registry.KNOWN_LOCATION_IDS.items()}
    known_types = {k: v[1] for k, v in registry.KNOWN_LOCATION_IDS.items()}
    location_id = pl.col("location_id").cast(pl.Utf8).str.strip_chars()
    name = location_id.replace_strict(known_names, default=location_id)
    code = location_id.replace_strict(known_types, default=pl.lit("NETWORK NODE"))
    if "location_name" in frame.columns:
        given = pl.col("location_name").str.strip_chars()
        name = pl.when(given.is_not_null() & (given != "")).then(given).otherwise(name)
    if "location_type" in frame.columns:
        given = pl.col("location_type").str.strip_chars()
        code = pl.when(given.is_not_null() & (given != "")).then(given).otherwise(code)
    return frame.with_columns(name.alias("location"), code.alias("iso_location_type"))


def _check_prices_present(frame: pl.DataFrame, fields: Sequence[str]) -> None:
    check_filled(frame, {field: FIELD_ALIASES[field][0] for field in fields})


def _reserve_long(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (hour, zone, product); product = "<zone>_<product>", e.g. ROS_TMSR."""
    long = frame.unpivot(
        index=["interval_start_utc", "zone_name", "source_file"],
        on=list(RESERVE_FIELDS),
        variable_name="_product",
        value_name="price",
    )
    product = pl.col("zone_name").str.strip_chars() + pl.lit("_") + pl.col("_product")
    return long.with_columns(product.alias("product"))


def _mark_repeated_hour(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """A second "02" of a day (per `by`) is the repeated fall-back hour, "02X": the DASI report
    may write the hour twice instead of "02X" (UNCONFIRMED), in file order."""
    label = pl.col("hour_ending").str.strip_chars()
    nth = pl.int_range(pl.len()).over(["date", "hour_ending", *by])
    repeated = (label == "02") & (nth > 0)
    return frame.with_columns(
        pl.when(repeated).then(label + "X").otherwise(pl.col("hour_ending")).alias("hour_ending")
    )


def _daas_long(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (hour, DASI product); DASI clears system-wide only (location 7000), so a
    row of another location is refused rather than taken as a second price of the product."""
    if "location_id" in frame.columns:
        location = pl.col("location_id").cast(pl.Utf8).str.strip_chars()
        other = frame.filter(location != registry.DA_AS_LOCATION_ID)
        if other.height:
            row = other.row(0, named=True)
            raise FormatError(
                row["source_file"],
                f"Location ID {row['location_id']!r} ({other.height} row(s)): day-ahead "
                f"ancillary prices clear system-wide, location {registry.DA_AS_LOCATION_ID} only",
            )
    long = frame.unpivot(
        index=["interval_start_utc", "source_file"],
        on=list(DA_AS_FIELDS),
        variable_name="product",
        value_name="price",
    )
    return long


# ---------------------------------------------------------------------------------------------
# Per family readers


def read_reports(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame | None:
    reports = [split_report(Path(p).read_bytes(), Path(p).name) for p in paths]
    layout = LAYOUTS[spec.file_layout]
    frame = _report_frames(reports, layout)
    if frame is None or frame.height == 0:
        return None
    _check_prices_present(frame, PRICE_FIELDS + RESERVE_FIELDS + DA_AS_FIELDS)
    if spec.file_layout == "five_minute_lmp":
        days = {r.text.name: _file_day(r.text.name, r.comments) for r in reports}
        frame = frame.with_columns(
            pl.col("source_file").replace_strict(days, return_dtype=pl.Date).alias("_file_day")
        )
        return _resolve_locations(_five_minute_starts(frame, spec.timezone))
    if spec.file_layout == "daas_reserve":
        by = ["source_file", *(["location_id"] if "location_id" in frame.columns else [])]
        frame = hour_label_starts(_mark_repeated_hour(frame, by), spec.timezone)
        return _daas_long(frame)
    frame = hour_label_starts(frame, spec.timezone)
    if spec.file_layout == "hourly_reserve":
        return _reserve_long(frame)
    return _resolve_locations(frame)


def _json_items(payload: object, root: str, name: str) -> list[dict]:
    """The records under `root` (dotted for nested roots, e.g.
    "isone_web_services.day_ahead_reserves"); an empty level ("", {}, null) means no data."""
    inner = payload
    for level in root.split("."):
        if not isinstance(inner, dict) or level not in inner:
            found = list(inner)[:3] if isinstance(inner, dict) else type(inner).__name__
            raise FormatError(name, f"JSON reply has no {root!r} root (found {found})")
        inner = inner[level]
        if not inner:  # "" or {} or null: no data
            return []
    if not isinstance(inner, dict):
        raise FormatError(name, f"JSON {root!r} is not an object")
    leaf = root.rsplit(".", 1)[-1]
    items = next(iter(inner.values()), []) if len(inner) == 1 else inner.get(leaf[:-1], [])
    if isinstance(items, dict):  # a single record comes unwrapped
        items = [items]
    if not isinstance(items, list):
        raise FormatError(name, f"JSON {root!r} holds no list of records")
    return items


def _json_number(item: dict, key: str, name: str) -> float:
    if key not in item:
        raise FormatError(name, f"JSON record lacks field {key!r} (fields: {sorted(item)})")
    value = item[key]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FormatError(name, f"field {key!r}: value {value!r} is not a number") from None


def _lmp_rows(items: list[dict], name: str) -> list[dict]:
    rows = []
    for item in items:
        location = item.get("Location")
        if not isinstance(location, dict) or "$" not in location:
            raise FormatError(name, f"JSON record lacks field 'Location' ($, @LocId): {item}")
        if "BeginDate" not in item:
            raise FormatError(name, "JSON record lacks field 'BeginDate'")
        rows.append(
            {
                "begin": str(item["BeginDate"]),
                "location": str(location["$"]).strip(),
                "iso_location_type": str(location.get("@LocType", "")).strip() or None,
                "lmp": _json_number(item, "LmpTotal", name),
                "energy": _json_number(item, "EnergyComponent", name),
                "congestion": _json_number(item, "CongestionComponent", name),
                "loss": _json_number(item, "LossComponent", name),
            }
        )
    return rows


_RESERVE_JSON_KEYS = {
    product: tuple(
        _normalize(k)
        for k in (f"{product}ClearingPrice", f"{product}ClearingPrc", f"{product}Price")
    )
    for product in RESERVE_FIELDS
}


def _reserve_rows(items: list[dict], name: str) -> list[dict]:
    rows = []
    for item in items:
        keys = {_normalize(k): k for k in item}
        zone = item.get("ReserveZoneName") or item.get("ReserveZone")
        if not zone or "BeginDate" not in item:
            raise FormatError(name, f"JSON record lacks 'BeginDate' or 'ReserveZoneName': {item}")
        row = {"begin": str(item["BeginDate"]), "zone_name": str(zone).strip()}
        for product, aliases in _RESERVE_JSON_KEYS.items():
            key = next((keys[a] for a in aliases if a in keys), f"{product}ClearingPrice")
            row[product] = _json_number(item, key, name)
        rows.append(row)
    return rows


# DASI web-service fields -> product [CLIENT: GS; 3P BUST]; EIR clears at the FER price.
_DAAS_JSON_KEYS = {
    "TMSR": "tmsr_clearing_price",
    "TMNSR": "tmnsr_clearing_price",
    "TMOR": "tmor_clearing_price",
    "EIR": "fer_clearing_price",
}


def json_record_count(payload: object, root: str) -> int:
    """Records under `root` of a web-service reply; 0 when it holds none (or has no root)."""
    try:
        return len(_json_items(payload, root, ""))
    except FormatError:
        return 0


def _daas_rows(items: list[dict], name: str) -> list[dict]:
    """`market_hour.local_day` is the local hour start with its offset (both fall-back hours
    are told apart by the offset)."""
    rows = []
    for item in items:
        hour = item.get("market_hour")
        if not isinstance(hour, dict) or not hour.get("local_day"):
            raise FormatError(name, f"JSON record lacks field 'market_hour.local_day': {item}")
        row = {"begin": str(hour["local_day"])}
        for product, key in _DAAS_JSON_KEYS.items():
            row[product] = _json_number(item, key, name)
        rows.append(row)
    return rows


_JSON_ROWS = {"daas_reserve": _daas_rows, "hourly_reserve": _reserve_rows}


def _begin_to_utc(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
    )


def read_json_replies(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame | None:
    root = spec.source.ws_root
    frames = []
    for path in paths:
        name = Path(path).name
        try:
            payload = json.loads(Path(path).read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(name, f"not JSON: {exc}") from None
        items = _json_items(payload, root, name)
        rows = _JSON_ROWS.get(spec.file_layout, _lmp_rows)(items, name)
        if not rows:
            continue
        frame = pl.DataFrame(rows).with_columns(
            _begin_to_utc("begin").alias("interval_start_utc"), pl.lit(name).alias("source_file")
        )
        bad = frame.filter(pl.col("interval_start_utc").is_null())
        if bad.height:
            raise FormatError(name, f"BeginDate {bad['begin'][0]!r} is not an ISO timestamp")
        frames.append(frame)
    if not frames:
        return None
    frame = pl.concat(frames, how="diagonal_relaxed")
    if spec.file_layout == "daas_reserve":
        return _daas_long(frame)
    return _reserve_long(frame) if spec.table_kind is ANCILLARY else frame


def read_smd_workbook(path: Path, spec: DatasetSpec) -> pl.DataFrame | None:
    """A yearly SMD hourly workbook: the DA_* or RT_* columns of each zone sheet."""
    name = Path(path).name
    prefix = spec.source.smd_prefix
    if not prefix:
        raise FormatError(name, f"SMD workbooks hold no {spec.dataset} data")
    try:
        sheets = pl.read_excel(path, sheet_id=0, raise_if_empty=False)
    except Exception as exc:
        raise FormatError(name, f"not a readable workbook: {exc}") from None
    frames = []
    for sheet, data in sheets.items():
        if sheet.strip() not in SMD_SHEETS or data.height == 0:
            continue
        location, code = SMD_SHEETS[sheet.strip()]
        frames.append(_smd_sheet(data, f"{name}[{sheet}]", name, prefix, location, code))
    if not frames:
        raise FormatError(name, f"no SMD zone sheet (expected one of {sorted(SMD_SHEETS)})")
    return _drop_synthesized_spring_hour(pl.concat(frames, how="vertical_relaxed"), name)


def _synthesized_spring_hour(frame: pl.DataFrame, by: str) -> pl.Series:
    """Rows of an SMD sheet's made-up hour: HE 02 on a spring-forward day that also has HE 03
    (their Notes: averaged from HE01 and HE03). 02:00-03:00 did not exist that night, and
    HE 03 is the real hour 01:00-02:00 EST, so HE 02 would land on it."""
    day = parse_date(pl.col("date"))
    days = frame.select(day.unique().drop_nulls()).to_series().to_list()
    spring = [d for d in days if expected_interval_count(d, registry.TIMEZONE, 60) == 23]
    label = pl.col("hour_ending").cast(pl.Utf8).str.strip_chars()
    has_real_hour = (label == "03").any().over(day, pl.col(by))
    return frame.select((day.is_in(spring) & (label == "02") & has_real_hour).alias("x"))["x"]


def _drop_synthesized_spring_hour(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Drop the made-up spring hour (never map it onto a real one) and say how many rows went."""
    synthesized = _synthesized_spring_hour(frame, by="location")
    dropped = frame.filter(synthesized)
    if dropped.height:
        days = ", ".join(sorted(str(d) for d in dropped.get_column("date").unique()))
        log.warning(
            "%s: dropped %d row(s) of hour ending 02 on spring-forward day(s) %s: synthesized "
            "by averaging HE01 and HE03 (the workbook's Notes), an hour that did not exist",
            name,
            dropped.height,
            days,
        )
    return frame.filter(~synthesized)


def _smd_sheet(
    data: pl.DataFrame, label: str, name: str, prefix: str, location: str, code: str
) -> pl.DataFrame:
    columns = {"date": "Date", "hour_ending": "Hr_End"} | {
        field: f"{prefix}{suffix}" for field, suffix in SMD_SUFFIXES.items()
    }
    missing = [c for c in columns.values() if c not in data.columns]
    if missing:
        raise FormatError(label, f"sheet is missing column(s) {missing}")
    frame = data.select([pl.col(c).alias(f) for f, c in columns.items()])
    for field in SMD_SUFFIXES:
        values = frame.get_column(field)
        if values.dtype == pl.Utf8:
            parsed = values.str.strip_chars().cast(pl.Float64, strict=False)
            bad = values.filter(parsed.is_null() & values.is_not_null())
            if bad.len():
                raise FormatError(
                    label, f"column {columns[field]!r}: value {bad[0]!r} is not a number"
                )
    frame = frame.with_columns(
        pl.col(*SMD_SUFFIXES).cast(pl.Float64),
        _smd_hour_label(pl.col("hour_ending")),
        pl.col("date").cast(pl.Utf8),
        pl.lit(name).alias("source_file"),
        pl.lit(location).alias("location"),
        pl.lit(code).alias("iso_location_type"),
    )
    # Numeric hour labels (older years) repeat 2 on the fall-back day: the second one is 02X.
    repeat = pl.int_range(pl.len()).over("date", "hour_ending") > 0
    frame = frame.with_columns(
        pl.when(repeat).then(pl.col("hour_ending") + "X").otherwise(pl.col("hour_ending"))
    )
    _check_prices_present(frame, PRICE_FIELDS)
    return frame


def _smd_hour_label(column: pl.Expr) -> pl.Expr:
    text = column.cast(pl.Utf8).str.strip_chars().str.replace(r"\.0$", "")
    return text.str.zfill(2).alias("hour_ending")


# ---------------------------------------------------------------------------------------------
# The formats contract


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Stage-1 files of one ISO-NE dataset (reports, JSON replies, workbooks) -> long table."""
    if spec.file_layout in fundamentals.LAYOUTS:
        return _read_fundamentals(paths, spec)
    by_kind: dict[str, list[Path]] = {}
    for path in sorted(map(Path, paths), key=lambda p: p.name):
        by_kind.setdefault(path.suffix.lower(), []).append(path)
    frames = []
    unknown = sorted(set(by_kind) - {".csv", ".json", ".xlsx"})
    if unknown:
        raise FormatError(by_kind[unknown[0]][0].name, "not an ISO-NE .csv, .json or .xlsx file")
    if ".csv" in by_kind:
        frames.append(read_reports(by_kind[".csv"], spec))
    if ".json" in by_kind:
        frames.append(read_json_replies(by_kind[".json"], spec))
    for workbook in by_kind.get(".xlsx", []):
        smd = read_smd_workbook(workbook, spec)
        frames.append(hour_label_starts(smd, spec.timezone) if smd is not None else None)
    present = [f for f in frames if f is not None and f.height]
    if not present:
        return pl.DataFrame(schema=spec.schema)
    combined = pl.concat(
        [f.select(sorted(set(f.columns) & _KEEP)) for f in present], how="diagonal_relaxed"
    )
    return _finish(combined, spec)


_KEEP = {
    "interval_start_utc",
    "location",
    "iso_location_type",
    *PRICE_FIELDS,
    "product",
    "price",
    "source_file",
}


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """Which ISO-NE dataset a file is: report title, JSON root, or SMD workbook name."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return registry.DA_PRICES if "smd" in lower else None
    text = head.decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if text.startswith("{"):
        return _identify_json(name, text)
    first = text.split("\n", 1)[0].rstrip("\r")
    if first_cell(first) != "C":
        return None
    title = first.split(",", 1)[1].strip().strip('"') if "," in first else ""
    return TITLES.get(title) or fundamentals.identify_report(_head_comments(text))


def _head_comments(text: str) -> list[str]:
    """The "C" lines at the top of a report's first bytes (title, "Filename: ..."...)."""
    comments = []
    for line in text.split("\n")[:8]:
        if first_cell(line) != "C" or "," not in line:
            break
        comments.append(line.split(",", 1)[1].strip().strip('"'))
    return comments


def _read_fundamentals(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Load, fuel and forecast reports; the fuel mix's web-service replies too."""
    by_kind: dict[str, list[Path]] = {}
    for path in sorted(map(Path, paths), key=lambda p: p.name):
        by_kind.setdefault(path.suffix.lower(), []).append(path)
    readable = {".csv", ".json"} if spec.source.ws_root else {".csv"}
    unknown = sorted(set(by_kind) - readable)
    if unknown:
        raise FormatError(by_kind[unknown[0]][0].name, f"not an ISO-NE {spec.dataset} file")
    frames = [fundamentals.read_reports(by_kind.get(".csv", []), spec)]
    if ".json" in by_kind:
        frames.append(fundamentals.read_json(by_kind[".json"], spec))
    return pl.concat(frames)


def _identify_json(name: str, text: str) -> DatasetSpec | None:
    root = text[1:].lstrip().split('"', 2)[1] if '"' in text else ""
    if root == "FiveMinLmps":
        return registry.RT_PRICES
    if root == "RealTimeHourlyOperatingReserves":
        return registry.RT_AS_PRICES
    if root == "isone_web_services" and '"day_ahead_reserves"' in text:
        return registry.AS_PRICES
    if root == registry.FUEL_MIX.source.ws_root:
        return registry.FUEL_MIX
    if root == "HourlyLmps":
        return _hourly_lmp_market(name)
    return None


def _hourly_lmp_market(name: str) -> DatasetSpec:
    """DA and RT HourlyLmps replies have the same shape: only the name can tell them apart."""
    tokens = name_tokens(name)
    markets = {spec for token, spec in _MARKET_TOKENS.items() if token in tokens}
    if len(markets) == 1:
        return markets.pop()
    found = "both a 'da' and an 'rt' word" if markets else "neither a 'da' nor an 'rt' word"
    raise FormatError(
        name,
        "is an ISO-NE HourlyLmps web-service reply; day-ahead and real-time replies have the "
        f"same shape and its name holds {found}, so nothing tells DA from RT: "
        "rename it (e.g. hourlylmp-da-...json) or pass --dataset isone/da_prices or "
        "--dataset isone/rt_prices_hourly",
    )


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """Standard rows a file must yield, counted without the reader: "D" lines for reports,
    records for JSON replies, zone-sheet rows for workbooks; times the products per row for
    reserve prices."""
    path = Path(path)
    if spec.file_layout in fundamentals.LAYOUTS:
        if path.suffix.lower() == ".json":
            try:
                return len(fundamentals.json_records(path, spec))
            except FormatError:
                return 0
        return fundamentals.expected_rows(path, spec)
    per_record = len(PRODUCT_FIELDS[spec.file_layout]) if spec.table_kind is ANCILLARY else 1
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return count_data_lines(path.read_bytes()) * per_record
    if suffix == ".json":
        try:
            payload = json.loads(path.read_bytes())
            return len(_json_items(payload, spec.source.ws_root, path.name)) * per_record
        except (FormatError, ValueError):
            return 0
    if suffix == ".xlsx":
        sheets = pl.read_excel(path, sheet_id=0, raise_if_empty=False)
        return sum(_smd_sheet_rows(d) for s, d in sheets.items() if s.strip() in SMD_SHEETS)
    return data_lines


def _smd_sheet_rows(data: pl.DataFrame) -> int:
    """Rows an SMD zone sheet yields: all but its synthesized spring-forward hour."""
    if not {"Date", "Hr_End"} <= set(data.columns):
        return data.height
    cells = data.select(
        pl.col("Date").cast(pl.Utf8).alias("date"),
        _smd_hour_label(pl.col("Hr_End")),
        pl.lit(0).alias("sheet"),
    )
    return data.height - int(_synthesized_spring_hour(cells, by="sheet").sum())
