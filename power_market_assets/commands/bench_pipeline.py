"""The `pipeline` and `pipeline+checks` phases of `power-market bench`: the code the csv and
raw_parquet assets run, minus Dagster (each day landed while the day before is parsed,
optionally checked, one Parquet file a day). Run by commands/bench.py in a process of its own."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from power_market_assets.commands.bench_measure import PhaseInput, Timing, phase_main, timed
from power_market_assets.formats.ercot_fundamentals import publish_time_utc
from power_market_assets.io.lake import Lake, stage_lake_path, write_parquet_files
from power_market_assets.io.stages import ParsedDay, land_and_parse_days
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
    """Land and parse (and check) every day, write each day's raw_parquet file."""
    spec, lake = given.spec, Lake.at(given.data_root)
    sources = {
        day: [LandedSource(path=p, original_name=p.name) for p in paths]
        for day, paths in zips_by_day(given.zips, spec).items()
    }
    raw_path = stage_lake_path(spec, "raw_parquet")

    def write_day(_: object, parsed: ParsedDay) -> int:
        """On the worker thread, as the assets do: the day's raw_parquet file; its rows."""
        if parsed.error is not None:
            raise parsed.error
        failed = {name: o for name, o in parsed.outcomes.items() if not o.passed}
        if failed:
            raise RuntimeError(f"{parsed.day}: checks failed: {failed}")
        write_parquet_files({lake.partition_file(raw_path, str(parsed.day)): parsed.frame})
        return parsed.frame.height

    with timed() as timing:
        rows = sum(land_and_parse_days(lake, spec, sources, given.checks, finish=write_day))
    return rows, timing


if __name__ == "__main__":
    phase_main({"pipeline": run_pipeline})
