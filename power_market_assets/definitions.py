"""The one Definitions object: assets, checks, jobs and resources of the platform.

Settings come from environment variables so the same code runs the demo (stand-in server,
data under ./data) and production (the ISO's real endpoints):
PMA_DATA_ROOT, PMA_ERCOT_CHANNEL, PMA_ERCOT_MIS_URL, PMA_ERCOT_API_URL, PMA_ERCOT_TOKEN_URL,
and the ERCOT public API credentials ERCOT_API_USERNAME, ERCOT_API_PASSWORD,
ERCOT_API_SUBSCRIPTION_KEY (read through dg.EnvVar, never shown in the UI).
"""

from __future__ import annotations

import os

import dagster as dg

from power_market_assets.assets import ercot_assets
from power_market_assets.io.io_manager import LakeIOManager
from power_market_assets.io.resources import ERCOT_TOKEN_URL, ErcotSource, LakeResource
from power_market_assets.registry.ercot import ERCOT_DATASETS

DEFAULT_DATA_ROOT = "data"


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_resources(data_root: str | None = None, ercot_mis_url: str | None = None) -> dict:
    root = data_root or os.environ.get("PMA_DATA_ROOT", DEFAULT_DATA_ROOT)
    return {
        "lake": LakeResource(data_root=root),
        "lake_io": LakeIOManager(data_root=root),
        "ercot_source": ErcotSource(
            channel=os.environ.get("PMA_ERCOT_CHANNEL", "mis"),
            mis_base_url=ercot_mis_url
            or os.environ.get("PMA_ERCOT_MIS_URL", "https://www.ercot.com"),
            api_base_url=os.environ.get(
                "PMA_ERCOT_API_URL", "https://api.ercot.com/api/public-reports"
            ),
            api_token_url=os.environ.get("PMA_ERCOT_TOKEN_URL", ERCOT_TOKEN_URL),
            api_username=_secret("ERCOT_API_USERNAME"),
            api_password=_secret("ERCOT_API_PASSWORD"),
            api_subscription_key=_secret("ERCOT_API_SUBSCRIPTION_KEY"),
        ),
    }


def _stage_keys(stages: tuple[str, ...]) -> list[dg.AssetKey]:
    return [dg.AssetKey([*spec.key_prefix, stage]) for spec in ERCOT_DATASETS for stage in stages]


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    combined = dg.AssetSelection.key_prefixes(["ercot", "combined"])
    per_dataset = [
        dg.define_asset_job(
            f"{spec.iso.lower()}_{spec.dataset}_daily",
            selection=dg.AssetSelection.assets(
                dg.AssetKey([*spec.key_prefix, "csv"]),
                dg.AssetKey([*spec.key_prefix, "raw_parquet"]),
            ),
            description=f"Stages 1 and 2 of {spec.iso} {spec.dataset} for a range of days.",
        )
        for spec in ERCOT_DATASETS
    ]
    return per_dataset + [
        dg.define_asset_job(
            "ercot_daily",
            selection=dg.AssetSelection.assets(*_stage_keys(("csv", "raw_parquet"))),
            description="Stages 1 and 2 of every ERCOT dataset for a range of operating days.",
        ),
        dg.define_asset_job(
            "ercot_monthly",
            selection=dg.AssetSelection.assets(*_stage_keys(("flattened",))) | combined,
            description="Stages 3 and 4 of every ERCOT dataset for a range of months.",
        ),
    ]


def build_definitions(**resource_overrides) -> dg.Definitions:
    return dg.Definitions(
        assets=ercot_assets(),
        jobs=build_jobs(),
        resources=build_resources(**resource_overrides),
    )


defs = build_definitions()
