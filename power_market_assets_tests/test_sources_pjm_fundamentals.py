"""PJM fundamentals through the stand-in Data Miner: stand-in -> resource -> reader for one day,
every feed of a dataset fetched with its own date filter (no internet)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import polars as pl
import pytest

from power_market_assets.formats import pjm as fmt
from power_market_assets.io.pjm_resource import resource_from_env
from power_market_assets.registry import pjm
from power_market_assets.registry.kinds import ACTUAL_MODEL
from power_market_assets.sources.http import HttpClient
from power_market_assets.sources.landing import land_operating_day
from power_market_assets.sources.pjm import PjmDataMinerClient
from power_market_standins.pjm_fundamentals import wind_gen_items
from power_market_standins.pjm_server import standin_server
from power_market_standins.servers import environment, standin_environment

DAY = date(2024, 11, 3)  # the fall-back day
UNPUBLISHED = date(2024, 11, 6)
FUNDAMENTALS = [s for s in pjm.PJM_DATASETS if s.source.feeds]


@pytest.fixture(scope="module")
def server():
    with standin_server([date(2024, 11, 2), DAY]) as running:
        yield running


def _client(server, **kwargs) -> PjmDataMinerClient:
    http = HttpClient(timeout=(2.0, 5.0), max_retries=1, base_delay=0.01, min_interval=0)
    return PjmDataMinerClient(
        server.base_url, subscription_key=server.subscription_key, http=http, **kwargs
    )


@pytest.mark.parametrize("spec", FUNDAMENTALS, ids=lambda s: s.dataset)
def test_standin_to_resource_to_reader(spec, server, tmp_path: Path) -> None:
    with environment(standin_environment("PJM", server)):
        resource = resource_from_env(server.base_url)
        with dg.build_resources({"source": resource}) as built:  # resolves the key's EnvVar
            fetched = built.source.fetch(spec, [DAY, UNPUBLISHED], tmp_path / "download")
    assert list(fetched) == [DAY]  # nothing published for the later day: absent
    feeds = [feed.feed for feed in spec.source.feeds]
    assert [page.original_name.rsplit("_", 2)[0] for page in fetched[DAY]] == feeds
    rows = land_operating_day(DAY, fetched[DAY], tmp_path / "csv")
    paths = [Path(row["csv_path"]) for row in rows]
    for path in paths:
        assert fmt.identify(path.name, path.read_bytes()[:65536]) is spec, path.name
    frame = fmt.read_files(paths, spec)
    assert dict(frame.schema) == spec.schema
    assert frame.height == sum(fmt.expected_rows(p, spec, 0) for p in paths)
    assert (frame["operating_day"] == DAY).all()


def test_each_feed_is_asked_for_its_own_day(server, tmp_path: Path) -> None:
    """The actuals filter on the interval's EPT label, the forecast on its vintage's."""
    client = _client(server)
    before = len(server.requests)
    pages = client.fetch_day(pjm.SOLAR, DAY, tmp_path)
    queries = [parse_qs(urlsplit(path).query) for _, path in server.requests[before:]]
    assert [q["datetime_beginning_ept" if i == 0 else "evaluated_at_ept"] for i, q in
            enumerate(queries)] == [["11/03/2024 00:00to11/03/2024 23:59"]] * 2  # fmt: skip
    frame = fmt.read_files([p.path for p in pages], pjm.SOLAR)
    forecast = frame.filter(pl.col("model") != ACTUAL_MODEL)
    local_days = forecast["published_at_utc"].dt.convert_time_zone(pjm.TIMEZONE).dt.date()
    assert (local_days == DAY).all()
    assert forecast["published_at_utc"].n_unique() == 25  # hourly vintages, 25-hour day


def test_forecast_day_is_fetched_while_realtime_waits(server, tmp_path: Path) -> None:
    during = datetime(2024, 11, 3, 20, tzinfo=UTC)  # 15:00 EST on the day itself
    client = _client(server, clock=lambda: during)
    assert client.fetch_day(pjm.LOAD, DAY, tmp_path) == []  # metered load: not over yet
    assert client.fetch_day(pjm.WIND, DAY, tmp_path) == []
    assert not list(tmp_path.iterdir())  # no page left behind
    assert client.fetch_day(pjm.LOAD_FORECAST, DAY, tmp_path)  # vintages so far


def test_a_day_without_actuals_is_not_published(server, tmp_path: Path) -> None:
    server.remove_day("wind_gen", DAY)
    try:
        assert _client(server).fetch_day(pjm.WIND, DAY, tmp_path) == []
    finally:
        server.add_items("wind_gen", wind_gen_items([DAY]))
    assert _client(server).fetch_day(pjm.WIND, DAY, tmp_path)
