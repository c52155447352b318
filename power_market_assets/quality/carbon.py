"""Checks of a carbon-intensity frame (transforms/carbon.py) and of a CDS export's coverage.

- the mix shares of an interval sum to 1 (within `SHARE_TOLERANCE`);
- the intensity is physically possible: 0 to the highest factor of its basis (an average of
  factors cannot exceed the largest of them);
- no interval is silently missing: every expected interval has a value or a recorded gap;
- a CDS export's segments tile the range: no overlap, no hole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from power_market_assets.registry.emission_factors import highest_factor
from power_market_assets.registry.kinds import STANDARD_FUELS

SHARE_TOLERANCE = 1e-6
BASES = ("direct", "lifecycle")


@dataclass(frozen=True)
class CarbonCheck:
    intervals: int
    shares_off: int  # intervals whose shares do not sum to 1
    out_of_bounds: int  # intervals with an intensity outside 0..highest factor
    unrecorded_gaps: int  # expected intervals with neither a value nor a recorded gap

    @property
    def passed(self) -> bool:
        return not (self.shares_off or self.out_of_bounds or self.unrecorded_gaps)

    def metadata(self) -> dict[str, int | bool]:
        return {
            "intervals": self.intervals,
            "shares_off": self.shares_off,
            "out_of_bounds": self.out_of_bounds,
            "unrecorded_gaps": self.unrecorded_gaps,
            "passed": self.passed,
        }


def _shares_off(intensity: pl.DataFrame, tolerance: float) -> int:
    total = pl.sum_horizontal(f"share_{c}" for c in STANDARD_FUELS)
    any_share = pl.any_horizontal(pl.col(f"share_{c}").is_not_null() for c in STANDARD_FUELS)
    off = any_share & ((total - 1.0).abs() > tolerance)
    return int(intensity.select(off.sum()).item())


def _out_of_bounds(intensity: pl.DataFrame, iso: str) -> int:
    bad = pl.any_horizontal(
        ~pl.col(f"gco2_per_kwh_{b}").is_between(0.0, highest_factor(iso, b) + 1e-9) for b in BASES
    )
    return int(intensity.select(bad.fill_null(False).sum()).item())


def _unrecorded(
    intensity: pl.DataFrame, expected: pl.DataFrame | None, gaps: pl.DataFrame | None
) -> int:
    if expected is None:
        return 0
    known = [intensity.select("interval_start_utc")]
    if gaps is not None:
        known.append(gaps.select("interval_start_utc"))
    covered = pl.concat(known).unique()
    return (
        expected.select("interval_start_utc")
        .join(covered, on="interval_start_utc", how="anti")
        .height
    )


def carbon_checks(
    intensity: pl.DataFrame,
    iso: str,
    expected: pl.DataFrame | None = None,
    gaps: pl.DataFrame | None = None,
    tolerance: float = SHARE_TOLERANCE,
) -> CarbonCheck:
    """Check an intensity frame. `expected`: the interval grid of the range (column
    interval_start_utc); `gaps`: the intervals recorded as gaps (same column)."""
    return CarbonCheck(
        intervals=intensity.height,
        shares_off=_shares_off(intensity, tolerance),
        out_of_bounds=_out_of_bounds(intensity, iso),
        unrecorded_gaps=_unrecorded(intensity, expected, gaps),
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def coverage_problems(segments: list[dict], start: datetime, end: datetime) -> list[str]:
    """What keeps CDS segments from tiling [start, end) exactly: holes, overlaps, spill-over,
    and value counts that do not match a segment's length (empty list: none)."""
    problems: list[str] = []
    ordered = sorted(segments, key=lambda s: s["segment_start"])
    cursor = start
    for segment in ordered:
        first, last = _instant(segment["segment_start"]), _instant(segment["segment_end"])
        if first > cursor:
            problems.append(f"hole {cursor.isoformat()}..{first.isoformat()}")
        elif first < cursor:
            problems.append(f"overlap at {first.isoformat()} ({segment['cds_usagesegment_id']})")
        count = (last - first).total_seconds() / segment["interval"]
        if count != len(segment["values"]):
            problems.append(f"{segment['cds_usagesegment_id']}: {len(segment['values'])} values")
        cursor = max(cursor, last)
    if cursor < end:
        problems.append(f"hole {cursor.isoformat()}..{end.isoformat()}")
    elif cursor > end:
        problems.append(f"segments run past {end.isoformat()}")
    return problems
