"""Schedules at each ISO's publication times, in the ISO's own time zone.

Day-ahead datasets: once a day at `publish_hour_local`, for tomorrow's operating day.
Forecasts and renewables (partitioned by publication day): once a day at `publish_hour_local`,
for today's partition.
Real-time datasets: every native interval (at least every 5 minutes), for the operating day
the last finished interval belongs to, so the last run after midnight completes yesterday.
All are stopped by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from power_market_assets.automation.publication import latest_published_day
from power_market_assets.automation.runs import daily_job_name
from power_market_assets.registry.spec import DatasetSpec


def cron_for(spec: DatasetSpec) -> str:
    if spec.market == "DAM" or spec.table_kind.vintage_column:
        hour = int(spec.publish_hour_local)
        minute = round((spec.publish_hour_local - hour) * 60)
        return f"{minute} {hour} * * *"
    step = max(5, min(spec.interval_minutes, 60))
    return "0 * * * *" if step == 60 else f"*/{step} * * * *"


def scheduled_day(spec: DatasetSpec, tick: datetime) -> str:
    """The operating day a tick at `tick` runs."""
    if spec.market == "DAM" or spec.table_kind.vintage_column:
        return latest_published_day(spec, tick).isoformat()
    local = tick.astimezone(ZoneInfo(spec.timezone))
    return (local - timedelta(minutes=spec.interval_minutes)).date().isoformat()


def build_schedule(
    spec: DatasetSpec, job: dg.UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{spec.iso.lower()}_{spec.dataset}_schedule",
        cron_schedule=cron_for(spec),
        job=job,
        execution_timezone=spec.timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"{spec.iso} {spec.dataset}: runs when {spec.iso} normally publishes.",
    )
    def publication_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time
        day = scheduled_day(spec, tick)
        return dg.RunRequest(
            run_key=f"{spec.dataset}:{day}:{tick.isoformat()}",
            partition_key=day,
            tags={"pma/source": "schedule"},
        )

    return publication_schedule


def iso_schedules(
    specs: Sequence[DatasetSpec], jobs: dict[str, dg.UnresolvedAssetJobDefinition]
) -> list[dg.ScheduleDefinition]:
    return [build_schedule(spec, jobs[daily_job_name(spec)]) for spec in specs]
