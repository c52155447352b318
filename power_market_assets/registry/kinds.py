"""Table kinds: what a dataset's standard long table holds, declared once (no dagster here).

A dataset's spec names its kind (`table_kind=PRICE`); the long schema, the Pandera nullability,
the duplicate key, the flatten pivot, the value column, its unit and the combine role all derive
from the kind, so a new kind of data is one declaration here, not an if/else in every layer.
docs/TABLE_KINDS.md describes each kind with an example.

A kind declares only its own columns: every long table starts with the shared time columns and
ends with `source_file` (registry/schema.py `long_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

PRICE_UNIT = "$/MWh"
QUANTITY_UNIT = "MW"
EMISSION_RATE_UNIT = "lb/MWh"
UTC = pl.Datetime("us", "UTC")
INTERVAL_START = "interval_start_utc"
VINTAGE_COLUMN = "published_at_utc"


@dataclass(frozen=True)
class KindColumn:
    """One column of a kind: `measured` columns carry the kind's unit."""

    name: str
    dtype: pl.DataType
    meaning: str
    nullable: bool = False
    measured: bool = False


@dataclass(frozen=True)
class CombineRole:
    """The prefix a dataset's wide columns get in an ISO's combined table, and what it means."""

    prefix: str
    meaning: str


@dataclass(frozen=True, eq=False)
class TableKind:
    """A kind of standard long table.

    A kind compares equal to its name ("price" == PRICE), so readers that branch on the name
    keep working while they move to the kind's fields.
    """

    name: str
    columns: tuple[KindColumn, ...]
    key: tuple[str, ...]  # identifies one row; duplicates on it are a data error
    pivot_column: str  # its values become the wide (flattened) columns
    value_column: str  # the number a wide cell holds
    unit: str  # unit of every measured column
    # Combine role per market (DAM, RTM); a market missing here has no combined role.
    roles: tuple[tuple[str, CombineRole], ...]
    # Long columns carried into the `<iso>.locations` map, as (long column, map column).
    map_columns: tuple[tuple[str, str], ...]
    vintage_column: str | None = None  # forecasts: the publication time, part of the key
    # Columns whose values qualify the pivot value in a wide column's name when a table holds
    # more than one of them (a forecast's `model`: `coast` or `coast_e1`), in this order.
    pivot_qualifiers: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TableKind | str):
            return str(other) == self.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self):
        """Pickled by name: a spec sent to a worker process keeps the registered kind itself,
        which readers test by identity (`spec.table_kind is PRICE`)."""
        return kind_named, (self.name,)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"TableKind({self.name!r})"

    @property
    def dtypes(self) -> dict[str, pl.DataType]:
        """The kind's own columns and dtypes, in table order."""
        return {c.name: c.dtype for c in self.columns}

    @property
    def nullable_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.nullable)

    @property
    def measured_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.measured)

    @property
    def series_columns(self) -> tuple[str, ...]:
        """The key minus the interval: what names one series (and its vintage, if any)."""
        return tuple(c for c in self.key if c != INTERVAL_START)

    def role(self, market: str) -> CombineRole | None:
        """The combine role of this kind's data in `market`."""
        return dict(self.roles).get(market)


def _price(name: str, meaning: str, nullable: bool = True) -> KindColumn:
    return KindColumn(name, pl.Float64(), meaning, nullable=nullable, measured=True)


def _text(name: str, meaning: str, nullable: bool = False) -> KindColumn:
    return KindColumn(name, pl.Utf8(), meaning, nullable=nullable)


def _mw(meaning: str = "average power over the interval") -> KindColumn:
    return KindColumn("mw", pl.Float64(), meaning, measured=True)


def _vintage() -> KindColumn:
    return KindColumn(VINTAGE_COLUMN, UTC, "when the ISO published the value, UTC")


# The standard fuel categories every ISO's own fuel names map to (one documented mapping per
# ISO: `fuel_categories` of its fuel-mix spec, docs/reference/FUEL_CATEGORIES.md).
STANDARD_FUELS = (
    "coal",
    "gas",
    "oil",
    "nuclear",
    "hydro",
    "wind",
    "solar",
    "biomass",
    "geothermal",
    "storage",
    "imports",
    "other",
)
# The technologies of the renewable kind.
RENEWABLE_TECHNOLOGIES = ("wind", "solar")
# The `model` of a renewable row that is a measurement, not a forecast.
ACTUAL_MODEL = "ACTUAL"


def _both_markets(role: CombineRole) -> tuple[tuple[str, CombineRole], ...]:
    return (("DAM", role), ("RTM", role))


