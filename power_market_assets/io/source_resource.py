"""The base of every ISO's source resource (io/<iso>_resource.py): shared HTTP settings, the
default `published_days`, and how a credential reaches a resource. Apart from io/resources.py,
which imports every ISO's resource module into its table."""

from __future__ import annotations

from datetime import date

import dagster as dg

from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources.http import HttpClient


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

    def published_days(self, spec: DatasetSpec) -> dict[date, str] | None:
        """None: no listing to read, so the sensor follows the ISO's publication calendar
        (an ISO with a listing overrides this)."""
        return None


def credential(settings: Settings, field_name: str) -> dg.EnvVar | None:
    """A credential named by the settings (never read here): a dg.EnvVar when it is set."""
    name = settings.credential(field_name)
    return dg.EnvVar(name) if name else None
