"""Deterministic ISO-NE sample files in the byte layouts of ISO_FORMATS.md section 4.

One price table per (dataset, operating day) is rendered three ways, so every channel serves
the same numbers:

- report CSVs: four `"C"` lines (title, file name, report date range, generation time), the
  `"H"` names and `"H"` types lines, `"D"` rows, a `"T"` trailer; text cells quoted, numbers
  bare in their shortest form (`0.0`, `27.93`). Hour ending `"01"`..`"24"`, `"02X"` for the
  repeated fall-back hour; the spring day omits `"02"` (or `"03"`, `spring_label`).
  Five-minute reports: six 4-hour files a day, `Local Time` = interval start.
- web-service JSON replies (`HourlyLmps`, `FiveMinLmps`, reserve replies), `BeginDate` local
  with milliseconds and offset; the DASI reply nests its records under
  `isone_web_services.day_ahead_reserves` and stamps each hour with `market_hour.local_day`.
- the DASI day-ahead reserve report (`/transform/csv/daasreservedata?start=&end=`): one
  system-wide row (location 7000) per hour, a `"T","<n> lines"` trailer.
- a small yearly SMD hourly workbook (.xlsx, written by xlsx.py): 24 rows on the
  spring-forward day (HE 02 synthesized as the average of HE 01 and HE 03, as in the real
  workbooks) and a Notes sheet.

UNCONFIRMED facts are parameters (`ReportStyle`): trailer text, line ending, RT column order,
how the 5-minute files mark the repeated hour, the spring label.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from power_market_assets.formats.isone import SMD_SHEETS
from power_market_assets.registry import isone as registry
from power_market_assets.registry.kinds import ANCILLARY
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import day_bounds_utc
from power_market_standins.xlsx import xlsx_bytes

Channel = Literal["reports", "webservices"]
HOURLY_HEADER = (
    "Date",
    "Hour Ending",
    "Location ID",
    "Location Name",
    "Location Type",
    "Locational Marginal Price",
    "Energy Component",
    "Congestion Component",
    "Marginal Loss Component",
)
HOURLY_TYPES = ("Date", "HE", "String", "String", "String", "Number", "Number", "Number", "Number")
FIVE_MIN_HEADER = (
    "Local Time",
    "Location ID",
    "LMP",
    "Energy Component",
    "Congestion Component",
    "Loss Component",
)
RESERVE_HEADER = (
    "Date",
    "Hour Ending",
    "Reserve Zone ID",
    "Reserve Zone Name",
    "TMSR Clearing Price",
    "TMNSR Clearing Price",
    "TMOR Clearing Price",
)
# The DASI report's columns [3P ERW: the header its connector checks against the live report].
DAAS_HEADER = (
    "Local Date",
    "Hour Ending",
    "Location ID",
    "Ten Minute Spinning Reserve Requirement",
    "Total Ten Minute Reserve Requirement",
    "Total Thirty Minute Reserve Requirement",
    "Forecasted MW Requirement",
    "Ten Minute Spinning Reserve Clearing Price",
    "Ten Minute Reserve Clearing Price",
    "Total Thirty Reserve Clearing Price",
    "FER Price",
    "TMSR Designated MW",
    "TMNSR Designated MW",
    "TMOR Designated MW",
    "EIR Designated MW",
)
# Its second "H" line: units ("$" for prices [3P ERW]; the rest UNCONFIRMED).
DAAS_UNITS = ("Date", "HE", "String", *("MW",) * 4, *("$",) * 4, *("MW",) * 4)
# DASI web-service price fields per product [CLIENT: GS]; the MW fields ride along.
DAAS_JSON_PRICES = {
    "TMSR": "tmsr_clearing_price",
    "TMNSR": "tmnsr_clearing_price",
    "TMOR": "tmor_clearing_price",
    "EIR": "fer_clearing_price",
}
BLOCKS = registry.BLOCKS
SMD_COLUMNS = (
    "Date", "Hr_End", "DA_Demand", "RT_Demand", "DA_LMP", "DA_EC", "DA_CC", "DA_MLC",
    "RT_LMP", "RT_EC", "RT_CC", "RT_MLC", "Dry_Bulb", "Dew_Point",
)  # fmt: skip
_SPEC_SALT = {
    "da_prices": 11, "rt_prices": 12, "rt_prices_hourly": 13, "rt_as_prices": 14, "as_prices": 15,
}  # fmt: skip


@dataclass(frozen=True)
class ReportStyle:
    """The UNCONFIRMED parts of the report layout."""

    line_ending: str = "\n"
    trailer: str = "Total # of Data Records: {n}"  # None-like "" = no trailer line
    five_min_columns: tuple[str, ...] = FIVE_MIN_HEADER
    five_min_repeat: Literal["order", "suffix_x"] = "order"
    spring_label: Literal["03", "02"] = "03"  # label of the hour starting 01:00 EST
    # The DASI report (/transform/csv): its trailer and its repeated fall-back hour label.
    transform_trailer: str = "{n} lines"
    transform_fall_label: Literal["02X", "02"] = "02X"


@dataclass(frozen=True)
class Location:
    loc_id: str
    name: str
    loc_type: str  # ISO-NE code: HUB, LOAD ZONE, NETWORK NODE, EXT. NODE


@dataclass(frozen=True)
class SampleFile:
    """One file as the ISO serves it: where (URL path on the stand-in), what, and for which day."""

    spec: DatasetSpec
    operating_day: date
    channel: Channel
    url_path: str
    name: str
    body: bytes
    content_type: str
    records: int  # D lines / JSON records


@dataclass(frozen=True)
class Interval:
    start_utc: datetime
    start_local: datetime
    label_date: str  # MM/DD/YYYY
    hour_label: str  # "01".."24", "02X"


@dataclass
class PriceRow:
    interval: Interval
    location: Location
    energy: float
    congestion: float
    loss: float

    @property
    def lmp(self) -> float:
        return _round(self.energy + self.congestion + self.loss)


@dataclass
class DaasRow:
    """One hour of the system-wide DASI results: requirements, prices and designations."""

    interval: Interval
    requirements: tuple[float, float, float, float]  # TMSR, total 10, total 30, forecast MW
    prices: dict[str, float]  # TMSR, TMNSR, TMOR, EIR
    designated: tuple[float, float, float, float]  # TMSR, TMNSR, TMOR, EIR MW


@dataclass
class ReserveRow:
    interval: Interval
    zone_id: str
    zone: str
    prices: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Locations, intervals and prices


def locations(n_locations: int = 20) -> list[Location]:
    """The hub, the eight load zones, then network nodes and one external node."""
    out = [Location(k, name, code) for k, (name, code) in registry.KNOWN_LOCATION_IDS.items()]
    extra = max(n_locations - len(out), 0)
    for i in range(extra):
        if i == extra - 1 and extra > 1:
            out.append(Location(str(4011 + i), f".I.SALBRYNB345 {i + 1}", "EXT. NODE"))
        else:
            out.append(Location(str(321 + 7 * i), f"UN.NODE{i:03d}.13.8CC", "NETWORK NODE"))
    return out


def _round(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def intervals(day: date, minutes: int, style: ReportStyle = ReportStyle()) -> list[Interval]:
    """The native intervals of an operating day (23/24/25 hours) with ISO-NE's labels."""
    tz = ZoneInfo(registry.TIMEZONE)
    start, end = day_bounds_utc(day, registry.TIMEZONE)
    out = []
    at = start
    while at < end:
        local = at.astimezone(tz)
        out.append(Interval(at, local, day.strftime("%m/%d/%Y"), _hour_label(at, local, tz, style)))
        at += timedelta(minutes=minutes)
    return out


