"""The per-ISO contracts (issue 11), run by every ISO: the one ISO list, and for each ISO its
stand-in (StandIn), source (IsoSource) and reader (IsoFormat) working together on one day of
day-ahead prices. Adding an ISO is adding it to the four tables; this suite then runs it."""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from power_market_assets.formats import FORMATS, IDENTIFY_BYTES
from power_market_assets.formats.contract import IsoFormat, conforms, contract_names
from power_market_assets.io.resources import RESOURCES
from power_market_assets.registry import DATASETS_BY_ISO, get_spec
from power_market_assets.registry.schema import ISOS
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.contract import IsoSource
from power_market_assets.sources.landing import land_operating_day
from power_market_standins.contract import StandIn
from power_market_standins.servers import SERVERS, environment

DAY = date(2024, 11, 3)  # the fall-back day: 25 hours everywhere


@dataclass(frozen=True)
class Sample:
    """One ISO's day of day-ahead prices as its stand-in served it and its source landed it."""

    spec: DatasetSpec
    fetched: int  # documents the source fetched for the day
    rows: list[dict]  # manifest rows of the landed stage-1 files

    @property
    def paths(self) -> list[Path]:
        return [Path(row["csv_path"]) for row in self.rows]


def _fetch_and_land(iso: str, work: Path) -> Sample:
    """Fetch DAY from the ISO's stand-in through its resource and land it as stage 1."""
    spec = get_spec(iso, "da_prices")
    server = SERVERS[iso].standin_server([DAY], n_locations=3, seed=0)
    with server, environment(SERVERS[iso].standin_environment(server)):
        # Resolved as a run resolves it (credentials are dg.EnvVar until then).
        source = RESOURCES[iso].from_env(server.base_url).process_config_and_initialize()
        fetched = source.fetch(spec, [DAY], work / "downloads").get(DAY, [])
        rows = land_operating_day(DAY, fetched, work / "csv") if fetched else []
    return Sample(spec, len(fetched), rows)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Sample]:
    """Every ISO's sample, fetched once for the module (the other-ISO refusal needs them all)."""
    return {iso: _fetch_and_land(iso, tmp_path_factory.mktemp(iso.lower())) for iso in ISOS}


def test_every_iso_table_follows_the_one_iso_list() -> None:
    tables = {"FORMATS": FORMATS, "RESOURCES": RESOURCES, "SERVERS": SERVERS}
    tables["DATASETS_BY_ISO"] = DATASETS_BY_ISO
    for name, table in tables.items():
        assert tuple(table) == ISOS, name


@pytest.mark.parametrize("iso", ISOS)
def test_every_iso_fulfils_each_contract(iso: str) -> None:
    for implementation, protocol in (
        (FORMATS[iso], IsoFormat),
        (RESOURCES[iso].source, IsoSource),
        (SERVERS[iso], StandIn),
    ):
        assert conforms(implementation, protocol) is implementation


def test_a_missing_function_fails_naming_it() -> None:
    half_done = types.ModuleType("power_market_assets.formats.newiso")
    half_done.read_files = lambda paths, spec: pl.DataFrame()
    with pytest.raises(ImportError, match="newiso does not fulfil IsoFormat: missing identify"):
        conforms(half_done, IsoFormat)
    assert contract_names(IsoFormat) == ("read_files", "identify", "expected_rows")


@pytest.mark.slow
@pytest.mark.parametrize("iso", ISOS)
class TestIsoContract:
    """The suite every ISO runs (gridstatus's base-test-class idea, as a parametrized class)."""

    def test_source_fetches_a_day_from_its_standin(self, iso: str, samples) -> None:
        sample = samples[iso]
        assert sample.fetched > 0 and sample.rows, f"{iso}: nothing fetched for {DAY}"

    def test_reader_returns_the_standard_schema(self, iso: str, samples) -> None:
        sample = samples[iso]
        frame = FORMATS[iso].read_files(sample.paths, sample.spec)
        assert dict(frame.schema) == sample.spec.schema
        assert frame.height > 0
        assert set(frame.get_column("operating_day").to_list()) == {DAY}

    def test_identify_recognizes_its_own_sample(self, iso: str, samples) -> None:
        for path in samples[iso].paths:
            head = path.read_bytes()[:IDENTIFY_BYTES]
            assert FORMATS[iso].identify(path.name, head) == samples[iso].spec, path.name

    def test_identify_refuses_other_isos_samples(self, iso: str, samples) -> None:
        for other in (o for o in ISOS if o != iso):
            for path in samples[other].paths:
                head = path.read_bytes()[:IDENTIFY_BYTES]
                assert FORMATS[iso].identify(path.name, head) is None, (other, path.name)

    def test_expected_rows_equals_the_parsed_rows(self, iso: str, samples) -> None:
        """Summed over the day's files, as the row_count check sums them (a CAISO component
        file adds columns, not rows, so files are read together)."""
        sample = samples[iso]
        expected = sum(
            FORMATS[iso].expected_rows(Path(row["csv_path"]), sample.spec, row["data_rows"])
            for row in sample.rows
        )
        assert expected == FORMATS[iso].read_files(sample.paths, sample.spec).height
