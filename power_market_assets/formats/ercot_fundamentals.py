"""ERCOT's hourly fundamentals files (load, load forecast, wind, solar) into the long tables.

Every one of these files is "wide": one line per hour ending (and, for the load forecast, per
model), one column per series (a weather zone, or a forecast of a region). Each non-empty
series cell becomes one long row: area (and model) from the column's name, `mw` its value;
an empty cell (a future hour's actual in the wind and solar files) is no row. Facts and how
sure they are: docs/reference/fundamentals/ercot.md.

- NP6-345-CD `OperDay,HourEnding,COAST,...,TOTAL,DSTFlag`: area = the column name.
- NP3-565-CD `DeliveryDate,HourEnding,Coast,...,SystemTotal,Model,InUseFlag,DSTFlag`: area =
  the actual load's name for the zone (FarWest -> FAR_WEST, SystemTotal -> TOTAL), model =
  the Model cell; InUseFlag is not kept (which model ERCOT used is not part of the key).
- NP4-732-CD / NP4-737-CD `DELIVERY_DATE,HOUR_ENDING,SYSTEM_WIDE_GEN,COP_HSL_SYSTEM_WIDE,
  STWPF_SYSTEM_WIDE,...,DSTFlag`: `<MODEL>_<AREA>` columns (COP_HSL, STWPF, WGRPP, STPPF,
  PVGRPP); `GEN_<AREA>`, `SYSTEM_WIDE_GEN` and the pre-2024-09-26 `ACTUAL_<AREA>` are model
  ACTUAL; `SYSTEM_WIDE_HSL` is model HSL (the actual high sustained limit).

Hour ending `01:00`, `01` or `1`..`24` (24 ends at midnight, on the delivery date); on the
fall-back day the repeated (CST) hour carries DSTFlag=Y; files without the flag get the
second occurrence of a label as the repeated hour.

Forecasts and renewables carry `published_at_utc`: the publish time in the CSV's own name,
`cdr.<RTID8>.<DUNS>.<YYYYMMDD>.<HHMMSS>.<stem>.csv`, Central prevailing time. The name has no
offset: inside the repeated fall-back hour a wind or solar file's last actual hour tells the
two readings apart; a load forecast takes the first (CDT) reading.
The actual rows of the wind and solar files get the same publication time (ERCOT gives none
of their own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from power_market_assets.formats.csvjoin import CsvText, group_by_header, parse_fields
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.registry.kinds import ACTUAL_MODEL
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import wall_clock_to_utc

# Time and key columns, compared case-insensitively without spaces and underscores.
TIME_FIELDS = {
    "operday": "delivery_date",
    "deliverydate": "delivery_date",
    "hourending": "hour_ending",
    "dstflag": "dst_flag",
    "repeatedhourflag": "dst_flag",
    "model": "model",
    "inuseflag": "in_use_flag",
}
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
# `cdr.00014837.0000000000000000.20190101.003000.LFMODWEATHERNP3565.csv`: the publish time.
_NAME_STAMP = re.compile(r"\.(\d{8})\.(\d{6})\d{0,3}\.")
# NP3-565-CD's CamelCase zone names -> NP6-345-CD's, so forecast and actual share areas.
FORECAST_AREAS = {
    "Coast": "COAST",
    "East": "EAST",
    "FarWest": "FAR_WEST",
    "North": "NORTH",
    "NorthCentral": "NORTH_C",
    "SouthCentral": "SOUTH_C",
    "Southern": "SOUTHERN",
    "West": "WEST",
    "SystemTotal": "TOTAL",
}
RENEWABLE_MODELS = ("COP_HSL", "STWPF", "WGRPP", "STPPF", "PVGRPP")
_RENEWABLE_ACTUAL = re.compile(r"^(?:GEN|ACTUAL)_(?P<area>.+)$")
_RENEWABLE_FORECAST = re.compile(rf"^(?P<model>{'|'.join(RENEWABLE_MODELS)})_(?P<area>.+)$")

Series = tuple[str, str | None]  # (area, model); model None: the layout has no model


def _load_series(cell: str) -> Series | None:
    """NP6-345-CD: every value column is an area, named as published."""
    return (cell.strip().upper(), None) if re.fullmatch(r"[A-Za-z_ ]+", cell.strip()) else None


def _forecast_series(cell: str) -> Series | None:
    area = FORECAST_AREAS.get(cell.strip())
    return (area, None) if area else None


def _renewable_series(cell: str) -> Series | None:
    name = cell.strip().upper().replace(" ", "_")
    if name == "SYSTEM_WIDE_GEN":
        return ("SYSTEM_WIDE", ACTUAL_MODEL)
    if name in ("SYSTEM_WIDE_HSL", "HSL_SYSTEM_WIDE"):
        return ("SYSTEM_WIDE", "HSL")
    if match := _RENEWABLE_FORECAST.match(name):
        return (match["area"], match["model"])
    if match := _RENEWABLE_ACTUAL.match(name):
        return (match["area"], ACTUAL_MODEL)
    return None


@dataclass(frozen=True)
class WideLayout:
    """One of ERCOT's wide hourly files: which cells its header must hold (to identify it),
    how a value column names its series, and what the rows carry."""

    required: frozenset[str]  # header cells (as published) that identify the layout
    series: Callable[[str], Series | None]
    technology: str | None = None  # RENEWABLE layouts: wind or solar
    vintage: bool = False  # rows carry published_at_utc (from the file name)
    model_column: bool = False  # a Model column names each line's forecast model
    # One header cell prefix that tells two layouts of the same columns apart.
    marker: str | None = None


FUNDAMENTAL_LAYOUTS: dict[str, WideLayout] = {
    "load_by_weather_zone": WideLayout(
        required=frozenset({"OperDay", "HourEnding", "COAST", "FAR_WEST", "TOTAL"}),
        series=_load_series,
    ),
    "load_forecast_by_model": WideLayout(
        required=frozenset({"DeliveryDate", "HourEnding", "Model", "Coast", "SystemTotal"}),
        series=_forecast_series,
        vintage=True,
        model_column=True,
    ),
    "wind_hourly": WideLayout(
        required=frozenset({"DELIVERY_DATE", "HOUR_ENDING"}),
        series=_renewable_series,
        technology="wind",
        vintage=True,
        marker="STWPF_",
    ),
    "solar_hourly": WideLayout(
        required=frozenset({"DELIVERY_DATE", "HOUR_ENDING"}),
        series=_renewable_series,
        technology="solar",
        vintage=True,
        marker="STPPF_",
    ),
}


def _normalize(cell: str) -> str:
    return cell.strip().replace(" ", "").replace("_", "").lower()


def _matches(layout: WideLayout, header: Sequence[str]) -> bool:
    cells = {c.strip() for c in header}
    if not layout.required <= cells:
        return False
    return layout.marker is None or any(c.upper().startswith(layout.marker) for c in cells)


def identify_header(header: Sequence[str]) -> DatasetSpec | None:
    """The ERCOT fundamentals dataset whose layout a header line is (None: none of them)."""
    for spec in ALL_DATASETS:
        layout = FUNDAMENTAL_LAYOUTS.get(spec.file_layout) if spec.iso == "ERCOT" else None
        if layout is not None and _matches(layout, header):
            return spec
    return None


def _fields(text: CsvText, layout: WideLayout) -> tuple[list[str | None], dict[str, Series]]:
    """Each header cell's field (`delivery_date`..., or `s<i>` for a series column) and the
    series each `s<i>` is; a column that is neither is a FormatError naming it (header drift
    must not silently drop a zone)."""
    fields: list[str | None] = []
    series: dict[str, Series] = {}
    unknown = []
    for index, cell in enumerate(text.header):
        field = TIME_FIELDS.get(_normalize(cell))
        if field is not None:
            fields.append(None if field == "in_use_flag" else field)
            continue
        named = layout.series(cell)
        if named is None:
            unknown.append(cell)
            fields.append(None)
            continue
        fields.append(f"s{index}")
        series[f"s{index}"] = named
    missing = [f for f in ("delivery_date", "hour_ending") if f not in fields]
    if layout.model_column and "model" not in fields:
        missing.append("model")
    if missing or unknown:
        problem = f"missing {missing}" if missing else f"unknown column(s) {unknown}"
        raise FormatError(text.name, f"header {problem}; header was {','.join(text.header)}")
    return fields, series


def publish_time_utc(name: str, timezone: str, repeated: bool = False) -> datetime | None:
    """The publish time in an ERCOT CSV (or zip) name, as a UTC instant (`repeated`: the
    second, standard-time reading of a time in the fall-back hour); None without one."""
    match = _NAME_STAMP.search(name)
    if not match:
        return None
    naive = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
    frame = pl.DataFrame({"t": [naive]}).select(
        wall_clock_to_utc(pl.col("t"), timezone, pl.lit(repeated))
    )
    return frame.item()


def _actuals_end(frame: pl.DataFrame) -> dict[str, datetime]:
    """Per file, the end of its last hour with an actual (wind and solar files)."""
    ends = (
        frame.filter(pl.col("model") == ACTUAL_MODEL)
        .group_by("source_file")
        .agg((pl.col("interval_start_utc").max() + pl.duration(hours=1)).alias("end"))
    )
    return dict(ends.iter_rows())


def _publish_time(name: str, spec: DatasetSpec, actuals_end: datetime | None) -> datetime:
    """The file's publish time. A name stamped inside the repeated fall-back hour reads two
    ways: a wind or solar file, published within the hour after its last actual, tells which;
    any other file takes the first (CDT) reading."""
    first = publish_time_utc(name, spec.timezone)
    if first is None:
        raise FormatError(
            name,
            "no publish time in the file name (ERCOT names its CSVs "
            "cdr.<RTID>.<DUNS>.<YYYYMMDD>.<HHMMSS>.<report>.csv)",
        )
    second = publish_time_utc(name, spec.timezone, repeated=True)
    if second == first or actuals_end is None:
        return first
    hour_after = timedelta(hours=1)
    fits_first = actuals_end <= first < actuals_end + hour_after
    fits_second = actuals_end <= second < actuals_end + hour_after
    return second if fits_second and not fits_first else first


def _publications(
    names: Sequence[str], spec: DatasetSpec, actuals_end: dict[str, datetime]
) -> pl.DataFrame:
    rows = [(name, _publish_time(name, spec, actuals_end.get(name))) for name in names]
    return pl.DataFrame(
        rows,
        schema={"source_file": pl.Utf8, "published_at_utc": pl.Datetime("us", "UTC")},
        orient="row",
    )


def _interval_starts(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Delivery date + hour ending + DSTFlag -> UTC interval start, once per distinct label."""
    labels = frame.select("delivery_date", "hour_ending", "dst_flag").unique()
    text = pl.col("delivery_date").str.strip_chars()
    day = pl.coalesce([text.str.to_date(f, strict=False) for f in DATE_FORMATS])
    hour = pl.col("hour_ending").str.strip_chars().str.split(":").list.first()
    hour = hour.cast(pl.Int32, strict=False)
    naive = day.cast(pl.Datetime("us")) + pl.duration(hours=hour - 1)
    repeated = pl.col("dst_flag").str.strip_chars().str.to_uppercase().is_in(["Y", "TRUE"])
    table = labels.with_columns(
        wall_clock_to_utc(naive, spec.timezone, repeated).alias("interval_start_utc"),
        ((hour < 1) | (hour > 24)).fill_null(True).alias("_bad_hour"),
    )
    bad = table.filter(pl.col("interval_start_utc").is_null() | pl.col("_bad_hour"))
    if bad.height:
        label = bad.row(0, named=True)
        source = frame.join(bad.head(1), on=["delivery_date", "hour_ending", "dst_flag"])
        raise FormatError(
            str(source["source_file"][0]) if source.height else "file",
            f"delivery date {label['delivery_date']!r} hour ending {label['hour_ending']!r} "
            f"is no hour of the day ({bad.height} bad label(s))",
        )
    return frame.join(table.drop("_bad_hour"), on=["delivery_date", "hour_ending", "dst_flag"])


