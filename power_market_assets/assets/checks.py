"""Turn the plain check outcomes from quality/ into Dagster asset check results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from power_market_assets.quality import checks as quality
from power_market_assets.quality.checks import CheckOutcome
from power_market_assets.registry.kinds import PRICE_UNIT
from power_market_assets.registry.spec import DatasetSpec


@dataclass(frozen=True)
class CheckDef:
    """A check run inside an asset: blocking ones stop the partition and its downstream."""

    name: str
    description: str
    blocking: bool


# Stage 2's checks of every kind, in the order they are declared and reported (row_count
# reconciles the table with the stage-1 files; the others are quality.frame_check_names).
# Schema, duplicates and row_count guard the data (blocking); the rest warn.
SHARED_RAW_CHECKS = (
    CheckDef("schema", "Pandera schema of the standard long table (types, nulls, values).", True),
    CheckDef("duplicates", "No two rows share the table kind's key.", True),
    CheckDef("row_count", "Parsed rows equal the data lines of the stage-1 CSV files.", True),
    CheckDef("gaps", "Every expected DST-aware interval is present per series.", False),
)
BLOCKING_RAW_CHECKS = frozenset(c.name for c in SHARED_RAW_CHECKS if c.blocking)


def _gaps_description(spec: DatasetSpec) -> str:
    series = "/".join(spec.table_kind.series_columns)
    if spec.table_kind.vintage_column:
        return (
            f"Each series ({series}) runs from its first interval to its last without a missing "
            f"{spec.interval_minutes}-minute interval (DST-aware, UTC arithmetic)."
        )
    text = f"Every expected DST-aware interval of the operating day is present per {series}."
    if spec.intraday_snapshots:
        text += " A day published in pieces that stops early is incomplete, not a gap."
    return text


def _range_description(spec: DatasetSpec) -> str:
    if spec.unit == PRICE_UNIT:
        return "Prices within the ISO's floor and cap for the era."
    if quality.CATEGORY_COLUMN in spec.table_kind.dtypes:
        return (
            f"Values ({spec.unit}) within their fuel category's bounds (category_bounds; "
            "storage and imports may be negative, other categories never)."
        )
    return f"Values ({spec.unit}) within the dataset's bounds (never negative without any)."


def raw_checks_for(spec: DatasetSpec) -> tuple[CheckDef, ...]:
    """The stage-2 checks of a dataset, from its kind and spec: the shared ones, the range
    check named for the kind's unit (price_range or value_range) and fuel_total where the kind
    carries the ISO's total. The factory's check specs, the results it yields and everything
    that lists a dataset's check names use this one function."""
    frame_checks = quality.frame_check_names(spec)
    shared = {c.name: c for c in SHARED_RAW_CHECKS}
    shared["duplicates"] = CheckDef(
        "duplicates", f"No two rows share ({', '.join(spec.unique_key)}).", True
    )
    shared["gaps"] = CheckDef("gaps", _gaps_description(spec), False)
    extra = {
        quality.range_rule(spec).name: CheckDef(
            quality.range_rule(spec).name, _range_description(spec), False
        ),
        "fuel_total": CheckDef(
            "fuel_total",
            f"Fuels sum to within {quality.FUEL_TOTAL_TOLERANCE:.0%} of the ISO's total where it "
            "publishes one; every fuel has a standard category.",
            False,
        ),
    }
    declared = {**shared, **extra}
    names = [c.name for c in SHARED_RAW_CHECKS] + [n for n in frame_checks if n not in shared]
    return tuple(declared[name] for name in names)


def check_specs(asset_key: dg.AssetKey, checks: Sequence[CheckDef]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(c.name, asset=asset_key, description=c.description, blocking=c.blocking)
        for c in checks
    ]


def to_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey, check: CheckDef
) -> dg.AssetCheckResult:
    metadata: dict = dict(outcome.metadata)
    metadata["summary"] = outcome.summary
    if outcome.sample_markdown:
        metadata["offending_rows"] = dg.MetadataValue.md(outcome.sample_markdown)
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=outcome.summary,
    )