def _hour_label(at: datetime, local: datetime, tz: ZoneInfo, style: ReportStyle) -> str:
    end_local = (at + timedelta(hours=1)).astimezone(tz)
    if local.fold == 1 or (local.hour == 1 and _repeats_next(at, tz)):
        return "02X" if _is_second_pass(at, tz) else "02"
    if end_local.hour - local.hour == 2 and end_local.date() == local.date():
        return style.spring_label  # the hour that jumps from 01:00 EST to 03:00 EDT
    return f"{local.hour + 1:02d}"


def _repeats_next(at: datetime, tz: ZoneInfo) -> bool:
    """True for the first pass (EDT) of a repeated wall hour."""
    later = (at + timedelta(hours=1)).astimezone(tz)
    return later.hour == at.astimezone(tz).hour


def _is_second_pass(at: datetime, tz: ZoneInfo) -> bool:
    earlier = (at - timedelta(hours=1)).astimezone(tz)
    return earlier.hour == at.astimezone(tz).hour


def price_rows(
    spec: DatasetSpec, day: date, n_locations: int = 20, seed: int = 0, style=ReportStyle()
) -> list[PriceRow]:
    rng = random.Random(f"{seed}-{_SPEC_SALT[spec.dataset]}-{day.isoformat()}")
    rows = []
    for interval in intervals(day, spec.interval_minutes, style):
        hour = interval.start_local.hour
        base = 28.0 + 18.0 * (7 <= hour <= 21) + rng.uniform(-6.0, 6.0)
        for location in locations(n_locations):
            congestion = 0.0 if rng.random() < 0.6 else _round(rng.uniform(-4.0, 4.0))
            rows.append(
                PriceRow(
                    interval,
                    location,
                    energy=_round(base),
                    congestion=congestion,
                    loss=_round(rng.uniform(-1.5, 1.5)),
                )
            )
    return rows


