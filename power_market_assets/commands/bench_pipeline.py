"""The `pipeline` and `pipeline+checks` phases of `power-market bench`: the code the csv and
raw_parquet assets run, minus Dagster (each day landed and parsed on the day workers,
optionally checked, its manifest and raw_parquet files written there and renamed at the
end). Run by commands/bench.py in a process of its own."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from power_market_assets.commands.bench_measure import PhaseInput, Timing, timed
from power_market_assets.formats.ercot_fundamentals import publish_time_utc
from power_market_assets.io.lake import Lake, StagedPartitions, commit_staged
from power_market_assets.io.staged_days import DayStager, StagedDay
from power_market_assets.io.stages import land_and_parse_days
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.ercot import operating_day_for
from power_market_assets.sources.landing import LandedSource


def zips_by_day(zips: list[Path], spec: DatasetSpec) -> dict[date, list[Path]]:
    """Operating day -> its zips, from each ConstructedName: the friendly part, or for
    reports partitioned by publication day, the publish time the name carries."""
    by_day: dict[date, list[Path]] = defaultdict(list)
    zone = ZoneInfo(spec.timezone)
    for path in zips:
        stem = path.name.split(".")[-2].removesuffix("_csv")
        published = publish_time_utc(path.name, spec.timezone)
        local = published.astimezone(zone) if published else datetime.now(zone)
        day = operating_day_for(spec, stem, local)
        by_day[day].append(path)
    return by_day


def run_pipeline(given: PhaseInput) -> tuple[int, Timing]:
    """Land and parse (and check) every day and write each day's files, as the csv and
    raw_parquet assets do (DayStager on the day workers, then the renames)."""
    spec, lake = given.spec, Lake.at(given.data_root)
    sources = {
        day: [LandedSource(path=p, original_name=p.name) for p in paths]
        for day, paths in zips_by_day(given.zips, spec).items()
    }
    with timed() as timing:
        days = list(land_and_parse_days(lake, spec, sources, given.checks, DayStager(lake, spec)))
        _raise_on_failed(days)
        rows = sum(day.summary.rows for day in days)
        commit_staged(StagedPartitions({day.key: day.raw_file for day in days}, rows))
        commit_staged(StagedPartitions({day.key: day.manifest_file for day in days}, len(days)))
    return rows, timing


def _raise_on_failed(days: list[StagedDay]) -> None:
    for day in days:
        failed = {name: o for name, o in day.outcomes.items() if not o.passed}
        if day.error or failed:
            raise RuntimeError(f"{day.key}: {day.error or f'checks failed: {failed}'}")


PHASES = {"pipeline": run_pipeline}
