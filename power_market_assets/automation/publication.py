"""Which operating days an ISO has published, and which of them still need a run.

Pure logic behind the publication sensors (no Dagster): a listing (or, for ISOs without one,
the publication calendar) gives {operating_day: version}; the sensor's cursor remembers the
version it last requested per dataset and day, so a new day or a re-published one (a price
correction posts a new document) is requested once, and nothing else is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import days_between

CALENDAR_LOOKBACK_DAYS = 7
CURSOR_KEEP_DAYS = 45
MAX_BACKOFF_SECONDS = 3600.0


def latest_published_day(spec: DatasetSpec, now: datetime) -> date:
    """The last operating day the ISO has normally finished publishing by `now`.

    Day-ahead data for tomorrow appears at `publish_hour_local` today; a real-time day is
    complete once it is over (its last interval posts shortly after midnight, which
    `publish_hour_local` (e.g. 0.25 h) covers). Forecasts and renewables are partitioned by the
    day they are published, so today's partition exists once today's first vintage is out.
    """
    local = now.astimezone(ZoneInfo(spec.timezone))
    hours = local.hour + local.minute / 60
    published_today = hours >= spec.publish_hour_local
    if spec.table_kind.vintage_column:
        return local.date() - timedelta(days=0 if published_today else 1)
    if spec.market == "DAM":
        return local.date() + timedelta(days=1 if published_today else 0)
    return local.date() - timedelta(days=1 if published_today else 2)


def calendar_days(spec: DatasetSpec, now: datetime) -> dict[date, str]:
    """For ISOs without a listing: the recent days their calendar says are published."""
    last = latest_published_day(spec, now)
    first = max(spec.first_available, last - timedelta(days=CALENDAR_LOOKBACK_DAYS - 1))
    return dict.fromkeys(days_between(first, last), "calendar")


@dataclass
class PublicationCursor:
    """Per dataset, the version last requested per day; and the back-off after outages."""

    requested: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: int = 0
    retry_at: float = 0.0  # POSIX seconds; no polling before this

    @classmethod
    def parse(cls, text: str | None) -> PublicationCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("requested", {}), data.get("failures", 0), data.get("retry_at", 0.0))

    def dumps(self) -> str:
        payload = {"requested": self.requested, "failures": self.failures}
        return json.dumps({**payload, "retry_at": self.retry_at}, sort_keys=True)

    def new_days(self, spec: DatasetSpec, published: dict[date, str]) -> list[date]:
        """Days whose listed version differs from the one last requested, oldest first."""
        seen = self.requested.get(spec.dataset, {})
        return sorted(day for day, version in published.items() if seen.get(str(day)) != version)

    def mark(self, spec: DatasetSpec, day: date, version: str, today: date) -> None:
        seen = self.requested.setdefault(spec.dataset, {})
        seen[str(day)] = version
        oldest = today - timedelta(days=CURSOR_KEEP_DAYS)
        for key in [k for k in seen if date.fromisoformat(k) < oldest]:
            del seen[key]

    def record_failure(self, now_seconds: float, base_seconds: float = 60.0) -> float:
        """Exponential back-off after an outage; returns the seconds to wait."""
        self.failures += 1
        wait = min(base_seconds * 2 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
        self.retry_at = now_seconds + wait
        return wait

    def record_success(self) -> None:
        self.failures = 0
        self.retry_at = 0.0
