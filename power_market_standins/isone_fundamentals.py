"""ISO-NE load, fuel-mix and forecast reports in the ISO Express C/H/D/T layout (the byte facts
and how sure each is: docs/reference/fundamentals/isone.md).

One deterministic New England day drives every report, so they agree with one another: the
eight zones' estimated load sums to the system's native load, the fuel mix sums to about the
native load less net imports, solar is zero at night and storage charges (negative) at night.
Served under `/transform/csv/<report>?start=YYYYMMDD[&end=YYYYMMDD]` like the DASI report.

- `fiveminuteestimatedzonalload`: 8 zones x 288 five-minute stamps (`MM/DD/YYYY HH:MM`, local,
  the fall-back day's 01:xx stamps written twice), load and BTM PV per zone.
  `zonal_snapshot` cuts the same report after a local time (an intraday publication).
- `fiveminutesystemload`: five load measures per stamp.
- `genfuelmix`: one line per fuel at irregular stamps (`HH:MM:SS`): one or two stamps in each
  ten-minute bucket, as the real reply has them.
- the web service's `genfuelmix/day/YYYYMMDD` reply (the same numbers as the report):
  `{"GenFuelMixes":{"GenFuelMix":[{"BeginDate":"...-05:00","GenMw":479,...}]}}`.
- `reliabilityregionloadforecast`: three vintages of one forecast day, 8 regions, `"02X"` for
  the repeated hour, the creation time as `MM/DD/YYYY HH:MM:SS`.
- `wphf` / `sphf`: seven forecast days as columns (a header "D" line), one line per hour ending.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from power_market_assets.registry import isone as registry
from power_market_assets.registry.spec import DatasetSpec
from power_market_standins.isone import (
    Interval,
    ReportStyle,
    SampleFile,
    intervals,
    stamped_report_bytes,
)

SPECS = registry.FUNDAMENTAL_DATASETS
TZ = ZoneInfo(registry.TIMEZONE)
# Each zone's share of New England load (about its real share).
ZONE_SHARES = {
    ".Z.MAINE": 0.09,
    ".Z.NEWHAMPSHIRE": 0.09,
    ".Z.VERMONT": 0.04,
    ".Z.CONNECTICUT": 0.25,
    ".Z.RHODEISLAND": 0.06,
    ".Z.SEMASS": 0.12,
    ".Z.WCMASS": 0.13,
    ".Z.NEMASSBOST": 0.22,
}
ZONAL_HEADER = ("Date/Time", "Load Zone ID", "Load Zone Name", "Estimated Load", "Estimated BTM PV")
ZONAL_TYPES = ("String", "Number", "String", "Number", "Number")
SYSTEM_HEADER = (
    "Date/Time",
    "Total Load",
    "Native Load",
    "Asset Related Load",
    "Total Load w/ BTM PV",
    "Native Load w/ BTM PV",
)
FUEL_HEADER = ("Date", "Time", "Fuel Category", "Gen Mw", "Fuel Category Rollup", "Marginal Flag")
FUEL_TYPES = ("Date", "String", "String", "Number", "String", "String")
FORECAST_HEADER = (
    "Date",
    "Hour Ending",
    "Reliability Region",
    "Reliability Region Load Forecast",
    "Regional Percentage",
    "Creation Date",
)
FORECAST_TYPES = ("Date", "HE", "String", "Number", "Number", "Date")
# genfuelmix categories and their rollup [BYTES: the web service's 2024-11-02 reply; Solar,
# Oil, Coal and storage rollups UNCONFIRMED]. The real reply leaves out a fuel that generates
# nothing (no Solar at night); the stand-in writes every fuel at every stamp (0 at night).
FUELS = (
    ("Natural Gas", "Natural Gas"),
    ("Nuclear", "Nuclear"),
    ("Hydro", "Hydro"),
    ("Wind", "Renewables"),
    ("Solar", "Renewables"),
    ("Wood", "Renewables"),
    ("Refuse", "Renewables"),
    ("Landfill Gas", "Renewables"),
    ("Oil", "Oil"),
    ("Coal", "Coal"),
    ("Energy Storage", "Other"),
    ("Other", "Other"),
)
RENEWABLE_TITLES = {
    "wphf": "Seven-Day Wind Power Forecast",
    "sphf": "Seven-Day Solar Power Forecast",
}
FORECAST_DAYS = 7
# Vintages of a forecast day: (days before it, local creation time).
FORECAST_VINTAGES = ((2, time(9, 30, 12)), (1, time(9, 31, 5)), (1, time(15, 4, 41)))


@dataclass(frozen=True)
class Stamp:
    """One five-minute interval of the sample day and the system's state then."""

    interval: Interval
    native_load: float
    btm_pv: float  # behind-the-meter solar, system
    solar: float  # utility solar in the fuel mix
    wind: float
    storage: float  # negative: charging


