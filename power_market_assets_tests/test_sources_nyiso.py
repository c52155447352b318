"""sources/nyiso.py against the local stand-in mis.nyiso.com: daily vs monthly rule, 404 as
"not published", NYISO's and generic faults, no secrets in errors (no internet)."""

from __future__ import annotations

import logging
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from power_market_assets.io.nyiso_resource import NyisoSource, resource_from_env
from power_market_assets.registry import nyiso
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.nyiso import NyisoMisClient, fetch_days, plan_days
from power_market_assets_tests.helpers import SleepRecorder
from power_market_standins.nyiso import SampleOptions, generate_files
from power_market_standins.nyiso_server import NyisoStandInServer, standin_server

NOV = [date(2024, 11, 1) + timedelta(days=i) for i in range(3)]  # with the fall-back day
FEB = [date(2024, 2, 1) + timedelta(days=i) for i in range(29)]  # a whole (leap) month
TINY = SampleOptions(n_locations=2)


@pytest.fixture(scope="module")
def files():
    nov = [f for spec in nyiso.NYISO_DATASETS for f in generate_files(spec, NOV, TINY)]
    feb = generate_files(nyiso.DA_PRICES, FEB, TINY) + generate_files(nyiso.AS_PRICES, FEB, TINY)
    return nov + feb


@pytest.fixture(scope="module")
def running(files):
    with NyisoStandInServer(files) as server:
        yield server


@pytest.fixture()
def server(running):
    running.clear_faults()
    running.daily_available_from = None
    with running._lock:
        running.requests.clear()
    return running


@pytest.fixture()
def http():
    sleeps = SleepRecorder()
    client = HttpClient(timeout=(2.0, 0.5), max_retries=3, base_delay=0.01, sleep=sleeps)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture()
def client(server, http):
    return NyisoMisClient(server.base_url, http)


def _by_name(files) -> dict[str, bytes]:
    return {f.name: f.data for f in files}


def _paths(server) -> list[str]:
    return [path for _, path in server.requests]


# -- the daily / monthly rule ----------------------------------------------------------------


def test_plan_days_rule() -> None:
    plan = plan_days([*FEB, date(2024, 3, 5), date(2024, 3, 4)])
    assert plan.monthly == {date(2024, 2, 1): FEB}
    assert plan.daily == [date(2024, 3, 4), date(2024, 3, 5)]
    assert plan_days(FEB[:-1]).monthly == {}  # 28 of February 2024's 29 days: daily files
    assert plan_days(FEB[:-1]).daily == FEB[:-1]


def test_some_days_come_from_daily_csvs(client, server, files, tmp_path: Path) -> None:
    got = client.fetch_days(nyiso.DA_PRICES, NOV, tmp_path)
    assert sorted(got) == NOV
    expected = _by_name(files)
    for day, sources in got.items():
        assert [s.original_name for s in sources] == [
            f"{day:%Y%m%d}damlbmp_zone.csv",
            f"{day:%Y%m%d}damlbmp_gen.csv",
        ]
        for source in sources:
            assert source.path.read_bytes() == expected[source.original_name]
            assert source.url.endswith(f"/public/csv/damlbmp/{source.original_name}")
            assert source.downloaded_at_utc.tzinfo is not None and source.publish_time is None
    assert not any(p.endswith(".zip") for p in _paths(server))
    assert len(_paths(server)) == 6


def test_a_whole_month_comes_from_its_zip(client, server, files, tmp_path: Path) -> None:
    got = client.fetch_days(nyiso.DA_PRICES, FEB, tmp_path)
    assert sorted(got) == FEB
    assert sorted(_paths(server)) == [
        "/public/csv/damlbmp/20240201damlbmp_gen_csv.zip",
        "/public/csv/damlbmp/20240201damlbmp_zone_csv.zip",
    ]
    source = got[date(2024, 2, 29)][0]
    assert source.path.read_bytes() == _by_name(files)["20240229damlbmp_zone.csv"]
    assert source.url.endswith("20240201damlbmp_zone_csv.zip#20240229damlbmp_zone.csv")
    assert not (tmp_path / ".monthly").exists()  # the zips are not kept


