"""The "adding a dataset" checklist (docs/ARCHITECTURE.md), enforced for every spec.

A spec added to registry/<iso>.py without the rest of its checklist fails here, with a message
naming the spec and the missing piece: a reader layout its ISO's reader knows, an `identify`
that recognizes the stand-in's file, the raw checks the asset factory builds, a stand-in that
serves it, and a partition start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from power_market_assets.assets.factory import build_dataset_assets, raw_checks_for
from power_market_assets.assets.partitions import daily_for
from power_market_assets.formats import FORMATS, IDENTIFY_BYTES, identify_file
from power_market_assets.io.resources import RESOURCES
from power_market_assets.quality import checks as quality
from power_market_assets.registry import ALL_DATASETS, DATASETS_BY_ISO
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.landing import land_operating_day
from power_market_standins.servers import environment, standin_environment, standin_server
from power_market_standins.standin import StandInServer

pytestmark = pytest.mark.slow  # a stand-in per ISO, one day of every dataset fetched from it

# Fall-back days (25 hours) the stand-ins serve; a spec is fetched on the first it covers.
DAYS = (date(2024, 11, 3), date(2025, 11, 2))


def _name(spec: DatasetSpec) -> str:
    return f"{spec.iso} {spec.dataset}"


def _day_for(spec: DatasetSpec) -> date:
    day = next((d for d in DAYS if d >= spec.first_available), None)
    assert day, f"{_name(spec)}: first available {spec.first_available}, after every day {DAYS}"
    return day


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, StandInServer]]:
    """One running stand-in per ISO holding the DAYS of each of its datasets."""
    with ExitStack() as stack:
        running = {}
        for iso in DATASETS_BY_ISO:
            running[iso] = stack.enter_context(standin_server(iso, list(DAYS), n_locations=2))
        yield running


def _fetched_files(spec: DatasetSpec, server: StandInServer, folder: Path) -> list[Path]:
    """The day's files of `spec` fetched from its stand-in through the ISO's resource and
    landed as stage 1 does."""
    day = _day_for(spec)
    with environment(standin_environment(spec.iso, server)):
        resource = RESOURCES[spec.iso].from_env(server.base_url)
        with dg.build_resources({"source": resource}) as built:  # resolves the dg.EnvVar
            fetched = built.source.fetch(spec, [day], folder / "download")
    assert fetched.get(day), f"{_name(spec)}: the {spec.iso} stand-in serves no file for {day}"
    rows = land_operating_day(day, fetched[day], folder / "csv")
    return [Path(row["csv_path"]) for row in rows]


@pytest.mark.parametrize("spec", ALL_DATASETS, ids=_name)
def test_spec_has_a_reader_layout(spec: DatasetSpec) -> None:
    layouts = getattr(FORMATS[spec.iso], "LAYOUTS", None)
    module = f"formats/{spec.iso.lower()}.py"
    assert layouts is not None, f"{_name(spec)}: {module} declares no LAYOUTS"
    assert spec.file_layout in layouts, (
        f"{_name(spec)}: file_layout {spec.file_layout!r} is not in the LAYOUTS of {module} "
        f"({sorted(layouts)})"
    )


@pytest.mark.parametrize("spec", ALL_DATASETS, ids=_name)
def test_spec_gets_the_raw_checks(spec: DatasetSpec) -> None:
    raw_key = dg.AssetKey(spec.asset_key_path("raw_parquet"))
    raw = next(a for a in build_dataset_assets(spec) if raw_key in a.keys)
    built = {check.name for check in raw.check_specs}
    wanted = {check.name for check in raw_checks_for(spec)}
    assert built == wanted, f"{_name(spec)}: raw checks missing: {sorted(wanted - built)}"
    missing = [n for n in sorted(wanted) if not callable(getattr(quality, f"check_{n}", None))]
    assert not missing, f"{_name(spec)}: no check function in quality/checks.py for {missing}"


@pytest.mark.parametrize("spec", ALL_DATASETS, ids=_name)
def test_spec_has_a_partition_start(spec: DatasetSpec) -> None:
    assert isinstance(spec.partition_start, date), f"{_name(spec)}: no partition start"
    start = daily_for(spec).start.date()
    assert start == spec.partition_start, (
        f"{_name(spec)}: daily partitions start {start}, the spec says {spec.partition_start}"
    )


@pytest.mark.parametrize("spec", ALL_DATASETS, ids=_name)
def test_stand_in_serves_files_its_reader_identifies(
    spec: DatasetSpec, servers: dict[str, StandInServer], tmp_path: Path
) -> None:
    files = _fetched_files(spec, servers[spec.iso], tmp_path)
    for path in files:
        with path.open("rb") as handle:
            found = identify_file(path.name, handle.read(IDENTIFY_BYTES))
        assert found is spec, (
            f"{_name(spec)}: identify does not recognize its stand-in file {path.name} "
            f"(got {_name(found) if found else None})"
        )
