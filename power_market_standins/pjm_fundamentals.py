"""Deterministic PJM Data Miner fundamentals items: load, load forecast, fuel mix, wind, solar,
and the five-minute marginal emission rates.

Items carry each feed's fields (registry/pjm.py `PjmFeed.fields`) in PJM's order, datetimes
ISO without offset, one per UTC interval (so the fall-back day has 25 hours and 300
five-minute stamps, the spring-forward day 23 hours). The shapes follow the real replies in
power_market_assets_tests/fixtures/real/pjm/ where seen [BYTES: the hourly forecasts'
vintage cadence and horizons] and docs/reference/fundamentals/pjm.md elsewhere.

Values are one consistent November-like system: RTO load 70-95 GW with a morning and an
evening peak, areas in fixed shares that add up to their totals, solar zero at night and
~6.5 GW at noon, wind 1-6 GW, a fuel mix whose fuels add up to the load plus ~2 GW of net
exports with storage charging (negative) at night. Forecasts are the same curves plus an
error growing with lead time, so two vintages of one hour differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from power_market_assets.registry.pjm import (
    EMISSION_LOCATIONS,
    FIVE_MIN_SOLAR_FORECAST,
    FIVE_MIN_WIND_FORECAST,
    FIVEMIN_MARGINAL_EMISSIONS,
    FORECAST_AREAS,
    FORECAST_TOTAL_AREA,
    FUEL_CATEGORIES,
    GEN_BY_FUEL,
    HOURLY_SOLAR_FORECAST,
    HOURLY_WIND_FORECAST,
    HRL_LOAD_METERED,
    INST_LOAD,
    INST_LOAD_AREAS,
    LOAD_AREAS,
    LOAD_FRCSTD_7_DAY,
    LOAD_TOTAL_AREA,
    SOLAR_GEN,
    TIMEZONE,
    WIND_GEN,
    PjmFeed,
)
from power_market_assets.transforms.time import expected_interval_starts

TZ = ZoneInfo(TIMEZONE)
HOUR = timedelta(hours=1)


def _percent(weights: dict[str, float]) -> dict[str, float]:
    """Weights as percentages of their sum."""
    total = sum(weights.values())
    return {name: 100.0 * weight / total for name, weight in weights.items()}


# Each area's percentage of the RTO load (fixed, illustrative weights).
_LOAD_AREA_SHARES = _percent(dict(zip((a for a, *_ in LOAD_AREAS), (
    1.2, 3.4, 2.6, 0.7, 5.4, 5.6, 3.4, 11.8, 1.9, 3.0, 19.0, 2.3, 1.6, 0.1, 1.7, 2.9, 1.7,
    7.0, 0.1, 0.5, 4.3, 3.3, 4.3, 1.8, 5.0, 0.2, 0.4, 0.1, 0.2,
), strict=True)))  # fmt: skip
_INST_ZONE_SHARES = _percent(dict(zip(INST_LOAD_AREAS[:21], (
    1.2, 12.1, 5.6, 8.0, 3.4, 11.8, 1.9, 3.0, 19.4, 2.4, 1.6, 1.7, 2.9, 1.7, 4.3, 3.7, 4.3,
    1.8, 5.0, 0.2, 0.1,
), strict=True)))  # fmt: skip
_INST_REGIONS = {
    "PJM MID ATLANTIC REGION": ("AE", "BC", "DPL", "JC", "ME", "PE", "PEP", "PL", "PN", "PS",
                                "RECO", "UG"),
    "PJM SOUTHERN REGION": ("DOM",),
    "PJM WESTERN REGION": ("AEP", "APS", "ATSI", "COMED", "DAYTON", "DEOK", "DUQ", "EKPC"),
}  # fmt: skip
_FORECAST_AREA_SHARES = _percent(dict(zip(FORECAST_AREAS[:21], (
    1.2, 12.1, 5.6, 8.0, 3.4, 11.8, 1.9, 3.0, 19.4, 2.4, 1.6, 1.7, 2.9, 1.7, 4.3, 1.8, 3.7,
    4.3, 5.0, 0.2, 0.1,
), strict=True)))  # fmt: skip
_FORECAST_REGIONS = {
    "MID_ATLANTIC_REGION": tuple(a for a in FORECAST_AREAS[:21] if a.endswith("/MIDATL")),
    "SOUTHERN_REGION": ("DOMINION",),
    "WESTERN_REGION": ("AEP", "AP", "ATSI", "COMED", "DAYTON", "DEOK", "DUQUESNE", "EKPC"),
}
_WIND_SHARES = {"MIDATL": 0.08, "WEST": 0.85, "SOUTH": 0.05, "OTHER": 0.02}
_SOLAR_SHARES = {"MIDATL": 0.45, "WEST": 0.20, "SOUTH": 0.30, "OTHER": 0.05}
_RENEWABLE_FUELS = frozenset({"Wind", "Solar", "Hydro", "Other Renewables"})
# Load forecast vintages per publication day (EPT): the real feed is re-evaluated every half
# hour [CLIENT]; four keep the demo small.
LOAD_FORECAST_VINTAGES = ((5, 45), (11, 45), (17, 45), (23, 45))


# --------------------------------------------------------------------------- the system


def _noise(stamps: np.ndarray, salt: int, seed: int) -> np.ndarray:
    """Deterministic pseudo-random numbers in [-1, 1) per instant (epoch seconds)."""
    x = np.sin(stamps / 60.0 * 12.9898 + salt * 78.233 + seed * 37.719) * 43758.5453
    return 2.0 * (x - np.floor(x)) - 1.0


def _epoch(starts: Sequence[datetime]) -> np.ndarray:
    return np.array([s.timestamp() for s in starts])


def _local_hours(starts: Sequence[datetime]) -> np.ndarray:
    local = [s.astimezone(TZ) for s in starts]
    return np.array([t.hour + t.minute / 60 for t in local])


def rto_load(starts: Sequence[datetime], seed: int = 0) -> np.ndarray:
    """RTO load, MW: a morning and a larger evening peak on a ~70 GW night."""
    hours = _local_hours(starts)
    shape = 0.55 * np.exp(-(((hours - 8) / 2.5) ** 2)) + np.exp(-(((hours - 18.5) / 3) ** 2))
    return 70000 + 20000 * shape + 700 * _noise(_epoch(starts), 1, seed)


def rto_solar(starts: Sequence[datetime], seed: int = 0) -> np.ndarray:
    """RTO solar, MW: zero from dusk to dawn, ~6.5 GW at noon times a daily cloud factor."""
    hours = _local_hours(starts)
    sun = np.clip(np.sin(np.pi * (hours - 6.8) / 10.1), 0.0, None)
    days = np.floor(_epoch(starts) / 86400.0) * 86400.0
    clouds = 0.75 + 0.25 * _noise(days, 2, seed)
    return 6500 * sun * clouds


def rto_wind(starts: Sequence[datetime], seed: int = 0) -> np.ndarray:
    """RTO wind, MW: slow weather swings between ~1 and ~6 GW."""
    hours = _epoch(starts) / 3600.0
    swing = 3500 + 1800 * np.sin(2 * np.pi * hours / 37.0) + 500 * np.sin(hours / 5.3)
    return np.clip(swing + 250 * _noise(_epoch(starts), 3, seed), 150.0, None)


def _starts(days: Iterable[date], minutes: int) -> list[datetime]:
    return expected_interval_starts(sorted(set(days)), TIMEZONE, minutes).to_list()


def _label(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


@lru_cache(maxsize=65536)
def _times(start: datetime, prefix: str = "datetime_beginning") -> dict[str, str]:
    """A UTC instant as PJM's `<prefix>_utc` / `<prefix>_ept` pair (cached: a forecast's
    hours recur in every vintage; callers copy it with `**`)."""
    utc = start.astimezone(UTC).replace(tzinfo=None)
    return {f"{prefix}_utc": _label(utc), f"{prefix}_ept": _label(start.astimezone(TZ))}


# The renewable forecasts' items come in PJM's own field order, whatever order `fields` asked
# for [BYTES]; the other feeds' items follow the requested order (UNCONFIRMED).
_FORECAST_ITEM_ORDER = (
    "evaluated_at_utc",
    "evaluated_at_ept",
    "datetime_beginning_utc",
    "datetime_beginning_ept",
    "datetime_ending_utc",
    "datetime_ending_ept",
    "wind_forecast_mwh",
    "solar_forecast_mwh",
    "solar_forecast_btm_mwh",
)


def _ordered(item: dict, feed: PjmFeed) -> dict:
    order = _FORECAST_ITEM_ORDER if feed.vintage_field == "evaluated_at_utc" else feed.field_names
    return {field: item.get(field) for field in order if field in feed.field_names}


# --------------------------------------------------------------------------- actuals


def hrl_load_metered_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """One item per hour and load area, PJM's RTO row last (it is the areas' sum)."""
    starts = _starts(days, 60)
    total = rto_load(starts, seed)
    items = []
    for t, start in enumerate(starts):
        rows = []
        for area, zone, region, nerc in LOAD_AREAS:
            mw = round(float(total[t]) * _LOAD_AREA_SHARES[area] / 100.0, 3)
            rows.append((area, zone, region, nerc, mw))
        rows.append((LOAD_TOTAL_AREA, "RTO", "RTO", "RTO", round(sum(r[-1] for r in rows), 3)))
        for area, zone, region, nerc, mw in rows:
            item = {**_times(start), "nerc_region": nerc, "mkt_region": region, "zone": zone,
                    "load_area": area, "mw": mw, "is_verified": True}  # fmt: skip
            items.append(_ordered(item, HRL_LOAD_METERED))
    return items


def inst_load_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """One item per five minutes and area: zones, the three regions, then PJM RTO."""
    starts = _starts(days, 5)
    total = rto_load(starts, seed)
    items = []
    for t, start in enumerate(starts):
        zones = {z: round(float(total[t]) * s / 100.0, 1) for z, s in _INST_ZONE_SHARES.items()}
        values = dict(zones)
        for region, members in _INST_REGIONS.items():
            values[region] = round(sum(zones[m] for m in members), 1)
        values["PJM RTO"] = round(sum(zones.values()), 1)
        for area in INST_LOAD_AREAS:
            item = {**_times(start), "area": area, "instantaneous_load": values[area]}
            items.append(_ordered(item, INST_LOAD))
    return items


def fuel_mix_mw(starts: Sequence[datetime], seed: int = 0) -> dict[str, np.ndarray]:
    """MW per PJM fuel type: fuels add up to the load plus ~2 GW of net exports."""
    hours = _local_hours(starts)
    supply = rto_load(starts, seed) + 2000.0
    mix = {
        "Nuclear": np.full(len(starts), 31500.0),
        "Solar": rto_solar(starts, seed),
        "Wind": rto_wind(starts, seed),
        "Hydro": 1400 + 900 * np.exp(-(((hours - 18.5) / 2.5) ** 2)),
        # Pumped storage and batteries: charge at night (negative), discharge at the peak.
        "Storage": np.where((hours >= 1) & (hours < 6), -900.0, 0.0)
        + 1500 * np.exp(-(((hours - 18.5) / 1.5) ** 2)),
        "Oil": np.full(len(starts), 120.0),
        "Other Renewables": np.full(len(starts), 850.0),
        "Multiple Fuels": np.full(len(starts), 450.0),
        "Other": np.full(len(starts), 40.0),
    }
    rest = supply - sum(mix.values())
    mix["Coal"] = 0.27 * rest
    mix["Gas"] = rest - mix["Coal"]
    return mix


def gen_by_fuel_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """One item per hour and fuel type; MW whole numbers, the share a fraction of the sum."""
    starts = _starts(days, 60)
    mix = {fuel: np.round(mw) for fuel, mw in fuel_mix_mw(starts, seed).items()}
    total = sum(mix.values())
    items = []
    for t, start in enumerate(starts):
        for fuel, _category in FUEL_CATEGORIES:
            mw = int(mix[fuel][t])
            item = {**_times(start), "fuel_type": fuel, "mw": mw,
                    "fuel_percentage_of_total": round(mw / float(total[t]), 4),
                    "is_renewable": fuel in _RENEWABLE_FUELS}  # fmt: skip
            items.append(_ordered(item, GEN_BY_FUEL))
    return items


def _by_area_items(
    feed: PjmFeed, field: str, values: np.ndarray, shares: dict[str, float], starts: list
) -> list[dict]:
    items = []
    for t, start in enumerate(starts):
        parts = {area: round(float(values[t]) * share, 3) for area, share in shares.items()}
        parts["RFC"] = round(parts["MIDATL"] + parts["WEST"], 3)
        parts["RTO"] = round(sum(v for a, v in parts.items() if a != "RFC"), 3)
        for area in ("MIDATL", "WEST", "SOUTH", "OTHER", "RFC", "RTO"):
            items.append(_ordered({**_times(start), "area": area, field: parts[area]}, feed))
    return items


def wind_gen_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    starts = _starts(days, 60)
    return _by_area_items(WIND_GEN, "wind_generation_mw", rto_wind(starts, seed), _WIND_SHARES,
                          starts)  # fmt: skip


def solar_gen_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    starts = _starts(days, 60)
    return _by_area_items(SOLAR_GEN, "solar_generation_mw", rto_solar(starts, seed),
                          _SOLAR_SHARES, starts)  # fmt: skip


# --------------------------------------------------------------------------- forecasts


def _day_vintages(day: date, every_minutes: int) -> list[datetime]:
    """Evaluation instants (UTC) of one EPT day, every `every_minutes` from midnight."""
    start, end = (datetime.combine(d, datetime.min.time(), TZ).astimezone(UTC)
                  for d in (day, day + timedelta(days=1)))  # fmt: skip
    count = int((end - start) / timedelta(minutes=every_minutes))
    return [start + i * timedelta(minutes=every_minutes) for i in range(count)]


def _lead_error(lead: np.ndarray, stamps: np.ndarray, salt: int, seed: int) -> np.ndarray:
    """A forecast's relative error: grows with lead hours, differs per vintage and hour."""
    return (0.01 + 0.0015 * lead) * _noise(stamps, salt, seed)


