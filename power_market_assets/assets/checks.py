"""Turn the plain check outcomes from quality/ into Dagster asset check results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from power_market_assets.quality.checks import CheckOutcome


@dataclass(frozen=True)
class CheckDef:
    """A check run inside an asset: blocking ones stop the partition and its downstream."""

    name: str
    description: str
    blocking: bool


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