PRICE = TableKind(
    name="price",
    columns=(
        _text("location", "the ISO's own location name"),
        _text("location_type", "HUB, ZONE, NODE, DC_TIE, AGGREGATE, INTERFACE... (mapped)"),
        _text("iso_location_type", "the ISO's own location type code", nullable=True),
        _price("lmp", "locational marginal price (total)", nullable=False),
        _price("energy", "energy component of the LMP"),
        _price("congestion", "congestion component of the LMP (one sign convention for every ISO)"),
        _price("loss", "loss component of the LMP"),
        # CAISO's greenhouse-gas component (MGHG); null elsewhere.
        _price("ghg", "greenhouse-gas component of the LMP (CAISO)"),
    ),
    key=(INTERVAL_START, "location", "location_type"),
    pivot_column="location",
    value_column="lmp",
    unit=PRICE_UNIT,
    roles=(
        ("DAM", CombineRole("da_", "day-ahead price")),
        ("RTM", CombineRole("rt_", "real-time price")),
    ),
    map_columns=(
        ("location", "location"),
        ("location_type", "location_type"),
        ("iso_location_type", "iso_location_type"),
    ),
)
# Product x interval. An ISO's zonal reserve products are folded into the product name today
# (e.g. ISO-NE "TMSR NEMA"); a separate `zone` column would change the stored tables, so it is
# only carried into the locations map where a long table has one.
ANCILLARY = TableKind(
    name="ancillary",
    columns=(
        _text("product", "ancillary-service product"),
        _price("price", "ancillary-service clearing price", nullable=False),
    ),
    key=(INTERVAL_START, "product"),
    pivot_column="product",
    value_column="price",
    unit=PRICE_UNIT,  # $/MW of capacity for one hour, which is the same $/MWh
    roles=(("DAM", CombineRole("as_", "day-ahead ancillary-service price")),),
    map_columns=(("product", "product"),),
)
QUANTITY_BY_AREA = TableKind(
    name="quantity_by_area",
    columns=(_text("area", "the ISO's load or weather zone, or the whole system"), _mw()),
    key=(INTERVAL_START, "area"),
    pivot_column="area",
    value_column="mw",
    unit=QUANTITY_UNIT,
    roles=_both_markets(CombineRole("load_", "load")),
    map_columns=(("area", "location"),),
)
# Storage charging and net imports are negative generation (kept, never dropped).
QUANTITY_BY_FUEL = TableKind(
    name="quantity_by_fuel",
    columns=(
        _text("fuel", "fuel or technology as the ISO names it"),
        _text("fuel_category", "standard fuel category (registry/kinds.py STANDARD_FUELS)"),
        _mw("average generation over the interval (storage charging and net exports negative)"),
        KindColumn(
            "iso_total_mw",
            pl.Float64(),
            "total generation (or load) the ISO reports for the interval, where it publishes one",
            nullable=True,
            measured=True,
        ),
    ),
    key=(INTERVAL_START, "fuel"),
    pivot_column="fuel",
    value_column="mw",
    unit=QUANTITY_UNIT,
    roles=_both_markets(CombineRole("gen_", "generation")),
    map_columns=(("fuel", "product"),),
)
# Every vintage is kept; "latest as of T" is a query (transforms/vintage.py `latest_as_of`).
FORECAST = TableKind(
    name="forecast",
    columns=(
        _vintage(),
        _text("area", "the ISO's load or weather zone, or the whole system"),
        _text("model", "the forecast model or market run as the ISO names it (or the report's)"),
        _mw("forecast average power over the interval"),
    ),
    key=(INTERVAL_START, "area", "model", VINTAGE_COLUMN),
    pivot_column="area",
    value_column="mw",
    unit=QUANTITY_UNIT,
    roles=_both_markets(CombineRole("fcst_", "forecast")),
    map_columns=(("area", "location"), ("model", "product")),
    vintage_column=VINTAGE_COLUMN,
    pivot_qualifiers=("model",),
)
# Wind and solar, actual and forecast, in one table: a measured value has model ACTUAL and the
# time the ISO published it as its vintage; every forecast vintage is kept, like FORECAST.
RENEWABLE = TableKind(
    name="renewable",
    columns=(
        _vintage(),
        _text("technology", "wind or solar (RENEWABLE_TECHNOLOGIES)"),
        _text("area", "the ISO's region or zone, or the whole system"),
        _text("model", "ACTUAL for measured output, else the forecast as the ISO names it"),
        _mw("average generation over the interval (actual or forecast)"),
    ),
    key=(INTERVAL_START, "technology", "area", "model", VINTAGE_COLUMN),
    pivot_column="technology",
    value_column="mw",
    unit=QUANTITY_UNIT,
    roles=_both_markets(CombineRole("ren_", "wind and solar generation")),
    map_columns=(("technology", "product"), ("area", "location")),
    vintage_column=VINTAGE_COLUMN,
    pivot_qualifiers=("area", "model"),
)


def _rate(name: str, meaning: str, nullable: bool = True) -> KindColumn:
    return KindColumn(name, pl.Float64(), meaning, nullable=nullable, measured=True)


# An ISO's own MARGINAL emission rates at a location: what one more MWh consumed there emits
# now (the marginal unit's rate). Never an average: it sits beside the carbon intensity (the
# supply's average) and is never mixed with it, so it has no combine role.
EMISSION_RATE = TableKind(
    name="emission_rate",
    columns=(
        _text("location", "the ISO's own location name (PJM pnode_name)"),
        KindColumn(
            "location_id", pl.Int64(), "the ISO's numeric location id (PJM pnode_id)", nullable=True
        ),
        _rate("co2", "marginal CO2 emission rate at the location", nullable=False),
        _rate("so2", "marginal SO2 emission rate at the location"),
        _rate("nox", "marginal NOx emission rate at the location"),
    ),
    key=(INTERVAL_START, "location"),
    pivot_column="location",
    value_column="co2",
    unit=EMISSION_RATE_UNIT,
    roles=(),
    map_columns=(("location", "location"),),
)
KINDS: tuple[TableKind, ...] = (
    PRICE,
    ANCILLARY,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    FORECAST,
    RENEWABLE,
    EMISSION_RATE,
)


def kind_named(name: str) -> TableKind:
    """The registered kind called `name`."""
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise KeyError(f"no table kind {name!r}; known: {', '.join(k.name for k in KINDS)}")
