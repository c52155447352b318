"""CAISO OASIS CSV layouts (PRC_LMP, PRC_INTVL_LMP, PRC_RTPD_LMP, PRC_AS, SLD_FCST,
SLD_REN_FCST) and Today's Outlook fuelsource.csv (formats/caiso_outlook.py) -> standard long
tables.

Conventions (docs/reference/ISO_FORMATS.md section 2): no quoting, LF line ends, rows in
any order. LMP queries publish one row per (node, interval, LMP_TYPE): LMP, MCE, MCC, MCL and
MGHG, in one CSV or in one CSV per component; they are pivoted to lmp, energy, congestion and
loss and ghg (the greenhouse-gas component). `lmp` is the published total, checked against
MCE + MCC + MCL + MGHG. Times come from INTERVALSTARTTIME_GMT (the reliable key) and are
checked against the Pacific labels OPR_DT / OPR_HR (hour ending; 25 = the repeated fall-back
hour; 3 is skipped in spring) / OPR_INTERVAL; files without the GMT columns are placed by those
labels alone.

The load and renewable queries (SLD_FCST, SLD_REN_FCST) carry one MW row per (area or hub,
interval, market run); their forecasts get a vintage from the run's publication schedule
(registry/caiso.py `MarketRun`), as OASIS stamps none (docs/reference/fundamentals/caiso.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from power_market_assets.formats import caiso_outlook
from power_market_assets.formats.csvjoin import (
    CsvText,
    group_by_header,
    parse_group,
    raise_on_bad_numbers,
    raise_on_control_characters,
    split_csv,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.standard import to_standard
from power_market_assets.registry.caiso import CAISO_DATASETS, MarketRun
from power_market_assets.registry.kinds import PRICE, RENEWABLE_TECHNOLOGIES
from power_market_assets.registry.schema import HUB, NODE, ZONE
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import wall_clock_to_utc

GMT_START = "INTERVALSTARTTIME_GMT"
GMT_END = "INTERVALENDTIME_GMT"
GMT_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
LABELS = ("OPR_DT", "OPR_HR", "OPR_INTERVAL")
# LMP_TYPE -> standard column (MGHG, the greenhouse-gas component, is kept as "ghg").
LMP_COMPONENTS = {"LMP": "lmp", "MCE": "energy", "MCC": "congestion", "MCL": "loss", "MGHG": "ghg"}
AS_PRICE_SUFFIX = "_CLR_PRC"
# |lmp - (energy + congestion + loss + ghg)| above this is a broken file, not rounding.
COMPONENT_TOLERANCE = 0.011


@dataclass(frozen=True)
class Layout:
    """Columns a layout needs besides the price column (which the spec names)."""

    required: tuple[str, ...]
    entity: tuple[str, ...]
    optional: tuple[str, ...] = ()  # kept when a file has them


OASIS_QUANTITY_LAYOUTS = ("oasis_load", "oasis_load_forecast", "oasis_renewables")
OUTLOOK_LAYOUTS = ("outlook_fuelsource",)

LAYOUTS: dict[str, Layout] = {
    "oasis_lmp": Layout(required=(*LABELS, "NODE", "LMP_TYPE"), entity=("NODE", "LMP_TYPE")),
    "oasis_as": Layout(
        required=(*LABELS, "ANC_TYPE", "ANC_REGION", "XML_DATA_ITEM"),
        entity=("ANC_REGION", "ANC_TYPE", "XML_DATA_ITEM"),
    ),
    "oasis_load": Layout(
        required=(*LABELS, "TAC_AREA_NAME", "MARKET_RUN_ID", "XML_DATA_ITEM"),
        entity=("TAC_AREA_NAME",),
        optional=("EXECUTION_TYPE",),
    ),
    "oasis_load_forecast": Layout(
        required=(*LABELS, "TAC_AREA_NAME", "MARKET_RUN_ID"),
        entity=("TAC_AREA_NAME", "MARKET_RUN_ID"),
        optional=("EXECUTION_TYPE",),
    ),
    "oasis_renewables": Layout(
        required=(*LABELS, "TRADING_HUB", "RENEWABLE_TYPE", "MARKET_RUN_ID"),
        entity=("TRADING_HUB", "RENEWABLE_TYPE", "MARKET_RUN_ID"),
    ),
    # Today's Outlook: no OASIS columns (formats/caiso_outlook.py reads it).
    "outlook_fuelsource": Layout(required=(), entity=()),
}


def price_column(spec: DatasetSpec) -> str:
    return spec.source.price_column


# ---------------------------------------------------------------------------------------------
# Header and cells


def _check_header(text: CsvText, spec: DatasetSpec) -> None:
    layout = LAYOUTS[spec.file_layout]
    wanted = (*layout.required, price_column(spec))
    missing = [c for c in wanted if c not in text.header]
    if missing:
        raise FormatError(
            text.name,
            f"header is missing column(s) {', '.join(missing)} for {spec.report_code}; "
            f"header was {','.join(text.header)}",
        )
    repeated = sorted({c for c in text.header if c and text.header.count(c) > 1})
    if repeated:
        raise FormatError(text.name, f"header repeats column(s) {repeated}")
    if (GMT_START in text.header) != (GMT_END in text.header):
        present, absent = (GMT_START, GMT_END) if GMT_START in text.header else (GMT_END, GMT_START)
        raise FormatError(text.name, f"header has {present} but is missing column {absent}")


def _parse_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """Every file as text columns (one parser call per header), with its line numbers."""
    layout = LAYOUTS[spec.file_layout]
    frames = []
    for header, group in group_by_header(texts).items():
        for text in group:
            _check_header(text, spec)
        raise_on_control_characters(group)
        try:
            parsed = parse_group(group, {cell: pl.Utf8 for cell in header})
        except FormatError:
            raise
        except Exception as exc:  # polars ComputeError: a ragged or malformed line
            raise FormatError(group[0].name, f"malformed CSV: {exc}") from exc
        keep = [c for c in (GMT_START, GMT_END) if c in header]
        keep += [*layout.required, *(c for c in layout.optional if c in header)]
        keep += [price_column(spec), "source_file"]
        frames.append(
            parsed.select(keep).with_columns(
                pl.col("source_file").cast(pl.Utf8),
                (pl.int_range(pl.len()).over("source_file") + 2).alias("_line"),
            )
        )
    return pl.concat(frames, how="diagonal_relaxed")


def _with_prices(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The price column as Float64; an empty, non-numeric or non-finite cell (or a control
    character in a name) names file, column, line and value."""
    column = price_column(spec)
    text = pl.col(column).str.strip_chars()
    parsed = frame.with_columns(text.cast(pl.Float64, strict=False).alias("_price"))
    bad = parsed.filter(pl.col("_price").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"column {column} line {row['_line']}: price {row[column]!r} is not a number "
            f"({bad.height} bad value(s))",
        )
    raise_on_bad_numbers(frame, [column])
    return parsed.drop(column)