def load_forecast_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """Each vintage covers its EPT day's midnight through seven days on [CLIENT], for every
    forecast area; regions and RTO_COMBINED are their areas' sums."""
    items = []
    for day in sorted(set(days)):
        horizon = _starts([day + timedelta(days=k) for k in range(7)], 60)
        actual = rto_load(horizon, seed)
        for hour, minute in LOAD_FORECAST_VINTAGES:
            vintage = datetime.combine(day, datetime.min.time(), TZ).replace(
                hour=hour, minute=minute
            ).astimezone(UTC)  # fmt: skip
            lead = np.array([(s - vintage).total_seconds() / 3600 for s in horizon])
            stamps = _epoch(horizon) + vintage.timestamp() / 7.0
            forecast = actual * (1 + _lead_error(np.abs(lead), stamps, 4, seed))
            for t, start in enumerate(horizon):
                areas = {a: round(float(forecast[t]) * s / 100.0)
                         for a, s in _FORECAST_AREA_SHARES.items()}  # fmt: skip
                for region, members in _FORECAST_REGIONS.items():
                    areas[region] = sum(areas[m] for m in members)
                areas[FORECAST_TOTAL_AREA] = sum(areas[a] for a in _FORECAST_AREA_SHARES)
                for area in FORECAST_AREAS:
                    item = {**_times(vintage, "evaluated_at_datetime"),
                            **_times(start, "forecast_datetime_beginning"),
                            **_times(start + HOUR, "forecast_datetime_ending"),
                            "forecast_area": area, "forecast_load_mw": areas[area]}  # fmt: skip
                    items.append(_ordered(item, LOAD_FRCSTD_7_DAY))
    return items


