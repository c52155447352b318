"""Every environment variable the platform reads, with its default and meaning, in one place.

The same code runs the demo (stand-in servers, data under ./data) and production (the ISOs'
real endpoints); only these variables differ. `Settings.from_env(os.environ)` reads them once;
the CLI, the Definitions, the bench and the source resources take their values from it.
Credentials are never held here: their fields only say whether the variable is set, and the
resources hand Dagster a `dg.EnvVar(<name>)` (resolved at run time, never shown in the UI).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from power_market_assets.registry.isone import REPORTS_BASE_URL as ISONE_REPORTS_URL
from power_market_assets.sources.caiso import DEFAULT_PAUSE_SECONDS, OASIS_URL
from power_market_assets.sources.caiso_outlook import OUTLOOK_URL
from power_market_assets.sources.ercot import API_BASE_URL as ERCOT_API_URL
from power_market_assets.sources.ercot import API_TOKEN_URL as ERCOT_TOKEN_URL
from power_market_assets.sources.ercot import MIS_BASE_URL as ERCOT_MIS_URL
from power_market_assets.sources.isone import REPORTS_MIN_INTERVAL as ISONE_MIN_INTERVAL
from power_market_assets.sources.nyiso import MIS_BASE_URL as NYISO_MIS_URL
from power_market_assets.sources.pjm import API_BASE_URL as PJM_API_URL
from power_market_assets.sources.pjm import NON_MEMBER_MIN_INTERVAL

DEFAULT_DATA_ROOT = "data"


def _var(env: str, default: Any, doc: str) -> Any:
    """A setting read from `env`."""
    return field(default=default, metadata={"env": env, "doc": doc, "secret": False})


def _secret(env: str, doc: str) -> Any:
    """A credential: the field only records whether `env` is set, never its value."""
    meaning = f"{doc} (credential, through `dg.EnvVar`)"
    return field(default=False, metadata={"env": env, "doc": meaning, "secret": True})


@dataclass(frozen=True)
class Settings:
    """The platform's settings; each field names its environment variable in its metadata."""

    data_root: str = _var("PMA_DATA_ROOT", DEFAULT_DATA_ROOT, "the lake, catalog and landing root")
    ercot_channel: str = _var(
        "PMA_ERCOT_CHANNEL",
        "mis",
        "`mis` (document listing), `api` (public API archive, credentials), `history` (yearly "
        "DAM/RTM workbooks, 13060/13061, split per day), `auto` (the last 7 days from the MIS, "
        "older ones from the API archive with credentials, else the workbooks)",
    )
    ercot_mis_url: str = _var("PMA_ERCOT_MIS_URL", ERCOT_MIS_URL, "ERCOT MIS endpoint")
    ercot_api_url: str = _var("PMA_ERCOT_API_URL", ERCOT_API_URL, "ERCOT public API endpoint")
    ercot_token_url: str = _var(
        "PMA_ERCOT_TOKEN_URL", ERCOT_TOKEN_URL, "ERCOT public API token endpoint"
    )
    ercot_api_username: bool = _secret("ERCOT_API_USERNAME", "ERCOT public API user")
    ercot_api_password: bool = _secret("ERCOT_API_PASSWORD", "ERCOT public API password")
    ercot_api_subscription_key: bool = _secret(
        "ERCOT_API_SUBSCRIPTION_KEY", "ERCOT public API subscription key"
    )
    caiso_url: str = _var("PMA_CAISO_URL", OASIS_URL, "CAISO OASIS endpoint")
    caiso_outlook_url: str = _var(
        "PMA_CAISO_OUTLOOK_URL", OUTLOOK_URL, "CAISO Today's Outlook (fuel mix history files)"
    )
    caiso_nodes: str = _var(
        "PMA_CAISO_NODES", "", "comma-separated node list (empty: every node of the group)"
    )
    caiso_pause_seconds: float = _var(
        "PMA_CAISO_PAUSE_SECONDS", DEFAULT_PAUSE_SECONDS, "seconds between OASIS requests"
    )
    nyiso_url: str = _var("PMA_NYISO_URL", NYISO_MIS_URL, "NYISO MIS endpoint")
    isone_channel: str = _var(
        "PMA_ISONE_CHANNEL",
        "reports",
        "`reports` (public reports, cookie + referer) or `webservices` (credentials)",
    )
    isone_url: str = _var("PMA_ISONE_URL", ISONE_REPORTS_URL, "ISO-NE public reports endpoint")
    isone_webservices_url: str | None = _var(
        "PMA_ISONE_WEBSERVICES_URL", None, "ISO-NE web services endpoint (unset: ISO-NE's)"
    )
    isone_min_interval: float = _var(
        "PMA_ISONE_MIN_INTERVAL", ISONE_MIN_INTERVAL, "seconds between public report requests"
    )
    isone_username: bool = _secret("ISONE_USERNAME", "ISO-NE web-service user")
    isone_password: bool = _secret("ISONE_PASSWORD", "ISO-NE web-service password")
    pjm_url: str = _var("PMA_PJM_URL", PJM_API_URL, "PJM Data Miner 2 endpoint")
    pjm_min_interval: float = _var(
        "PMA_PJM_MIN_INTERVAL",
        NON_MEMBER_MIN_INTERVAL,
        "seconds between Data Miner 2 requests (the non-member limit)",
    )
    pjm_api_key: bool = _secret("PJM_API_KEY", "PJM Data Miner 2 subscription key")
    instance_yaml: str | None = _var(
        "PMA_INSTANCE_YAML",
        None,
        "a dagster.yaml for the instance under <data root>/dagster_home (deploy/server: "
        "Postgres and queued runs; unset: the embedded SQLite instance)",
    )
    postgres_url: bool = _secret(
        "PMA_POSTGRES_URL", "Postgres URL of the instance's storage (dagster.yaml `env:`)"
    )
    celery_broker_url: bool = _secret(
        "PMA_CELERY_BROKER_URL",
        "Redis URL of the Celery broker and result backend; set: queued runs execute their "
        "steps on Celery workers",
    )
    iso_run_limit: int = _var(
        "PMA_ISO_RUN_LIMIT", 2, "queued runs of one ISO at once (the run queue's per-ISO limit)"
    )
    s3_endpoint_url: str | None = _var(
        "PMA_S3_ENDPOINT_URL",
        None,
        "S3-compatible server of an `s3://bucket/prefix` data root, e.g. `http://127.0.0.1:9000` "
        "(unset: AWS S3)",
    )
    aws_region: str | None = _var("AWS_REGION", None, "region of the data root's bucket")
    aws_access_key_id: bool = _secret("AWS_ACCESS_KEY_ID", "key id of the data root's bucket")
    aws_secret_access_key: bool = _secret(
        "AWS_SECRET_ACCESS_KEY", "secret key of the data root's bucket"
    )
    work_dir: str | None = _var(
        "PMA_WORK_DIR",
        None,
        "local folder of an `s3://` data root: Dagster home, landing inbox, downloads, "
        "warehouse.duckdb, catalog summary and the lake files this machine wrote or read "
        "(unset: `<system temp>/power-market-assets/<bucket>/<prefix>`)",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings from these variables; unset ones keep their defaults."""
        values = {}
        for setting in fields(cls):
            name = setting.metadata["env"]
            if setting.metadata["secret"]:
                values[setting.name] = bool(environ.get(name))
            elif name in environ:
                values[setting.name] = _parse(environ[name], setting.default)
        return cls(**values)

    @staticmethod
    def env_name(field_name: str) -> str:
        """The environment variable behind a field (credentials are named, never read)."""
        return next(s.metadata["env"] for s in fields(Settings) if s.name == field_name)

    def credential(self, field_name: str) -> str | None:
        """The variable to hand Dagster as `dg.EnvVar` when the credential is set, else None."""
        return self.env_name(field_name) if getattr(self, field_name) else None


def _parse(raw: str, default: Any) -> Any:
    """A variable's text as its setting's type: numbers and optional URLs fall back to the
    default when empty (as the resources always did), text is taken as written."""
    if isinstance(default, float):
        return float(raw) if raw else default
    if isinstance(default, int):
        return int(raw) if raw else default
    if default is None:
        return raw or None
    return raw


def documented() -> Iterator[tuple[str, str, str]]:
    """(variable, default as the README shows it, meaning) for every setting."""
    for setting in fields(Settings):
        yield setting.metadata["env"], default_text(setting.default), setting.metadata["doc"]


def default_text(default: Any) -> str:
    """A default as the README's Configuration table writes it."""
    if default is None or default is False:
        return "unset"
    if isinstance(default, (int, float)):
        return f"{default:g}"
    return default if default else "empty"
