"""NYISO load, load forecast, fuel mix and behind-the-meter solar CSVs -> the standard long
tables (facts and how sure each is: docs/reference/fundamentals/nyiso.md).

- `pal` (5-minute) and `palIntegrated` (hourly): `Time Stamp,Time Zone,Name,PTID,Load` (or
  `Integrated Load`), one row per zone and stamp; the stamp is the interval start.
- `rtfuelmix`: `Time Stamp,Time Zone,Fuel Category,Gen MW`, one row per fuel and stamp; the
  stamp is the interval END (00:05:00 .. next day 00:00:00).
- `isolf`: wide, `Time Stamp,Capitl,...,West,NYISO`, one row per hour from the publication day
  F 00:00 to F+5 23:00; the fall-back 01:00 row is printed twice (row order tells them apart).
  Every vintage is kept: published_at_utc is F at NYISO's posting time.
- BTM solar (`BTMEstimatedActual`, `btmdaforecast`): `Time Stamp,Time Zone,Zone Name,MW Value`
  per zone and SYSTEM, hour beginning. The estimated actual of day D is model ACTUAL,
  published_at D+1 08:00 ET (the file's posting time, ~8 h after the day; no time per row),
  partition D; the day-ahead forecast of day D is model `btmdaforecast`, published on D-1
  (partition D-1). Which one a file is comes from its name.

Times go through formats/nyiso_time.py (Time Zone label first, row order otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from power_market_assets.formats.csvjoin import (
    CsvText,
    check_fields,
    check_filled,
    group_by_header,
    parse_fields,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.nyiso_time import interval_starts, local_stamp
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry import nyiso
from power_market_assets.registry.kinds import ACTUAL_MODEL
from power_market_assets.registry.spec import DatasetSpec

# The spec.file_layout values read here.
LAYOUTS = frozenset({"pal", "isolf", "rtfuelmix", "btm"})
# Canonical field -> header spellings of the long layouts (compared lower-case, no spaces).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "time_stamp": ("Time Stamp",),
    "time_zone": ("Time Zone",),
    "name": ("Name", "Zone Name", "Fuel Category"),
    "ptid": ("PTID", "Zone PTID"),
    "load": ("Load",),
    "integrated_load": ("Integrated Load",),
    "gen_mw": ("Gen MW",),
    "mw_value": ("MW Value",),
}
# The value field of each long dataset.
VALUE_FIELDS = {
    nyiso.LOAD.dataset: "load",
    nyiso.LOAD_HOURLY.dataset: "integrated_load",
    nyiso.FUEL_MIX.dataset: "gen_mw",
    nyiso.BTM_SOLAR.dataset: "mw_value",
}
ISOLF_MODEL = "isolf"
BTM_FORECAST_MODEL = "btmdaforecast"
SOLAR = "solar"
FUNDAMENTAL_SPECS = tuple(s for s in nyiso.NYISO_DATASETS if s.file_layout in LAYOUTS)
_STEM_SPECS = {stem.lower(): spec for spec in FUNDAMENTAL_SPECS for stem in spec.source.file_names}
_NAME_PATTERN = re.compile(
    r"(?:^|[^0-9])\d{8}(" + "|".join(sorted(_STEM_SPECS, key=len, reverse=True)) + r")"
    r"(?:_csv)?\.(?:csv|zip)$",
    re.I,
)


def _normalize(cell: str) -> str:
    return cell.strip().replace(" ", "").lower()


_ALIAS_LOOKUP = {
    _normalize(alias): field for field, aliases in FIELD_ALIASES.items() for alias in aliases
}


def canonical_fields(header: Sequence[str]) -> list[str | None]:
    """Each header cell's canonical field (None for columns not used)."""
    return [_ALIAS_LOOKUP.get(_normalize(cell)) for cell in header]


def isolf_fields(header: Sequence[str]) -> list[str | None]:
    """isolf: the stamp, and every other column an area named as pal names it (upper case:
    `Hud Vl` -> `HUD VL`, `NYISO` stays)."""
    fields: list[str | None] = []
    for cell in header:
        field = _ALIAS_LOOKUP.get(_normalize(cell))
        if field in ("time_stamp", "time_zone"):
            fields.append(field)
        else:
            fields.append(cell.strip().upper() or None)
    return fields


# --------------------------------------------------------------------------- long layouts