def _floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def wind_forecast_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """Vintages every ten minutes; each covers the hours from about five hours ahead to 47
    hours after its own hour [BYTES: the real reply of 2024-10-01]."""
    items = []
    for day in sorted(set(days)):
        for vintage in _day_vintages(day, 10):
            first = _floor_hour(vintage + timedelta(hours=5) + timedelta(minutes=59))
            last = _floor_hour(vintage) + timedelta(hours=47)
            horizon = [first + k * HOUR for k in range(int((last - first) / HOUR) + 1)]
            lead = np.array([(s - vintage).total_seconds() / 3600 for s in horizon])
            error = _lead_error(lead, _epoch(horizon) + vintage.timestamp() / 7.0, 5, seed)
            values = rto_wind(horizon, seed) * (1 + 4 * error)
            for start, mw in zip(horizon, values, strict=True):
                item = {**_times(start), **_times(start + HOUR, "datetime_ending"),
                        **_times(vintage, "evaluated_at"),
                        "wind_forecast_mwh": round(float(mw), 3)}  # fmt: skip
                items.append(_ordered(item, HOURLY_WIND_FORECAST))
    return items


def solar_forecast_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """Hourly vintages; each covers 48 hours from its own hour, utility-scale and behind the
    meter [BYTES: the real reply of 2024-10-01]."""
    items = []
    for day in sorted(set(days)):
        for vintage in _day_vintages(day, 60):
            horizon = [vintage + k * HOUR for k in range(48)]
            lead = np.arange(48, dtype=float)
            error = _lead_error(lead, _epoch(horizon) + vintage.timestamp() / 7.0, 6, seed)
            utility = rto_solar(horizon, seed) * (1 + 3 * error)
            for start, mw in zip(horizon, utility, strict=True):
                item = {**_times(start), **_times(start + HOUR, "datetime_ending"),
                        **_times(vintage, "evaluated_at"),
                        "solar_forecast_mwh": round(float(mw), 3),
                        "solar_forecast_btm_mwh": round(float(mw) * 0.7, 3)}  # fmt: skip
                items.append(_ordered(item, HOURLY_SOLAR_FORECAST))
    return items


