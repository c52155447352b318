"""Dagster glue: asset factories, combined assets and jobs built from the registry."""

from __future__ import annotations

import dagster as dg

from power_market_assets.assets.carbon import (
    build_carbon_assets,
    build_cds_export_asset,
    carbon_specs,
)
from power_market_assets.assets.combined import build_combined_assets, build_fundamentals_asset
from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.assets.reports import build_report_assets
from power_market_assets.registry import COMBINED_INPUTS, DATASETS_BY_ISO, FUNDAMENTALS_INPUTS


def iso_assets(iso: str) -> list[dg.AssetsDefinition]:
    """Every stage asset of an ISO's datasets, its combined outputs, carbon intensity and its
    monthly CDS export."""
    assets = [a for spec in DATASETS_BY_ISO[iso] for a in build_dataset_assets(spec)]
    if iso in COMBINED_INPUTS:
        assets.append(build_combined_assets(*COMBINED_INPUTS[iso]))
        assets += build_report_assets(*COMBINED_INPUTS[iso])
    if (fundamentals := FUNDAMENTALS_INPUTS.get(iso)) is not None:
        assets.append(build_fundamentals_asset(fundamentals))
    assets += [build_carbon_assets(spec) for spec in carbon_specs() if spec.iso == iso]
    assets += [build_cds_export_asset(spec) for spec in carbon_specs() if spec.iso == iso]
    return assets


def all_assets() -> list[dg.AssetsDefinition]:
    return [a for iso in DATASETS_BY_ISO for a in iso_assets(iso)]
