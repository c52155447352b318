"""Sensors: files dropped into the landing inbox, and each ISO's newly published days.

Both are stopped by default (turn them on in the UI, or `dagster sensor start`); both keep a
cursor the daemon persists, so a restart neither loses nor repeats work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from power_market_assets.automation.drops import Recognized, land, recognize, set_aside, vet
from power_market_assets.automation.publication import (
    PublicationCursor,
    calendar_days,
    latest_published_day,
)
from power_market_assets.automation.runs import (
    contiguous_ranges,
    daily_job_name,
    landing_run_config,
    range_tags,
)
from power_market_assets.formats.archive import sha256_file
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.contract import IsoSource
from power_market_assets.sources.http import SourceError

INBOX_KEEP_KEYS = 5000
# Files still being written (browser downloads, copies) are left for the next tick.
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


def quarantine(path: Path, lake: Lake, reason: str) -> Path:
    """Move an unusable file out of the inbox, with `<name>.reason.txt` beside it."""
    return set_aside(path, lake.quarantine_dir, f"{path.name}: {reason}")


def _inbox_files(inbox: Path, settle_seconds: float) -> list[Path]:
    if not inbox.is_dir():
        return []
    now = time.time()
    return [
        p
        for p in sorted(inbox.iterdir())
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith(PARTIAL_SUFFIXES)
        and now - p.stat().st_mtime >= settle_seconds
    ]


def build_landing_inbox_sensor(
    jobs: Sequence[dg.UnresolvedAssetJobDefinition], settle_seconds: float = 5.0
) -> dg.SensorDefinition:
    """Files dropped into <data root>/landing/inbox/ (any ISO, any recognized format, zips
    included) move into their dataset's landing folder and request stage 1-2 runs for the day
    they cover; anything else, and any drop that would fail a day it covers (rehearsed with
    the run's blocking checks, `drops.vet`), moves to landing/quarantine/ with a reason file
    and leaves the day as it was."""

    @dg.sensor(
        name="landing_inbox",
        jobs=list(jobs),
        minimum_interval_seconds=30,
        required_resource_keys={"lake"},
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Recognizes files dropped into landing/inbox/ and runs their day.",
    )
    def landing_inbox(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
        lake: Lake = context.resources.lake.lake
        seen: dict[str, str] = json.loads(context.cursor or "{}")
        for path in _inbox_files(lake.inbox_dir, settle_seconds):
            run_key = f"{path.name}:{sha256_file(path)}"
            try:
                recognized = recognize(path)
                vet(recognized, lake)  # a drop that would fail its day never lands
            except FormatError as exc:
                moved = quarantine(path, lake, str(exc))
                context.log.warning(f"quarantined {path.name}: {exc} -> {moved}")
                continue
            except Exception as exc:  # never let one file stop the sensor
                moved = quarantine(path, lake, f"unexpected {type(exc).__name__}: {exc}")
                context.log.error(f"quarantined {path.name} after an unexpected error -> {moved}")
                continue
            land(recognized, lake)
            path.unlink()
            if run_key in seen:
                context.log.info(f"{path.name}: same bytes as an earlier drop; no new run")
                continue
            seen[run_key] = recognized.describe_days
            yield from _inbox_run_requests(recognized, run_key)
        context.update_cursor(json.dumps(dict(list(seen.items())[-INBOX_KEEP_KEYS:])))

    return landing_inbox


def _inbox_run_requests(recognized: Recognized, run_key: str) -> Iterator[dg.RunRequest]:
    """One run per contiguous range of the days a dropped file covers (a single-run backfill
    for a monthly or yearly archive)."""
    spec = recognized.spec
    tags = {"pma/inbox_file": recognized.path.name[:200], "pma/source": "landing_inbox"}
    for first, last in contiguous_ranges(list(recognized.operating_days)):
        keys = (first.isoformat(), last.isoformat())
        yield dg.RunRequest(
            run_key=run_key if len(recognized.operating_days) == 1 else f"{run_key}:{keys[0]}",
            job_name=daily_job_name(spec),
            partition_key=keys[0] if first == last else None,
            run_config=landing_run_config(spec),
            tags={**tags, **(range_tags(*keys) if first != last else {})},
        )


def _now() -> datetime:
    return datetime.now(UTC)


def build_publication_sensor(
    iso: str,
    specs: Sequence[DatasetSpec],
    jobs: Sequence[dg.UnresolvedAssetJobDefinition],
    max_requests_per_tick: int = 10,
    backoff_base_seconds: float = 60.0,
) -> dg.SensorDefinition:
    """Polls the ISO's listing (or its publication calendar when the source has no listing)
    and requests stage 1-2 runs for operating days that are new or were re-published."""
    source_key = f"{iso.lower()}_source"

    @dg.sensor(
        name=f"{iso.lower()}_publication",
        jobs=list(jobs),
        minimum_interval_seconds=300,
        required_resource_keys={source_key},
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Requests runs for operating days {iso} has newly published.",
    )
    def publication(context: dg.SensorEvaluationContext):
        cursor = PublicationCursor.parse(context.cursor)
        now = _now()
        if now.timestamp() < cursor.retry_at:
            return dg.SkipReason(
                f"{iso} was unavailable {cursor.failures} time(s) in a row; next poll after "
                f"{datetime.fromtimestamp(cursor.retry_at, UTC).isoformat()}"
            )
        source: IsoSource = getattr(context.resources, source_key)
        requests: list[dg.RunRequest] = []
        unavailable: list[str] = []  # one dataset's listing failing does not hold up the others
        for spec in specs:
            try:
                published = source.published_days(spec)
            except SourceError as exc:
                unavailable.append(f"{spec.dataset}: {exc}")
                continue
            if published is None:  # no listing: follow the publication calendar
                published = calendar_days(spec, now)
            last = latest_published_day(spec, now)
            ready = {d: v for d, v in published.items() if d <= last}
            for day in cursor.new_days(spec, ready)[: max_requests_per_tick - len(requests)]:
                requests.append(
                    dg.RunRequest(
                        run_key=f"{spec.dataset}:{day}:{ready[day]}",
                        job_name=daily_job_name(spec),
                        partition_key=day.isoformat(),
                        tags={"pma/source": f"{iso.lower()}_publication"},
                    )
                )
                cursor.mark(spec, day, ready[day], now.date())
        if unavailable and len(unavailable) == len(specs):
            wait = cursor.record_failure(now.timestamp(), backoff_base_seconds)
            context.update_cursor(cursor.dumps())
            return dg.SkipReason(
                f"{iso} listing unavailable ({unavailable[0]}); backing off {wait:.0f} s"
            )
        for problem in unavailable:
            context.log.warning(f"{iso} listing unavailable for {problem}")
        cursor.record_success()
        context.update_cursor(cursor.dumps())
        return requests or dg.SkipReason(f"no newly published {iso} operating days")

    return publication