def _five_min_items(
    feed: PjmFeed, days: Iterable[date], seed: int, intervals: int, values
) -> list[dict]:
    """Vintages every ten minutes, each covering `intervals` five-minute intervals from its
    own time [BYTES: wind 71, solar 72 on 2024-10-01]; `values(horizon, vintage)` gives the
    item's value fields."""
    step = timedelta(minutes=5)
    items = []
    for day in sorted(set(days)):
        for vintage in _day_vintages(day, 10):
            horizon = [vintage + k * step for k in range(intervals)]
            for start, fields in zip(horizon, values(horizon, vintage), strict=True):
                item = {**_times(start), **_times(start + step, "datetime_ending"),
                        **_times(vintage, "evaluated_at"), **fields}  # fmt: skip
                items.append(_ordered(item, feed))
    return items


def _short_term(curve, horizon: list[datetime], vintage: datetime, salt: int, seed: int):
    lead = np.array([(s - vintage).total_seconds() / 3600 for s in horizon])
    error = _lead_error(lead, _epoch(horizon) + vintage.timestamp() / 7.0, salt, seed)
    return curve(horizon, seed) * (1 + error)


def five_min_wind_forecast_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    def values(horizon, vintage):
        mw = _short_term(rto_wind, horizon, vintage, 7, seed)
        return [{"wind_forecast_mwh": round(float(v), 3)} for v in mw]

    return _five_min_items(FIVE_MIN_WIND_FORECAST, days, seed, 71, values)