def test_old_daily_files_fall_back_to_the_zip(client, server, tmp_path: Path) -> None:
    server.daily_available_from = date(2024, 2, 20)  # older daily URLs answer 404
    days = [date(2024, 2, 3), date(2024, 2, 4), date(2024, 2, 25)]
    got = client.fetch_days(nyiso.AS_PRICES, days, tmp_path)
    assert sorted(got) == days
    paths = _paths(server)
    assert paths.count("/public/csv/damasp/20240201damasp_csv.zip") == 1  # once per month
    assert "/public/csv/damasp/20240225damasp.csv" in paths
    assert got[date(2024, 2, 3)][0].url.endswith("_csv.zip#20240203damasp.csv")


def test_unpublished_day_is_absent_not_an_error(client, server, tmp_path: Path) -> None:
    tomorrow = NOV[-1] + timedelta(days=1)
    got = client.fetch_days(nyiso.RT_PRICES, [NOV[-1], tomorrow], tmp_path)
    assert sorted(got) == [NOV[-1]]
    assert "/public/csv/realtime/20241101realtime_zone_csv.zip" in _paths(server)
    # A month with nothing published at all: daily 404, zip 404, still no error.
    assert client.fetch_days(nyiso.RT_PRICES, [date(2030, 1, 2)], tmp_path) == {}


def test_real_time_day_under_way_is_absent(server, http, tmp_path: Path) -> None:
    """Today's realtime file also carries advisory intervals for the hours ahead: a real-time
    day is only fetched once it is over (day-ahead days any time they are published)."""
    day = NOV[-1]
    noon = datetime(day.year, day.month, day.day, 17, tzinfo=UTC)  # 12:00 in New York
    during = NyisoMisClient(server.base_url, http, clock=lambda: noon)
    assert during.fetch_days(nyiso.RT_PRICES, [day], tmp_path) == {}
    assert sorted(during.fetch_days(nyiso.DA_PRICES, [day], tmp_path)) == [day]
    after = NyisoMisClient(server.base_url, http, clock=lambda: noon + timedelta(hours=12))
    assert sorted(after.fetch_days(nyiso.RT_PRICES, [day], tmp_path)) == [day]


def test_zip_lagging_the_daily_files(client, server, tmp_path: Path) -> None:
    server.inject("20240201damasp_csv.zip", "zip_missing_last_day")
    got = client.fetch_days(nyiso.AS_PRICES, FEB, tmp_path)
    assert sorted(got) == FEB
    assert "/public/csv/damasp/20240229damasp.csv" in _paths(server)
    assert got[date(2024, 2, 29)][0].url.endswith("/public/csv/damasp/20240229damasp.csv")


def test_half_published_day_is_left_out(files, http, tmp_path: Path, caplog) -> None:
    day = NOV[0]
    partial = [f for f in files if not (f.operating_day == day and f.stem == "damlbmp_gen")]
    with NyisoStandInServer(partial) as server:
        client = NyisoMisClient(server.base_url, http)
        with caplog.at_level(logging.WARNING):
            got = client.fetch_days(nyiso.DA_PRICES, NOV[:2], tmp_path)
    assert sorted(got) == [NOV[1]]
    assert "missing damlbmp_gen" in caplog.text


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    ["http_503", "http_500", "reset", "truncated", "maintenance_page", "html_error_page_200",
     "empty_200"],
)  # fmt: skip
def test_daily_download_retried_then_succeeds(client, server, files, fault, tmp_path) -> None:
    server.inject("20241102damasp.csv", fault, times=2)
    got = client.fetch_days(nyiso.AS_PRICES, [NOV[1]], tmp_path)
    assert got[NOV[1]][0].path.read_bytes() == _by_name(files)["20241102damasp.csv"]
    assert server.request_count("20241102damasp.csv") == 3
    assert [p.name for p in tmp_path.iterdir()] == ["20241102damasp.csv"]  # no temp files