def _long_rows(group: Sequence[CsvText], layout: WideLayout) -> pl.DataFrame:
    """Files of one header -> one row per non-empty series cell: labels, area, model, mw."""
    fields, series = _fields(group[0], layout)
    frame = parse_fields(group, fields, set(series))
    labels = [c for c in ("delivery_date", "hour_ending", "dst_flag", "model") if c in frame]
    key = ["source_file", *[c for c in ("delivery_date", "hour_ending", "model") if c in frame]]
    if "dst_flag" not in frame.columns:  # no flag: a label's second occurrence is the repeat
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()).over(key) > 0)
            .then(pl.lit("Y"))
            .otherwise(pl.lit("N"))
            .alias("dst_flag")
        )
        labels.append("dst_flag")
    names = pl.DataFrame(
        {
            "series": list(series),
            "area": [a for a, _ in series.values()],
            "series_model": [m for _, m in series.values()],
        },
        schema={"series": pl.Utf8, "area": pl.Utf8, "series_model": pl.Utf8},
    )
    long = frame.unpivot(
        index=[*labels, "source_file"], on=list(series), variable_name="series", value_name="mw"
    ).filter(pl.col("mw").is_not_null())
    long = long.join(names, on="series", how="left")
    if "model" not in long.columns:
        long = long.rename({"series_model": "model"})
    else:
        long = long.drop("series_model").with_columns(pl.col("model").str.strip_chars())
    return long.with_columns(pl.col("source_file").cast(pl.Utf8)).drop("series")