def five_min_solar_forecast_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    def values(horizon, vintage):
        mw = _short_term(rto_solar, horizon, vintage, 8, seed)
        return [
            {
                "solar_forecast_mwh": round(float(v), 3),
                "solar_forecast_btm_mwh": round(0.7 * float(v), 3),
            }
            for v in mw
        ]

    return _five_min_items(FIVE_MIN_SOLAR_FORECAST, days, seed, 72, values)


# --------------------------------------------------------------------------- emissions

# The zone pnodes' ids ([3P]: a public Data Miner client's zone -> pnode_id map).
EMISSION_PNODE_IDS = {
    "AECO": 51291, "AEP": 8445784, "APS": 8394954, "ATSI": 116013753, "BGE": 51292,
    "COMED": 33092371, "DAY": 34508503, "DEOK": 124076095, "DOM": 34964545, "DPL": 51293,
    "DUQ": 37737283, "EKPC": 970242670, "JCPL": 51295, "METED": 51296, "OVEC": 1709725933,
    "PECO": 51297, "PENELEC": 51300, "PEPCO": 51298, "PPL": 51299, "PSEG": 51301,
    "RECO": 7633629,
}  # fmt: skip
# Western zones have more coal on the margin (illustrative shares of coal among the marginal
# units, by zone position in the list).
_COAL_LEAN = {name: 0.15 + 0.25 * ((i * 7) % 5) / 4 for i, name in enumerate(EMISSION_LOCATIONS)}


