"""The one Definitions object: assets, checks, jobs and resources of the platform.

Settings come from environment variables (power_market_assets/settings.py lists them all) so
the same code runs the demo (stand-in servers, data under ./data) and production (the ISOs'
real endpoints); credentials are read through dg.EnvVar and never shown in the UI.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import dagster as dg

from power_market_assets.assets import all_assets
from power_market_assets.assets.carbon import carbon_asset_keys, cds_export_asset_keys
from power_market_assets.assets.combined import combined_asset_keys
from power_market_assets.automation.instance import ISO_TAG, executor_from_env
from power_market_assets.automation.runs import daily_job_name
from power_market_assets.automation.schedules import iso_schedules
from power_market_assets.automation.sensors import (
    build_landing_inbox_sensor,
    build_publication_sensor,
)
from power_market_assets.io.io_manager import LakeIOManager
from power_market_assets.io.resources import LakeResource, source_resources
from power_market_assets.registry import COMBINED_INPUTS, DATASETS_BY_ISO
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.settings import Settings

# The beta/preview APIs used on purpose (single-run backfill policies, declarative automation;
# see docs/reference/DAGSTER_NOTES.md) warn once per asset: ~60 lines in every UI and CLI
# start that hide the messages that matter.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

DAILY_STAGES = ("csv", "raw_parquet")


def lake_resources(data_root: str | os.PathLike) -> dict:
    """The lake resource and IO manager every asset needs, over one data root."""
    root = str(data_root)
    return {"lake": LakeResource(data_root=root), "lake_io": LakeIOManager(data_root=root)}


def build_resources(
    data_root: str | None = None,
    ercot_mis_url: str | None = None,
    source_urls: Mapping[str, str] | None = None,
) -> dict:
    """Resources for every ISO; `source_urls` ({"CAISO": url, ...}) overrides base URLs."""
    root = data_root or Settings.from_env(os.environ).data_root
    urls = dict(source_urls or {})
    if ercot_mis_url:
        urls["ERCOT"] = ercot_mis_url
    return {**lake_resources(root), **source_resources(DATASETS_BY_ISO, urls)}


def _keys(specs: tuple[DatasetSpec, ...], stages: tuple[str, ...]) -> list[dg.AssetKey]:
    return [dg.AssetKey(spec.asset_key_path(stage)) for spec in specs for stage in stages]


def iso_jobs(iso: str) -> list[dg.UnresolvedAssetJobDefinition]:
    """Per ISO: stages 1-2 of each dataset, of all datasets, and stages 3-4 by month."""
    specs = DATASETS_BY_ISO[iso]
    name = iso.lower()
    monthly = dg.AssetSelection.assets(*_keys(specs, ("flattened",)), *cds_export_asset_keys(specs))
    if iso in COMBINED_INPUTS:
        monthly |= dg.AssetSelection.assets(*combined_asset_keys(iso))
    per_dataset = [
        dg.define_asset_job(
            daily_job_name(spec),
            selection=dg.AssetSelection.assets(
                *_keys((spec,), DAILY_STAGES), *carbon_asset_keys((spec,))
            ),
            description=f"Stages 1 and 2 of {spec.iso} {spec.dataset} for a range of days.",
            tags={ISO_TAG: iso},  # every run of the ISO counts against PMA_ISO_RUN_LIMIT
        )
        for spec in specs
    ]
    return per_dataset + [
        dg.define_asset_job(
            f"{name}_daily",
            selection=dg.AssetSelection.assets(
                *_keys(specs, DAILY_STAGES), *carbon_asset_keys(specs)
            ),
            description=f"Stages 1 and 2 of every {iso} dataset for a range of operating days.",
            tags={ISO_TAG: iso},
        ),
        dg.define_asset_job(
            f"{name}_monthly",
            selection=monthly,
            description=f"Stages 3 and 4 of every {iso} dataset for a range of months.",
            tags={ISO_TAG: iso},
        ),
    ]


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [job for iso in DATASETS_BY_ISO for job in iso_jobs(iso)]


def build_automation(
    jobs: list[dg.UnresolvedAssetJobDefinition], inbox_settle_seconds: float = 5.0
) -> tuple[list[dg.SensorDefinition], list[dg.ScheduleDefinition]]:
    """The landing-inbox sensor, one publication sensor and the schedules per ISO."""
    by_name = {job.name: job for job in jobs}
    daily_jobs = {
        iso: [by_name[daily_job_name(s)] for s in specs] for iso, specs in DATASETS_BY_ISO.items()
    }
    sensors = [
        build_landing_inbox_sensor(
            [j for js in daily_jobs.values() for j in js], inbox_settle_seconds
        )
    ]
    sensors += [
        build_publication_sensor(iso, DATASETS_BY_ISO[iso], daily_jobs[iso])
        for iso in DATASETS_BY_ISO
    ]
    schedules = [s for specs in DATASETS_BY_ISO.values() for s in iso_schedules(specs, by_name)]
    return sensors, schedules


def build_definitions(inbox_settle_seconds: float = 5.0, **resource_overrides) -> dg.Definitions:
    jobs = build_jobs()
    sensors, schedules = build_automation(jobs, inbox_settle_seconds)
    return dg.Definitions(
        assets=all_assets(),
        jobs=jobs,
        sensors=sensors,
        schedules=schedules,
        resources=build_resources(**resource_overrides),
        executor=executor_from_env(),  # Celery when PMA_CELERY_BROKER_URL is set
    )


defs = build_definitions()
