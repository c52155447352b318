"""Settings: one typed object for every environment variable, and the README in step with it."""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path

import pytest

from power_market_assets.settings import Settings, documented

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `(?P<var>[A-Z0-9_]+)` \| (?P<default>[^|]+) \|")


def readme_configuration() -> dict[str, str]:
    """{variable: default} from the README's Configuration table (backticks dropped)."""
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = (ROW.match(line) for line in section.splitlines())
    return {m["var"]: m["default"].strip().strip("`") for m in rows if m}


def test_readme_lists_exactly_the_settings_with_their_defaults() -> None:
    assert readme_configuration() == {var: default for var, default, _ in documented()}


def test_every_setting_names_a_distinct_variable_and_says_what_it_is() -> None:
    names = [s.metadata["env"] for s in fields(Settings)]
    assert len(names) == len(set(names)) == 31
    assert all(s.metadata["doc"] for s in fields(Settings))


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.data_root == "data"
    assert settings.credential("pjm_api_key") is None


def test_values_are_typed_and_empty_numbers_keep_their_default() -> None:
    settings = Settings.from_env(
        {
            "PMA_DATA_ROOT": "/lake",
            "PMA_CAISO_PAUSE_SECONDS": "0.5",
            "PMA_ISONE_MIN_INTERVAL": "",
            "PMA_ISONE_WEBSERVICES_URL": "",
        }
    )
    assert settings.data_root == "/lake"
    assert settings.caiso_pause_seconds == 0.5
    assert settings.isone_min_interval == Settings().isone_min_interval
    assert settings.isone_webservices_url is None


def test_credentials_are_named_never_held() -> None:
    secret = "hunter2-do-not-leak"
    settings = Settings.from_env({"PJM_API_KEY": secret, "ISONE_PASSWORD": secret})
    assert settings.credential("pjm_api_key") == "PJM_API_KEY"
    assert settings.credential("isone_password") == "ISONE_PASSWORD"
    assert settings.credential("isone_username") is None
    assert secret not in repr(settings)


def test_persistent_instance_leaves_the_environment_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Library code passes the Dagster home explicitly instead of writing DAGSTER_HOME."""
    from power_market_assets.automation.runs import persistent_instance

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = persistent_instance(tmp_path)
    try:
        assert Path(instance.root_directory) == (tmp_path / "dagster_home").resolve()
    finally:
        instance.dispose()
    assert "DAGSTER_HOME" not in os.environ
