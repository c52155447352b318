"""Deterministic NYISO load, load forecast, fuel mix and BTM solar files in the byte layouts of
mis.nyiso.com (docs/reference/fundamentals/nyiso.md has each fact and how sure it is).

- `pal`: `"Time Stamp","Time Zone","Name","PTID","Load"`, text quoted, numbers bare, CRLF; per
  5-minute stamp (interval start, `MM/DD/YYYY HH:MM:SS`) the 11 zones alphabetically, plus a
  few off-schedule RTD stamps (03:20:18) as NYISO prints them; the fall-back 01:xx stamps twice,
  EDT then EST.
- `palIntegrated`: the same with `Integrated Load`, hour beginning.
- `isolf`: wide, `"Time Stamp","Capitl",...,"West","NYISO"`, the file of day F covering F 00:00
  to F+5 23:00; integer MW, NYISO the sum of the zones; the fall-back 01:00 row twice.
- `rtfuelmix`: `Time Stamp,Time Zone,Fuel Category,Gen MW`, unquoted, interval-ENDING stamps
  00:05:00 .. next day 00:00:00, the seven fuel categories per stamp; categories sum to about
  the load less net imports.
- BTM solar: `"Time Stamp","Time Zone","Zone Name","MW Value"`, hourly per zone and SYSTEM (the
  sum), zero at night; `BTMEstimatedActual` (folder btmactualforecast) for each day and
  `btmdaforecast` (folder btmdaforecast) named for the next day, as published the day before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from power_market_assets.registry import nyiso
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import expected_interval_starts
from power_market_standins.nyiso_csv import CsvStyle, SampleFile, csv_bytes

PAL_HEADER = ("Time Stamp", "Time Zone", "Name", "PTID", "Load")
PAL_INTEGRATED_HEADER = ("Time Stamp", "Time Zone", "Name", "PTID", "Integrated Load")
FUEL_HEADER = ("Time Stamp", "Time Zone", "Fuel Category", "Gen MW")
BTM_HEADER = ("Time Stamp", "Time Zone", "Zone Name", "MW Value")
ISOLF_COLUMNS = (
    "Capitl", "Centrl", "Dunwod", "Genese", "Hud Vl", "Longil", "Mhk Vl", "Millwd", "N.Y.C.",
    "North", "West",
)  # fmt: skip
ISOLF_HORIZON_DAYS = 6
STYLES = {
    "pal": CsvStyle("text", "\r\n"),
    "palIntegrated": CsvStyle("text", "\r\n"),
    "isolf": CsvStyle("text", "\n"),
    "rtfuelmix": CsvStyle("none", "\n"),
    "btm": CsvStyle("text", "\n"),
}
# Typical November zone load, MW (NYCA about 17 GW).
ZONE_MW = {
    "CAPITL": 1350.0, "CENTRL": 1660.0, "DUNWOD": 660.0, "GENESE": 1080.0, "HUD VL": 1080.0,
    "LONGIL": 2380.0, "MHK VL": 790.0, "MILLWD": 250.0, "N.Y.C.": 6100.0, "NORTH": 630.0,
    "WEST": 1730.0,
}  # fmt: skip
# Behind-the-meter solar at noon on a clear November day, MW per zone.
ZONE_BTM_MW = {
    "CAPITL": 260.0, "CENTRL": 190.0, "DUNWOD": 45.0, "GENESE": 120.0, "HUD VL": 230.0,
    "LONGIL": 330.0, "MHK VL": 110.0, "MILLWD": 40.0, "N.Y.C.": 170.0, "NORTH": 60.0,
    "WEST": 180.0,
}  # fmt: skip
BTM_SYSTEM = "SYSTEM"
# Off-schedule RTD stamps added to a 5-minute day: (index of the regular stamp, seconds after).
OFF_SCHEDULE = ((40, 18), (200, 133))
NET_IMPORT_SHARE = 0.15


@dataclass(frozen=True)
class Stamp:
    label: str  # the Time Stamp text
    zone_label: str  # EDT / EST of the stamped instant
    start_utc: datetime  # the interval start it stands for


def stamps(
    days: Sequence[date], minutes: int, *, ending: bool, fmt: str, off_schedule=()
) -> list[Stamp]:
    """The stamps of these days in file order, DST-aware; `off_schedule` adds extra stamps."""
    tz = ZoneInfo(nyiso.TIMEZONE)
    starts = [
        s.replace(tzinfo=UTC)
        for s in expected_interval_starts(list(days), nyiso.TIMEZONE, minutes).to_list()
    ]
    extra = [starts[i] + timedelta(seconds=sec) for i, sec in off_schedule if i < len(starts)]
    out = []
    for start in sorted([*starts, *extra]):
        instant = start + timedelta(minutes=minutes) if ending else start
        local = instant.astimezone(tz)
        out.append(Stamp(local.strftime(fmt), local.tzname() or "", start))
    return out


def _rng(dataset: str, day: date, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, day.toordinal(), sum(map(ord, dataset))])


def _hours(points: Sequence[Stamp]) -> np.ndarray:
    """Local hour of day (fractional) of each interval start."""
    tz = ZoneInfo(nyiso.TIMEZONE)
    local = [s.start_utc.astimezone(tz) for s in points]
    return np.array([t.hour + t.minute / 60 + t.second / 3600 for t in local])


def load_shape(hours: np.ndarray) -> np.ndarray:
    """A November day: trough at 04:00, evening peak near 18:00 (0.8 .. 1.1)."""
    morning = 0.06 * np.exp(-(((hours - 8.0) / 2.0) ** 2))
    evening = 0.2 * np.exp(-(((hours - 18.0) / 3.0) ** 2))
    return 0.85 + 0.08 * np.sin((hours - 10.0) / 24 * 2 * np.pi) + morning + evening


def solar_shape(hours: np.ndarray) -> np.ndarray:
    """November sun in New York: 0 before 06:40 and after 16:40, peak at noon."""
    return np.clip(np.sin((hours - 6.67) / 10.0 * np.pi), 0.0, None)


def _number(value: float, decimals: int) -> str:
    """NYISO prints up to `decimals` decimals without trailing zeros (1104.603)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _zone_load(points: Sequence[Stamp], rng: np.random.Generator) -> np.ndarray:
    """(stamps, zones) MW."""
    scale = np.array([ZONE_MW[z] for z in nyiso.ZONES])
    noise = rng.normal(0.0, 0.01, (len(points), len(scale)))
    return scale[None, :] * (load_shape(_hours(points))[:, None] + noise)


