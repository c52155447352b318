"""Deterministic ERCOT fundamentals documents (load, load forecast, wind, solar) in the MIS's
byte formats (docs/reference/fundamentals/ercot.md), packaged like every ERCOT document
(`ercot._package`: one CSV in a Java-style zip, its `_xml` twin, a listing entry).

- LOAD, NP6-345-CD `ACTUALSYSLOADWZNP6345`: one file per operating day, published about 05:50
  Central the next morning: `OperDay,HourEnding,COAST,...,TOTAL,DSTFlag`, HourEnding 01:00..24:00,
  the repeated fall-back hour flagged Y.
- LOAD_FORECAST, NP3-565-CD `LFMODWEATHERNP3565`: every hour at about half past, the hours of
  the publication day and the seven after, for each model (InUseFlag Y on one of them).
- WIND / SOLAR, NP4-732-CD `WPPHRLYAVGACTNP4732` / NP4-737-CD `PVGRHRLYAVGACTNP4737`: every
  hour at about five to, 48 past hours (actuals filled) and 168 coming hours (actuals empty).

Values are realistic and consistent across files: one "true" load, wind and solar per hour
(a function of the hour and the seed), which the actual files report and every forecast
vintage misses by an error growing with its lead time. Load is tens of GW; solar is zero at
night. Text: no quoting, LF, numbers in ERCOT's shortest form with at most two decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from power_market_assets.formats.ercot_fuel_mix import LAYOUT as FUEL_MIX_LAYOUT
from power_market_assets.formats.ercot_fundamentals import FORECAST_AREAS, FUNDAMENTAL_LAYOUTS
from power_market_assets.registry.ercot import WEATHER_ZONES
from power_market_assets.registry.spec import DatasetSpec
from power_market_standins.common import local_interval_starts
from power_market_standins.ercot import (
    _SPEC_SALT,
    SampleDocument,
    _package,
    format_cents,
    generate_documents,
)

LOAD_HEADER = "OperDay,HourEnding," + ",".join(WEATHER_ZONES) + ",TOTAL,DSTFlag"
FORECAST_HEADER = "DeliveryDate,HourEnding," + ",".join(FORECAST_AREAS) + ",Model,InUseFlag,DSTFlag"
# ERCOT's model names beyond A3 and A6 are UNCONFIRMED; the reader keeps whatever is there.
FORECAST_MODELS = ("A3", "A6", "E", "E1", "M")
IN_USE_MODEL = "A6"
WIND_REGIONS = ("LZ_SOUTH_HOUSTON", "LZ_WEST", "LZ_NORTH")
WIND_SHARES = (0.2, 0.62, 0.18)
WIND_MODELS = ("COP_HSL", "STWPF", "WGRPP")
SOLAR_MODELS = ("COP_HSL", "STPPF", "PVGRPP")
# Weather-zone shares of the ERCOT load (about right for a November day).
ZONE_SHARES = (0.26, 0.03, 0.09, 0.02, 0.28, 0.07, 0.18, 0.07)
PAST_HOURS, FUTURE_HOURS = 48, 168


def _wind_header() -> str:
    cells = ["DELIVERY_DATE", "HOUR_ENDING", "SYSTEM_WIDE_GEN"]
    cells += [f"{m}_SYSTEM_WIDE" for m in WIND_MODELS]
    for region in WIND_REGIONS:
        cells += [f"GEN_{region}", *(f"{m}_{region}" for m in WIND_MODELS)]
    return ",".join([*cells, "SYSTEM_WIDE_HSL", "DSTFlag"])


WIND_HEADER = _wind_header()
SOLAR_HEADER = (
    "DELIVERY_DATE,HOUR_ENDING,SYSTEM_WIDE_GEN,"
    + ",".join(f"{m}_SYSTEM_WIDE" for m in SOLAR_MODELS)
    + ",SYSTEM_WIDE_HSL,DSTFlag"
)


# ---------------------------------------------------------------------------------------------
# Hours and the "true" values behind every file


def _hours(first: date, days: int, timezone: str) -> list[datetime]:
    """Aware local hour starts of `days` operating days from `first` (23/24/25 each)."""
    return [
        start
        for offset in range(days)
        for start in local_interval_starts(first + timedelta(days=offset), timezone, 60)
    ]


def _hours_between(start_utc: datetime, count: int, tz: ZoneInfo) -> list[datetime]:
    return [(start_utc + timedelta(hours=k)).astimezone(tz) for k in range(count)]


def _labels(starts: Sequence[datetime], *, colon: bool) -> pl.DataFrame:
    """Delivery date, hour ending (`01:00` or `01`) and DSTFlag of each hour start."""
    return pl.DataFrame(
        {
            "date": [f"{s:%m/%d/%Y}" for s in starts],
            "he": [f"{s.hour + 1:02d}" + (":00" if colon else "") for s in starts],
            "dst": ["Y" if s.fold == 1 else "N" for s in starts],
        }
    )


def _hour_of_day(starts: Sequence[datetime]) -> np.ndarray:
    return np.array([s.hour + 0.5 for s in starts])


def _epoch_hours(starts: Sequence[datetime]) -> np.ndarray:
    return np.array([s.astimezone(UTC).timestamp() / 3600.0 for s in starts])


def _day_level(starts: Sequence[datetime], seed: int, amplitude: float) -> np.ndarray:
    ordinal = np.array([s.date().toordinal() for s in starts], dtype=float)
    return 1.0 + amplitude * np.sin(ordinal * 0.9 + seed)


def true_load(starts: Sequence[datetime], seed: int) -> np.ndarray:
    """System load (MW) of each hour: an evening peak, a night trough, tens of GW."""
    h = _hour_of_day(starts)
    shape = (
        1.0
        + 0.18 * np.exp(-((h - 19.0) ** 2) / 18.0)
        + 0.08 * np.exp(-((h - 8.0) ** 2) / 8.0)
        - 0.12 * np.exp(-((h - 4.0) ** 2) / 12.5)
    )
    return 47_000.0 * _day_level(starts, seed, 0.04) * shape


def true_wind(starts: Sequence[datetime], seed: int) -> np.ndarray:
    """System wind (MW): weather swings over days and a night-time bulge."""
    t = _epoch_hours(starts)
    factor = 0.36 + 0.18 * np.sin(2 * np.pi * t / 79.0 + seed) + 0.1 * np.cos(2 * np.pi * t / 24)
    return 38_000.0 * np.clip(factor, 0.03, 0.9)


def true_solar(starts: Sequence[datetime], seed: int) -> np.ndarray:
    """System solar (MW): zero at night, a midday peak, a little cloudier some days."""
    h = _hour_of_day(starts)
    sun = np.clip(np.sin(np.pi * (h - 7.0) / 11.0), 0.0, None)
    sun = np.where((h > 7.0) & (h < 18.0), sun, 0.0)
    return 16_000.0 * _day_level(starts, seed + 3, 0.12) * sun


# ---------------------------------------------------------------------------------------------
# CSV text


def _cents(values: np.ndarray) -> np.ndarray:
    return np.rint(values * 100.0)


def _csv(
    header: str, labels: pl.DataFrame, columns: dict[str, np.ndarray], tail: list[str]
) -> bytes:
    """Header + one line per row: the label cells, the value columns (NaN: empty cell, as
    ERCOT leaves a future hour's actual), then the `tail` label columns."""
    frame = labels.with_columns(
        pl.Series(name, _cents(values), dtype=pl.Float64, nan_to_null=True).cast(pl.Int64)
        for name, values in columns.items()
    )
    cells = [pl.col(c) for c in labels.columns if c not in tail]
    cells += [format_cents(pl.col(name)).fill_null("") for name in columns]
    cells += [pl.col(c) for c in tail]
    lines = frame.select(pl.concat_str(cells, separator=",").alias("line"))["line"]
    return (header + "\n" + "\n".join(lines.to_list()) + "\n").encode("ascii")


def _rng(spec: DatasetSpec, seed: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPEC_SALT[spec.source.report_type_id], *parts])


