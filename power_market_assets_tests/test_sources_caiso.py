"""sources/caiso.py against the stand-in OASIS server: windows, faults, error reports, landing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from power_market_assets.formats import caiso as fmt
from power_market_assets.io.caiso_resource import CaisoSource, resource_from_env
from power_market_assets.registry import caiso
from power_market_assets.sources.caiso import (
    DEFAULT_PAUSE_SECONDS,
    OasisClient,
    OasisError,
    fetch_days,
    plan_windows,
)
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.landing import land_operating_day
from power_market_assets_tests.helpers import SleepRecorder
from power_market_standins.caiso_server import standin_server

FALL_BACK = date(2024, 11, 3)
DAYS = [date(2024, 11, 2), FALL_BACK]
HUB = "TH_NP15_GEN-APND"


@pytest.fixture(scope="module")
def server():
    with standin_server(DAYS, n_locations=4) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clean(server):
    server.clear_faults()
    yield
    server.clear_faults()


def _client(base_url: str, sleep=None, nodes=(), retries: int = 3, **kw) -> OasisClient:
    http = HttpClient(
        max_retries=retries, base_delay=0.01, timeout=(2.0, 2.0), sleep=sleep or (lambda s: None)
    )
    return OasisClient(base_url, http, nodes=nodes, **kw)


def _landed_frame(tmp_path: Path, spec, day: date, sources):
    rows = land_operating_day(day, sources, tmp_path / "lake" / day.isoformat())
    paths = [Path(r["csv_path"]) for r in rows]
    frame = fmt.read_files(paths, spec)
    assert sum(
        fmt.expected_rows(p, spec, r["data_rows"]) for p, r in zip(paths, rows, strict=True)
    ) == (frame.height)
    return frame


# -- windows -------------------------------------------------------------------------------


def test_windows_follow_oasis_limits() -> None:
    da = plan_windows(caiso.DA_PRICES, DAYS, all_nodes=True)
    assert [(w.oasis_time(w.start_utc), w.oasis_time(w.end_utc)) for w in da] == [
        ("20241102T07:00-0000", "20241103T07:00-0000"),
        ("20241103T07:00-0000", "20241104T08:00-0000"),  # the 25-hour day
    ]
    rt = plan_windows(caiso.RT_PRICES, [FALL_BACK, date(2024, 3, 10)], all_nodes=True)
    assert len(rt) == 25 + 23 and {w.kind for w in rt} == {"hour"}
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(65)]
    long = plan_windows(caiso.DA_PRICES, days, all_nodes=False, max_window_days=30)
    assert [len(w.days) for w in long] == [30, 30, 5]
    gap = plan_windows(caiso.AS_PRICES, [date(2024, 1, 1), date(2024, 1, 3)], all_nodes=False)
    assert [w.days for w in gap] == [(date(2024, 1, 1),), (date(2024, 1, 3),)]


# -- every dataset, both node selectors ------------------------------------------------------


@pytest.mark.parametrize(
    "spec", [caiso.DA_PRICES, caiso.RT_PRICES, caiso.AS_PRICES], ids=lambda s: s.dataset
)
def test_fetch_all_nodes_lands_whole_days(tmp_path: Path, server, spec) -> None:
    got = fetch_days(spec, [FALL_BACK], tmp_path / "dl", _client(server.base_url))
    assert list(got) == [FALL_BACK]
    frame = _landed_frame(tmp_path, spec, FALL_BACK, got[FALL_BACK])
    per_interval = 60 // spec.interval_minutes
    assert frame.get_column("interval_start_utc").n_unique() == 25 * per_interval
    assert all(s.url and "SingleZip" in s.url for s in got[FALL_BACK])


def test_fetch_node_list_splits_a_multi_day_window(tmp_path: Path, server) -> None:
    spec = caiso.RT_PRICES_15MIN
    client = _client(server.base_url, nodes=(HUB,))
    before = server.request_count("PRC_RTPD_LMP")
    got = fetch_days(spec, DAYS + [date(2024, 11, 4)], tmp_path / "dl", client)
    assert list(got) == DAYS  # 11-04 is not published: absent, not an error
    assert server.request_count("PRC_RTPD_LMP") == before + 1  # one window for the three days
    for day in DAYS:
        frame = _landed_frame(tmp_path, spec, day, got[day])
        assert frame.get_column("location").unique().to_list() == [HUB]
        assert frame.get_column("operating_day").unique().to_list() == [day]


# -- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "times"),
    [
        ("http_503", 2),
        ("reset", 1),
        ("truncated", 1),
        ("corrupt_zip", 1),
        ("caiso_try_again", 2),
        ("caiso_throttle_html", 1),
    ],
)
def test_transient_faults_are_retried(tmp_path: Path, server, fault: str, times: int) -> None:
    sleep = SleepRecorder()
    server.inject("PRC_LMP", fault, times=times)
    got = fetch_days(caiso.DA_PRICES, [FALL_BACK], tmp_path, _client(server.base_url, sleep))
    assert list(got) == [FALL_BACK]
    assert len(sleep.calls) == times  # one backoff per failed attempt


def test_429_waits_for_retry_after(tmp_path: Path, server) -> None:
    sleep = SleepRecorder()
    server.inject("PRC_AS", "http_429", times=1, retry_after=7)
    got = fetch_days(caiso.AS_PRICES, [FALL_BACK], tmp_path, _client(server.base_url, sleep))
    assert list(got) == [FALL_BACK]
    assert sleep.calls == [7.0]


def test_try_again_forever_fails_with_the_code(tmp_path: Path, server) -> None:
    server.inject("PRC_LMP", "caiso_try_again", times=10)
    with pytest.raises(SourceError, match="1015"):
        fetch_days(caiso.DA_PRICES, [FALL_BACK], tmp_path, _client(server.base_url, retries=2))


def test_no_data_reply_means_day_absent(tmp_path: Path, server) -> None:
    server.inject("PRC_LMP", "caiso_no_data", times=1)
    got = fetch_days(caiso.DA_PRICES, DAYS, tmp_path, _client(server.base_url))
    assert list(got) == [FALL_BACK]  # the first day's window answered 1000


def test_partly_published_day_is_absent(tmp_path: Path, server) -> None:
    """RT hourly windows: one hour without data leaves the whole day out."""
    server.inject("startdatetime=20241103T07", "caiso_no_data", times=1)
    before = server.request_count("PRC_RTPD_LMP")
    got = fetch_days(caiso.RT_PRICES_15MIN, [FALL_BACK], tmp_path, _client(server.base_url))
    assert got == {}
    assert server.request_count("PRC_RTPD_LMP") == before + 1  # the rest of the day is skipped


def test_window_too_long_is_a_clear_error(tmp_path: Path, server) -> None:
    server.inject("PRC_AS", "caiso_window_too_long", times=1)
    with pytest.raises(OasisError, match="1004.*31 days") as err:
        fetch_days(caiso.AS_PRICES, [FALL_BACK], tmp_path, _client(server.base_url))
    assert err.value.code == 1004
    # A client configured beyond the limit gets the server's own 1004.
    days = [date(2024, 10, 1) + timedelta(days=i) for i in range(40)]
    client = _client(server.base_url, max_window_days=40)
    with pytest.raises(OasisError, match="1004"):
        fetch_days(caiso.AS_PRICES, days, tmp_path, client)


def test_credentials_in_the_url_never_reach_errors(tmp_path: Path, server) -> None:
    password = "proxy-Pa55word!"
    base = server.base_url.replace("http://", f"http://user:{password}@")
    server.inject("PRC_LMP", "http_503", times=10)
    with pytest.raises(SourceError) as err:
        fetch_days(caiso.DA_PRICES, [FALL_BACK], tmp_path, _client(base, retries=1))
    assert password not in str(err.value) and password not in err.value.url
    assert password not in repr(_client(base))


def test_pause_between_requests(tmp_path: Path, server) -> None:
    sleep = SleepRecorder()
    http = HttpClient(min_interval=0.5, sleep=sleep, base_delay=0)
    fetch_days(caiso.DA_PRICES, DAYS, tmp_path, OasisClient(server.base_url, http))
    assert len(sleep.calls) == 1 and 0 < sleep.calls[0] <= 0.5
    assert CaisoSource().min_request_interval_seconds == DEFAULT_PAUSE_SECONDS


def test_resource_from_env(monkeypatch, server, tmp_path: Path) -> None:
    monkeypatch.setenv("PMA_CAISO_URL", server.base_url)
    monkeypatch.setenv("PMA_CAISO_PAUSE_SECONDS", "0")
    monkeypatch.setenv("PMA_CAISO_NODES", HUB)
    resource = resource_from_env()
    assert resource.base_url == server.base_url and resource.nodes == HUB
    assert resource_from_env("http://elsewhere").base_url == "http://elsewhere"
    got = resource.fetch(caiso.DA_PRICES, [FALL_BACK], tmp_path)
    assert list(got) == [FALL_BACK]
