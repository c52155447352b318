"""Deterministic CAISO load, forecast, renewable and fuel-mix samples in their real layouts.

OASIS SLD_FCST (actual load and the DAM / 2DA / 7DA demand forecasts by TAC area) and
SLD_REN_FCST (wind and solar by trading hub: ACTUAL, DAM, HASP) come out as `OasisRows`, the
data lines the stand-in server filters per request like the price queries; Today's Outlook
fuelsource.csv comes out as one file per day (CRLF, `Time` as HH:MM, integer MW, the fall-back
hour's 01:00-01:55 written twice, the spring-forward hour's lines kept with empty cells).
Layout facts and how sure they are: docs/reference/fundamentals/caiso.md.

Values are shaped like a November day in CAISO: a 20-28 GW load with an evening peak, solar
zero at night and about 12 GW at noon, batteries charging at midday and discharging at dusk,
gas filling the rest, so the fuel mix sums to about the load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from power_market_assets.registry import caiso
from power_market_assets.registry.caiso import MarketRun
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import expected_interval_starts
from power_market_standins.caiso import ROW_SCHEMA, OasisRows, gmt_text, hour_ending

SLD_FCST_HEADER = (
    "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,LOAD_TYPE,OPR_DT,OPR_HR,OPR_INTERVAL,"
    "MARKET_RUN_ID,TAC_AREA_NAME,LABEL,XML_DATA_ITEM,POS,MW,EXECUTION_TYPE,GROUP"
)
SLD_REN_FCST_HEADER = (
    "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,TRADING_HUB,"
    "RENEWABLE_TYPE,LABEL,XML_DATA_ITEM,MARKET_RUN_ID,MW,GROUP"
)
# (LABEL, XML_DATA_ITEM) per market run; ACTUAL's and DAM's are seen in public code, the
# others UNCONFIRMED.
LOAD_ITEMS = {
    "ACTUAL": ("Total Actual Hourly Integrated Load", "SYS_FCST_ACT_MW"),
    "DAM": ("Demand Forecast Day Ahead", "SYS_FCST_DA_MW"),
    "2DA": ("Demand Forecast 2-Day Ahead", "SYS_FCST_2DA_MW"),
    "7DA": ("Demand Forecast 7-Day Ahead", "SYS_FCST_7DA_MW"),
    "RTPD": ("RTM 15Min Load Forecast", "SYS_FCST_15MIN_MW"),
}
# LOAD_TYPE per market run, as in the real file.
LOAD_TYPES = {"ACTUAL": 0, "DAM": 1, "2DA": 2, "7DA": 0, "RTPD": 0}
RENEWABLE_ITEMS = {
    "ACTUAL": ("Renewable Actual", "RENEW_FCST_ACT_MW"),
    "DAM": ("Renewable Forecast Day Ahead", "RENEW_FCST_DA_MW"),
    "HASP": ("Renewable Forecast Hour Ahead", "RENEW_FCST_HASP_MW"),
}
# Share of the CAISO load per TAC area (CA ISO-TAC is their sum).
AREA_SHARES = {"PGE-TAC": 0.43, "SCE-TAC": 0.46, "SDGE-TAC": 0.105, "VEA-TAC": 0.005}
SOLAR_SHARES = {"NP15": 0.33, "SP15": 0.6, "ZP26": 0.07}
WIND_SHARES = {"NP15": 0.3, "SP15": 0.65, "ZP26": 0.05}
FUELSOURCE_COLUMNS = (
    "Solar",
    "Wind",
    "Geothermal",
    "Biomass",
    "Biogas",
    "Small hydro",
    "Coal",
    "Nuclear",
    "Natural Gas",
    "Large Hydro",
    "Batteries",
    "Imports",
    "Other",
)
FUELSOURCE_NAME = "fuelsource.csv"


def _rng(seed: int, *parts: object) -> np.random.Generator:
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _local_hours(starts: list[datetime], timezone: str) -> np.ndarray:
    tz = ZoneInfo(timezone)
    return np.array([(s.astimezone(tz).hour + s.astimezone(tz).minute / 60) for s in starts])


def load_shape(hours: np.ndarray) -> np.ndarray:
    """System load (MW) by local hour of day: ~20 GW at 03:00, ~28 GW at 18:00."""
    morning = 2500 * np.exp(-(((hours - 8.5) / 2.0) ** 2))
    evening = 6000 * np.exp(-(((hours - 18.5) / 2.5) ** 2))
    return 20_500 + morning + evening


def solar_shape(hours: np.ndarray) -> np.ndarray:
    """Solar (MW) by local hour: zero before 06:45 and after 16:45 (November), ~12 GW peak."""
    daylight = np.clip((hours - 6.75) / 10.0, 0.0, 1.0)
    return 12_000 * np.sin(np.pi * daylight) ** 1.5


def wind_shape(hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(1800 + 900 * np.cos((hours - 2) / 24 * 2 * np.pi) + rng.normal(0, 150), 50, None)


def _labels(start: datetime, minutes: int, timezone: str) -> tuple[str, str, str, str]:
    tz = ZoneInfo(timezone)
    return (
        gmt_text(start),
        gmt_text(start + timedelta(minutes=minutes)),
        start.astimezone(tz).date().isoformat(),
        str(hour_ending(start, tz)),
    )


def _mw(value: float) -> str:
    """OASIS MW text: up to 5 decimals, trailing zeros trimmed."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _target_days(run: MarketRun, days: Iterable[date]) -> list[tuple[date, date]]:
    """(publication day, forecast day) for each served publication day."""
    return [(day, day + timedelta(days=run.day_offset)) for day in sorted(set(days))]


