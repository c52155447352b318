"""Shared fixtures: the real ISO files in ../shared/fixtures/real/ (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_FIXTURES = Path(
    os.environ.get("PMA_REAL_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures" / "real")
)


@pytest.fixture(scope="session")
def real_ercot_dir() -> Path:
    """Folder of unmodified ERCOT MIS downloads; tests using it skip when it is missing."""
    folder = REAL_FIXTURES / "ercot"
    if not (folder / "dam-spp.zip").exists():
        pytest.skip(f"real ERCOT fixtures not found at {folder} (set PMA_REAL_FIXTURES)")
    return folder