# --------------------------------------------------------------------------- files


def _sample(spec: DatasetSpec, day: date, stem: str, data: bytes, rows: int) -> SampleFile:
    return SampleFile(spec, day, spec.source.stem_folder(stem), stem, data, rows)


def pal_file(spec: DatasetSpec, day: date, seed: int) -> SampleFile:
    """A pal (5-minute) or palIntegrated (hourly) file of one day."""
    five_minute = spec.interval_minutes == 5
    points = stamps(
        [day],
        spec.interval_minutes,
        ending=False,
        fmt="%m/%d/%Y %H:%M:%S",
        off_schedule=OFF_SCHEDULE if five_minute else (),
    )
    load = _zone_load(points, _rng(spec.dataset, day, seed))
    rows = [
        (
            s.label,
            s.zone_label,
            zone,
            str(nyiso.ZONE_PTIDS[zone]),
            _number(mw, 4 if five_minute else 1),
        )
        for s, block in zip(points, load, strict=True)
        for zone, mw in zip(nyiso.ZONES, block, strict=True)
    ]
    stem = spec.source.file_names[0]
    header = PAL_HEADER if five_minute else PAL_INTEGRATED_HEADER
    return _sample(spec, day, stem, csv_bytes(header, rows, 3, STYLES[stem]), len(rows))


def isolf_file(spec: DatasetSpec, day: date, seed: int) -> SampleFile:
    """The load forecast published on `day`: hourly from `day` 00:00 to `day`+5 23:00."""
    horizon = [day + timedelta(days=k) for k in range(ISOLF_HORIZON_DAYS)]
    points = stamps(horizon, 60, ending=False, fmt="%m/%d/%Y %H:%M")
    rng = _rng(spec.dataset, day, seed)
    lead = np.arange(len(points)) / 24.0
    error = 1.0 + rng.normal(0.0, 0.01, (len(points), 1)) * (1.0 + lead[:, None])
    scale = np.array([ZONE_MW[z] for z in nyiso.ZONES])
    zones = np.rint(scale[None, :] * load_shape(_hours(points))[:, None] * error).astype(int)
    rows = [
        (s.label, *map(str, block), str(int(block.sum())))
        for s, block in zip(points, zones, strict=True)
    ]
    header = ("Time Stamp", *ISOLF_COLUMNS, nyiso.FORECAST_SYSTEM_AREA)
    data = csv_bytes(header, rows, 1, STYLES["isolf"])
    return _sample(spec, day, "isolf", data, len(rows))