def _round(value: float, digits: int = 2) -> float:
    return round(value, digits) + 0.0


def _num(value: float) -> str:
    return repr(_round(value))


def _quoted(cells: Sequence[str]) -> str:
    return ",".join(f'"{c}"' for c in cells)


def _sun(local: datetime) -> float:
    """0 at night, 1 at solar noon (a November day: sun 06:45-16:30)."""
    hour = local.hour + local.minute / 60
    if not 6.75 < hour < 16.5:
        return 0.0
    return math.sin(math.pi * (hour - 6.75) / (16.5 - 6.75))


def _load_shape(local: datetime) -> float:
    """New England native load in MW by local time: night trough, morning and evening peaks."""
    hour = local.hour + local.minute / 60
    morning = math.exp(-(((hour - 8.0) / 2.5) ** 2))
    evening = math.exp(-(((hour - 18.0) / 2.5) ** 2))
    return 10500.0 + 3200.0 * morning + 4300.0 * evening + 1500.0 * (7 <= hour <= 21)


def stamps(day: date, seed: int = 0) -> list[Stamp]:
    rng = random.Random(f"{seed}-isone-fundamentals-{day.isoformat()}")
    out = []
    wind = rng.uniform(300.0, 900.0)
    for interval in intervals(day, 5):
        local = interval.start_local
        wind = min(max(wind + rng.uniform(-25.0, 25.0), 50.0), 1400.0)
        sun = _sun(local)
        storage = -180.0 if local.hour < 6 else (240.0 * (16 <= local.hour <= 20))
        out.append(
            Stamp(
                interval,
                native_load=_load_shape(local) + rng.uniform(-120.0, 120.0),
                btm_pv=1600.0 * sun,
                solar=700.0 * sun,
                wind=wind,
                storage=storage + rng.uniform(-20.0, 20.0),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Report bytes


@dataclass(frozen=True)
class Layout:
    """What a report file says besides its data lines."""

    title: str
    header: tuple[str, ...]
    types: tuple[str, ...]


def _file(
    spec: DatasetSpec,
    day: date,
    path: str,
    layout: Layout,
    lines: list[str],
    generated: datetime,
    style: ReportStyle = ReportStyle(),
) -> SampleFile:
    name = registry.report_name(spec, path, day)
    body = stamped_report_bytes(
        layout.title, name, day, layout.header, layout.types, lines, generated, style
    )
    return SampleFile(spec, day, "reports", path, name, body, "text/csv", len(lines))


def _stamp_text(interval: Interval) -> str:
    return f"{interval.start_local:%m/%d/%Y %H:%M}"


def _after_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 20, 3), tzinfo=TZ)


def zonal_lines(day: date, seed: int = 0, until: time | None = None) -> list[str]:
    lines = []
    for s in stamps(day, seed):
        if until is not None and s.interval.start_local.time() > until:
            break
        for (loc_id, (zone, _)), share in zip(
            list(registry.KNOWN_LOCATION_IDS.items())[1:], ZONE_SHARES.values(), strict=True
        ):
            lines.append(
                f'"{_stamp_text(s.interval)}",{loc_id},"{zone}",'
                f"{_num(s.native_load * share)},{_num(s.btm_pv * share)}"
            )
    return lines


def zonal_file(day: date, seed: int = 0, until: time | None = None, style=ReportStyle()):
    """The day's five-minute estimated zonal load report; `until`: cut after that local time
    (an intraday publication, generated just after it)."""
    spec = registry.ZONAL_LOAD
    (path,) = registry.report_paths(spec, day)
    lines = zonal_lines(day, seed, until)
    generated = (
        datetime.combine(day, until, tzinfo=TZ) + timedelta(minutes=4, seconds=12)
        if until is not None
        else _after_day(day)
    )
    layout = Layout(spec.title, ZONAL_HEADER, ZONAL_TYPES)
    return _file(spec, day, path, layout, lines, generated, style)


