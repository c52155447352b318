"""The ISO-NE source resource: channel ("reports" or "webservices"), URLs, pacing, credentials.

The web-service user and password come from ISONE_USERNAME / ISONE_PASSWORD through dg.EnvVar
(see `resource_from_env`); they are handed to the client only, which scrubs them from every
message, and are never put in metadata.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from power_market_assets.io.source_resource import SourceResource, credential
from power_market_assets.registry import isone as registry
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources.isone import (
    CHANNELS,
    REPORTS_MIN_INTERVAL,
    IsoneReportsClient,
    IsoneWebServicesClient,
    fetch_days,
)


class IsoneSource(SourceResource):
    """ISO Express report CSVs (no account) or the ISO-NE web services (account)."""

    channel: str = "reports"  # "reports" or "webservices"
    base_url: str = registry.REPORTS_BASE_URL
    # None: the real web-service host for the real base_url, else <base_url>/api/v1.1.
    webservices_url: str | None = None
    username: str | None = None
    password: str | None = None
    # Third parties pace the report CSVs at about 10 s; the web services back off on 429.
    min_request_interval_seconds: float = REPORTS_MIN_INTERVAL
    webservices_min_request_interval_seconds: float = 1.0

    def resolved_webservices_url(self) -> str:
        if self.webservices_url:
            return self.webservices_url
        if self.base_url.rstrip("/") == registry.REPORTS_BASE_URL:
            return registry.WEBSERVICES_BASE_URL
        return self.base_url.rstrip("/") + "/api/v1.1"

    def fetch(self, spec: DatasetSpec, days: list[date], download_dir: Path):
        """Download the files of these operating days (absent days: not published yet)."""
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown ISO-NE channel {self.channel!r} (expected {CHANNELS})")
        # A dataset without a web-service path (load, forecasts) is read from the reports.
        if self.channel == "webservices" and spec.source.ws_path:
            if not self.username or not self.password:
                raise ValueError("the ISO-NE web services need ISONE_USERNAME and ISONE_PASSWORD")
            client = IsoneWebServicesClient(
                self.resolved_webservices_url(),
                username=self.username,
                password=self.password,
                http=self.http(self.webservices_min_request_interval_seconds),
            )
            return fetch_days(spec, days, download_dir, channel="webservices", webservices=client)
        reports = IsoneReportsClient(self.base_url, self.http(self.min_request_interval_seconds))
        return fetch_days(spec, days, download_dir, channel="reports", reports=reports)


def resource_from_env(base_url: str | None = None) -> IsoneSource:
    """The resource from PMA_ISONE_URL, PMA_ISONE_CHANNEL, PMA_ISONE_WEBSERVICES_URL,
    PMA_ISONE_MIN_INTERVAL (seconds between report requests, default 10) and the
    ISONE_USERNAME / ISONE_PASSWORD credentials (as dg.EnvVar, only when set)."""
    settings = Settings.from_env(os.environ)
    return IsoneSource(
        min_request_interval_seconds=settings.isone_min_interval,
        channel=settings.isone_channel,
        base_url=base_url or settings.isone_url,
        webservices_url=settings.isone_webservices_url,
        username=credential(settings, "isone_username"),
        password=credential(settings, "isone_password"),
    )