def marginal_rates(
    starts: Sequence[datetime], location: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CO2, SO2, NOx marginal rates (lb/MWh) at a pnode: a blend of gas on the margin (a
    combined cycle ~900, peakers ~1,300 at the evening peak) and coal (~2,100) whose share
    is larger at night; SO2 and NOx follow the coal share."""
    hours = _local_hours(starts)
    stamps = _epoch(starts)
    salt = 20 + EMISSION_PNODE_IDS[location] % 97
    peak = np.exp(-(((hours - 18.5) / 2.0) ** 2))
    night = np.exp(-(((hours - 3.0) / 3.0) ** 2))
    coal = np.clip(_COAL_LEAN[location] * (0.6 + 0.8 * night) + 0.1 * _noise(stamps, salt, seed),
                   0.0, 0.8)  # fmt: skip
    gas = 900.0 + 400.0 * peak + 60.0 * _noise(stamps, salt + 1, seed)
    co2 = gas * (1 - coal) + 2100.0 * coal
    so2 = 0.004 + 1.6 * coal
    nox = 0.06 + 0.2 * peak + 0.9 * coal
    return co2, so2, nox


def marginal_emissions_items(days: Iterable[date], seed: int = 0) -> list[dict]:
    """One item per five minutes and pnode, sorted by interval then pnode_id."""
    starts = _starts(days, 5)
    rates = {loc: marginal_rates(starts, loc, seed) for loc in EMISSION_LOCATIONS}
    by_id = sorted(EMISSION_LOCATIONS, key=EMISSION_PNODE_IDS.__getitem__)
    items = []
    for t, start in enumerate(starts):
        for loc in by_id:
            co2, so2, nox = (float(r[t]) for r in rates[loc])
            item = {**_times(start), "pnode_id": EMISSION_PNODE_IDS[loc], "pnode_name": loc,
                    "marginal_co2_rate": round(co2, 2), "marginal_so2_rate": round(so2, 4),
                    "marginal_nox_rate": round(nox, 4)}  # fmt: skip
            items.append(_ordered(item, FIVEMIN_MARGINAL_EMISSIONS))
    return items


# One generator per feed (the stand-in server serves each under /api/v1/<feed>).
GENERATORS = {
    HRL_LOAD_METERED.feed: hrl_load_metered_items,
    INST_LOAD.feed: inst_load_items,
    LOAD_FRCSTD_7_DAY.feed: load_forecast_items,
    GEN_BY_FUEL.feed: gen_by_fuel_items,
    WIND_GEN.feed: wind_gen_items,
    SOLAR_GEN.feed: solar_gen_items,
    HOURLY_WIND_FORECAST.feed: wind_forecast_items,
    HOURLY_SOLAR_FORECAST.feed: solar_forecast_items,
    FIVE_MIN_WIND_FORECAST.feed: five_min_wind_forecast_items,
    FIVE_MIN_SOLAR_FORECAST.feed: five_min_solar_forecast_items,
    FIVEMIN_MARGINAL_EMISSIONS.feed: marginal_emissions_items,
}


def feed_day_items(feed: PjmFeed, days: Iterable[date], seed: int = 0) -> list[dict]:
    """Every item of one fundamentals feed for these days (EPT days of the feed's date
    field: interval days for actuals, publication days for forecasts)."""
    return GENERATORS[feed.feed](days, seed)
