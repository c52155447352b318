"""ISO-NE load, fuel-mix and forecast reports into the standard long tables (issue 13; facts and
how sure each is: docs/reference/fundamentals/isone.md).

Every one is an ISO Express C/H/D/T report (formats/isone_report.py), served by the
`/transform/csv/<report>` URLs:

- `fiveminuteestimatedzonalload`: a local time stamp, the load zone's id and name, its
  estimated load and estimated behind-the-meter solar: one `zonal_load` row per zone (area =
  zone name) plus one per zone's BTM PV (area "<zone> BTM PV") where the cell is filled.
- `fiveminutesystemload`: a local time stamp and several system load measures: each measure
  column is an area named as the column (`Native Load` is the system's load).
- `genfuelmix`: `Date`, `Time` (irregular stamps, seconds kept), `Fuel Category`, `Gen Mw`;
  or the web service's reply `{"GenFuelMixes":{"GenFuelMix":[{"BeginDate":
  "2024-11-25T15:31:41.000-05:00","GenMw":479,"FuelCategory":"Hydro",...}]}}` (the offset
  tells the fall-back hours apart).
- `reliabilityregionloadforecast`: `Date`, `Hour Ending`, region, MW, percentage and the
  publication's creation time (local): every vintage of one forecast day; the partition is that
  day (the reader sets operating_day).
- `wphf` / `sphf`: seven forecast days as columns: the first "D" line names them (`Date`,
  `Hour Ending`, MM/DD/YYYY...), then one line per hour ending; a cell left empty is an hour the
  day does not have. Published once a day; published_at is the file's day at 10:00 local.

Five-minute and fuel-mix stamps are local wall clock without an offset: on the fall-back day
the 01:xx stamps come twice, the second pass (after the clock went back, per area or fuel, in
file order) is the repeated, standard-time hour.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl

from power_market_assets.formats.csvjoin import check_fields, parse_fields
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.isone_report import (
    Report,
    hour_label_starts,
    parse_date,
    split_report,
)
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry import isone as registry
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import wall_clock_to_utc

# Canonical field -> header spellings (normalized: lower case, letters and digits only).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "stamp": ("Date/Time", "Local Time", "Interval Begin Date", "Begin Date", "Local Date Time"),
    "zone_id": ("Load Zone ID", "Load Zone Id", "Zone ID"),
    "zone": ("Load Zone Name", "Load Zone", "Zone Name"),
    "load": ("Estimated Load", "Estimated Load MW", "Load MW"),
    "btm_pv": ("Estimated BTM PV", "Estimated BTM Solar", "Estimated BTM PV MW", "BTM PV"),
    "date": ("Date", "Local Date", "Operating Date"),
    "time": ("Time", "Local Time Of Day"),
    "hour_ending": ("Hour Ending", "HE"),
    "fuel": ("Fuel Category",),
    "mw": ("Gen Mw", "Gen MW", "Generation MW"),
    "region": ("Reliability Region", "Region"),
    "forecast": ("Reliability Region Load Forecast", "Load Forecast", "Forecast MW"),
    "published": ("Creation Date", "Publish Date", "Published"),
}
NUMERIC = frozenset({"load", "btm_pv", "mw", "forecast"})
REQUIRED = {
    "five_minute_zonal_load": ("stamp", "zone", "load"),
    "genfuelmix": ("date", "time", "fuel", "mw"),
    "reliability_region_forecast": ("date", "hour_ending", "region", "forecast", "published"),
}
# Layouts this module reads (formats/isone.py dispatches them here).
LAYOUTS = (
    "five_minute_zonal_load",
    "five_minute_system_load",
    "genfuelmix",
    "reliability_region_forecast",
    "seven_day_renewable_forecast",
)
# Report titles (first "C" line; UNCONFIRMED) and report names (the "Filename:" comment and the
# landed name start with them) -> dataset.
TITLES = {
    registry.ZONAL_LOAD.title: registry.ZONAL_LOAD,
    registry.LOAD.title: registry.LOAD,
    registry.FUEL_MIX.title: registry.FUEL_MIX,
    registry.LOAD_FORECAST.title: registry.LOAD_FORECAST,
    "Seven-Day Wind Power Forecast": registry.RENEWABLES,
    "Seven-Day Solar Power Forecast": registry.RENEWABLES,
}
REPORT_NAMES = {
    "fiveminuteestimatedzonalload": registry.ZONAL_LOAD,
    "fiveminutesystemload": registry.LOAD,
    "genfuelmix": registry.FUEL_MIX,
    "reliabilityregionloadforecast": registry.LOAD_FORECAST,
    "wphf": registry.RENEWABLES,
    "sphf": registry.RENEWABLES,
}
# Which technology a wind / solar report holds: by title word, else by report name.
TECHNOLOGY_WORDS = {"wind": "wind", "solar": "solar", "wphf": "wind", "sphf": "solar"}
RENEWABLE_PUBLISH_HOUR = 10  # "generated daily by 10 am" [CLIENT: GS]
_DAY_IN_NAME = re.compile(r"(?<!\d)(\d{8})(?!\d)")


def _normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ALIAS = {_normalize(a): f for f, names in FIELD_ALIASES.items() for a in names}


def _fields(header: Sequence[str], layout: str) -> list[str | None]:
    """Canonical field of each header cell; the system-load measures keep their own names."""
    if layout == "five_minute_system_load":
        return ["stamp" if _ALIAS.get(_normalize(c)) == "stamp" else f"area:{c}" for c in header]
    return [_ALIAS.get(_normalize(c)) for c in header]


# ---------------------------------------------------------------------------------------------
# identify / expected_rows


def identify_report(comments: Sequence[str]) -> DatasetSpec | None:
    """The dataset of a report from its title line, else its "Filename:" line."""
    if comments and comments[0] in TITLES:
        return TITLES[comments[0]]
    for comment in comments:
        if comment.lower().startswith("filename:"):
            stem = comment.split(":", 1)[1].strip().lower()
            return REPORT_NAMES.get(re.split(r"[_.?]", stem, maxsplit=1)[0])
    return None


def expected_rows(path: Path, spec: DatasetSpec) -> int:
    """Long rows a report yields, counted from its "D" lines without the reader: one per
    filled value cell (a zone's load and BTM PV, each system measure, each forecast day's
    hour)."""
    report = split_report(Path(path).read_bytes(), Path(path).name)
    lines = report.text.body.decode("utf-8").splitlines()
    rows = list(csv.reader(lines))
    if spec.file_layout == "seven_day_renewable_forecast":
        return sum(1 for row in rows[1:] for cell in row[2:] if cell.strip())
    fields = _fields(report.text.header, spec.file_layout)
    values = [
        i for i, f in enumerate(fields) if f in ("load", "btm_pv") or (f or "").startswith("area:")
    ]
    if not values:
        return len(rows)
    return sum(1 for row in rows for i in values if i < len(row) and row[i].strip())


# ---------------------------------------------------------------------------------------------
# Readers


def read_reports(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    reports = [split_report(Path(p).read_bytes(), Path(p).name) for p in paths]
    reports = [r for r in reports if r.text.rows]
    if not reports:
        return pl.DataFrame(schema=spec.schema)
    frame = _READERS[spec.file_layout](reports, spec)
    return to_standard(frame, spec)


def _parse(reports: Sequence[Report], layout: str) -> pl.DataFrame:
    frames = []
    for report in reports:
        fields = _fields(report.text.header, layout)
        if layout in REQUIRED:
            check_fields(report.text, fields, REQUIRED[layout], lambda f: FIELD_ALIASES[f][0])
        numeric = NUMERIC | {f for f in fields if f and f.startswith("area:")}
        frames.append(parse_fields([report.text], fields, numeric, file_lines=False))
    return pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.col("source_file").cast(pl.Utf8)
    )


def _stamp_starts(frame: pl.DataFrame, naive: pl.Expr, by: str, timezone: str) -> pl.DataFrame:
    """Local wall-clock stamps -> interval_start_utc. A stamp of the 01:xx hour after the
    clock went back (per `by` and file, in file order) is the repeated, standard-time one."""
    group = ["source_file", by]
    frame = frame.with_columns(naive.alias("_naive"))
    previous = pl.col("_naive").shift(1).over(group)
    frame = frame.with_columns((pl.col("_naive") < previous).fill_null(False).alias("_back"))
    went_back = pl.col("_back").cum_sum().over(group) > 0
    repeated = went_back & (pl.col("_naive").dt.hour() == 1)
    frame = frame.with_columns(
        wall_clock_to_utc(pl.col("_naive"), timezone, repeated).alias("interval_start_utc")
    ).drop("_back")
    bad = frame.filter(pl.col("interval_start_utc").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"time stamp {row['_naive']} is not a valid local time ({bad.height} bad row(s))",
        )
    return frame.drop("_naive")


def _local_stamp(column: pl.Expr) -> pl.Expr:
    """`MM/DD/YYYY HH:MM[:SS]` or `YYYY-MM-DD HH:MM[:SS]` (no offset) -> naive datetime."""
    text = column.cast(pl.Utf8).str.strip_chars()
    formats = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
    return pl.coalesce([text.str.to_datetime(f, strict=False, time_unit="us") for f in formats])


def _raise_unparsed(frame: pl.DataFrame, column: str, parsed: pl.Expr) -> None:
    bad = frame.filter(parsed.is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise FormatError(row["source_file"], f"{column} {row[column]!r} is not a local time")


def _zonal(reports: Sequence[Report], spec: DatasetSpec) -> pl.DataFrame:
    frame = _parse(reports, spec.file_layout)
    _raise_unparsed(frame, "stamp", _local_stamp(pl.col("stamp")))
    zone = pl.col("zone").str.strip_chars()
    frame = _stamp_starts(
        frame.with_columns(zone), _local_stamp(pl.col("stamp")), "zone", spec.timezone
    )
    load = frame.filter(pl.col("load").is_not_null()).select(
        "interval_start_utc",
        pl.col("zone").alias("area"),
        pl.col("load").alias("mw"),
        "source_file",
    )
    if "btm_pv" not in frame.columns:
        return load
    btm = frame.filter(pl.col("btm_pv").is_not_null()).select(
        "interval_start_utc",
        (pl.col("zone") + registry.BTM_PV_SUFFIX).alias("area"),
        pl.col("btm_pv").alias("mw"),
        "source_file",
    )
    return pl.concat([load, btm])


def _system(reports: Sequence[Report], spec: DatasetSpec) -> pl.DataFrame:
    frame = _parse(reports, spec.file_layout)
    if "stamp" not in frame.columns:
        raise FormatError(reports[0].text.name, "header has no 'Date/Time' column")
    measures = [c for c in frame.columns if c.startswith("area:")]
    long = frame.unpivot(
        index=["stamp", "source_file"], on=measures, variable_name="area", value_name="mw"
    ).with_columns(pl.col("area").str.strip_prefix("area:"))
    long = long.filter(pl.col("mw").is_not_null())
    _raise_unparsed(long, "stamp", _local_stamp(pl.col("stamp")))
    return _stamp_starts(long, _local_stamp(pl.col("stamp")), "area", spec.timezone)


def _fuel_mix(reports: Sequence[Report], spec: DatasetSpec) -> pl.DataFrame:
    frame = _parse(reports, spec.file_layout).with_columns(pl.col("fuel").str.strip_chars())
    naive = _local_stamp(pl.col("date").str.strip_chars() + " " + pl.col("time").str.strip_chars())
    frame = frame.with_columns(
        (pl.col("date").str.strip_chars() + " " + pl.col("time").str.strip_chars()).alias("stamp")
    )
    _raise_unparsed(frame, "stamp", naive)
    return _stamp_starts(frame, naive, "fuel", spec.timezone)


def _forecast(reports: Sequence[Report], spec: DatasetSpec) -> pl.DataFrame:
    """Every vintage; operating_day = the forecast day (the file's), not the publication's."""
    frame = _parse(reports, spec.file_layout)
    published = _local_stamp(pl.col("published"))
    _raise_unparsed(frame, "published", published)
    frame = hour_label_starts(_mark_repeated_hour(frame), spec.timezone)
    return frame.select(
        "interval_start_utc",
        published.dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias("published_at_utc"),
        pl.col("region").str.strip_chars().alias("area"),
        pl.lit(registry.LOAD_FORECAST_MODEL).alias("model"),
        pl.col("forecast").alias("mw"),
        parse_date(pl.col("date")).alias("operating_day"),
        "source_file",
    )


def _mark_repeated_hour(frame: pl.DataFrame) -> pl.DataFrame:
    """A second "02" of a (file, day, region, vintage) is the repeated fall-back hour."""
    label = pl.col("hour_ending").str.strip_chars()
    nth = pl.int_range(pl.len()).over("source_file", "date", "region", "published", label)
    return frame.with_columns(
        pl.when((label == "02") & (nth > 0))
        .then(pl.lit("02X"))
        .otherwise(label)
        .alias("hour_ending")
    )


def _renewables(reports: Sequence[Report], spec: DatasetSpec) -> pl.DataFrame:
    return pl.concat([_renewable_file(r, spec) for r in reports], how="vertical_relaxed")


def _renewable_file(report: Report, spec: DatasetSpec) -> pl.DataFrame:
    name = report.text.name
    rows = list(csv.reader(report.text.body.decode("utf-8").splitlines()))
    head = [c.strip() for c in rows[0]]
    if len(head) < 3 or _normalize(head[1]) != "hourending":
        raise FormatError(name, f"first data line is not the forecast days' header: {head[:4]}")
    days = head[2:]
    hours = [row[1].strip() for row in rows[1:]]
    wide = pl.DataFrame(
        {"hour_ending": hours}
        | {
            d: [row[i + 2].strip() if i + 2 < len(row) else "" for row in rows[1:]]
            for i, d in enumerate(days)
        }
    )
    long = wide.unpivot(index="hour_ending", variable_name="date", value_name="_mw").filter(
        pl.col("_mw") != ""
    )
    long = long.with_columns(
        pl.col("_mw").cast(pl.Float64, strict=False).alias("mw"),
        pl.col("hour_ending").str.zfill(2),
        pl.lit(name).alias("source_file"),
    )
    bad = long.filter(pl.col("mw").is_null())
    if bad.height:
        raise FormatError(name, f"value {bad['_mw'][0]!r} ({bad['date'][0]}) is not a number")
    published = _published_at(report, spec)
    long = hour_label_starts(long, spec.timezone)
    return long.select(
        "interval_start_utc",
        pl.lit(published).cast(pl.Datetime("us", "UTC")).alias("published_at_utc"),
        pl.lit(_technology(report)).alias("technology"),
        pl.lit(registry.RENEWABLE_AREA).alias("area"),
        pl.lit(registry.RENEWABLE_FORECAST_MODEL).alias("model"),
        "mw",
        "source_file",
    )


def _technology(report: Report) -> str:
    words = " ".join([*report.comments[:1], report.text.name]).lower()
    found = {t for w, t in TECHNOLOGY_WORDS.items() if w in words}
    if len(found) != 1:
        raise FormatError(report.text.name, "neither title nor name says wind or solar")
    return found.pop()


def _published_at(report: Report, spec: DatasetSpec):
    """The file's day (its name, else its "Report for:" line) at 10:00 local, in UTC."""
    day = report_day(report)
    if day is None:
        raise FormatError(report.text.name, "no day in the name or a 'Report for:' line")
    local = pl.datetime(
        day.year, day.month, day.day, RENEWABLE_PUBLISH_HOUR, time_zone=spec.timezone
    )
    return pl.select(local.dt.convert_time_zone("UTC")).item()


def report_day(report: Report) -> date | None:
    for comment in report.comments:
        found = re.search(r"Report for:\s*(\d{2})/(\d{2})/(\d{4})", comment)
        if found:
            return date(int(found[3]), int(found[1]), int(found[2]))
    match = _DAY_IN_NAME.search(report.text.name)
    if match:
        text = match[1]
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return None


# ---------------------------------------------------------------------------------------------
# Web-service replies (the fuel mix)


def json_records(path: Path, spec: DatasetSpec) -> list[dict]:
    """The records of a reply: `{root: {<record name>: [...]}}`; an empty root ("", {},
    null: what the service says for a day it lacks) holds none."""
    name = Path(path).name
    try:
        payload = json.loads(Path(path).read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(name, f"not JSON: {exc}") from None
    root = spec.source.ws_root
    if not isinstance(payload, dict) or root not in payload:
        raise FormatError(name, f"JSON reply has no {root!r} root")
    inner = payload[root] or {}  # {"GenFuelMix": [...]}: its one member holds the records
    items = next(iter(inner.values()), []) if isinstance(inner, dict) else None
    items = [items] if isinstance(items, dict) else items  # one record comes unwrapped
    if not isinstance(items, list):
        raise FormatError(name, f"JSON {root!r} holds no list of records")
    return items


def read_json(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Fuel-mix replies -> long table; BeginDate carries its UTC offset."""
    frames = []
    for path in paths:
        items = json_records(path, spec)
        if not items:
            continue
        missing = {"BeginDate", "GenMw", "FuelCategory"} - set(items[0])
        if missing:
            raise FormatError(Path(path).name, f"JSON records lack {sorted(missing)}")
        frame = pl.DataFrame(
            {
                "begin": [str(i.get("BeginDate")) for i in items],
                "fuel": [str(i.get("FuelCategory", "")).strip() for i in items],
                "mw": [i.get("GenMw") for i in items],
            },
            schema={"begin": pl.Utf8, "fuel": pl.Utf8, "mw": pl.Float64},
            strict=False,
        ).with_columns(pl.lit(Path(path).name).alias("source_file"))
        start = pl.col("begin").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False)
        frame = frame.with_columns(start.dt.convert_time_zone("UTC").alias("interval_start_utc"))
        bad = frame.filter(pl.col("interval_start_utc").is_null() | pl.col("mw").is_null())
        if bad.height:
            row = bad.row(0, named=True)
            raise FormatError(row["source_file"], f"record {row['begin']!r} {row['fuel']!r}: bad")
        frames.append(frame.drop("begin"))
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    return to_standard(pl.concat(frames), spec)


_READERS = {
    "five_minute_zonal_load": _zonal,
    "five_minute_system_load": _system,
    "genfuelmix": _fuel_mix,
    "reliability_region_forecast": _forecast,
    "seven_day_renewable_forecast": _renewables,
}
