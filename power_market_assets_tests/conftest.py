"""Shared fixtures: the real ISO files carried in power_market_assets_tests/fixtures/real/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
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
