"""Dagster glue: asset factories, combined assets and jobs built from the registry."""

from __future__ import annotations

import dagster as dg

from power_market_assets.assets.combined import build_combined_assets
from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.registry import ercot


def ercot_assets() -> list[dg.AssetsDefinition]:
    assets = [a for spec in ercot.ERCOT_DATASETS for a in build_dataset_assets(spec)]
    assets.append(build_combined_assets(ercot.DA_PRICES, ercot.AS_PRICES, ercot.RT_PRICES))
    return assets
