"""sources/isone.py against the stand-in ISO-NE server: cookie + Referer for reports, basic
auth for the web services, retries, ISO-NE's own error replies, unpublished days, secrets."""

from __future__ import annotations

import logging
from datetime import date

import pytest
import requests

from power_market_assets.registry import isone as registry
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.isone import (
    IsoneReportsClient,
    IsoneWebServicesClient,
    fetch_days,
)
from power_market_standins.isone_server import standin_server

DAY, MISSING = date(2024, 11, 3), date(2024, 11, 5)
USER, PASSWORD = "analyst@example.com", "isone-Pass-w0rd"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def server():
    with standin_server([DAY, date(2024, 11, 4)], n_locations=10) as running:
        yield running


@pytest.fixture()
def http(server):
    server.clear_faults()
    client = HttpClient(timeout=(2.0, 0.5), max_retries=3, base_delay=0.01, sleep=Sleeps())
    yield client
    client.close()


@pytest.fixture()
def reports(server, http):
    return IsoneReportsClient(server.base_url, http)


@pytest.fixture()
def ws(server, http):
    return IsoneWebServicesClient(
        server.webservices_url, username=USER, password=PASSWORD, http=http
    )


def test_reports_need_cookie_and_referer(server) -> None:
    url = server.base_url + registry.report_paths(registry.DA_PRICES, DAY)[0]
    assert requests.get(url, timeout=5).status_code == 403
    session = requests.Session()
    page = server.base_url + registry.TREE_PATH + "/lmps-da-hourly"
    session.get(page, timeout=5)
    assert session.get(url, timeout=5).status_code == 403  # cookie but no Referer
    reply = session.get(url, headers={"Referer": page}, timeout=5)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "text/csv"


def test_reports_day_lands_every_file(tmp_path, server, reports) -> None:
    before = server.request_count("/tree/")
    got = fetch_days(registry.RT_PRICES, [DAY, MISSING], tmp_path, reports=reports)
    assert list(got) == [DAY]  # the unpublished day is absent, not an error
    names = [item.original_name for item in got[DAY]]
    assert names == [f"lmp_5min_20241103_{b}.csv" for b in registry.BLOCKS]
    assert all(item.path.exists() and item.url for item in got[DAY])
    assert all(item.downloaded_at_utc.tzinfo is not None for item in got[DAY])
    assert server.request_count("/tree/") == before + 1  # one page visit per session


@pytest.mark.parametrize(
    ("fault", "times"),
    [("http_503", 2), ("reset", 1), ("csv_as_html_200", 2), ("truncated", 1)],
)
def test_reports_transient_faults_are_retried(tmp_path, server, reports, fault, times) -> None:
    server.inject("WW_DALMP_ISO_20241103", fault, times=times)
    got = fetch_days(registry.DA_PRICES, [DAY], tmp_path, reports=reports)
    assert len(got[DAY]) == 1
    assert len(reports.http._sleep) == times


def test_429_waits_retry_after(tmp_path, server, reports) -> None:
    server.inject("lmp_rt_final_20241103", "http_429", retry_after=3)
    got = fetch_days(registry.RT_PRICES_HOURLY, [DAY], tmp_path, reports=reports)
    assert got[DAY] and reports.http._sleep == [3.0]


def test_expired_cookie_403_visits_the_page_again(tmp_path, server, reports) -> None:
    fetch_days(registry.DA_PRICES, [DAY], tmp_path / "a", reports=reports)
    server.expire_cookies()
    visits = server.request_count("/tree/")
    got = fetch_days(registry.DA_PRICES, [DAY], tmp_path / "b", reports=reports)
    assert got[DAY] and server.request_count("/tree/") == visits + 1
    server.inject("WW_DALMP_ISO", "forbidden_403", times=2)  # refused twice: give up
    with pytest.raises(SourceError) as info:
        fetch_days(registry.DA_PRICES, [DAY], tmp_path / "c", reports=reports)
    assert info.value.status == 403


def test_empty_report_means_not_published(tmp_path, server, reports) -> None:
    server.inject("lmp_5min_20241103_16-20", "empty_csv_200")
    assert fetch_days(registry.RT_PRICES, [DAY], tmp_path, reports=reports) == {}
    assert not list((tmp_path / DAY.isoformat()).glob("*.csv"))  # no half day left behind


def test_persistent_503_fails_with_the_url(tmp_path, server, reports) -> None:
    server.inject("WW_DALMP_ISO_20241103", "http_503", times=10)
    with pytest.raises(SourceError, match="WW_DALMP_ISO_20241103.csv") as info:
        fetch_days(registry.DA_PRICES, [DAY], tmp_path, reports=reports)
    assert info.value.status == 503


@pytest.mark.parametrize("spec", registry.PRICE_DATASETS, ids=lambda s: s.dataset)
def test_webservices_every_dataset(tmp_path, server, ws, spec) -> None:
    got = fetch_days(spec, [DAY, MISSING], tmp_path, channel="webservices", webservices=ws)
    # A dataset that starts later (DASI reserve data, 2025-03-01) is not asked for 2024 days.
    assert list(got) == ([DAY] if spec.first_available <= DAY else [])
    assert all(item.path.suffix == ".json" for item in got.get(DAY, []))


def test_webservices_faults_and_secrets(tmp_path, server, ws, http, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server.inject("hourlylmp/da", "http_429", retry_after=1)
    server.inject("hourlylmp/da", "http_500")
    got = fetch_days(registry.DA_PRICES, [DAY], tmp_path, channel="webservices", webservices=ws)
    assert got[DAY] and http._sleep[0] == 1.0
    server.inject("hourlylmp/da", "http_502", times=10)
    with pytest.raises(SourceError) as failed:
        fetch_days(registry.DA_PRICES, [DAY], tmp_path, channel="webservices", webservices=ws)
    server.clear_faults()
    bad = IsoneWebServicesClient(
        server.webservices_url, username=USER, password="wrong-" + PASSWORD, http=http
    )
    with pytest.raises(SourceError) as refused:
        fetch_days(registry.DA_PRICES, [DAY], tmp_path, channel="webservices", webservices=bad)
    assert refused.value.status == 401
    for text in (str(failed.value), str(refused.value), caplog.text, repr(ws), repr(bad)):
        assert PASSWORD not in text and USER not in text


def test_unknown_channel() -> None:
    with pytest.raises(ValueError, match="channel"):
        fetch_days(registry.DA_PRICES, [DAY], "unused", channel="ftp")  # type: ignore[arg-type]
