"""CDS usage segments: coverage without overlap or hole, gap reasons, estimates, stable ids,
re-issue with a later cds_modified, and the JSON schema."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from power_market_assets.quality.carbon import coverage_problems
from power_market_assets.registry import get_spec
from power_market_assets.transforms.carbon import category_mix, intensity_from_mix
from power_market_assets.transforms.cds import (
    DAY_STATE_SCHEMA,
    interval_status,
    reissue,
    segment_id,
    segment_intervals,
    usage_segments,
)
from power_market_assets.transforms.time import day_bounds_utc, expected_interval_frame
from power_market_assets_tests.kind_frames import fuel_long

SPEC = get_spec("ERCOT", "fuel_mix")
DAYS = [date(2024, 11, 1), date(2024, 11, 2), date(2024, 11, 3), date(2024, 11, 4)]
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "cds_usage_segment.schema.json").read_text()
)
T0 = datetime(2024, 11, 5, 12, tzinfo=UTC)
T1 = datetime(2024, 11, 6, 12, tzinfo=UTC)


def states(days=DAYS, modified=T0, common: dict | None = None, **overrides) -> pl.DataFrame:
    row = {
        "state": "present",
        "detail": None,
        "modified_at_utc": modified,
        "intraday": False,
        "preliminary": False,
        "pending": False,
        "withdrawn": False,
    } | (common or {})
    rows = [{"operating_day": d, **row, **overrides.get(d.isoformat(), {})} for d in days]
    return pl.DataFrame(rows, schema=DAY_STATE_SCHEMA)


def export(fuel_mix: pl.DataFrame, day_states: pl.DataFrame, spec=SPEC, days=DAYS) -> list[dict]:
    grid = expected_interval_frame(days, spec.timezone, spec.interval_minutes).with_columns(
        interval_end_utc=pl.col("interval_start_utc").dt.offset_by(f"{spec.interval_minutes}m")
    )
    mix = category_mix(fuel_mix, spec.iso)
    intensity = intensity_from_mix(mix)
    segments = segment_intervals(interval_status(grid, intensity, day_states), spec.iso)
    return usage_segments(segments, mix, intensity, spec.interval_minutes)


def document(segments: list[dict], history: list[dict] | None = None) -> dict:
    meta = {
        "iso": "ERCOT",
        "dataset": "fuel_mix",
        "start": "2024-11-01",
        "end": "2024-11-04",
        "exported_at": "2024-11-06T12:00:00Z",
        "factors_version": "x",
        "treatment": "x",
        "family": "supply_mix",
    }
    out = {"metadata": meta, "usagesegments": segments}
    return out | ({"history": history} if history is not None else {})


def assert_valid(doc: dict) -> None:
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [e.message for e in validator.iter_errors(doc)]
    assert not errors, errors[:3]


RANGE = (day_bounds_utc(DAYS[0], SPEC.timezone)[0], day_bounds_utc(DAYS[-1], SPEC.timezone)[1])
WITHHELD = (datetime(2024, 11, 2, 15, tzinfo=UTC), datetime(2024, 11, 2, 16, tzinfo=UTC))


def withhold(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(~pl.col("interval_start_utc").is_between(*WITHHELD, closed="left"))


def test_every_interval_covered_including_the_25_hour_day_and_schema_valid():
    segments = export(fuel_long(SPEC, DAYS), states())
    assert coverage_problems(segments, *RANGE) == []
    assert sum(len(s["values"]) for s in segments) == 96 + 96 + 100 + 96
    assert all(
        s["format"] == ["supply_mix", "gco2_per_kwh", "gco2_per_kwh_lifecycle"] for s in segments
    )
    first = segments[0]["values"][0]
    assert sum(entry["mix"] for entry in first[0]) == pytest.approx(1.0, abs=1e-5)
    assert first[2]["v"] > first[1]["v"] > 0  # lifecycle above direct
    assert_valid(document(segments))


def test_withheld_hour_is_a_gap_segment_with_its_reason_at_exact_edges():
    segments = export(withhold(fuel_long(SPEC, DAYS)), states())
    assert coverage_problems(segments, *RANGE) == []
    gaps = [s for s in segments if s["format"] == ["gap"]]
    assert len(gaps) == 1
    gap = gaps[0]
    assert (gap["segment_start"], gap["segment_end"]) == (
        "2024-11-02T15:00:00Z",
        "2024-11-02T16:00:00Z",
    )
    assert gap["values"] == [[{"reason_type": "source_outage"}]] * 4
    assert gap["cds_usagesegment_id"] == segment_id("ERCOT", *WITHHELD)
    ends = {s["segment_end"] for s in segments}
    starts = {s["segment_start"] for s in segments}
    assert gap["segment_start"] in ends and gap["segment_end"] in starts
    assert_valid(document(segments))


def test_arrived_hour_reissues_the_same_id_with_a_later_modified_and_history():
    before = reissue(export(withhold(fuel_long(SPEC, DAYS)), states()), [], T0)
    gap = next(s for s in before.segments if s["format"] == ["gap"])
    after = reissue(export(fuel_long(SPEC, DAYS), states(modified=T1)), before.new_versions, T1)
    same = next(s for s in after.segments if s["cds_usagesegment_id"] == gap["cds_usagesegment_id"])
    assert same["format"][0] == "supply_mix" and len(same["values"]) == 4
    assert same["cds_created"] == gap["cds_created"]
    assert same["cds_modified"] > gap["cds_modified"]
    assert after.history == [gap]
    assert [s["cds_usagesegment_id"] for s in after.new_versions] == [gap["cds_usagesegment_id"]]
    assert_valid(document(after.segments, after.history))


def test_unchanged_segments_keep_their_times():
    first = reissue(export(fuel_long(SPEC, DAYS), states()), [], T0)
    again = reissue(export(fuel_long(SPEC, DAYS), states(modified=T1)), first.new_versions, T1)
    assert again.segments == first.segments and again.new_versions == [] and again.history == []


def test_intraday_snapshot_is_an_estimate_then_final_under_the_same_id():
    spec = replace(SPEC, intraday_snapshots=True)
    day = [date(2024, 11, 3)]
    cut = datetime(2024, 11, 3, 18, tzinfo=UTC)
    partial = fuel_long(spec, day).filter(pl.col("interval_start_utc") < cut)
    snapshot = export(partial, states(day, common={"intraday": True}), spec, day)
    tail = [s for s in snapshot if s["format"] == ["gap"]]
    assert tail and all(
        v == [{"reason_type": "not_yet_published"}] for s in tail for v in s["values"]
    )
    data = [s for s in snapshot if s["format"] != ["gap"]]
    assert all(s["format"][0] == "supply_mix_estimate" for s in data)
    issued = reissue(snapshot, [], T0)
    final = reissue(
        export(fuel_long(spec, day), states(day, T1, {"intraday": True}), spec, day),
        issued.new_versions,
        T1,
    )
    estimate = data[0]
    now = next(
        s for s in final.segments if s["cds_usagesegment_id"] == estimate["cds_usagesegment_id"]
    )
    assert now["format"][0] == "supply_mix" and now["cds_modified"] > estimate["cds_modified"]
    assert_valid(document(final.segments, final.history))


def test_failed_and_missing_days_are_gaps_with_their_reasons():
    present = fuel_long(SPEC, DAYS[:2])
    marked = states(
        **{
            "2024-11-03": {"state": "failed", "detail": "row_count"},
            "2024-11-04": {"state": "missing"},
        }
    )
    segments = export(present, marked)
    assert coverage_problems(segments, *RANGE) == []
    reasons = {
        s["segment_start"][:10]: s["values"][0][0]["reason_type"]
        for s in segments
        if s["format"] == ["gap"]
    }
    assert "failed_check" in reasons.values() and "not_collected" in reasons.values()
    assert len([s for s in segments if s["format"] == ["gap"]]) == 25 + 24  # one per UTC hour


def test_ids_are_stable_per_range():
    start, end = WITHHELD
    assert segment_id("ERCOT", start, end) == segment_id("ercot", start, end)
    assert segment_id("ERCOT", start, end) != segment_id("PJM", start, end)