def zonal_snapshot(day: date, until: time = time(16, 0), seed: int = 0) -> SampleFile:
    return zonal_file(day, seed, until)


def system_file(day: date, seed: int = 0, style=ReportStyle()) -> SampleFile:
    spec = registry.LOAD
    (path,) = registry.report_paths(spec, day)
    lines = []
    for s in stamps(day, seed):
        native = sum(_round(s.native_load * share) for share in ZONE_SHARES.values())
        related = max(-s.storage, 0.0) + 150.0
        total = native + related
        values = (total, native, related, total + s.btm_pv, native + s.btm_pv)
        lines.append(f'"{_stamp_text(s.interval)}",' + ",".join(_num(v) for v in values))
    types = ("String", *("Number",) * 5)
    layout = Layout(spec.title, SYSTEM_HEADER, types)
    return _file(spec, day, path, layout, lines, _after_day(day), style)


def fuel_mw(s: Stamp, rng: random.Random) -> dict[str, float]:
    """Generation by fuel: the native load less about 1.8 GW of imports."""
    fixed = {
        "Nuclear": 3310.0,
        "Hydro": 900.0 + rng.uniform(-50, 50),
        "Wind": s.wind,
        "Solar": s.solar,
        "Wood": 310.0,
        "Refuse": 240.0,
        "Landfill Gas": 38.0,
        "Oil": 12.0,
        "Coal": 0.0,
        "Energy Storage": s.storage,
        "Other": 21.0,
    }
    gas = max(s.native_load - 1800.0 - sum(fixed.values()), 800.0)
    return {"Natural Gas": gas} | fixed


@dataclass(frozen=True)
class FuelRecord:
    at: datetime  # local, aware
    fuel: str
    rollup: str
    mw: int  # whole MW, as the ISO publishes them
    marginal: bool


def fuel_records(day: date, seed: int = 0) -> list[FuelRecord]:
    rng = random.Random(f"{seed}-isone-fuel-{day.isoformat()}")
    out = []
    for s in stamps(day, seed):
        if s.interval.start_local.minute % 10 and rng.random() < 0.5:
            continue  # about every seven minutes: one or two stamps per ten-minute bucket
        # From UTC: local arithmetic would lose which pass of the fall-back hour it is.
        at = (s.interval.start_utc + timedelta(seconds=rng.randint(3, 298))).astimezone(TZ)
        marginal = rng.choice(("Natural Gas", "Hydro"))
        mws = fuel_mw(s, rng)
        for fuel, rollup in FUELS:
            out.append(FuelRecord(at, fuel, rollup, round(mws[fuel]), fuel == marginal))
    return out


def fuel_file(day: date, seed: int = 0, style=ReportStyle()) -> SampleFile:
    spec = registry.FUEL_MIX
    (path,) = registry.report_paths(spec, day)
    lines = [
        f'"{r.at:%m/%d/%Y}","{r.at:%H:%M:%S}","{r.fuel}",{r.mw},"{r.rollup}",'
        f'"{"Y" if r.marginal else "N"}"'
        for r in fuel_records(day, seed)
    ]
    layout = Layout(spec.title, FUEL_HEADER, FUEL_TYPES)
    return _file(spec, day, path, layout, lines, _after_day(day), style)


def fuel_reply(day: date, seed: int = 0) -> SampleFile:
    """The web service's genfuelmix reply of a day: BeginDate local with milliseconds and
    offset, whole GenMw, the rollup and marginal flag."""
    spec = registry.FUEL_MIX
    ((path, name),) = registry.ws_paths(spec, day)
    items = [
        {
            "BeginDate": f"{r.at:%Y-%m-%dT%H:%M:%S}.000{_offset(r.at)}",
            "GenMw": r.mw,
            "FuelCategoryRollup": r.rollup,
            "FuelCategory": r.fuel,
            "MarginalFlag": "Y" if r.marginal else "N",
        }
        for r in fuel_records(day, seed)
    ]
    body = json.dumps({"GenFuelMixes": {"GenFuelMix": items}}, separators=(",", ":"))
    return SampleFile(
        spec, day, "webservices", path, name, body.encode(), "application/json", len(items)
    )


