"""Dagster resources: the lake location, and each ISO's source resource (io/<iso>_resource.py).

Each io/<iso>_resource.py provides `resource_from_env(base_url=None)`: the ISO's source
settings from environment variables, credentials through dg.EnvVar only.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping

import dagster as dg

from power_market_assets.io.lake import Lake
from power_market_assets.sources.http import HttpClient


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake, stage-1 CSV folders, landing inbox and catalog live."""

    data_root: str = "data"

    @property
    def lake(self) -> Lake:
        return Lake.at(self.data_root)


class SourceResource(dg.ConfigurableResource):
    """The HTTP settings every ISO source resource shares (each ISO overrides its defaults)."""

    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 120.0
    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_retry_after_seconds: float = 120.0
    min_request_interval_seconds: float = 0.0

    def http(self, min_interval: float | None = None) -> HttpClient:
        """A client with these settings (`min_interval` overrides the request spacing)."""
        return HttpClient(
            timeout=(self.connect_timeout_seconds, self.read_timeout_seconds),
            max_retries=self.max_retries,
            base_delay=self.backoff_seconds,
            max_retry_after=self.max_retry_after_seconds,
            min_interval=self.min_request_interval_seconds
            if min_interval is None
            else min_interval,
        )


def secret_from_env(name: str) -> dg.EnvVar | None:
    """A credential for a resource: a dg.EnvVar (resolved at run time, never shown in the UI)
    when the variable is set, else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def source_resources(isos: Iterable[str], base_urls: Mapping[str, str] | None = None) -> dict:
    """{"<iso>_source": resource} for each ISO, from its io/<iso>_resource.py."""
    urls = base_urls or {}
    resources = {}
    for iso in isos:
        module = importlib.import_module(f"power_market_assets.io.{iso.lower()}_resource")
        resources[f"{iso.lower()}_source"] = module.resource_from_env(urls.get(iso))
    return resources
