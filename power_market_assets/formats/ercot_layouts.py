"""ERCOT's file layouts and header spellings, shared by the daily reader (formats/ercot.py) and
the yearly history workbooks (formats/ercot_history.py), so neither imports the other's twin."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

# Canonical field -> header spellings seen across eras and channels (compared case-insensitively
# after removing spaces and underscores, so "Delivery Date", "DELIVERY_DATE", "deliveryDate" and
# "DSTFlag    " all match).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "delivery_date": ("DeliveryDate", "OperDay", "OperatingDay"),
    "hour_ending": ("HourEnding",),
    "delivery_hour": ("DeliveryHour",),
    "delivery_interval": ("DeliveryInterval",),
    "settlement_point": ("SettlementPoint", "SettlementPointName"),
    "settlement_point_type": ("SettlementPointType",),
    "price": ("SettlementPointPrice", "MCPC", "LMP"),
    "ancillary_type": ("AncillaryType",),
    "dst_flag": ("DSTFlag", "RepeatedHourFlag", "RepeatHourFlag"),
    "sced_timestamp": ("SCEDTimestamp",),
}


@dataclass(frozen=True)
class Layout:
    """Which canonical fields a file layout needs, and which may be absent."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ("dst_flag",)
    # Header name to quote in errors when it is not the first alias (e.g. LMP for price).
    names: dict[str, str] = dataclasses.field(default_factory=dict)

    def column_name(self, canonical: str) -> str:
        return self.names.get(canonical, FIELD_ALIASES[canonical][0])


LAYOUTS: dict[str, Layout] = {
    "dam_spp": Layout(required=("delivery_date", "hour_ending", "settlement_point", "price")),
    "rtm_spp": Layout(
        required=(
            "delivery_date",
            "delivery_hour",
            "delivery_interval",
            "settlement_point",
            "settlement_point_type",
            "price",
        )
    ),
    "dam_mcpc": Layout(required=("delivery_date", "hour_ending", "ancillary_type", "price")),
    "sced_lmp": Layout(
        required=("sced_timestamp", "settlement_point", "price"),
        names={"price": "LMP", "dst_flag": "RepeatedHourFlag"},
    ),
}


def _normalize(name: str) -> str:
    return name.strip().replace(" ", "").replace("_", "").lower()


_ALIAS_LOOKUP = {
    _normalize(alias): field for field, aliases in FIELD_ALIASES.items() for alias in aliases
}


def canonical_fields(header: Sequence[str]) -> list[str | None]:
    """Map each header cell to its canonical field (None for columns we do not use)."""
    return [_ALIAS_LOOKUP.get(_normalize(cell)) for cell in header]