def _publication_times(
    spec: DatasetSpec, day: date, minute: int, rng: np.random.Generator
) -> list[datetime]:
    """One publication per hour of `day` at `minute` past (a few random seconds later); the
    second pass of the fall-back hour never shares the first's wall-clock second (the file
    names carry local time without an offset)."""
    tz = ZoneInfo(spec.timezone)
    out: list[datetime] = []
    walls: set[datetime] = set()
    for start in local_interval_starts(day, spec.timezone, 60):
        at = start.astimezone(UTC) + timedelta(minutes=minute, seconds=int(rng.integers(0, 50)))
        while at.astimezone(tz).replace(tzinfo=None) in walls:
            at += timedelta(seconds=1)
        walls.add(at.astimezone(tz).replace(tzinfo=None))
        out.append(at.astimezone(tz))
    return out


# ---------------------------------------------------------------------------------------------
# Generators


def _zone_matrix(total: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shares = np.array(ZONE_SHARES)[None, :] * (1 + rng.normal(0, 0.015, (len(total), 8)))
    return total[:, None] * shares


def _generate_load(spec: DatasetSpec, days: Sequence[date], seed: int, level: int):
    docs = []
    for day in days:
        starts = _hours(day, 1, spec.timezone)
        rng = _rng(spec, seed, day.toordinal())
        zones = np.rint(_zone_matrix(true_load(starts, seed), rng) * 100) / 100
        columns = {zone: zones[:, k] for k, zone in enumerate(WEATHER_ZONES)}
        columns["TOTAL"] = zones.sum(axis=1)
        csv_bytes = _csv(LOAD_HEADER, _labels(starts, colon=True), columns, ["dst"])
        tz = ZoneInfo(spec.timezone)
        after = day + timedelta(days=1)
        publish = datetime(after.year, after.month, after.day, 5, 50, tzinfo=tz)
        publish += timedelta(seconds=int(rng.integers(0, 40)))
        docs.append(_document(spec, day, publish, csv_bytes, rng, level))
    return docs


def _forecast_error(rng: np.random.Generator, lead_hours: np.ndarray, shape: tuple) -> np.ndarray:
    """Relative error of a forecast `lead_hours` ahead: about 1% a day ahead, 4% a week."""
    spread = 0.004 + 0.005 * np.sqrt(np.clip(lead_hours, 0.0, None) / 24.0)
    return rng.normal(0.0, 1.0, shape) * spread.reshape((-1,) + (1,) * (len(shape) - 1))


def _generate_load_forecast(spec: DatasetSpec, days: Sequence[date], seed: int, level: int):
    docs = []
    for day in days:
        rng = _rng(spec, seed, day.toordinal())
        starts = _hours(day, 8, spec.timezone)  # the publication day and the seven after
        truth = true_load(starts, seed)
        labels = _labels(starts, colon=True)
        n, n_models = len(starts), len(FORECAST_MODELS)
        target_utc = _epoch_hours(starts)
        for publish in _publication_times(spec, day, 30, rng):
            lead = target_utc - publish.astimezone(UTC).timestamp() / 3600.0
            bias = rng.normal(0.0, 0.01, n_models)
            error = _forecast_error(rng, lead, (n, n_models)) + bias[None, :]
            totals = truth[:, None] * (1 + error)  # (hours, models)
            zones = np.stack(
                [_zone_matrix(totals[:, m], rng) for m in range(n_models)], axis=1
            )  # (hours, models, zones)
            zones = np.rint(zones * 100) / 100
            columns = {
                name: zones[:, :, WEATHER_ZONES.index(area)].reshape(-1)
                for name, area in FORECAST_AREAS.items()
                if area in WEATHER_ZONES
            }
            columns["SystemTotal"] = zones.sum(axis=2).reshape(-1)
            rows = labels.select(pl.all().repeat_by(n_models).explode()).with_columns(
                pl.Series("model", list(FORECAST_MODELS) * n),
                pl.Series(
                    "in_use", ["Y" if m == IN_USE_MODEL else "N" for m in FORECAST_MODELS] * n
                ),
            )
            rows = rows.select("date", "he", "model", "in_use", "dst")
            csv_bytes = _csv(FORECAST_HEADER, rows, columns, ["model", "in_use", "dst"])
            docs.append(_document(spec, day, publish, csv_bytes, rng, level))
    return docs


def _renewable_columns(
    spec: DatasetSpec, starts: list[datetime], publish: datetime, seed: int, rng
) -> dict[str, np.ndarray]:
    """The value columns of one wind or solar file: actuals up to the last complete hour
    (empty after), every forecast for every row."""
    wind = spec.file_layout == "wind_hourly"
    truth = true_wind(starts, seed) if wind else true_solar(starts, seed)
    target = _epoch_hours(starts)
    published = publish.astimezone(UTC).timestamp() / 3600.0
    past = target + 1.0 <= published
    lead = target - published
    stwpf = truth * (1 + _forecast_error(rng, lead * 4, (len(starts),)))
    forecasts = {"COP_HSL": stwpf * 1.06, "STWPF": stwpf, "WGRPP": stwpf * 0.86}
    if not wind:
        forecasts = {"COP_HSL": stwpf * 1.04, "STPPF": stwpf, "PVGRPP": stwpf * 0.9}
    actual = np.where(past, truth * (1 + rng.normal(0, 0.004, len(starts))), np.nan)
    # As in the real files: actuals and HSL with two decimals, forecasts with one; the
    # system-wide values are the sums of the regions' (wind).
    series = {"GEN": (actual, 2)} | {model: (values, 1) for model, values in forecasts.items()}
    system, regional = {}, {}
    for model, (values, digits) in series.items():
        if wind:
            parts = [np.round(values * share, digits) for share in WIND_SHARES]
            regional |= {f"{model}_{r}": p for r, p in zip(WIND_REGIONS, parts, strict=True)}
            system[model] = np.round(sum(parts), digits)
        else:
            system[model] = np.round(values, digits)
    columns = {"SYSTEM_WIDE_GEN": system["GEN"]}
    columns |= {f"{model}_SYSTEM_WIDE": system[model] for model in forecasts}
    for region in WIND_REGIONS if wind else ():
        columns |= {f"{model}_{region}": regional[f"{model}_{region}"] for model in series}
    columns["SYSTEM_WIDE_HSL"] = np.round(system["GEN"] * 1.05, 2)
    return {name: np.clip(values, 0.0, None) for name, values in columns.items()}


def _generate_renewable(spec: DatasetSpec, days: Sequence[date], seed: int, level: int):
    header = WIND_HEADER if spec.file_layout == "wind_hourly" else SOLAR_HEADER
    tz = ZoneInfo(spec.timezone)
    docs = []
    for day in days:
        rng = _rng(spec, seed, day.toordinal())
        for publish in _publication_times(spec, day, 55, rng):
            hour = publish.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            starts = _hours_between(
                hour - timedelta(hours=PAST_HOURS), PAST_HOURS + FUTURE_HOURS, tz
            )
            columns = _renewable_columns(spec, starts, publish, seed, rng)
            labels = _labels(starts, colon=False)
            csv_bytes = _csv(header, labels, columns, ["dst"])
            docs.append(_document(spec, day, publish, csv_bytes, rng, level))
    return docs


def _document(
    spec: DatasetSpec,
    day: date,
    publish: datetime,
    csv_bytes: bytes,
    rng: np.random.Generator,
    level: int,
) -> SampleDocument:
    return _package(
        spec,
        stem=spec.source.friendly_name_stem,
        publish=publish,
        csv_bytes=csv_bytes,
        day=day,
        rng=rng,
        compresslevel=level,
    )


GENERATORS = {
    "load_by_weather_zone": _generate_load,
    "load_forecast_by_model": _generate_load_forecast,
    "wind_hourly": _generate_renewable,
    "solar_hourly": _generate_renewable,
}


def generate_fundamentals(
    spec: DatasetSpec, days: Sequence[date], *, seed: int = 0, compresslevel: int = 9
) -> list[SampleDocument]:
    """The MIS documents of an ERCOT fundamentals dataset for each day (the operating day of
    the load; the publication day of the forecasts and renewables), oldest first."""
    generator = GENERATORS.get(spec.file_layout)
    if spec.iso != "ERCOT" or generator is None:
        raise ValueError(f"{spec.iso}/{spec.dataset}: no ERCOT fundamentals generator")
    return generator(spec, sorted(set(days)), seed, compresslevel)


def generate_any(
    spec: DatasetSpec, days: Sequence[date], n_nodes: int = 40, seed: int = 0, **options
) -> list[SampleDocument]:
    """Any ERCOT dataset's MIS documents: the fundamentals here, the prices in ercot.py; none
    for the Fuel Mix Report, which is no MIS document (ercot_fuel_mix.fuel_mix_workbooks)."""
    if spec.file_layout == FUEL_MIX_LAYOUT:
        return []
    if spec.file_layout in FUNDAMENTAL_LAYOUTS:
        level = options.get("compresslevel", 9)
        return generate_fundamentals(spec, days, seed=seed, compresslevel=level)
    return generate_documents(spec, list(days), n_nodes, seed, **options)
