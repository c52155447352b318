"""Which Dagster instance the CLI, the daemon and the workers share, and how queued runs run.

The embedded default stays a SQLite instance under <data root>/dagster_home. A deployment
names its dagster.yaml with PMA_INSTANCE_YAML (deploy/server/dagster.yaml: Postgres storage and
the queued run coordinator); that file is copied into the same home, so the CLI, `dagster-daemon`
and the UI, all started with DAGSTER_HOME=<data root>/dagster_home, read one configuration.
The copy carries PMA_ISO_RUN_LIMIT as the per-ISO tag limit: Dagster reads that limit as a plain
number (no `env:` there), so it is written in when the file is copied. Credentials stay `env:`
references in the file and are resolved by each process; they are never written anywhere.

With PMA_CELERY_BROKER_URL set, the jobs' executor is dagster-celery's: a run launched by the
daemon sends each step to a Celery worker through Redis (the broker and result backend).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import yaml
from dagster_celery import celery_executor

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.settings import Settings

# Tags every submitted chunk run carries; the run queue limits runs per unique ISO value.
ISO_TAG = "power_market/iso"
DATASET_TAG = "power_market/dataset"
RENDERED_HEADER = "# Copied from {source} by power-market (PMA_ISO_RUN_LIMIT={limit}); edit that.\n"


def iso_limits(config: Mapping) -> list[dict]:
    """The run queue's tag limits on the ISO tag (run_coordinator or the top-level run_queue)."""
    found = []
    coordinator = (config.get("run_coordinator") or {}).get("config") or {}
    queue = config.get("run_queue") or {}
    for section in (coordinator, queue):
        found += [
            limit
            for limit in section.get("tag_concurrency_limits") or []
            if limit.get("key") == ISO_TAG
        ]
    return found


def render_instance_yaml(template: str, source: str, iso_run_limit: int) -> str:
    """The deployment's dagster.yaml with the per-ISO run limit written in."""
    config = yaml.safe_load(template) or {}
    for limit in iso_limits(config):
        limit["limit"] = iso_run_limit
    header = RENDERED_HEADER.format(source=source, limit=iso_run_limit)
    return header + yaml.safe_dump(config, sort_keys=False)


def install_instance_yaml(home: Path, settings: Settings) -> None:
    """Copy the deployment's dagster.yaml (PMA_INSTANCE_YAML) into the instance home; without
    one the home keeps its own file (the embedded SQLite default)."""
    if not settings.instance_yaml:
        return
    source = Path(settings.instance_yaml).expanduser().resolve()
    if not source.is_file():
        raise FileNotFoundError(f"PMA_INSTANCE_YAML={settings.instance_yaml}: no such file")
    text = render_instance_yaml(source.read_text(), str(source), settings.iso_run_limit)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != text:
        atomic_write_bytes(target, text.encode())


def run_executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """Celery over Redis when a broker is configured; None keeps Dagster's default executor.

    The broker URL reaches Dagster as an `env:` reference, so neither run config nor events
    hold it (it may carry a password)."""
    if not settings.celery_broker_url:
        return None
    url = {"env": Settings.env_name("celery_broker_url")}
    return celery_executor.configured({"broker": url, "backend": url}, name="celery")


def executor_from_env() -> dg.ExecutorDefinition | None:
    """run_executor for this process's environment (definitions.py)."""
    return run_executor(Settings.from_env(os.environ))