def _load_lines(run: MarketRun, day: date, seed: int) -> list[tuple]:
    """SLD_FCST lines of one market run for one forecast day, every TAC area."""
    tz = caiso.TIMEZONE
    minutes = 15 if run.execution_type == "RTPD" else 60
    starts = expected_interval_starts([day], tz, minutes).to_list()
    hours = _local_hours(starts, tz)
    actual = load_shape(hours) * (1 + _rng(seed, "load", day, minutes).normal(0, 0.01, len(hours)))
    error = {"ACTUAL": 0.0, "DAM": 0.015, "2DA": 0.025, "7DA": 0.05, "RTPD": 0.005}[run.model]
    system = actual * (1 + _rng(seed, run.model, day).normal(0, error, len(hours)))
    label, item = LOAD_ITEMS[run.model]
    execution = run.execution_type or run.market_run_id
    out = []
    load_type = LOAD_TYPES[run.model]
    for t, start in enumerate(starts):
        gs, ge, dt, hr = _labels(start, minutes, tz)
        interval = 0 if minutes == 60 else start.astimezone(ZoneInfo(tz)).minute // minutes + 1
        areas = {a: system[t] * share for a, share in AREA_SHARES.items()}
        areas = {caiso.SYSTEM_AREA: sum(round(v, 2) for v in areas.values()), **areas}
        for group, (area, mw) in enumerate(areas.items(), start=1):
            line = (
                f"{gs},{ge},{load_type},{dt},{hr},{interval},{run.market_run_id},{area},{label},"
                f"{item},3.8,"
                f"{_mw(round(mw, 2))},{execution},{group}"
            )
            out.append((start, area, run.market_run_id, line))
    return out


def _renewable_lines(run: MarketRun, day: date, seed: int) -> list[tuple]:
    """SLD_REN_FCST lines of one market run for one day: Solar and Wind per trading hub."""
    tz = caiso.TIMEZONE
    starts = expected_interval_starts([day], tz, 60).to_list()
    hours = _local_hours(starts, tz)
    noise = {"ACTUAL": 0.0, "DAM": 0.08, "HASP": 0.04}[run.model]
    rng = _rng(seed, "renewables", run.model, day)
    solar = solar_shape(hours + 0.5) * (1 + rng.normal(0, noise, len(hours)))
    wind = wind_shape(hours, _rng(seed, "wind", day)) * (1 + rng.normal(0, noise * 2, len(hours)))
    label, item = RENEWABLE_ITEMS[run.model]
    out = []
    for t, start in enumerate(starts):
        gs, ge, dt, hr = _labels(start, 60, tz)
        group = 0
        for technology, total, shares in (
            ("Solar", solar, SOLAR_SHARES),
            ("Wind", wind, WIND_SHARES),
        ):
            for hub, share in shares.items():
                group += 1
                mw = max(total[t], 0.0) * share
                if technology == "Solar" and run.model == "ACTUAL" and total[t] <= 0:
                    mw = -round(float(_rng(seed, "night", start, hub).uniform(0, 3)), 2)
                line = (
                    f"{gs},{ge},{dt},{hr},0,{hub},{technology},{label},{item},"
                    f"{run.market_run_id},{_mw(round(mw, 3))},{group}"
                )
                out.append((start, hub, run.market_run_id, line))
    return out


def generate_run_rows(
    spec: DatasetSpec, run: MarketRun, days: Iterable[date], seed: int = 0
) -> OasisRows:
    """Every line of one market run of an SLD_FCST / SLD_REN_FCST dataset: the forecast days
    its publication `days` cover (actuals: the days themselves)."""
    renewable = spec.source.query_name == "SLD_REN_FCST"
    lines = []
    for _, target in _target_days(run, days):
        lines += (_renewable_lines if renewable else _load_lines)(run, target, seed)
    frame = pl.DataFrame(lines, schema=ROW_SCHEMA, orient="row")
    header = SLD_REN_FCST_HEADER if renewable else SLD_FCST_HEADER
    return OasisRows(spec=spec, header=header, rows=frame, market_run_id=run.market_run_id)


