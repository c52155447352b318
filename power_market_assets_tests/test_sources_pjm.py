"""sources/pjm.py against the local stand-in Data Miner 2 (paging, key, faults; no internet)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

import polars as pl
import pytest

from power_market_assets.formats import pjm as fmt
from power_market_assets.io.pjm_resource import PjmSource, resource_from_env
from power_market_assets.registry import pjm
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.pjm import PjmDataMinerClient, day_range, fetch_days
from power_market_assets_tests.helpers import SleepRecorder
from power_market_standins.pjm import feed_items
from power_market_standins.pjm_server import MISSING_KEY_MESSAGE, PjmStandInServer, standin_server

DAY = date(2024, 11, 3)  # fall-back day
OTHER = date(2024, 11, 2)
UNPUBLISHED = date(2024, 11, 5)
KEY = "pjm-key-0123456789abcdef"
N = 4


@pytest.fixture(scope="module")
def server():
    srv = standin_server([OTHER, DAY], n_locations=N)
    srv.subscription_key = KEY
    with srv as running:
        yield running


@pytest.fixture()
def http():
    client = HttpClient(timeout=(2.0, 0.5), max_retries=3, base_delay=0.01, sleep=SleepRecorder())
    yield client
    client.close()


def _client(server, http, **kwargs) -> PjmDataMinerClient:
    server.clear_faults()
    kwargs.setdefault("subscription_key", KEY)
    return PjmDataMinerClient(server.base_url, http=http, **kwargs)


def test_day_range_styles() -> None:
    assert day_range(DAY, "gs") == "11/03/2024 00:00to11/03/2024 23:59"
    assert day_range(DAY, "portal") == "2024-11-03 00:00 to 2024-11-03 23:59"


@pytest.mark.parametrize("style", ["gs", "portal"])
def test_pages_until_all_rows_saved_as_received(server, http, tmp_path, style) -> None:
    client = _client(server, http, row_count=40, range_style=style)
    before = server.request_count("/api/v1/da_hrl_lmps")
    pages = client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    rows = 25 * N
    assert len(pages) == -(-rows // 40) == server.request_count("/api/v1/da_hrl_lmps") - before
    for page in pages:
        payload = json.loads(page.path.read_bytes())
        assert set(payload) == {"links", "items", "searchSpecification", "totalRows"}
        assert payload["totalRows"] == rows
        assert page.url and "da_hrl_lmps" in page.url and KEY not in page.url
        assert page.downloaded_at_utc.tzinfo is not None
    frame = fmt.read_files([p.path for p in pages], pjm.DA_PRICES)
    assert frame.height == rows
    assert frame.group_by("location").len()["len"].to_list() == [25] * N


def test_every_dataset_fetches_both_days(server, http, tmp_path) -> None:
    client = _client(server, http)
    for spec in (s for s in pjm.PJM_DATASETS if not s.table_kind.vintage_column):
        got = fetch_days(spec, [OTHER, DAY, UNPUBLISHED], tmp_path / spec.dataset, client=client)
        assert sorted(got) == [OTHER, DAY]  # the unpublished day is absent, not an error
        frame = fmt.read_files([p.path for p in got[DAY]], spec)
        assert frame["interval_start_utc"].n_unique() == 25 * 60 // spec.interval_minutes


def test_realtime_day_not_over_yet_is_absent(server, http, tmp_path) -> None:
    during = datetime(2024, 11, 3, 20, tzinfo=UTC)  # 15:00 EST on the day itself
    client = _client(server, http, clock=lambda: during)
    assert client.fetch_day(pjm.RT_PRICES, DAY, tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # its pages were not left behind
    assert client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)  # day-ahead is complete already


@pytest.mark.parametrize(
    "fault", ["http_503", "http_500", "reset", "truncated", "html_error_page_200", "empty_200"]
)
def test_transient_faults_then_success(server, http, tmp_path, fault) -> None:
    client = _client(server, http)
    server.inject("/api/v1/rt_hrl_lmps", fault, times=2)
    pages = client.fetch_day(pjm.RT_PRICES_HOURLY, DAY, tmp_path)
    assert fmt.read_files([p.path for p in pages], pjm.RT_PRICES_HOURLY).height == 25 * N
    assert len(http._sleep.calls) == 2


@pytest.mark.parametrize("fault", ["http_429", "pjm_rate_limit"])
def test_429_honours_retry_after(server, http, tmp_path, fault) -> None:
    client = _client(server, http)
    server.inject("/api/v1/da_hrl_lmps", fault, times=1, retry_after=0.25)
    assert client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    assert http._sleep.calls == [0.25]


def test_min_request_interval_is_configurable(server, tmp_path) -> None:
    sleeps = SleepRecorder()
    http = HttpClient(timeout=(2.0, 2.0), min_interval=10.0, sleep=sleeps)
    _client(server, http, row_count=60).fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    assert len(sleeps.calls) == 1 and 9.0 < sleeps.calls[0] <= 10.0  # second page waited


def test_pjm_400_error_reply_fails_without_retries(server, http, tmp_path) -> None:
    client = _client(server, http)
    server.inject("/api/v1/da_hrl_lmps", "pjm_400", times=5)
    with pytest.raises(SourceError) as err:
        client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    assert err.value.status == 400 and "rejected the query" in str(err.value)
    assert http._sleep.calls == []
    assert list(tmp_path.glob("*.json")) == []


def test_too_many_rows_per_request_is_refused_by_the_standin(server) -> None:
    import requests

    server.clear_faults()
    url = f"{server.base_url}/api/v1/da_hrl_lmps?startRow=1&rowCount=50001"
    reply = requests.get(url, headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=5)
    assert reply.status_code == 400 and {"errors", "code", "message"} <= set(reply.json())
    assert PjmDataMinerClient(subscription_key=KEY).row_count == 50_000  # client clamps


def test_missing_or_wrong_key_gives_401_and_never_leaks(server, http, tmp_path, caplog) -> None:
    import requests

    server.clear_faults()
    reply = requests.get(f"{server.base_url}/api/v1/da_hrl_lmps?rowCount=5", timeout=5)
    assert reply.status_code == 401 and reply.json()["message"] == MISSING_KEY_MESSAGE
    wrong = "wrong-key-ABCDEF123456"
    client = _client(server, http, subscription_key=wrong)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as err:
        client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    assert err.value.status == 401 and "PJM_API_KEY" in str(err.value)
    assert wrong not in str(err.value) and wrong not in repr(client) and wrong not in caplog.text
    # The key travels in a header only: never in the URLs the server saw.
    assert not any(KEY in path or wrong in path for _, path in server.requests)


def test_retries_exhausted_message_is_scrubbed(server, http, tmp_path) -> None:
    client = _client(server, http)
    server.inject("/api/v1/da_hrl_lmps", "http_503", times=10)
    with pytest.raises(SourceError) as err:
        client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    assert "after 4 attempts" in str(err.value) and KEY not in str(err.value)


def test_short_reply_is_an_error(tmp_path, http) -> None:
    items = feed_items(pjm.DA_PRICES, [DAY], 2)

    class Lying(PjmStandInServer):
        def _query(self, feed, items, query):  # drop the last row of every reply
            response = super()._query(feed, items, query)
            payload = json.loads(response.body)
            payload["items"] = payload["items"][:-1]
            response.body = json.dumps(payload).encode()
            return response

    with Lying({"da_hrl_lmps": items}, subscription_key=KEY) as srv:
        client = PjmDataMinerClient(srv.base_url, subscription_key=KEY, http=http)
        with pytest.raises(SourceError, match="totalRows"):
            client.fetch_day(pjm.DA_PRICES, DAY, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_resource_reads_env(monkeypatch, server, tmp_path) -> None:
    monkeypatch.setenv("PMA_PJM_URL", server.base_url)
    monkeypatch.setenv("PMA_PJM_MIN_INTERVAL", "0")
    monkeypatch.delenv("PJM_API_KEY", raising=False)
    assert resource_from_env().api_key is None
    monkeypatch.setenv("PJM_API_KEY", KEY)
    resource = resource_from_env()
    assert resource.base_url == server.base_url and resource.min_request_interval_seconds == 0
    assert resource_from_env("http://elsewhere").base_url == "http://elsewhere"
    direct = PjmSource(base_url=server.base_url, api_key=KEY, min_request_interval_seconds=0)
    got = direct.fetch(pjm.AS_PRICES, [DAY, UNPUBLISHED], tmp_path)
    assert list(got) == [DAY]
    frame = fmt.read_files([p.path for p in got[DAY]], pjm.AS_PRICES)
    assert frame.filter(pl.col("operating_day") == DAY).height == 25 * len(pjm.AS_PRODUCTS)
