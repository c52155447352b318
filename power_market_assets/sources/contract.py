"""The contract every ISO's source (its Dagster resource, io/<iso>_resource.py) fulfils.

Declared here, beside the clients, without dagster: the asset factory calls `fetch`, the
publication sensor calls `published_days`. Checked when io/resources.py builds its ISO table.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Protocol

from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.landing import LandedSource


class IsoSource(Protocol):
    """Fetching one ISO's stage-1 files and (where it has one) reading its listing."""

    def fetch(
        self, spec: DatasetSpec, days: list[date], download_dir: Path
    ) -> dict[date, list[LandedSource]]:
        """The files of these operating days; days the ISO has not published are absent."""
        ...

    def published_days(self, spec: DatasetSpec) -> dict[date, str] | None:
        """Operating day -> version for each published day in the ISO's listing, or None when
        the ISO has no listing (the sensor then follows the publication calendar)."""
        ...