def generate_oasis(days: Iterable[date], seed: int = 0) -> dict[str, OasisRows]:
    """Every OASIS fundamentals query's lines, keyed `<QUERY>_<RUN>`."""
    days = list(days)
    out: dict[str, OasisRows] = {}
    out["SLD_FCST_ACTUAL"] = generate_run_rows(
        caiso.LOAD, MarketRun("ACTUAL", "ACTUAL"), days, seed
    )
    for spec in (caiso.LOAD_FORECAST, caiso.LOAD_FORECAST_15MIN, caiso.RENEWABLES):
        for run in spec.source.runs:
            key = f"{spec.source.query_name}_{run.market_run_id}"
            out[key] = generate_run_rows(spec, run, days, seed)
    return out


# ---------------------------------------------------------------------------------------------
# Today's Outlook fuelsource.csv


def _fuel_values(day: date, seed: int) -> tuple[list[datetime], np.ndarray]:
    """(interval starts, MW matrix in FUELSOURCE_COLUMNS order) for one day, 5-minute."""
    tz = caiso.TIMEZONE
    starts = expected_interval_starts([day], tz, 5).to_list()
    hours = _local_hours(starts, tz)
    rng = _rng(seed, "fuelsource", day)
    n = len(starts)
    load = load_shape(hours) * (1 + rng.normal(0, 0.004, n))
    solar = solar_shape(hours) * (1 + rng.normal(0, 0.01, n))
    solar = np.where(solar > 1, solar, rng.uniform(-40, -5, n))  # station service at night
    wind = wind_shape(hours, _rng(seed, "wind", day)) + rng.normal(0, 40, n)
    batteries = 6500 * np.exp(-(((hours - 18.5) / 1.8) ** 2)) - 5000 * np.exp(
        -(((hours - 12) / 2.5) ** 2)
    )
    fixed = {
        "Geothermal": 780 + rng.normal(0, 5, n),
        "Biomass": 280 + rng.normal(0, 5, n),
        "Biogas": 170 + rng.normal(0, 3, n),
        "Small hydro": 230 + rng.normal(0, 5, n),
        "Coal": np.full(n, 3.0),
        "Nuclear": 2250 + rng.normal(0, 3, n),
        "Large Hydro": 2600 + 800 * np.exp(-(((hours - 19) / 2.5) ** 2)),
        "Imports": 5200 - 2500 * np.exp(-(((hours - 12.5) / 3) ** 2)) + rng.normal(0, 80, n),
        "Other": np.zeros(n),
    }
    rest = load - solar - wind - batteries - sum(fixed.values())
    gas = np.clip(rest, 1500, None)
    values = {"Solar": solar, "Wind": wind, "Natural Gas": gas, "Batteries": batteries, **fixed}
    matrix = np.stack([np.rint(values[c]) for c in FUELSOURCE_COLUMNS], axis=1).astype(int)
    return starts, matrix


def fuelsource_csv(day: date, seed: int = 0, *, published_until: datetime | None = None) -> bytes:
    """One day's fuelsource.csv as Today's Outlook serves it; intervals starting at or after
    `published_until` (UTC) are lines with empty cells (an intraday snapshot)."""
    tz = ZoneInfo(caiso.TIMEZONE)
    starts, matrix = _fuel_values(day, seed)
    empty = "," * len(FUELSOURCE_COLUMNS)
    lines = ["Time," + ",".join(FUELSOURCE_COLUMNS)]
    for start, row in zip(starts, matrix, strict=True):
        clock = start.astimezone(tz).strftime("%H:%M")
        if published_until is not None and start >= published_until:
            lines.append(clock + empty)
        else:
            lines.append(clock + "," + ",".join(str(v) for v in row))
        if _skipped_hour_follows(start, tz):
            local = start.astimezone(tz)
            lines += [f"{local.hour + 1:02d}:{m:02d}{empty}" for m in range(0, 60, 5)]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _skipped_hour_follows(start: datetime, tz: ZoneInfo) -> bool:
    """The last interval before spring-forward: CAISO keeps the missing hour's lines, empty."""
    after = (start + timedelta(minutes=5)).astimezone(tz)
    return after.hour - start.astimezone(tz).hour == 2


def fuelsource_files(days: Iterable[date], seed: int = 0) -> dict[date, bytes]:
    return {day: fuelsource_csv(day, seed) for day in sorted(set(days))}
