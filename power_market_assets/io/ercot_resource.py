"""ERCOT's source resource: the MIS document listing (no account), the public API archive, or
the yearly history workbooks ("history": sources/ercot_history.py, for backfills of years the
MIS no longer lists; datasets without a yearly report fall back to the MIS listing).

Credentials come from environment variables (dg.EnvVar) and are only handed to the clients;
they are never put in metadata or logs.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from power_market_assets.formats.ercot_fuel_mix import LAYOUT as FUEL_MIX_LAYOUT
from power_market_assets.formats.ercot_history import history_report
from power_market_assets.io.source_resource import SourceResource, credential
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources.ercot import (
    API_BASE_URL,
    API_TOKEN_URL,
    MIS_BASE_URL,
    ErcotMisClient,
    ErcotPublicApiClient,
    fetch_day_archives,
)
from power_market_assets.sources.ercot_fuel_mix import (
    ErcotFuelMixClient,
    fetch_fuel_mix_days,
)
from power_market_assets.sources.ercot_fuel_mix import (
    published_days as fuel_mix_published_days,
)
from power_market_assets.sources.ercot_history import ErcotHistoryClient, fetch_history_days

CHANNELS = ("mis", "api", "history", "auto")


class ErcotSource(SourceResource):
    """ERCOT's MIS document listing (no account) or its public API archive (account)."""

    channel: str = "mis"  # "mis", "api" or "history"
    mis_base_url: str = MIS_BASE_URL
    api_base_url: str = API_BASE_URL
    api_token_url: str = API_TOKEN_URL
    api_username: str | None = None
    api_password: str | None = None
    api_subscription_key: str | None = None
    # ERCOT's public API allows 30 requests a minute.
    api_min_request_interval_seconds: float = 2.0
    # "auto": days younger than this come from the MIS listing (it keeps 7 to 31 days), older
    # ones from the yearly history workbooks (or the API archive with credentials).
    mis_retention_days: int = 7

    def fetch(self, spec: DatasetSpec, days: list[date], download_dir: Path):
        """Download the CSV documents of these operating days (absent days: none published)."""
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown ERCOT channel {self.channel!r} (expected one of {CHANNELS})")
        if spec.file_layout == FUEL_MIX_LAYOUT:  # not on the MIS: the generation page, always
            return fetch_fuel_mix_days(
                spec, days, download_dir=download_dir, client=self._fuel_mix_client()
            )
        if self.channel != "auto":
            return self._fetch_via(self.channel, spec, days, download_dir)
        cutoff = _today(spec.timezone) - timedelta(days=self.mis_retention_days)
        older = [d for d in days if d < cutoff]
        recent = [d for d in days if d >= cutoff]
        found = self._fetch_via(self._archive_channel(), spec, older, download_dir) if older else {}
        if recent:
            found |= self._fetch_via("mis", spec, recent, download_dir)
        return found

    def _archive_channel(self) -> str:
        """Where days the MIS no longer lists come from: the API archive when credentials are
        set, else the yearly workbooks (datasets without one fall back to the MIS)."""
        credentials = (self.api_username, self.api_password, self.api_subscription_key)
        return "api" if all(credentials) else "history"

    def _fetch_via(self, channel: str, spec: DatasetSpec, days: list[date], download_dir: Path):
        if channel == "history" and history_report(spec) is not None:
            history = ErcotHistoryClient(
                base_url=self.mis_base_url, http=self.http(self.min_request_interval_seconds)
            )
            return fetch_history_days(spec, days, download_dir=download_dir, client=history)
        if channel == "api":
            api = ErcotPublicApiClient(
                base_url=self.api_base_url,
                token_url=self.api_token_url,
                username=self.api_username or "",
                password=self.api_password or "",
                subscription_key=self.api_subscription_key or "",
                http=self.http(self.api_min_request_interval_seconds),
            )
            return fetch_day_archives(spec, days, channel="api", download_dir=download_dir, api=api)
        mis = ErcotMisClient(
            base_url=self.mis_base_url, http=self.http(self.min_request_interval_seconds)
        )
        return fetch_day_archives(spec, days, channel="mis", download_dir=download_dir, mis=mis)

    def _fuel_mix_client(self) -> ErcotFuelMixClient:
        """The Fuel Mix Report's workbooks are on ERCOT's public site, beside the MIS."""
        return ErcotFuelMixClient(
            base_url=self.mis_base_url, http=self.http(self.min_request_interval_seconds)
        )

    def published_days(self, spec: DatasetSpec) -> dict[date, str]:
        """Operating days in ERCOT's current MIS listing, each with a version (document count
        and newest document id) that changes when ERCOT posts or re-posts a file. The Fuel
        Mix Report: the days its workbooks hold, versioned by the workbook's link."""
        if spec.file_layout == FUEL_MIX_LAYOUT:
            with tempfile.TemporaryDirectory(prefix="ercot-fuel-mix-") as folder:
                return fuel_mix_published_days(self._fuel_mix_client(), Path(folder))
        mis = ErcotMisClient(
            base_url=self.mis_base_url, http=self.http(self.min_request_interval_seconds)
        )
        by_day: dict[date, list[str]] = {}
        for doc in mis.list_documents(spec):
            by_day.setdefault(doc.operating_day, []).append(doc.doc_id)
        return {
            day: f"{len(ids)}:{max(ids, key=lambda i: (len(i), i))}" for day, ids in by_day.items()
        }


def _today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def resource_from_env(base_url: str | None = None) -> ErcotSource:
    """PMA_ERCOT_CHANNEL ("mis", "api", "history" or "auto"), PMA_ERCOT_MIS_URL (or `base_url`),
    PMA_ERCOT_API_URL, PMA_ERCOT_TOKEN_URL and the API credentials ERCOT_API_USERNAME,
    ERCOT_API_PASSWORD, ERCOT_API_SUBSCRIPTION_KEY (through dg.EnvVar, never shown in the UI)."""
    settings = Settings.from_env(os.environ)
    return ErcotSource(
        channel=settings.ercot_channel,
        mis_base_url=base_url or settings.ercot_mis_url,
        api_base_url=settings.ercot_api_url,
        api_token_url=settings.ercot_token_url,
        api_username=credential(settings, "ercot_api_username"),
        api_password=credential(settings, "ercot_api_password"),
        api_subscription_key=credential(settings, "ercot_api_subscription_key"),
    )
