"""The dataset catalog: one declarative spec per ISO dataset (no dagster imports here).

Each ISO has a module registry/<iso>.py with `<ISO>_DATASETS` (its specs) and may name
`COMBINED_INPUTS = (da, as_or_None, rt)`, the specs its combined asset joins.
"""

from __future__ import annotations

from types import ModuleType

from power_market_assets.registry import caiso, ercot, isone, nyiso, pjm
from power_market_assets.registry.schema import iso_table
from power_market_assets.registry.spec import DatasetSpec, FundamentalsInputs, PriceBound


def _by_iso(modules: tuple[ModuleType, ...]) -> dict[str, ModuleType]:
    """Each registry module under its own `ISO`, in the order of schema.ISOS."""
    return iso_table({module.ISO: module for module in modules}, "registry modules")


ISO_MODULES: dict[str, ModuleType] = _by_iso((ercot, caiso, nyiso, isone, pjm))

DATASETS_BY_ISO: dict[str, tuple[DatasetSpec, ...]] = {
    iso: getattr(module, f"{iso}_DATASETS") for iso, module in ISO_MODULES.items()
}
ALL_DATASETS: tuple[DatasetSpec, ...] = tuple(
    spec for specs in DATASETS_BY_ISO.values() for spec in specs
)
COMBINED_INPUTS: dict[str, tuple[DatasetSpec, DatasetSpec | None, DatasetSpec]] = {
    iso: module.COMBINED_INPUTS for iso, module in ISO_MODULES.items()
}

# What each ISO's fundamentals_hourly joins (None until the ISO has load data).
FUNDAMENTALS_INPUTS: dict[str, FundamentalsInputs | None] = {
    iso: getattr(module, "FUNDAMENTALS_INPUTS", None) for iso, module in ISO_MODULES.items()
}


def get_spec(iso: str, dataset: str) -> DatasetSpec:
    for spec in ALL_DATASETS:
        if spec.iso.lower() == iso.lower() and spec.dataset == dataset:
            return spec
    raise KeyError(f"no dataset {dataset!r} for ISO {iso!r} in the registry")


__all__ = [
    "ALL_DATASETS",
    "COMBINED_INPUTS",
    "DATASETS_BY_ISO",
    "DatasetSpec",
    "FUNDAMENTALS_INPUTS",
    "FundamentalsInputs",
    "PriceBound",
    "get_spec",
]