def _offset(at: datetime) -> str:
    text = at.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def forecast_file(day: date, seed: int = 0, style=ReportStyle()) -> SampleFile:
    """Every vintage of the forecast of `day`: system MW rounded to 10, regions by share."""
    spec = registry.LOAD_FORECAST
    (path,) = registry.report_paths(spec, day)
    rng = random.Random(f"{seed}-isone-forecast-{day.isoformat()}")
    hours = intervals(day, 60)
    lines = []
    for before, at in FORECAST_VINTAGES:
        created = datetime.combine(day - timedelta(days=before), at)
        bias = rng.uniform(-0.04, 0.04)
        for hour in hours:
            system = round(_load_shape(hour.start_local) * (1 + bias) / 10.0) * 10.0
            for zone, share in ZONE_SHARES.items():
                lines.append(
                    f'"{hour.label_date}","{hour.hour_label}","{zone}",'
                    f'{_num(system * share)},{_num(share * 100)},"{created:%m/%d/%Y %H:%M:%S}"'
                )
    generated = datetime.combine(day - timedelta(days=1), time(15, 10, 2), tzinfo=TZ)
    layout = Layout(spec.title, FORECAST_HEADER, FORECAST_TYPES)
    return _file(spec, day, path, layout, lines, generated, style)


def renewable_files(day: date, seed: int = 0, style=ReportStyle()) -> list[SampleFile]:
    """The wind and solar seven-day forecasts published on `day`."""
    spec = registry.RENEWABLES
    days = [day + timedelta(days=n) for n in range(FORECAST_DAYS)]
    by_day = {d: {i.hour_label: i for i in intervals(d, 60, style)} for d in days}
    labels = sorted({label for hours in by_day.values() for label in hours})
    out = []
    for path in registry.report_paths(spec, day):
        variant = next(v for v in spec.source.variants if f"/{v}?" in path)
        rng = random.Random(f"{seed}-isone-{variant}-{day.isoformat()}")
        head = _quoted(["Date", "Hour Ending", *(f"{d:%m/%d/%Y}" for d in days)])
        lines = [head]
        for label in labels:
            cells = []
            for d in days:
                interval = by_day[d].get(label)
                if interval is None:
                    cells.append("")
                elif variant == "sphf":
                    cells.append(_num(2400.0 * _sun(interval.start_local) * rng.uniform(0.7, 1)))
                else:
                    cells.append(_num(rng.uniform(150.0, 1300.0)))
            lines.append(f'"{day:%m/%d/%Y}","{label}",' + ",".join(cells))
        generated = datetime.combine(day, time(9, 52, 30), tzinfo=TZ)
        header = ("Date", "Hour Ending", *(f"Day {n + 1}" for n in range(FORECAST_DAYS)))
        types = ("Date", "HE", *("Number",) * FORECAST_DAYS)
        layout = Layout(RENEWABLE_TITLES[variant], header, types)
        out.append(_file(spec, day, path, layout, lines, generated, style))
    return out


def report_files(spec: DatasetSpec, day: date, seed: int = 0) -> list[SampleFile]:
    """The report(s) of one load, fuel or forecast dataset and day."""
    if spec is registry.ZONAL_LOAD:
        return [zonal_file(day, seed)]
    if spec is registry.LOAD:
        return [system_file(day, seed)]
    if spec is registry.FUEL_MIX:
        return [fuel_file(day, seed)]
    if spec is registry.LOAD_FORECAST:
        return [forecast_file(day, seed)]
    if spec is registry.RENEWABLES:
        return renewable_files(day, seed)
    raise ValueError(f"{spec.iso} {spec.dataset} is not a load, fuel or forecast dataset")


def generate_files(
    specs: Sequence[DatasetSpec], days: Sequence[date], seed: int = 0
) -> list[SampleFile]:
    """Every report of these specs and days, and the fuel mix's web-service replies."""
    ours = [spec for spec in specs if spec in SPECS]
    files = [f for spec in ours for day in days for f in report_files(spec, day, seed)]
    if registry.FUEL_MIX in ours:
        files += [fuel_reply(day, seed) for day in days]
    return files