@pytest.mark.parametrize("fault", ["corrupt_zip", "truncated", "maintenance_page"])
def test_monthly_zip_retried_then_succeeds(client, server, fault, tmp_path) -> None:
    server.inject("20240201damasp_csv.zip", fault)
    got = client.fetch_days(nyiso.AS_PRICES, FEB, tmp_path)
    assert sorted(got) == FEB
    assert server.request_count("20240201damasp_csv.zip") == 2


def test_retry_after_is_honoured(client, server, http, tmp_path) -> None:
    server.inject("20241102damasp.csv", "http_429", retry_after=7)
    assert NOV[1] in client.fetch_days(nyiso.AS_PRICES, [NOV[1]], tmp_path)
    assert http.sleeps.calls == [7.0]


def test_404_is_not_retried(client, server, tmp_path) -> None:
    server.inject("20241102damasp.csv", "not_found")
    got = client.fetch_days(nyiso.AS_PRICES, [NOV[1]], tmp_path)
    assert server.request_count("20241102damasp.csv") == 1
    assert got[NOV[1]][0].url.endswith("_csv.zip#20241102damasp.csv")  # from the zip


def test_retries_exhausted_fail_loudly(client, server, http, tmp_path) -> None:
    server.inject("20241102damasp.csv", "http_503", times=10)
    with pytest.raises(SourceError, match="failed after 4 attempts: HTTP 503") as err:
        client.fetch_days(nyiso.AS_PRICES, [NOV[1]], tmp_path)
    assert err.value.status == 503 and "20241102damasp.csv" in str(err.value)
    assert len(http.sleeps.calls) == 3
    assert list(tmp_path.iterdir()) == []


def test_credentials_never_in_errors(server, http, tmp_path, caplog) -> None:
    secret = "pr0xy-Pa55word"
    host = server.base_url.removeprefix("http://")
    client = NyisoMisClient(f"http://analyst:{secret}@{host}", http)
    server.inject("20241102damasp.csv", "http_502", times=10)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as err:
        fetch_days(nyiso.AS_PRICES, [NOV[1]], tmp_path, client=client)
    assert secret not in str(err.value) and secret not in err.value.url
    assert secret not in caplog.text and secret not in repr(client)
    assert "***@" in str(err.value)


# -- the stand-in itself and the resource -----------------------------------------------------


def test_standin_holds_every_dataset_in_real_urls(tmp_path: Path) -> None:
    server = standin_server([NOV[2]], n_locations=2)
    names = {f.url_path for f in server.files()}
    assert "/public/csv/damlbmp/20241103damlbmp_zone.csv" in names
    assert "/public/csv/realtime/20241103realtime_gen.csv" in names
    assert "/public/csv/damasp/20241103damasp.csv" in names
    assert "/public/csv/rtasp/20241103rtasp.csv" in names
    with server:
        got = NyisoSource(base_url=server.base_url).fetch(nyiso.RT_AS_PRICES, [NOV[2]], tmp_path)
        zip_path = tmp_path / "z.zip"
        client = NyisoMisClient(server.base_url)
        client.http.download(client.monthly_url("rtasp", "rtasp", NOV[0]), zip_path)
    assert list(got) == [NOV[2]]
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.namelist() == ["20241103rtasp.csv"]


def test_resource_from_env(monkeypatch) -> None:
    monkeypatch.delenv("PMA_NYISO_URL", raising=False)
    assert resource_from_env().base_url == "https://mis.nyiso.com"
    monkeypatch.setenv("PMA_NYISO_URL", "http://127.0.0.1:9")
    assert resource_from_env().base_url == "http://127.0.0.1:9"
    assert resource_from_env("http://x").base_url == "http://x"
