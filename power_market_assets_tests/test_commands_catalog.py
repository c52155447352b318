"""`power-market catalog`: coverage from the lake, check states from the Dagster instance."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from power_market_assets.cli import main
from power_market_assets.commands.backfill import run_backfill
from power_market_assets.commands.catalog import run_catalog
from power_market_assets.registry import ALL_DATASETS, ercot
from power_market_assets_tests.helpers import build_lake
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

STAGES = {"csv", "raw_parquet", "flattened"}


def _catalog(root: Path, as_json: bool) -> str:
    out = io.StringIO()
    assert run_catalog(str(root), as_json=as_json, out=out) == 0
    return out.getvalue()


def _entries(root: Path) -> dict[tuple[str, str, str], dict]:
    payload = json.loads(_catalog(root, as_json=True))
    return {(e["iso"], e["dataset"], e["stage"]): e for e in payload["datasets"]}


@pytest.fixture(scope="module")
def run_root(tmp_path_factory) -> Path:
    """A data root after a small real run: DA prices for two days through flattened."""
    root = tmp_path_factory.mktemp("catalog") / "data"
    days = [date(2024, 11, 2) + timedelta(days=i) for i in range(2)]
    docs = generate_documents(ercot.DA_PRICES, days, n_nodes=3)
    with pytest.MonkeyPatch.context() as patch, ErcotStandInServer(docs) as server:
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        patch.setenv("PMA_ERCOT_MIS_URL", server.base_url)
        code = run_backfill(
            "ERCOT", "da_prices", "2024-11-02", "2024-11-03", data_root=str(root), err=io.StringIO()
        )
    assert code == 0
    return root


@pytest.mark.slow
def test_every_registry_dataset_is_listed_with_checks(run_root: Path) -> None:
    entries = _entries(run_root)
    for spec in ALL_DATASETS:
        for stage in STAGES:
            assert (spec.iso, spec.dataset, stage) in entries
    raw = entries[("ERCOT", "da_prices", "raw_parquet")]
    assert (raw["first"], raw["last"], raw["partitions"], raw["missing"]) == (
        "2024-11-02",
        "2024-11-03",
        2,
        [],
    )
    assert raw["rows"] == 24 * 22 + 25 * 22  # 3 nodes + 19 hubs, zones and ties; fall-back day
    assert raw["checks"]["state"] == "passed"
    assert set(raw["checks"]["checks"]) == {
        "schema",
        "duplicates",
        "row_count",
        "gaps",
        "price_range",
    }
    assert all(c["status"] == "passed" for c in raw["checks"]["checks"].values())
    flat = entries[("ERCOT", "da_prices", "flattened")]
    assert flat["first"] == "2024-11-01" and flat["checks"]["state"] == "passed"
    assert entries[("ERCOT", "da_prices", "csv")]["checks"]["state"] == "none"
    # Nothing materialized: listed, empty coverage, checks never run.
    rt = entries[("ERCOT", "rt_prices", "raw_parquet")]
    assert (rt["first"], rt["partitions"], rt["rows"]) == (None, 0, 0)
    assert rt["checks"]["state"] == "not run"


@pytest.mark.slow
def test_table_output(run_root: Path) -> None:
    text = _catalog(run_root, as_json=False)
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["ISO", "dataset", "stage"]
    row = next(line for line in lines if " da_prices " in line and " raw_parquet " in line)
    assert "2024-11-02..2024-11-03" in row and row.rstrip().endswith("passed")
    assert any("(empty)" in line and " rt_prices " in line for line in lines)


def test_without_instance_holes_and_failures(tmp_path: Path) -> None:
    lake = build_lake(tmp_path / "data")
    payload = json.loads(_catalog(lake.root, as_json=True))
    assert payload["dagster_instance"] is None
    assert set(payload) == {"data_root", "warehouse", "summary", "dagster_instance", "datasets"}
    entries = {(e["iso"], e["dataset"], e["stage"]): e for e in payload["datasets"]}
    raw = entries[("ERCOT", "da_prices", "raw_parquet")]
    assert raw["missing"] == ["2024-11-03"] and raw["failed"] == ["2024-11-04"]
    assert raw["rows"] == 3 * 72 and raw["partitions"] == 3
    assert raw["checks"] == {"state": "unknown", "checks": {}}
    assert raw["last_update_utc"].endswith("+00:00")
    text = _catalog(lake.root, as_json=False)
    assert "check states unknown" in text
    assert "2024-11-03; failed 2024-11-04" in text


def test_cli_json(tmp_path: Path, capsys) -> None:
    lake = build_lake(tmp_path / "data")
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "--json", "--data-root", str(lake.root)])
    assert exit_.value.code == 0
    assert json.loads(capsys.readouterr().out)["data_root"] == str(lake.root)
