"""The dataset catalog: one declarative spec per ISO dataset (no dagster imports here)."""

from power_market_assets.registry.ercot import ERCOT_DATASETS
from power_market_assets.registry.spec import DatasetSpec, PriceBound

ALL_DATASETS: tuple[DatasetSpec, ...] = ERCOT_DATASETS


def get_spec(iso: str, dataset: str) -> DatasetSpec:
    for spec in ALL_DATASETS:
        if spec.iso.lower() == iso.lower() and spec.dataset == dataset:
            return spec
    raise KeyError(f"no dataset {dataset!r} for ISO {iso!r} in the registry")


__all__ = ["ALL_DATASETS", "DatasetSpec", "PriceBound", "get_spec"]
