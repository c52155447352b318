"""CAISO's source resource: OASIS `SingleZip` (no account; see sources/caiso.py) and, for the
fuel mix, Today's Outlook history files (sources/caiso_outlook.py).

OASIS needs no credentials, so the resource has none; a proxy password put in the base URL
(user:password@host) is scrubbed from every message by the HTTP client.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from power_market_assets.io.source_resource import SourceResource
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings
from power_market_assets.sources import caiso_outlook
from power_market_assets.sources.caiso import (
    DEFAULT_PAUSE_SECONDS,
    OASIS_URL,
    OasisClient,
    fetch_days,
)


class CaisoSource(SourceResource):
    """OASIS SingleZip: all nodes of the spec's group by default, or a node list."""

    base_url: str = OASIS_URL
    outlook_url: str = caiso_outlook.OUTLOOK_URL  # Today's Outlook (fuel mix)
    # Comma-separated node names; empty: every node (grp_type), one day/hour per request.
    nodes: str = ""
    max_window_days: int = 30
    read_timeout_seconds: float = 300.0
    backoff_seconds: float = 5.0
    # OASIS throttles bursts: clients that work pause 4-5 s between requests.
    min_request_interval_seconds: float = DEFAULT_PAUSE_SECONDS

    def client(self) -> OasisClient:
        http = self.http()
        nodes = [n.strip() for n in self.nodes.split(",") if n.strip()]
        return OasisClient(self.base_url, http, nodes=nodes, max_window_days=self.max_window_days)

    def fetch(self, spec: DatasetSpec, days: list[date], download_dir: Path):
        """Download these operating days (absent days: not published in OASIS or Today's
        Outlook; forecast datasets: publication days)."""
        if spec.source.outlook_file:
            with self.http(min_interval=0.0) as http:
                folder = Path(download_dir) / "outlook"
                return caiso_outlook.fetch_days(spec, days, folder, self.outlook_url, http)
        client = self.client()
        try:
            return fetch_days(spec, days, Path(download_dir) / "oasis", client)
        finally:
            client.http.close()


def resource_from_env(base_url: str | None = None) -> CaisoSource:
    """PMA_CAISO_URL (or `base_url`), PMA_CAISO_OUTLOOK_URL, PMA_CAISO_NODES and
    PMA_CAISO_PAUSE_SECONDS."""
    settings = Settings.from_env(os.environ)
    return CaisoSource(
        base_url=base_url or settings.caiso_url,
        outlook_url=settings.caiso_outlook_url,
        nodes=settings.caiso_nodes,
        min_request_interval_seconds=settings.caiso_pause_seconds,
    )