# ---------------------------------------------------------------------------------------------
# Time


def _as_int(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Int32, strict=False)


def _expected_labels(start: pl.Expr, spec: DatasetSpec) -> dict[str, pl.Expr]:
    """OPR_DT / OPR_HR / OPR_INTERVAL that CAISO writes for an interval starting at `start`.

    Hour ending = local hour + 1, except the repeated fall-back hour, which is 25: its start
    is on standard time while the instant an hour earlier was on daylight time.
    """
    local = start.dt.convert_time_zone(spec.timezone)
    earlier = (start - pl.duration(hours=1)).dt.convert_time_zone(spec.timezone)
    repeated = (local.dt.dst_offset() == pl.duration(hours=0)) & (
        earlier.dt.dst_offset() > pl.duration(hours=0)
    )
    hour = pl.when(repeated).then(25).otherwise(local.dt.hour().cast(pl.Int32) + 1)
    if spec.interval_minutes >= 60:
        interval = pl.lit(0, dtype=pl.Int32)
    else:
        interval = local.dt.minute().cast(pl.Int32) // spec.interval_minutes + 1
    return {"_day": local.dt.date(), "_hr": hour, "_interval": interval}


def _start_from_labels(spec: DatasetSpec) -> pl.Expr:
    """Interval start (UTC) from the Pacific labels, for files without the GMT columns."""
    day = pl.col("OPR_DT").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    hour = _as_int("OPR_HR")
    interval = _as_int("OPR_INTERVAL")
    minutes = pl.lit(0) if spec.interval_minutes >= 60 else (interval - 1) * spec.interval_minutes
    repeated = hour == 25
    clock_hour = pl.when(repeated).then(1).otherwise(hour - 1)
    naive = day.cast(pl.Datetime("us")) + pl.duration(hours=clock_hour, minutes=minutes)
    return wall_clock_to_utc(naive, spec.timezone, repeated)


