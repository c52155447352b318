"""The declarative dataset spec: one frozen instance per ISO dataset.

The asset factory, the format readers, the sample generator, the stand-in server and the
checks all read these; adding a dataset means adding a spec, not copying an asset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal, Union

from power_market_assets.registry.kinds import STANDARD_FUELS, TableKind
from power_market_assets.registry.schema import long_schema

if TYPE_CHECKING:  # the ISO modules import this one; their source types are only annotations
    from power_market_assets.registry.caiso import CaisoSource
    from power_market_assets.registry.ercot import ErcotSource
    from power_market_assets.registry.isone import IsoneSource
    from power_market_assets.registry.nyiso import NyisoSource
    from power_market_assets.registry.pjm import PjmSource

Market = Literal["DAM", "RTM"]
# How the ISO names and serves a dataset: one typed frozen dataclass per ISO (registry/<iso>.py).
IsoSource = Union["ErcotSource", "CaisoSource", "NyisoSource", "IsoneSource", "PjmSource"]
# The stages the asset factory builds for every dataset, in lineage order.
STAGES = ("csv", "raw_parquet", "flattened")


def combined_key_path(iso: str, kind: str) -> list[str]:
    """`[iso, "combined_<kind>"]`: the asset key of an ISO's combined output, which is also its
    DuckDB view `<iso>.combined_<kind>` (its lake path stays `<iso>/combined/<kind>`)."""
    return [iso.lower(), f"combined_{kind}"]


@dataclass(frozen=True)
class PriceBound:
    """Valid price range for an era starting on `start` (until the next bound starts)."""

    start: date
    floor: float
    cap: float


@dataclass(frozen=True)
class DatasetSpec:
    iso: str
    dataset: str  # da_prices, rt_prices, as_prices, rt_lmp, ...
    title: str
    table_kind: TableKind  # registry/kinds.py: PRICE, ANCILLARY, QUANTITY_BY_AREA, ...
    market: Market
    interval_minutes: int  # native interval (for irregular data: the nominal one)
    timezone: str
    first_available: date
    # Source: report identifiers as the ISO names them.
    report_code: str  # ERCOT EMIL id (NP4-190-CD), CAISO queryname, NYISO report, PJM feed
    file_layout: str  # key of the format reader in formats/<iso>.py
    # Local hour (ISO time zone) when the ISO normally publishes, for schedules.
    publish_hour_local: float
    # Where and how the ISO serves the dataset (report ids, query names, feeds, URL templates).
    source: IsoSource
    # Every dataset of an ISO shares its daily/monthly partitions, which start here.
    partitions_start: date | None = None
    # True when interval starts do not sit on a fixed grid (ERCOT SCED runs, NYISO RTD
    # stamps such as 00:15:12): checks count gaps per nominal `interval_minutes` bucket of the
    # DST-aware day grid, and off-grid stamps are fine.
    irregular_intervals: bool = False
    # Locations (or AS products) kept in the combined outputs; flattened keeps all.
    default_locations: tuple[str, ...] = ()
    # Valid range of the value column per era, in the kind's unit: prices ($/MWh) or, for
    # load, MW (floor 0: load is never negative).
    price_bounds: tuple[PriceBound, ...] = field(default_factory=tuple)
    description: str = ""
    # Fuel-mix datasets: the ISO's own fuel name -> its standard category (STANDARD_FUELS); a
    # name not listed is "other" and the checks name it.
    fuel_categories: tuple[tuple[str, str], ...] = ()
    # Fuel-mix datasets: plausible MW range per standard category (category, floor, cap);
    # storage and imports may be negative.
    category_bounds: tuple[tuple[str, float, float], ...] = ()
    # Datasets whose ISO publishes a day in pieces before it ends (intraday snapshots): a day
    # whose data stops early lands as incomplete, its missing tail reported as not yet
    # published, and the complete file replaces it later.
    intraday_snapshots: bool = False

    def __post_init__(self) -> None:
        categories = {c for _, c in self.fuel_categories} | {c for c, *_ in self.category_bounds}
        unknown = categories - set(STANDARD_FUELS)
        if unknown:
            raise ValueError(
                f"{self.iso} {self.dataset}: unknown fuel categories {sorted(unknown)}; "
                f"standard: {', '.join(STANDARD_FUELS)}"
            )

    @property
    def partition_start(self) -> date:
        return self.partitions_start or self.first_available

    @property
    def lake_prefix(self) -> list[str]:
        """`[iso, dataset]`: the lake folder of the dataset; its stages are under it."""
        return [self.iso.lower(), self.dataset]

    def asset_key_path(self, stage: str) -> list[str]:
        """`[iso, "<dataset>_<stage>"]`, e.g. `ercot/da_prices_raw_parquet`: the asset key of a
        stage, which is also its DuckDB view `ercot.da_prices_raw_parquet`. The UI labels a
        lineage node with the key's last part, so that part must name the dataset."""
        return [self.iso.lower(), f"{self.dataset}_{stage}"]

    @property
    def schema(self) -> dict:
        """The standard long table (stage raw_parquet) of the dataset's kind."""
        return long_schema(self.table_kind, self.timezone)

    @property
    def unique_key(self) -> tuple[str, ...]:
        return self.table_kind.key

    @property
    def value_column(self) -> str:
        return self.table_kind.value_column

    @property
    def pivot_column(self) -> str:
        return self.table_kind.pivot_column

    @property
    def unit(self) -> str:
        """Unit of the value columns (the kind's)."""
        return self.table_kind.unit

    @property
    def fuel_category_map(self) -> dict[str, str]:
        return dict(self.fuel_categories)

    def bounds_on(self, day: date) -> PriceBound:
        """The price bound in force on an operating day."""
        current = self.price_bounds[0]
        for bound in self.price_bounds:
            if bound.start <= day:
                current = bound
        return current


@dataclass(frozen=True)
class FundamentalsInputs:
    """What an ISO's `fundamentals_hourly` combined output joins, per hour: the hub's DA and RT
    price, load, the day-ahead load forecast, generation by standard fuel, wind and solar, and
    net load (load minus wind and solar). Each ISO module names one as `FUNDAMENTALS_INPUTS`."""

    da_prices: DatasetSpec
    rt_prices: DatasetSpec
    hub: str  # the location (as in the long table) whose DA and RT prices are shown
    load: DatasetSpec  # QUANTITY_BY_AREA, actual
    load_forecast: DatasetSpec | None = None  # FORECAST
    fuel_mix: DatasetSpec | None = None  # QUANTITY_BY_FUEL
    # RENEWABLE datasets whose ACTUAL rows give wind and solar; empty: the fuel mix's wind and
    # solar categories give them.
    renewables: tuple[DatasetSpec, ...] = ()
    # The area that is the whole system in the load / forecast tables; None: the sum of areas.
    load_area: str | None = None
    forecast_area: str | None = None
