"""Dagster resources: the lake location, and each ISO's source resource (io/<iso>_resource.py).

`RESOURCES` is the one table of them: each ISO's resource class (a `SourceResource` that
fulfils `IsoSource`, checked at import) and its `resource_from_env(base_url=None)`, which reads
the ISO's settings from the environment, credentials through dg.EnvVar only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import dagster as dg

from power_market_assets.formats.contract import conforms
from power_market_assets.io import (
    caiso_resource,
    ercot_resource,
    isone_resource,
    nyiso_resource,
    pjm_resource,
)
from power_market_assets.io.lake import Lake
from power_market_assets.io.source_resource import SourceResource
from power_market_assets.registry.schema import iso_table
from power_market_assets.settings import DEFAULT_DATA_ROOT
from power_market_assets.sources.contract import IsoSource


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake, stage-1 CSV folders, landing inbox and catalog live."""

    data_root: str = DEFAULT_DATA_ROOT

    @property
    def lake(self) -> Lake:
        return Lake.at(self.data_root)


@dataclass(frozen=True)
class IsoResource:
    """One ISO's source resource: its class (checked against IsoSource when the table is
    built) and the function that configures it from the environment."""

    source: type[SourceResource]
    from_env: Callable[[str | None], SourceResource]

    def __post_init__(self) -> None:
        conforms(self.source, IsoSource)


def _resource_table(resources: Mapping[str, IsoResource]) -> dict[str, IsoResource]:
    """The resources in the registry's ISO order (registry.schema.iso_table)."""
    return iso_table(resources, "source resources")


RESOURCES: dict[str, IsoResource] = _resource_table(
    {
        "ERCOT": IsoResource(ercot_resource.ErcotSource, ercot_resource.resource_from_env),
        "CAISO": IsoResource(caiso_resource.CaisoSource, caiso_resource.resource_from_env),
        "NYISO": IsoResource(nyiso_resource.NyisoSource, nyiso_resource.resource_from_env),
        "ISONE": IsoResource(isone_resource.IsoneSource, isone_resource.resource_from_env),
        "PJM": IsoResource(pjm_resource.PjmSource, pjm_resource.resource_from_env),
    }
)


def source_resources(isos: Iterable[str], base_urls: Mapping[str, str] | None = None) -> dict:
    """{"<iso>_source": resource} for each ISO, from its entry in RESOURCES."""
    urls = base_urls or {}
    return {f"{iso.lower()}_source": RESOURCES[iso].from_env(urls.get(iso)) for iso in isos}
