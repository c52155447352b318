"""Dagster resources: the lake location, and each ISO's source resource (io/<iso>_resource.py).

Each io/<iso>_resource.py provides `resource_from_env(base_url=None)`: the ISO's source
settings from environment variables, credentials through dg.EnvVar only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping

import dagster as dg

from power_market_assets.io.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake, stage-1 CSV folders, landing inbox and catalog live."""

    data_root: str = "data"

    @property
    def lake(self) -> Lake:
        return Lake.at(self.data_root)


def source_resources(isos: Iterable[str], base_urls: Mapping[str, str] | None = None) -> dict:
    """{"<iso>_source": resource} for each ISO, from its io/<iso>_resource.py."""
    urls = base_urls or {}
    resources = {}
    for iso in isos:
        module = importlib.import_module(f"power_market_assets.io.{iso.lower()}_resource")
        resources[f"{iso.lower()}_source"] = module.resource_from_env(urls.get(iso))
    return resources
