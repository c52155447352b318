"""Issue 14: the monthly `<iso>/cds_export` asset. ERCOT's fuel mix and carbon intensity for two
demo days (the fall-back day included) from the stand-in, then the month through the
`ercot_monthly` job: the JSON lands under lake/ercot/cds_export/, validates against the
package's schema, and tiles the month: the materialized days' every interval with data, the
rest of the month with gap segments. Also: the packaged schema is the documented one."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from power_market_assets.assets.carbon import cds_export_asset_keys, cds_export_path
from power_market_assets.automation.runs import daily_job_name, run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.cds_export import ledger_dir, schema_text, validate
from power_market_assets.io.lake import Lake
from power_market_assets.quality.carbon import coverage_problems
from power_market_assets.registry.ercot import FUEL_MIX
from power_market_assets.transforms.time import day_bounds_utc, days_between
from power_market_standins.ercot_server import standin_server

pytestmark = pytest.mark.slow  # Dagster runs against the stand-in

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRST, LAST = date(2024, 11, 2), date(2024, 11, 3)  # 96 + 100 quarter hours (fall-back)
MONTH = "2024-11-01"
(CDS_KEY,) = cds_export_asset_keys([FUEL_MIX])
TZ = FUEL_MIX.timezone


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _materialize_month(defs: dg.Definitions, instance: dg.DagsterInstance):
    job = defs.resolve_job_def("ercot_monthly")
    return job.execute_in_process(
        instance=instance, partition_key=MONTH, asset_selection=[CDS_KEY], raise_on_error=False
    )


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> tuple[Lake, dict, dg.ExecuteInProcessResult]:
    root = tmp_path_factory.mktemp("ercot_cds")
    with standin_server(days_between(FIRST, LAST), n_locations=2) as server:
        defs = build_definitions(data_root=str(root), ercot_mis_url=server.base_url)
        instance = dg.DagsterInstance.ephemeral()
        daily = run_range(
            defs, daily_job_name(FUEL_MIX), FIRST.isoformat(), LAST.isoformat(), instance
        )
        assert daily.success
        result = _materialize_month(defs, instance)
    assert result.success
    lake = Lake.at(root)
    return lake, json.loads(cds_export_path(lake, "ERCOT", MONTH).read_text()), result


def test_packaged_schema_is_the_documented_one() -> None:
    documented = (REPO_ROOT / "docs" / "cds_usage_segment.schema.json").read_text()
    assert schema_text() == documented


def test_monthly_job_runs_the_cds_export() -> None:
    defs = build_definitions(data_root="unused")
    job = defs.resolve_job_def("ercot_monthly")
    assert CDS_KEY in job.asset_layer.executable_asset_keys


def test_month_json_written_atomically_where_documented(month) -> None:
    lake, _, _ = month
    folder = lake.root / "lake" / "ercot" / "cds_export"
    assert sorted(p.name for p in folder.iterdir()) == ["2024-11.json"]  # no temp file left


def test_month_json_validates(month) -> None:
    _, document, _ = month
    assert validate(document) == []
    assert document["metadata"]["start"] == "2024-11-01"
    assert document["metadata"]["end"] == "2024-11-30"


def test_month_covers_every_interval_data_on_the_materialized_days(month) -> None:
    _, document, _ = month
    segments = document["usagesegments"]
    month_start = day_bounds_utc(date(2024, 11, 1), TZ)[0]
    month_end = day_bounds_utc(date(2024, 11, 30), TZ)[1]
    assert coverage_problems(segments, month_start, month_end) == []
    data = [s for s in segments if s["format"] != ["gap"]]
    assert data, "no data segment"
    covered = sum(len(s["values"]) for s in data)
    assert covered == 96 + 100  # every quarter hour of Nov 2 and the 25-hour Nov 3
    days_start, days_end = day_bounds_utc(FIRST, TZ)[0], day_bounds_utc(LAST, TZ)[1]
    for segment in data:
        assert days_start <= _instant(segment["segment_start"]) < days_end
        assert _instant(segment["segment_end"]) <= days_end
        assert segment["interval"] == 900
    gaps = [s for s in segments if s["format"] == ["gap"]]
    gap_seconds = sum(
        (_instant(s["segment_end"]) - _instant(s["segment_start"])).total_seconds() for s in gaps
    )
    assert timedelta(seconds=gap_seconds) == (month_end - month_start) - (days_end - days_start)


def test_materialization_metadata_counts_segments(month) -> None:
    lake, document, result = month
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == CDS_KEY]
    materialization = event.step_materialization_data.materialization
    assert materialization.partition == MONTH
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    segments = document["usagesegments"]
    assert metadata["segments"] == len(segments)
    assert metadata["gap_segments"] == sum(1 for s in segments if s["format"] == ["gap"])
    assert metadata["estimate_segments"] == 0
    assert metadata["path"] == str(cds_export_path(lake, "ERCOT", MONTH))
    assert list(ledger_dir(lake, "ERCOT").glob("*.json")), "issued versions not in the ledger"


def test_rematerializing_the_month_keeps_segment_ids(month) -> None:
    lake, document, _ = month
    defs = build_definitions(data_root=str(lake.root))
    assert _materialize_month(defs, dg.DagsterInstance.ephemeral()).success
    again = json.loads(cds_export_path(lake, "ERCOT", MONTH).read_text())
    ids = [s["cds_usagesegment_id"] for s in document["usagesegments"]]
    assert [s["cds_usagesegment_id"] for s in again["usagesegments"]] == ids
    created = [s["cds_created"] for s in document["usagesegments"]]
    assert [s["cds_created"] for s in again["usagesegments"]] == created
