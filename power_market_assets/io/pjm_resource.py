"""Dagster resource for PJM's Data Miner 2 API (the key only through dg.EnvVar)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from power_market_assets.io.source_resource import SourceResource, credential
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources.pjm import (
    API_BASE_URL,
    MAX_ROW_COUNT,
    NON_MEMBER_MIN_INTERVAL,
    PjmDataMinerClient,
    fetch_days,
)


class PjmSource(SourceResource):
    """PJM Data Miner 2: base URL, subscription key, timeouts, retries and rate limit.

    `min_request_interval_seconds` defaults to the non-member limit (~6 requests a minute);
    members may lower it. `range_style` is how the EPT date range is written ("gs":
    `MM/DD/YYYY HH:MMtoMM/DD/YYYY HH:MM`, "portal": `yyyy-MM-dd HH:mm to yyyy-MM-dd HH:mm`).
    """

    base_url: str = API_BASE_URL
    api_key: str | None = None
    min_request_interval_seconds: float = NON_MEMBER_MIN_INTERVAL
    row_count: int = MAX_ROW_COUNT
    range_style: str = "gs"

    def client(self) -> PjmDataMinerClient:
        http = self.http()
        return PjmDataMinerClient(
            self.base_url,
            subscription_key=self.api_key,
            http=http,
            row_count=self.row_count,
            range_style=self.range_style,  # type: ignore[arg-type]
        )

    def fetch(self, spec: DatasetSpec, days: list[date], download_dir: Path):
        """The JSON pages of these operating days (days not published yet are absent)."""
        client = self.client()
        try:
            return fetch_days(spec, days, Path(download_dir), client=client)
        finally:
            client.http.close()


def resource_from_env(base_url: str | None = None) -> PjmSource:
    """PMA_PJM_URL (default the real API), PJM_API_KEY (through dg.EnvVar when set) and
    PMA_PJM_MIN_INTERVAL (seconds between requests; default the non-member limit)."""
    settings = Settings.from_env(os.environ)
    return PjmSource(
        base_url=base_url or settings.pjm_url,
        api_key=credential(settings, "pjm_api_key"),
        min_request_interval_seconds=settings.pjm_min_interval,
    )
