"""The standard long tables every ISO reader produces (the column names are the contract).

Add columns, never rename them. Readers convert to these dtypes at the edge, so everything
downstream (transforms, quality checks, the DuckDB catalog) can rely on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import polars as pl

from power_market_assets.registry.kinds import (
    ANCILLARY,
    KINDS,
    PRICE,
    PRICE_UNIT,
    QUANTITY_UNIT,
    RENEWABLE_TECHNOLOGIES,
    STANDARD_FUELS,
    TableKind,
)

ISOS = ("ERCOT", "CAISO", "NYISO", "ISONE", "PJM")

T = TypeVar("T")


def iso_table(entries: Mapping[str, T], what: str) -> dict[str, T]:
    """`entries` in the order of ISOS (the one list of ISOs); an ISO with no entry, or an entry
    for no ISO, fails at import naming `what` (each layer's per-ISO table is built with it)."""
    if set(entries) != set(ISOS):
        raise ImportError(f"{what} for {sorted(entries)}, registry ISOs {list(ISOS)}")
    return {iso: entries[iso] for iso in ISOS}


MARKETS = ("DAM", "RTM")

ISO_ENUM = pl.Enum(ISOS)
MARKET_ENUM = pl.Enum(MARKETS)
UTC = pl.Datetime("us", "UTC")


def local_datetime(timezone: str) -> pl.Datetime:
    return pl.Datetime("us", timezone)


def _time_columns(timezone: str) -> dict[str, pl.DataType]:
    return {
        "interval_start_utc": UTC,
        "interval_end_utc": UTC,
        "interval_start_local": local_datetime(timezone),
        "operating_day": pl.Date(),
        "iso": ISO_ENUM,
        "market": MARKET_ENUM,
        "interval_minutes": pl.Int16(),
    }


def long_schema(kind: TableKind, timezone: str) -> dict[str, pl.DataType]:
    """The long table of a kind: shared time columns, the kind's columns, then source_file."""
    return {**_time_columns(timezone), **kind.dtypes, "source_file": pl.Utf8()}


def price_schema(timezone: str) -> dict[str, pl.DataType]:
    """Long table of location prices (DA and RT LMPs / settlement point prices)."""
    return long_schema(PRICE, timezone)


def ancillary_schema(timezone: str) -> dict[str, pl.DataType]:
    """Long table of ancillary-service clearing prices, one row per product per interval."""
    return long_schema(ANCILLARY, timezone)


# Location types (mapped from ISO codes). *_EW are ERCOT's energy-weighted twins of a zone;
# AGGREGATE and INTERFACE are PJM's aggregates (residual metered EDCs) and external interfaces.
HUB, ZONE, ZONE_EW, NODE, DC_TIE, DC_TIE_EW = (
    "HUB",
    "ZONE",
    "ZONE_EW",
    "NODE",
    "DC_TIE",
    "DC_TIE_EW",
)
AGGREGATE, INTERFACE = "AGGREGATE", "INTERFACE"


# Carbon intensity (assets/carbon.py, transforms/carbon.py): units of its columns.
INTENSITY_UNIT = "gCO2/kWh"
LIFECYCLE_UNIT = "gCO2eq/kWh"
SHARE_UNIT = "fraction"
CARBON_UNITS: dict[str, str] = {
    "supply_mw": QUANTITY_UNIT,
    "gco2_per_kwh_direct": INTENSITY_UNIT,
    "gco2_per_kwh_lifecycle": LIFECYCLE_UNIT,
    **{f"mw_{fuel}": QUANTITY_UNIT for fuel in STANDARD_FUELS},
    **{f"share_{fuel}": SHARE_UNIT for fuel in STANDARD_FUELS},
}
CARBON_MEANINGS: dict[str, str] = {
    "supply_mw": "generation counted as the grid's supply in the interval",
    "gco2_per_kwh_direct": "average direct (combustion) carbon intensity of the supply",
    "gco2_per_kwh_lifecycle": "average lifecycle carbon intensity of the supply",
    "factors_version": "version of the emission-factor table (registry/emission_factors.py)",
    "treatment": "how imports, storage and other were counted (transforms/carbon.py)",
    **{f"mw_{fuel}": f"generation of standard category {fuel}" for fuel in STANDARD_FUELS},
    **{f"share_{fuel}": f"share of the supply from {fuel}" for fuel in STANDARD_FUELS},
}


def _kind_units() -> dict[str, str]:
    """Each measured column of every kind with its kind's unit (one unit per column name)."""
    units: dict[str, str] = {}
    for kind in KINDS:
        for column in kind.measured_columns:
            if units.setdefault(column, kind.unit) != kind.unit:
                raise ValueError(f"column {column!r} has two units: {units[column]}, {kind.unit}")
    return units


def _kind_meanings() -> dict[str, str]:
    """What each column of every kind holds (the first kind naming a column says it)."""
    meanings: dict[str, str] = {}
    for kind in KINDS:
        for column in kind.columns:
            meanings.setdefault(column.name, column.meaning)
    return meanings


# fundamentals_hourly (transforms/fundamentals.py): its named columns, meaning and unit.
FUNDAMENTALS_COLUMNS: dict[str, tuple[str, str | None]] = {
    "hub": ("the hub whose prices da_price and rt_price are", None),
    "da_price": ("day-ahead price at the hub", PRICE_UNIT),
    "rt_price": ("mean real-time price at the hub over the hour's intervals", PRICE_UNIT),
    "load_mw": ("system load, mean over the hour", QUANTITY_UNIT),
    "load_forecast_mw": (
        "day-ahead load forecast: the newest vintage published before 00:00 local of the "
        "operating day, mean over the hour",
        QUANTITY_UNIT,
    ),
    "load_forecast_published_at_utc": ("when the ISO published that forecast vintage, UTC", None),
    "load_forecast_model": ("the forecast model of that vintage", None),
    **{
        f"gen_{category}": (
            f"generation of standard fuel category {category}, mean over the hour "
            "(storage charging and net exports negative)",
            QUANTITY_UNIT,
        )
        for category in STANDARD_FUELS
    },
    **{
        f"{technology}_mw": (f"{technology} generation (actual), mean over the hour", QUANTITY_UNIT)
        for technology in RENEWABLE_TECHNOLOGIES
    },
    "net_load_mw": ("net load: load_mw - wind_mw - solar_mw", QUANTITY_UNIT),
}

# Units: the one place the DuckDB column comments (io/catalog.py) and the README's schema table
# (a test compares them) take them from; a long table's units come from its kind.
COLUMN_UNITS: dict[str, str] = {
    "interval_minutes": "minutes",
    **_kind_units(),
    "load_mw": QUANTITY_UNIT,
    "lmp_mean": PRICE_UNIT,
    "lmp_min": PRICE_UNIT,
    "lmp_max": PRICE_UNIT,
    "max_abs_change": PRICE_UNIT,
    **{c: unit for c, (_, unit) in FUNDAMENTALS_COLUMNS.items() if unit},
    **CARBON_UNITS,
}
# What a named column holds, as the catalog's column comment says it (the unit is appended).
COLUMN_MEANINGS: dict[str, str] = {
    "interval_start_utc": "interval start, UTC",
    "interval_end_utc": "interval end, UTC",
    "interval_start_local": "interval start, ISO wall clock (no time zone; utc_offset tells the "
    "repeated fall-back hour apart)",
    "utc_offset": "the ISO's UTC offset at interval_start_local, e.g. -06:00",
    "operating_day": "the ISO's operating day",
    "iso": "grid operator",
    "market": "DAM (day-ahead) or RTM (real-time)",
    "interval_minutes": "native interval length",
    "native_interval_minutes": "native interval length of the averaged intervals, minutes",
    **_kind_meanings(),
    "load_mw": "load",
    "source_file": "the ISO file the row came from",
    "lmp_mean": "mean LMP of the native intervals starting in the hour",
    "lmp_min": "lowest LMP of the native intervals starting in the hour",
    "lmp_max": "highest LMP of the native intervals starting in the hour",
    "intervals": "native intervals averaged (with a value)",
    "rt_intervals": "RT intervals in the hour with a value for at least one location",
    "max_abs_change": "largest absolute change of a value",
    "dataset": "the ISO's dataset the row comes from",
    **{c: meaning for c, (meaning, _) in FUNDAMENTALS_COLUMNS.items()},
    **CARBON_MEANINGS,
}
# A wide view's own comment (its columns' comments say the same, column by column).
WIDE_VIEW_COMMENT = (
    f"one column per location or product: prices in {PRICE_UNIT} "
    "(<iso>.locations maps each column to the ISO's name)"
)
FUNDAMENTALS_VIEW_COMMENT = (
    f"one row per UTC hour: hub prices in {PRICE_UNIT}; load, forecast, generation by "
    f"standard fuel, wind, solar and net load in {QUANTITY_UNIT} (hourly means)"
)


def wide_view_comment(kind: TableKind | None = None) -> str:
    """A wide view's own comment: what its location / product / area / fuel columns hold."""
    if kind is None or kind.unit == PRICE_UNIT:
        return WIDE_VIEW_COMMENT
    qualified = (
        f" (qualified by {', '.join(kind.pivot_qualifiers)})" if kind.pivot_qualifiers else ""
    )
    latest = "; the latest vintage of each interval" if kind.vintage_column else ""
    return (
        f"one column per {kind.pivot_column}{qualified}: {kind.unit}{latest} "
        "(<iso>.locations maps each column to the ISO's names)"
    )


# Combined (stage 4) columns: prefix -> what the price is (the combine roles of the price
# tables' kinds); RT statistics end in a suffix.
_COMBINED_ROLES = (PRICE.role("DAM"), ANCILLARY.role("DAM"), PRICE.role("RTM"))
COMBINED_PREFIXES = {role.prefix: role.meaning for role in _COMBINED_ROLES if role}
RT_STATISTICS = {
    "_mean": "mean",
    "_max": "highest",
    "_min": "lowest",
    "_std": "sample standard deviation",
}


def with_unit(meaning: str, unit: str | None) -> str:
    return f"{meaning}, {unit}" if unit else meaning


def _wide_price_meaning(column: str, combined: bool) -> str:
    """A wide column is a price at the location or product it names (`<iso>.locations`)."""
    if not combined:
        return f"price at {column} (ISO name in <iso>.locations)"
    prefix = next((p for p in COMBINED_PREFIXES if column.startswith(p)), "")
    what = COMBINED_PREFIXES.get(prefix, "price")
    rest = column.removeprefix(prefix)
    if prefix == "rt_":
        for suffix, stat in RT_STATISTICS.items():
            if rest.endswith(suffix):
                rest = rest.removesuffix(suffix)
                what = f"{stat} of the hour's real-time prices"
    return f"{what} at {rest} (ISO name in <iso>.locations)"


def _wide_kind_meaning(column: str, kind: TableKind) -> str:
    """A flattened column of a quantity kind: its value at the area / fuel / series it names."""
    value = next(c for c in kind.columns if c.name == kind.value_column)
    return f"{value.meaning}: {kind.pivot_column} {column} (ISO names in <iso>.locations)"


def column_comment(
    column: str, wide: bool = False, combined: bool = False, kind: TableKind | None = None
) -> str | None:
    """The catalog's comment on a column: its meaning and unit. In wide tables (flattened,
    combined) every column that is not a named one is a value of the dataset's kind (a price
    unless `kind` says otherwise: MW for load, generation and forecasts); other unknown columns
    get none."""
    if column in COLUMN_MEANINGS:
        return with_unit(COLUMN_MEANINGS[column], COLUMN_UNITS.get(column))
    if wide and kind is not None and kind.unit != PRICE_UNIT:
        return with_unit(_wide_kind_meaning(column, kind), kind.unit)
    if wide or combined:
        return with_unit(_wide_price_meaning(column, combined), PRICE_UNIT)
    return None