def _interval_table(labels: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """One row per distinct time label: interval_start_utc plus what CAISO would label it."""
    if GMT_START in labels.columns:
        start = (
            pl.col(GMT_START)
            .str.strip_chars()
            .str.to_datetime(GMT_FORMAT, time_unit="us", strict=False)
        )
        end = (
            pl.col(GMT_END)
            .str.strip_chars()
            .str.to_datetime(GMT_FORMAT, time_unit="us", strict=False)
        )
        table = labels.with_columns(start.alias("interval_start_utc"), end.alias("_end"))
    else:
        table = labels.with_columns(_start_from_labels(spec).alias("interval_start_utc"))
    table = table.with_columns(
        pl.col("interval_start_utc").dt.convert_time_zone("UTC"),
        **_expected_labels(pl.col("interval_start_utc").dt.convert_time_zone("UTC"), spec),
    )
    return table


def _label_problem(row: dict, spec: DatasetSpec) -> str | None:
    """Why one time label is wrong (None when it is consistent)."""
    shown = "/".join(str(row[c]) for c in LABELS)
    if row["interval_start_utc"] is None:
        if GMT_START in row:
            return f"column {GMT_START}: {row[GMT_START]!r} is not a GMT timestamp"
        return (
            f"OPR_DT/OPR_HR/OPR_INTERVAL {shown} is not a valid Pacific interval "
            "(hour 3 does not exist on the spring-forward day)"
        )
    if GMT_END in row:
        minutes = spec.interval_minutes
        if row["_end"] is None:
            return f"column {GMT_END}: {row[GMT_END]!r} is not a GMT timestamp"
        if (row["_end"] - row["interval_start_utc"]).total_seconds() != minutes * 60:
            return f"{GMT_START}..{GMT_END} {row[GMT_START]}..{row[GMT_END]} is not {minutes} min"
    hour, interval = _int_or_none(row["OPR_HR"]), _int_or_none(row["OPR_INTERVAL"])
    interval_ok = interval == row["_interval"] or (spec.interval_minutes >= 60 and interval == 1)
    if str(row["OPR_DT"]).strip() != row["_day"].isoformat() or hour != row["_hr"]:
        return (
            f"OPR_DT/OPR_HR/OPR_INTERVAL {shown} disagrees with {GMT_START} "
            f"{row.get(GMT_START)} (expected {row['_day']}/{row['_hr']}/{row['_interval']})"
        )
    if not interval_ok:
        return f"column OPR_INTERVAL: {row['OPR_INTERVAL']!r} disagrees with the interval start"
    return None


def _int_or_none(text: object) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def _with_times(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    labels = [c for c in (GMT_START, GMT_END, *LABELS) if c in frame.columns]
    table = _interval_table(frame.select(labels).unique(), spec)
    for row in table.iter_rows(named=True):  # a few hundred labels a day
        problem = _label_problem(row, spec)
        if problem is not None:
            first = frame.join(table.filter(_same(row, labels)), on=labels, how="semi")
            raise FormatError(first.row(0, named=True)["source_file"], problem)
    table = table.select(*labels, "interval_start_utc", pl.col("_day").alias("operating_day"))
    return frame.join(table, on=labels, how="left", nulls_equal=True).drop(labels)


def _same(row: dict, labels: list[str]) -> pl.Expr:
    return pl.all_horizontal(pl.col(c).eq_missing(row[c]) for c in labels)


# ---------------------------------------------------------------------------------------------
# Rows -> standard rows


def _deduplicated(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Identical repeats (overlapping windows) collapse; conflicting repeats are an error."""
    frame = frame.unique(subset=[*key, "_price"], keep="first", maintain_order=True)
    clash = frame.filter(pl.struct(key).is_duplicated())
    if clash.height:
        row = clash.row(0, named=True)
        what = ", ".join(f"{k}={row[k]}" for k in key)
        raise FormatError(row["source_file"], f"two different prices for {what}")
    return frame


def _pivot_components(frame: pl.DataFrame) -> pl.DataFrame:
    """LMP rows become standard rows; MCE/MCC/MCL/MGHG rows become their columns."""
    types = frame.get_column("LMP_TYPE").str.strip_chars()
    unknown = frame.filter(~types.is_in(list(LMP_COMPONENTS)))
    if unknown.height:
        row = unknown.row(0, named=True)
        raise FormatError(
            row["source_file"], f"column LMP_TYPE line {row['_line']}: unknown {row['LMP_TYPE']!r}"
        )
    frame = frame.with_columns(types.alias("LMP_TYPE"), pl.col("NODE").str.strip_chars())
    key = ["interval_start_utc", "NODE"]
    frame = _deduplicated(frame, [*key, "LMP_TYPE"])
    base = frame.filter(pl.col("LMP_TYPE") == "LMP").select(
        *key, "operating_day", pl.col("_price").alias("lmp"), "source_file"
    )
    for code, name in LMP_COMPONENTS.items():
        if code == "LMP":
            continue
        part = frame.filter(pl.col("LMP_TYPE") == code).select(*key, pl.col("_price").alias(name))
        orphans = part.join(base, on=key, how="anti")
        if orphans.height:
            row = frame.join(orphans.head(1), on=key, how="semi").row(0, named=True)
            raise FormatError(
                row["source_file"],
                f"{orphans.height} {code} row(s) have no LMP row (first: NODE {row['NODE']} "
                f"at {row['interval_start_utc']})",
            )
        base = base.join(part, on=key, how="left")
    _check_components(base)
    return base.rename({"NODE": "location"})


def _check_components(frame: pl.DataFrame) -> None:
    """Where all four components are published they must add up to the LMP."""
    total = pl.sum_horizontal("energy", "congestion", "loss", "ghg")
    full = pl.all_horizontal(pl.col(c).is_not_null() for c in ("energy", "congestion", "loss"))
    off = frame.filter(full & ((pl.col("lmp") - total).abs() > COMPONENT_TOLERANCE))
    if off.height:
        row = off.row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"LMP {row['lmp']} of NODE {row['NODE']} at {row['interval_start_utc']} is not "
            "MCE + MCC + MCL + MGHG",
        )


def _products(frame: pl.DataFrame) -> pl.DataFrame:
    """PRC_AS clearing prices: product = '<ANC_REGION>_<ANC_TYPE>' (e.g. AS_CAISO_EXP_RU)."""
    item = pl.col("XML_DATA_ITEM").str.strip_chars()
    frame = frame.filter(item.str.ends_with(AS_PRICE_SUFFIX)).with_columns(
        pl.concat_str(
            pl.col("ANC_REGION").str.strip_chars(),
            pl.col("ANC_TYPE").str.strip_chars(),
            separator="_",
        ).alias("product")
    )
    frame = _deduplicated(frame, ["interval_start_utc", "product"])
    return frame.select(
        "interval_start_utc",
        "operating_day",
        "product",
        pl.col("_price").alias("price"),
        "source_file",
    )


def location_type(location: pl.Expr) -> pl.Expr:
    """Trading hubs are HUB, load aggregation points ZONE, everything else NODE."""
    return (
        pl.when(location.str.starts_with("TH_"))
        .then(pl.lit(HUB))
        .when(location.str.starts_with("DLAP_") | location.str.starts_with("SLAP_"))
        .then(pl.lit(ZONE))
        .otherwise(pl.lit(NODE))
    )


def iso_location_type(location: pl.Expr) -> pl.Expr:
    """CAISO's node class, from its naming: TH, DLAP, SLAP, APND (aggregated) or PNODE."""
    return (
        pl.when(location.str.starts_with("TH_"))
        .then(pl.lit("TH"))
        .when(location.str.starts_with("DLAP_"))
        .then(pl.lit("DLAP"))
        .when(location.str.starts_with("SLAP_"))
        .then(pl.lit("SLAP"))
        .when(location.str.ends_with("-APND"))
        .then(pl.lit("APND"))
        .otherwise(pl.lit("PNODE"))
    )


def _finish(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Add the standard columns and cast to the registry schema, in schema order."""
    base = frame
    if spec.table_kind is PRICE:
        base = base.with_columns(
            location_type(pl.col("location")).alias("location_type"),
            iso_location_type(pl.col("location")).alias("iso_location_type"),
        )
        order = ["interval_start_utc", "location"]
    else:
        order = ["interval_start_utc", "product"]
    return to_standard(base.sort(order), spec)


# ---------------------------------------------------------------------------------------------
# Load, load forecast and renewables (SLD_FCST, SLD_REN_FCST)


def spec_runs(spec: DatasetSpec) -> tuple[MarketRun, ...]:
    """The spec's market runs (a spec without runs: its one market run)."""
    return spec.source.runs or (MarketRun(spec.source.market_run_id, spec.source.market_run_id),)


def _runs_frame(spec: DatasetSpec) -> pl.DataFrame:
    """The spec's market runs as a join table."""
    runs = spec_runs(spec)
    return pl.DataFrame(
        {
            "MARKET_RUN_ID": [r.market_run_id for r in runs],
            "model": [r.model for r in runs],
            "_day_offset": [r.day_offset for r in runs],
            "_publish_minute": [
                None if r.publish_local is None else r.publish_local[0] * 60 + r.publish_local[1]
                for r in runs
            ],
            "_lead_seconds": [int(r.lead_minutes * 60) for r in runs],
        },
        schema_overrides={"_publish_minute": pl.Int32, "_day_offset": pl.Int32},
    )


def _with_runs(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """Each row's model, publication day (its operating_day partition) and published_at_utc
    from its market run's schedule (rows are of the spec's runs: `_of_runs`)."""
    frame = frame.with_columns(pl.col("MARKET_RUN_ID").str.strip_chars())
    runs = _runs_frame(spec)
    frame = frame.join(runs, on="MARKET_RUN_ID", how="left")
    published_day = pl.col("operating_day") - pl.duration(days=pl.col("_day_offset"))
    scheduled = (
        (published_day.cast(pl.Datetime("us")) + pl.duration(minutes=pl.col("_publish_minute")))
        .dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    ahead = pl.col("interval_start_utc") - pl.duration(seconds=pl.col("_lead_seconds"))
    vintage = pl.when(pl.col("_publish_minute").is_not_null()).then(scheduled).otherwise(ahead)
    return frame.with_columns(
        vintage.alias("published_at_utc"), published_day.cast(pl.Date).alias("operating_day")
    )


def _run_of_row(frame: pl.DataFrame) -> pl.Expr:
    """`<MARKET_RUN_ID>` or, for RTM rows, `RTM/<EXECUTION_TYPE>` (RTPD, RTD)."""
    run = pl.col("MARKET_RUN_ID").str.strip_chars()
    if "EXECUTION_TYPE" not in frame.columns:
        return run
    execution = pl.col("EXECUTION_TYPE").str.strip_chars()
    return pl.when(run == "RTM").then(pl.concat_str(run, execution, separator="/")).otherwise(run)


def run_labels(spec: DatasetSpec) -> set[str]:
    """The dataset's runs as `_run_of_row` names them."""
    return {
        f"{r.market_run_id}/{r.execution_type}" if r.execution_type else r.market_run_id
        for r in spec_runs(spec)
    }


def _of_runs(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The rows of the dataset's market runs: one SLD_FCST answer may hold every run (asked
    without market_run_id, OASIS returns ACTUAL, DAM, 2DA, 7DA and the RTM 5- and 15-minute
    forecasts together); a file holding none of them is not this dataset."""
    runs = sorted(run_labels(spec))
    kept = frame.filter(_run_of_row(frame).is_in(runs))
    if frame.height and not kept.height:
        row = frame.row(0, named=True)
        raise FormatError(
            row["source_file"],
            f"column MARKET_RUN_ID: no row of market run {', '.join(runs)} ({spec.iso} "
            f"{spec.dataset}); line {row['_line']} is {row['MARKET_RUN_ID']!r}",
        )
    return kept


def _quantities(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """SLD_FCST / SLD_REN_FCST rows -> the kind's columns (before to_standard)."""
    layout = spec.file_layout
    if layout == "oasis_load":
        frame = frame.with_columns(pl.col("TAC_AREA_NAME").str.strip_chars().alias("area"))
        key = ["interval_start_utc", "area"]
    elif layout == "oasis_load_forecast":
        frame = _with_runs(frame, spec).with_columns(
            pl.col("TAC_AREA_NAME").str.strip_chars().alias("area")
        )
        key = ["interval_start_utc", "area", "model", "published_at_utc"]
    else:
        technology = pl.col("RENEWABLE_TYPE").str.strip_chars().str.to_lowercase()
        frame = frame.filter(technology.is_in(list(RENEWABLE_TECHNOLOGIES)))
        frame = _with_runs(frame, spec).with_columns(
            technology.alias("technology"), pl.col("TRADING_HUB").str.strip_chars().alias("area")
        )
        key = ["interval_start_utc", "technology", "area", "model", "published_at_utc"]
    frame = _deduplicated(frame, key)
    return frame.rename({"_price": "mw"}).select(*key, "operating_day", "mw", "source_file")


def read_texts(texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
    """CSV texts of one CAISO dataset (one or many files, any row order) -> long table."""
    if spec.file_layout in OUTLOOK_LAYOUTS:
        return caiso_outlook.read_texts(texts, spec)
    texts = [t for t in texts if t.header]
    if not texts or not any(t.rows for t in texts):
        for text in texts:
            _check_header(text, spec)
        return pl.DataFrame(schema=spec.schema)
    frame = _with_prices(_parse_texts(texts, spec), spec)
    if spec.file_layout in OASIS_QUANTITY_LAYOUTS:
        frame = _of_runs(frame, spec)
    frame = _with_times(frame, spec)
    if spec.file_layout in OASIS_QUANTITY_LAYOUTS:
        frame = _quantities(frame, spec)
        return to_standard(frame.sort(frame.columns[:2]), spec)
    pivot = _pivot_components if spec.file_layout == "oasis_lmp" else _products
    return _finish(pivot(frame), spec)


def read_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read extracted OASIS CSV files (stage 1) into the standard long table (stage 2)."""
    return read_texts([split_csv(Path(p).read_bytes(), Path(p).name) for p in paths], spec)


# ---------------------------------------------------------------------------------------------
# Row counts and identification


def _standard_row_marker(spec: DatasetSpec) -> tuple[str, bytes, bool]:
    """(column, value, suffix?) of the lines that become standard rows."""
    if spec.file_layout == "oasis_lmp":
        return "LMP_TYPE", b"LMP", False
    return "XML_DATA_ITEM", AS_PRICE_SUFFIX.encode(), True


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """Distinct data lines that yield a standard row: LMP_TYPE == LMP (one per node and
    interval; the component lines become columns) or an AS *_CLR_PRC item. A plain byte
    scan, independent of the reader. Load lines: every distinct line; renewables: Solar and
    Wind lines; Today's Outlook: every non-empty fuel cell."""
    data = Path(path).read_bytes()
    if spec.file_layout in OUTLOOK_LAYOUTS:
        return caiso_outlook.expected_rows(data)
    if spec.file_layout in OASIS_QUANTITY_LAYOUTS:
        return _distinct_quantity_lines(data, spec)
    header, _, body = data.partition(b"\n")
    column, value, suffix = _standard_row_marker(spec)
    cells = [c.strip().decode("utf-8", "replace") for c in header.rstrip(b"\r").split(b",")]
    if column not in cells:
        return data_lines  # a drifted header: the reader raises FormatError
    index = cells.index(column)
    seen: set[bytes] = set()
    for line in body.split(b"\n"):
        line = line.rstrip(b"\r")
        if value not in line:
            continue
        parts = line.split(b",")
        if len(parts) <= index:
            continue
        cell = parts[index].strip()
        if cell.endswith(value) if suffix else cell == value:
            seen.add(line)
    return len(seen)


def _distinct_quantity_lines(data: bytes, spec: DatasetSpec) -> int:
    """Distinct data lines of an SLD_FCST / SLD_REN_FCST file of the dataset's market runs
    (renewables: Solar and Wind only)."""
    header, _, body = data.partition(b"\n")
    cells = [c.strip().decode("utf-8", "replace") for c in header.rstrip(b"\r").split(b",")]
    lines = {line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()}
    wanted = {"MARKET_RUN_ID": {r.encode() for r in market_run_ids(spec)}}
    executions = {r.execution_type.encode() for r in spec_runs(spec) if r.execution_type}
    if executions:
        wanted["EXECUTION_TYPE"] = executions
    if spec.file_layout == "oasis_renewables":
        wanted["RENEWABLE_TYPE"] = {t.encode() for t in RENEWABLE_TECHNOLOGIES}
    if not set(wanted) <= set(cells):
        return len(lines)  # a drifted header: the reader raises FormatError
    where = {cells.index(column): values for column, values in wanted.items()}
    last = max(where)

    def belongs(line: bytes) -> bool:
        parts = line.split(b",")
        return len(parts) > last and all(
            parts[i].strip().lower() in {v.lower() for v in values} for i, values in where.items()
        )

    return sum(1 for line in lines if belongs(line))


def _first_data_row(head: bytes, header: list[str]) -> dict[str, str]:
    lines = head.split(b"\n")
    if len(lines) < 3:  # the second line may be cut short by the head limit
        return {}
    cells = lines[1].decode("utf-8", "replace").rstrip("\r").split(",")
    return dict(zip(header, cells, strict=False)) if len(cells) == len(header) else {}


def identify(name: str, head: bytes) -> DatasetSpec | None:
    """Which CAISO dataset a file is, from its header (and market run of its first row)."""
    first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip()
    header = [cell.strip().strip('"') for cell in first_line.split(",")]
    if caiso_outlook.is_fuelsource_header(header):
        return next(s for s in CAISO_DATASETS if s.file_layout in OUTLOOK_LAYOUTS)
    if "MARKET_RUN_ID" not in header or "OPR_DT" not in header:
        return None
    row = _first_data_row(head, header)
    upper = name.upper()
    for spec in CAISO_DATASETS:
        layout = LAYOUTS[spec.file_layout]
        if spec.file_layout in OUTLOOK_LAYOUTS:
            continue
        if not set((*layout.required, price_column(spec))) <= set(header):
            continue
        if spec.file_layout == "oasis_lmp" and _other_price_column(spec, header):
            continue
        if spec.file_layout == "oasis_as" and "INTVL" in upper:
            continue  # PRC_INTVL_AS (real-time AS) has the same columns
        run = row.get("MARKET_RUN_ID", "").strip()
        if run and spec.file_layout in OASIS_QUANTITY_LAYOUTS:
            execution = row.get("EXECUTION_TYPE", "").strip()
            run = f"{run}/{execution}" if run == "RTM" and execution else run
            if run not in run_labels(spec):
                continue
        elif run and run not in market_run_ids(spec):
            continue
        return spec
    return None


def market_run_ids(spec: DatasetSpec) -> set[str]:
    """The OASIS market_run_id values whose rows belong to the dataset."""
    return {r.market_run_id for r in spec.source.runs} or {spec.source.market_run_id}


def _other_price_column(spec: DatasetSpec, header: list[str]) -> bool:
    """An LMP header carrying another LMP query's price column (MW, VALUE or PRC)."""
    others = {price_column(s) for s in CAISO_DATASETS if s.file_layout == "oasis_lmp"}
    return any(c in header for c in others - {price_column(spec)})