def fuel_mw(points: Sequence[Stamp], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Generation per NYISO fuel category summing to the load less net imports."""
    n = len(points)
    hours = _hours(points)
    total = _zone_load(points, rng).sum(axis=1) * (1.0 - NET_IMPORT_SHARE)
    wind = 700.0 + 500.0 * np.sin(np.linspace(0.0, 3.0, n) + rng.uniform(0, 6))
    mix = {
        "Nuclear": 3340.0 + rng.normal(0.0, 2.0, n),
        "Hydro": 3000.0 + 300.0 * load_shape(hours) + rng.normal(0.0, 20.0, n),
        "Wind": np.clip(wind + rng.normal(0.0, 10.0, n), 0.0, None),
        "Other Renewables": 350.0 + 250.0 * solar_shape(hours) + rng.normal(0.0, 5.0, n),
        "Other Fossil Fuels": 40.0 + rng.normal(0.0, 3.0, n).clip(-10, 10),
        "Dual Fuel": 2600.0 + 900.0 * (load_shape(hours) - 0.85) + rng.normal(0.0, 15.0, n),
    }
    mix["Natural Gas"] = np.clip(total - sum(mix.values()), 500.0, None)
    return {fuel: np.rint(mw) for fuel, mw in mix.items()}


def fuel_mix_file(spec: DatasetSpec, day: date, seed: int) -> SampleFile:
    """rtfuelmix of one day: interval-ending stamps, seven categories per stamp."""
    points = stamps([day], 5, ending=True, fmt="%m/%d/%Y %H:%M:%S", off_schedule=OFF_SCHEDULE)
    mix = fuel_mw(points, _rng(spec.dataset, day, seed))
    fuels = sorted(mix)
    rows = [
        (s.label, s.zone_label, fuel, f"{mix[fuel][t]:.1f}")
        for t, s in enumerate(points)
        for fuel in fuels
    ]
    data = csv_bytes(FUEL_HEADER, rows, 3, STYLES["rtfuelmix"])
    return _sample(spec, day, "rtfuelmix", data, len(rows))


def btm_file(spec: DatasetSpec, day: date, seed: int, *, forecast: bool) -> SampleFile:
    """BTM solar of `day`: the estimated actual, or the day-ahead forecast named for `day`."""
    points = stamps([day], 60, ending=False, fmt="%m/%d/%Y %H:%M")
    clear = np.clip(_rng(spec.dataset, day, seed).normal(0.7, 0.15), 0.1, 1.0)
    scale = np.array([ZONE_BTM_MW[z] for z in nyiso.ZONES])
    zones = clear * scale[None, :] * solar_shape(_hours(points))[:, None]
    if forecast:
        zones = zones * _rng("btm forecast", day, seed).normal(1.0, 0.08, (1, len(scale)))
    rows = []
    for s, block in zip(points, np.round(zones, 2), strict=True):
        values = [*block, block.sum()]
        for zone, mw in zip((*nyiso.ZONES, BTM_SYSTEM), values, strict=True):
            rows.append((s.label, s.zone_label, zone, _number(mw, 2)))
    stem = spec.source.file_names[1 if forecast else 0]
    return _sample(spec, day, stem, csv_bytes(BTM_HEADER, rows, 3, STYLES["btm"]), len(rows))


def generate_files(spec: DatasetSpec, days: Iterable[date], seed: int = 0) -> list[SampleFile]:
    """Every daily file of a NYISO fundamentals dataset for these partition days (BTM solar:
    each day's estimated actual and the forecast published that day, named for the next)."""
    out: list[SampleFile] = []
    for day in sorted(set(days)):
        if spec.file_layout == "pal":
            out.append(pal_file(spec, day, seed))
        elif spec.file_layout == "isolf":
            out.append(isolf_file(spec, day, seed))
        elif spec.file_layout == "rtfuelmix":
            out.append(fuel_mix_file(spec, day, seed))
        elif spec.file_layout == "btm":
            out.append(btm_file(spec, day, seed, forecast=False))
            out.append(btm_file(spec, day + timedelta(days=1), seed, forecast=True))
        else:
            raise ValueError(
                f"{spec.iso} {spec.dataset}: layout {spec.file_layout!r} is no fundamentals layout"
            )
    return out