def read_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """CSV texts of one ERCOT fundamentals dataset -> its standard long table."""
    layout = FUNDAMENTAL_LAYOUTS[spec.file_layout]
    frames = [_long_rows(group, layout) for group in group_by_header(texts).values()]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=spec.schema)
    frame = pl.concat(frames, how="diagonal_relaxed")
    frame = _interval_starts(frame, spec)
    if layout.vintage:
        ends = _actuals_end(frame) if layout.technology else {}
        publications = _publications([t.name for t in texts], spec, ends)
        frame = frame.join(publications, on="source_file")
    if layout.technology:
        frame = frame.with_columns(pl.lit(layout.technology).alias("technology"))
    return to_standard(frame, spec)


def expected_text_rows(text: CsvText, spec: DatasetSpec) -> int:
    """The long rows a CSV text yields: its non-empty series cells, counted on the raw text
    (not the typed parse), so a dropped or invented row shows in the row_count check."""
    layout = FUNDAMENTAL_LAYOUTS[spec.file_layout]
    if not text.rows:
        return 0
    _, series = _fields(text, layout)
    columns = [cell for i, cell in enumerate(text.header) if f"s{i}" in series]
    cells = pl.read_csv(
        text.body,
        has_header=False,
        new_columns=[f"c{i}" for i in range(len(text.header))],
        infer_schema=False,
    ).select(f"c{text.header.index(c)}" for c in columns)
    filled = [
        pl.col(c).str.strip_chars().fill_null("").ne("").cast(pl.Int64) for c in cells.columns
    ]
    return int(cells.select(pl.sum_horizontal(filled).sum()).item() or 0)
