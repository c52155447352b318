"""Shared fixtures: the real ISO files carried in power_market_assets_tests/fixtures/real/ and
the tiny hand-built lake of the CLI tests (plain helpers live in helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from power_market_assets.io.lake import Lake
from power_market_assets_tests.helpers import build_lake
from power_market_assets_tests.s3_service import s3_root, s3_server  # noqa: F401
from power_market_assets_tests.services import postgres_server, redis_server  # noqa: F401

REAL_FIXTURES = Path(
    os.environ.get("PMA_REAL_FIXTURES", Path(__file__).resolve().parent / "fixtures" / "real")
)


@pytest.fixture(scope="session")
def real_ercot_dir() -> Path:
    """Folder of unmodified ERCOT MIS downloads, carried in the repo (provenance in its README):
    a missing file is a broken checkout, so it fails rather than skips."""
    folder = REAL_FIXTURES / "ercot"
    if not (folder / "dam-spp.zip").exists():
        pytest.fail(f"real ERCOT fixtures missing at {folder} (they are part of the repo)")
    return folder


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A fresh tiny lake per test (helpers.build_lake): the CLI commands read it, some write."""
    return build_lake(tmp_path / "data")
