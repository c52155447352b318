"""NYISO's source resource: mis.nyiso.com daily CSVs and monthly zips (no account needed)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from power_market_assets.io.source_resource import SourceResource
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources.landing import LandedSource
from power_market_assets.sources.nyiso import MIS_BASE_URL, NyisoMisClient, fetch_days


class NyisoSource(SourceResource):
    """Where and how politely to fetch NYISO files (public: no credentials)."""

    base_url: str = MIS_BASE_URL
    download_workers: int = 4

    def client(self) -> NyisoMisClient:
        http = self.http()
        return NyisoMisClient(self.base_url, http, download_workers=self.download_workers)

    def fetch(
        self, spec: DatasetSpec, days: list[date], download_dir: Path
    ) -> dict[date, list[LandedSource]]:
        """The files of these operating days; days NYISO has not published are absent."""
        client = self.client()
        try:
            return fetch_days(spec, days, Path(download_dir), client=client)
        finally:
            client.http.close()


def resource_from_env(base_url: str | None = None) -> NyisoSource:
    """PMA_NYISO_URL (or `base_url`), defaulting to https://mis.nyiso.com."""
    settings = Settings.from_env(os.environ)
    return NyisoSource(base_url=base_url or settings.nyiso_url)