def reserve_rows(day: date, seed: int = 0, style=ReportStyle()) -> list[ReserveRow]:
    rng = random.Random(f"{seed}-reserve-{day.isoformat()}")
    rows = []
    for interval in intervals(day, 60, style):
        for zone_id, zone in registry.RESERVE_ZONES:
            spin = 0.0 if rng.random() < 0.7 else _round(rng.uniform(0.5, 40.0))
            rows.append(
                ReserveRow(
                    interval,
                    zone_id,
                    zone,
                    {"TMSR": spin, "TMNSR": _round(spin * 0.5), "TMOR": _round(spin * 0.25)},
                )
            )
    return rows


def daas_rows(day: date, seed: int = 0, style=ReportStyle()) -> list[DaasRow]:
    """DASI hours: the reserve prices cascade (TMSR >= TMNSR >= TMOR); EIR apart."""
    rng = random.Random(f"{seed}-daas-{day.isoformat()}")
    rows = []
    for interval in intervals(day, 60, style):
        tmor = _round(rng.uniform(0.0, 3.0))
        tmnsr = _round(tmor + rng.uniform(0.0, 4.0))
        tmsr = _round(tmnsr + rng.uniform(0.0, 6.0))
        eir = 0.0 if rng.random() < 0.5 else _round(rng.uniform(0.1, 25.0))
        load = _round(rng.uniform(11000.0, 19000.0))
        rows.append(
            DaasRow(
                interval,
                (800.0, 1700.0, 2600.0, load),
                {"TMSR": tmsr, "TMNSR": tmnsr, "TMOR": tmor, "EIR": eir},
                (_round(rng.uniform(800, 1200)), 900.0, 1000.0, _round(rng.uniform(0, 900))),
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Report CSVs


def _num(value: float) -> str:
    return repr(_round(value))


def _quoted(cells: Iterable[str]) -> str:
    return ",".join(f'"{c}"' for c in cells)


def report_bytes(
    title: str,
    file_name: str,
    day: date,
    header: Sequence[str],
    types: Sequence[str],
    data_lines: Sequence[str],
    style: ReportStyle = ReportStyle(),
) -> bytes:
    """A whole C/H/D/T price report, generated the afternoon before its day."""
    generated = datetime.combine(day - timedelta(days=1), datetime.min.time()) + timedelta(
        hours=13, minutes=7, seconds=54
    )
    local = generated.replace(tzinfo=ZoneInfo(registry.TIMEZONE))
    return stamped_report_bytes(title, file_name, day, header, types, data_lines, local, style)


def stamped_report_bytes(
    title: str,
    file_name: str,
    day: date,
    header: Sequence[str],
    types: Sequence[str],
    data_lines: Sequence[str],
    generated: datetime,
    style: ReportStyle = ReportStyle(),
) -> bytes:
    """A whole C/H/D/T report generated at `generated` (zoned); `data_lines` are the cells
    after the "D" cell."""
    stamp = f"{generated:%m/%d/%Y %H:%M:%S} {generated.tzname()}"
    lines = [
        _quoted(["C", title]),
        _quoted(["C", f"Filename: {file_name}"]),
        _quoted(["C", f"Report for: {day:%m/%d/%Y} - {day:%m/%d/%Y}"]),
        _quoted(["C", f"Report generated: {stamp}"]),
        _quoted(["H", *header]),
        _quoted(["H", *types]),
        *(f'"D",{line}' for line in data_lines),
    ]
    if style.trailer:
        lines.append(_quoted(["T", style.trailer.format(n=len(data_lines))]))
    return (style.line_ending.join(lines) + style.line_ending).encode("utf-8")


def _hourly_line(row: PriceRow) -> str:
    i, loc = row.interval, row.location
    return (
        f'"{i.label_date}","{i.hour_label}","{loc.loc_id}","{loc.name}","{loc.loc_type}",'
        f"{_num(row.lmp)},{_num(row.energy)},{_num(row.congestion)},{_num(row.loss)}"
    )


def _five_min_cells(row: PriceRow, style: ReportStyle) -> dict[str, str]:
    local = row.interval.start_local
    clock = f"{local:%H:%M}"
    if style.five_min_repeat == "suffix_x" and _is_second_pass(
        row.interval.start_utc, local.tzinfo
    ):
        clock += "X"
    return {
        "Local Time": f'"{clock}"',
        "Location ID": f'"{row.location.loc_id}"',
        "LMP": _num(row.lmp),
        "Energy Component": _num(row.energy),
        "Congestion Component": _num(row.congestion),
        "Loss Component": _num(row.loss),
    }


def _reserve_line(row: ReserveRow) -> str:
    i = row.interval
    prices = ",".join(_num(row.prices[p]) for p in registry.RESERVE_PRODUCTS)
    return f'"{i.label_date}","{i.hour_label}","{row.zone_id}","{row.zone}",{prices}'


def _daas_line(row: DaasRow, style: ReportStyle) -> str:
    i = row.interval
    label = "02" if i.hour_label == "02X" and style.transform_fall_label == "02" else i.hour_label
    numbers = [*row.requirements, *row.prices.values(), *row.designated]
    cells = ",".join(_num(n) for n in numbers)
    return f'"{i.label_date}","{label}","{registry.DA_AS_LOCATION_ID}",{cells}'


def report_path(spec: DatasetSpec, day: date, block: str = "") -> str:
    """The URL path of a report file on www.iso-ne.com."""
    paths = registry.report_paths(spec, day)
    return paths[BLOCKS.index(block)] if block else paths[0]


def report_files(
    spec: DatasetSpec, day: date, n_locations: int = 20, seed: int = 0, style=ReportStyle()
) -> list[SampleFile]:
    """The report CSV(s) of one dataset and day."""
    if spec.file_layout == "daas_reserve":
        lines = [_daas_line(r, style) for r in daas_rows(day, seed, style)]
        daas_style = replace(style, trailer=style.transform_trailer)
        return [_report(spec, day, DAAS_HEADER, DAAS_UNITS, lines, daas_style)]
    if spec.file_layout == "hourly_reserve":
        rows = reserve_rows(day, seed, style)
        lines = [_reserve_line(r) for r in rows]
        types = ("Date", "HE", "Number", "String", "Number", "Number", "Number")
        return [_report(spec, day, RESERVE_HEADER, types, lines, style)]
    rows = price_rows(spec, day, n_locations, seed, style)
    if spec.file_layout == "hourly_lmp":
        lines = [_hourly_line(r) for r in rows]
        return [_report(spec, day, HOURLY_HEADER, HOURLY_TYPES, lines, style)]
    files = []
    header = style.five_min_columns
    types = tuple("String" if c in ("Local Time", "Location ID") else "Number" for c in header)
    for n, block in enumerate(BLOCKS):
        block_rows = [r for r in rows if r.interval.start_local.hour // 4 == n]
        cells = (_five_min_cells(r, style) for r in block_rows)
        lines = [",".join(row[c] for c in header) for row in cells]
        files.append(_report(spec, day, header, types, lines, style, block))
    return files


def _report(spec, day, header, types, lines, style, block: str = "") -> SampleFile:
    path = report_path(spec, day, block)
    name = registry.report_name(spec, path, day)
    body = report_bytes(spec.title, name, day, header, types, lines, style)
    return SampleFile(spec, day, "reports", path, name, body, "text/csv", len(lines))


def empty_report(spec: DatasetSpec, day: date, style=ReportStyle()) -> bytes:
    """A well-formed report without data lines (what ISO-NE sometimes serves with 200)."""
    name = report_path(spec, day, BLOCKS[0]).rsplit("/", 1)[-1]
    return report_bytes(spec.title, name, day, HOURLY_HEADER, HOURLY_TYPES, [], style)


# ---------------------------------------------------------------------------------------------
# Web-service JSON


def _begin(interval: Interval, milliseconds: bool = True) -> str:
    local = interval.start_local
    offset = local.strftime("%z")
    fraction = ".000" if milliseconds else ""
    return f"{local:%Y-%m-%dT%H:%M:%S}{fraction}{offset[:3]}:{offset[3:]}"


ws_paths = registry.ws_paths


def ws_payload(root: str, items: list[dict]) -> dict:
    """A reply under a (dotted) root: `{root: {<root minus "s">: items}}`, nested per level;
    without items the innermost level is "" (what the stand-in says for a day it lacks)."""
    levels = root.split(".")
    payload: object = {levels[-1][:-1]: items} if items else ""
    for level in reversed(levels):
        payload = {level: payload}
    return payload  # type: ignore[return-value]


def _wrap(spec: DatasetSpec, items: list[dict]) -> bytes:
    payload = ws_payload(spec.source.ws_root, items)
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _daas_item(row: DaasRow, milliseconds: bool) -> dict:
    """One DASI web-service record [CLIENT: GS; 3P BUST]; field order UNCONFIRMED."""
    spin, ten, thirty, forecast = row.requirements
    designated = dict(zip(("tmsr", "tmnsr", "tmor", "eir"), row.designated, strict=True))
    return {
        "market_hour": {
            "local_day": _begin(row.interval, milliseconds),
            "local_hour_end": row.interval.hour_label,
        },
        "ten_min_spin_req_mw": spin,
        "total_ten_min_req_mw": ten,
        "total_thirty_min_req_mw": thirty,
        "forecasted_energy_req_mw": forecast,
        **{DAAS_JSON_PRICES[p]: price for p, price in row.prices.items()},
        **{f"{p}_designation_mw": mw for p, mw in designated.items()},
    }


def _lmp_item(row: PriceRow) -> dict:
    loc = row.location
    return {
        "BeginDate": _begin(row.interval),
        "Location": {"@LocId": loc.loc_id, "@LocType": loc.loc_type, "$": loc.name},
        "LmpTotal": row.lmp,
        "EnergyComponent": row.energy,
        "CongestionComponent": row.congestion,
        "LossComponent": row.loss,
    }


def ws_files(
    spec: DatasetSpec, day: date, n_locations: int = 20, seed: int = 0, ws_milliseconds=True
) -> list[SampleFile]:
    """The web-service replies of one dataset and day (same numbers as the reports)."""
    out = []
    if spec.file_layout == "daas_reserve":
        ((path, name),) = ws_paths(spec, day)
        items = [_daas_item(r, ws_milliseconds) for r in daas_rows(day, seed)]
        return [_ws_file(spec, day, path, name, items)]
    if spec.table_kind is ANCILLARY:
        rows = reserve_rows(day, seed)
        for (path, name), (zone_id, _) in zip(
            ws_paths(spec, day), registry.RESERVE_ZONES, strict=True
        ):
            items = [
                {
                    "BeginDate": _begin(r.interval),
                    "ReserveZoneId": int(r.zone_id),
                    "ReserveZoneName": r.zone,
                    **{f"{p.title()}ClearingPrice": r.prices[p] for p in r.prices},
                }
                for r in rows
                if r.zone_id == zone_id
            ]
            out.append(_ws_file(spec, day, path, name, items))
        return out
    rows = price_rows(spec, day, n_locations, seed)
    paths = ws_paths(spec, day)
    if len(paths) == 1:
        return [_ws_file(spec, day, *paths[0], [_lmp_item(r) for r in rows])]
    for path, name in paths:  # per start hour (local wall clock; both passes of 01)
        hour = int(path.rsplit("/", 1)[-1])
        items = [_lmp_item(r) for r in rows if r.interval.start_local.hour == hour]
        out.append(_ws_file(spec, day, path, name, items))
    return out


def _ws_file(spec, day, path: str, name: str, items: list[dict]) -> SampleFile:
    body = _wrap(spec, items)
    return SampleFile(spec, day, "webservices", path, name, body, "application/json", len(items))


# ---------------------------------------------------------------------------------------------
# SMD hourly workbook (.xlsx)


def smd_workbook_bytes(days: Sequence[date], seed: int = 0, zones: int = 3) -> bytes:
    """A small SMD hourly workbook: "ISO NE CA" plus the first `zones` zone sheets, each with
    Date (a date cell), Hr_End ("01".."24", "02X") and DA_*/RT_* prices for the given days,
    and a Notes sheet. The prices equal the DA and RT hourly samples of the matching
    locations (seed, days). As in the real workbooks, the spring-forward day has 24 rows: its
    HE 02, an hour that never existed, is synthesized as the average of HE 01 and HE 03."""
    sheets = list(_smd_sheet_names())[: zones + 1]
    n = len(registry.KNOWN_LOCATION_IDS)
    tables = {}
    for sheet, location in sheets:
        rows = []
        for day in days:
            da = [
                r
                for r in price_rows(registry.DA_PRICES, day, n, seed)
                if r.location.name == location
            ]
            rt = [
                r
                for r in price_rows(registry.RT_PRICES_HOURLY, day, n, seed)
                if r.location.name == location
            ]
            day_rows = [
                [
                    day, d.interval.hour_label, 2500.0, 2480.5,
                    d.lmp, d.energy, d.congestion, d.loss, r.lmp, r.energy, r.congestion,
                    r.loss, 40, 29,
                ]
                for d, r in zip(da, rt, strict=True)
            ]  # fmt: skip
            rows += _with_synthesized_spring_hour(day_rows)
        tables[sheet] = rows
    book = {s: [list(SMD_COLUMNS), *rows] for s, rows in tables.items()}
    return xlsx_bytes(book | {"Notes": [[line] for line in SMD_NOTES]})


# The Notes sheet (paraphrased: the real sheet's wording is not reproduced here).
SMD_NOTES = (
    "Notes",
    "Hours are hour ending, Eastern Prevailing Time.",
    "Hour ending 02 on the March daylight saving time day does not exist: its values are "
    "synthesized by averaging HE01 and HE03.",
    "Hour ending 02X on the November daylight saving time day is the repeated hour.",
)


def _with_synthesized_spring_hour(day_rows: list[list]) -> list[list]:
    """A 23-hour day gets the made-up HE 02 of the real workbooks, right after HE 01: the
    average of the HE 01 and HE 03 rows (numbers rounded to cents)."""
    labels = [row[1] for row in day_rows]
    if len(day_rows) != 23 or "02" in labels or labels[:2] != ["01", "03"]:
        return day_rows
    first, third = day_rows[0], day_rows[1]
    middle = [
        round((a + b) / 2, 2) + 0.0 if isinstance(a, float) else a
        for a, b in zip(first, third, strict=True)
    ]
    middle[1] = "02"
    return [first, middle, *day_rows[1:]]


def _smd_sheet_names() -> Iterable[tuple[str, str]]:
    return ((sheet, location) for sheet, (location, _) in SMD_SHEETS.items())


# ---------------------------------------------------------------------------------------------
# Everything for a stand-in server


def generate_files(
    specs: Sequence[DatasetSpec],
    days: Sequence[date],
    n_locations: int = 20,
    seed: int = 0,
    style: ReportStyle = ReportStyle(),
) -> list[SampleFile]:
    """Report CSVs and web-service replies of every price spec and day (the load, fuel and
    forecast reports: isone_fundamentals.py)."""
    out = []
    for spec in (s for s in specs if s not in registry.FUNDAMENTAL_DATASETS):
        for day in days:
            out.extend(report_files(spec, day, n_locations, seed, style))
            out.extend(ws_files(spec, day, n_locations, seed))
    return out