def _parse_long(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    value = VALUE_FIELDS[spec.dataset]
    frames = []
    for header, group in group_by_header(texts).items():
        fields = canonical_fields(header)
        required = ("time_stamp", "time_zone", "name", value)
        check_fields(group[0], fields, required, lambda f: FIELD_ALIASES[f][0])
        frames.append(parse_fields(group, fields, {value}))
    frame = pl.concat(frames, how="diagonal_relaxed")
    check_filled(frame, {value: FIELD_ALIASES[value][0]})
    frame = frame.with_columns(pl.col("name").str.strip_chars(), pl.col(value).alias("mw"))
    return interval_starts(frame, spec)


def _publication(day: pl.Expr, spec: DatasetSpec, hour: float, days_before: int) -> pl.Expr:
    """UTC instant of `hour` (local) `days_before` days before the date `day` (negative:
    after)."""
    local = day.cast(pl.Datetime("us")) + pl.duration(days=-days_before, minutes=round(hour * 60))
    return local.dt.replace_time_zone(spec.timezone).dt.convert_time_zone("UTC")


def _file_day() -> pl.Expr:
    """The day a file is named for: the first local date among its stamps."""
    return local_stamp(pl.col("time_stamp")).dt.date().min().over("source_file")


def _btm_rows(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    name = pl.col("source_file").cast(pl.Utf8).str.to_lowercase()
    forecast = name.str.contains(BTM_FORECAST_MODEL.lower())
    actual = name.str.contains("btmestimatedactual")
    unknown = frame.filter(~forecast & ~actual)
    if unknown.height:
        raise FormatError(
            str(unknown.row(0, named=True)["source_file"]),
            "a BTM solar file must be named ...BTMEstimatedActual.csv (estimated actual) or "
            "...btmdaforecast.csv (day-ahead forecast): the two share one layout",
        )
    issued = _publication(_file_day(), spec, nyiso.BTM_FORECAST_PUBLISH_HOUR, 1)
    measured = _publication(_file_day(), spec, nyiso.BTM_ACTUAL_PUBLISH_HOUR, -1)
    return frame.with_columns(
        pl.lit(SOLAR).alias("technology"),
        pl.col("name").alias("area"),
        pl.when(forecast)
        .then(pl.lit(BTM_FORECAST_MODEL))
        .otherwise(pl.lit(ACTUAL_MODEL))
        .alias("model"),
        pl.when(forecast).then(issued).otherwise(measured).alias("published_at_utc"),
        pl.when(forecast)
        .then(_file_day().dt.offset_by("-1d"))
        .otherwise(_file_day())
        .alias("operating_day"),
    )


# --------------------------------------------------------------------------- isolf


def _read_isolf(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    frames = []
    for header, group in group_by_header(texts).items():
        fields = isolf_fields(header)
        required = ("time_stamp", nyiso.FORECAST_SYSTEM_AREA)
        check_fields(group[0], fields, required, lambda f: f)
        areas = [f for f in fields if f and f not in ("time_stamp", "time_zone")]
        wide = parse_fields(group, fields, set(areas))
        check_filled(wide, {area: area for area in areas})
        frames.append(
            wide.unpivot(
                on=areas,
                index=[c for c in wide.columns if c not in areas],
                variable_name="name",
                value_name="mw",
            )
        )
    frame = interval_starts(pl.concat(frames, how="diagonal_relaxed"), spec)
    published = _publication(_file_day(), spec, nyiso.ISOLF_PUBLISH_HOUR, 0)
    return frame.with_columns(
        published.alias("published_at_utc"),
        pl.col("name").alias("area"),
        pl.lit(ISOLF_MODEL).alias("model"),
    )


# --------------------------------------------------------------------------- reader


def read_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """CSV texts of one NYISO fundamentals dataset -> its standard long table."""
    if not texts:
        return pl.DataFrame(schema=spec.schema)
    if spec.file_layout == "isolf":
        return to_standard(_read_isolf(texts, spec), spec)
    frame = _parse_long(texts, spec)
    if spec.file_layout == "btm":
        frame = _btm_rows(frame, spec)
    elif spec.file_layout == "rtfuelmix":
        frame = frame.with_columns(pl.col("name").alias("fuel"))
    else:
        frame = frame.with_columns(pl.col("name").alias("area"))
    return to_standard(frame, spec)


def _header_cells(head: bytes) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip()
    return [cell.strip().strip('"').strip() for cell in first.split(",")] if first else []


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """isolf: one row per line and area column; the long layouts: one row per line."""
    if spec.file_layout != "isolf":
        return data_lines
    with open(path, "rb") as handle:
        fields = isolf_fields(_header_cells(handle.read(4096)))
    return data_lines * sum(1 for f in fields if f and f not in ("time_stamp", "time_zone"))


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """A fundamentals file by its MIS name (`20241103pal.csv`, `20241101isolf_csv.zip`), else
    by its header; None when it is none of them."""
    match = _NAME_PATTERN.search(Path(name).name)
    if match:
        return _STEM_SPECS[match.group(1).lower()]
    cells = _header_cells(head)
    fields = set(canonical_fields(cells))
    if "time_stamp" not in fields:
        return None
    if nyiso.FORECAST_SYSTEM_AREA in {c.strip().upper() for c in cells} and "name" not in fields:
        return nyiso.LOAD_FORECAST
    by_value = (
        ("load", nyiso.LOAD),
        ("integrated_load", nyiso.LOAD_HOURLY),
        ("gen_mw", nyiso.FUEL_MIX),
        ("mw_value", nyiso.BTM_SOLAR),
    )
    for field, spec in by_value:
        if {"name", field} <= fields:
            return spec
    return None
