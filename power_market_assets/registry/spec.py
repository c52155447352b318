"""The declarative dataset spec: one frozen instance per ISO dataset.

The asset factory, the format readers, the sample generator, the stand-in server and the
checks all read these; adding a dataset means adding a spec, not copying an asset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from power_market_assets.registry.schema import (
    ANCILLARY_KEY,
    PRICE_KEY,
    ancillary_schema,
    price_schema,
)

TableKind = Literal["price", "ancillary"]
Market = Literal["DAM", "RTM"]


@dataclass(frozen=True)
class PriceBound:
    """Valid price range for an era starting on `start` (until the next bound starts)."""

    start: date
    floor: float
    cap: float


@dataclass(frozen=True)
class DatasetSpec:
    iso: str
    dataset: str  # da_prices, rt_prices, as_prices, ...
    title: str
    table_kind: TableKind
    market: Market
    interval_minutes: int
    timezone: str
    first_available: date
    # Source: report identifiers as the ISO names them.
    report_id: str  # ERCOT: MIS report type id (RTID)
    report_code: str  # ERCOT: EMIL id, e.g. NP4-190-CD
    friendly_name_stem: str  # e.g. DAMSPNP4190 (file names are built from it)
    api_path: str  # public API query path, e.g. np4-190-cd/dam_stlmnt_pnt_prices
    file_layout: str  # key of the format reader in formats/<iso>.py
    # How a listed document maps to its operating day (see sources/<iso>.py).
    listing_day_rule: Literal["publish_date_plus_one", "name_interval_end"]
    # Local hour (ISO time zone) when the ISO normally publishes, for schedules.
    publish_hour_local: float
    # Locations (or AS products) kept in the combined outputs; flattened keeps all.
    default_locations: tuple[str, ...] = ()
    price_bounds: tuple[PriceBound, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def key_prefix(self) -> list[str]:
        return [self.iso.lower(), self.dataset]

    @property
    def schema(self) -> dict:
        if self.table_kind == "price":
            return price_schema(self.timezone)
        return ancillary_schema(self.timezone)

    @property
    def unique_key(self) -> tuple[str, ...]:
        return PRICE_KEY if self.table_kind == "price" else ANCILLARY_KEY

    @property
    def value_column(self) -> str:
        return "lmp" if self.table_kind == "price" else "price"

    @property
    def pivot_column(self) -> str:
        return "location" if self.table_kind == "price" else "product"

    def bounds_on(self, day: date) -> PriceBound:
        """The price bound in force on an operating day."""
        current = self.price_bounds[0]
        for bound in self.price_bounds:
            if bound.start <= day:
                current = bound
        return current
