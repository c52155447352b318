"""sources/: ERCOT MIS and public API clients, the HTTP session and day landing, against the
local stand-in server (no internet)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from power_market_assets.formats.archive import ArchiveError
from power_market_assets.registry.ercot import DA_PRICES, RT_LMP, RT_PRICES
from power_market_assets.sources.ercot import (
    ErcotMisClient,
    ErcotPublicApiClient,
    fetch_day_archives,
    operating_day_for,
)
from power_market_assets.sources.http import HttpClient, SourceError, redact_url
from power_market_assets.sources.landing import (
    LandedSource,
    land_operating_day,
    read_metadata,
)
from power_market_assets_tests.helpers import SleepRecorder
from power_market_standins.ercot import generate_documents
from power_market_standins.ercot_server import MISSING_KEY_MESSAGE, ErcotStandInServer

DAY = date(2024, 11, 3)  # fall-back day: 100 RT documents
RT_DAYS = [date(2024, 11, 2), DAY]
PASSWORD = "s3cret-Pass-word!"
KEY = "subkey-0123456789abcdef"
USER = "analyst@example.com"


@pytest.fixture(scope="module")
def docs():
    rt = generate_documents(RT_PRICES, RT_DAYS, n_nodes=6)
    dam = generate_documents(DA_PRICES, [DAY, date(2024, 11, 4)], n_nodes=6)
    return {"rt": rt, "dam": dam}


@pytest.fixture(scope="module")
def server(docs):
    with ErcotStandInServer(
        docs["rt"] + docs["dam"], api_password=PASSWORD, subscription_key=KEY, api_username=USER
    ) as srv:
        yield srv


@pytest.fixture()
def http():
    sleeps = SleepRecorder()
    client = HttpClient(timeout=(2.0, 0.4), max_retries=4, base_delay=0.01, sleep=sleeps)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture()
def mis(server, http):
    server.clear_faults()
    return ErcotMisClient(server.base_url, http)


@pytest.fixture()
def api(server, http):
    server.clear_faults()
    return ErcotPublicApiClient(
        server.api_base_url,
        server.token_url,
        username=USER,
        password=PASSWORD,
        subscription_key=KEY,
        http=http,
        page_size=40,
        bulk_chunk_size=30,
    )


# -- listing ---------------------------------------------------------------------------------


def test_real_doclists_operating_day_rules(server, mis, real_ercot_dir: Path) -> None:
    server.set_raw_listing("12301", (real_ercot_dir / "doclist-rtm.json").read_bytes())
    server.set_raw_listing("12331", (real_ercot_dir / "doclist-dam.json").read_bytes())
    try:
        rt = mis.list_documents(RT_PRICES)
        dam = mis.list_documents(DA_PRICES)
    finally:
        server.clear_raw_listing("12301")
        server.clear_raw_listing("12331")
    assert len(rt) == 726 and len(dam) == 32
    assert all(d.friendly_name.endswith("_csv") for d in rt + dam)
    newest = rt[0]
    assert newest.doc_id == "1237460075" and newest.content_size == 8423
    assert newest.publish_time == datetime.fromisoformat("2026-06-11T13:32:01-05:00")
    assert newest.operating_day == date(2026, 6, 11)
    zeros = [d for d in rt if d.friendly_name.endswith("_0000_csv")]
    assert len(zeros) == 8  # 0604 .. 0611
    for d in zeros:  # SPPHLZNP6905_20260611_0000_csv is hour 24 of 2026-06-10
        named = datetime.strptime(d.friendly_name[13:21], "%Y%m%d").date()
        assert d.operating_day == named - timedelta(days=1)
    full_days = {}
    for d in rt:
        full_days[d.operating_day] = full_days.get(d.operating_day, 0) + 1
    assert full_days[date(2026, 6, 5)] == 96
    assert dam[0].operating_day == date(2026, 6, 12)  # published 2026-06-11
    assert dam[0].doc_id == "1237449739" and dam[0].content_size == 172055
    assert all(d.operating_day > d.publish_time.date() for d in dam)


def test_operating_day_rule_variants() -> None:
    published = datetime.fromisoformat("2023-06-08T15:47:01-05:00")
    for name, expected in [
        ("SPPHLZNP6905_retry_20230608_1545_csv", date(2023, 6, 8)),
        ("SPPHLZNP6905_20230609_0000_csv", date(2023, 6, 8)),
        ("SPPHLZNP6905_xhr_20241103_0115_csv", date(2024, 11, 3)),
        ("SPPHLZNP6905_20241103_0115_xhr_csv", date(2024, 11, 3)),
        ("SPPHLZNP6905_20241103_0015", date(2024, 11, 3)),
    ]:
        assert operating_day_for(RT_PRICES, name, published) == expected, name
    assert operating_day_for(DA_PRICES, "DAMSPNP4190_csv", published) == date(2023, 6, 9)


def test_generated_listing_and_cache_buster(server, mis, docs) -> None:
    by_day = mis.documents_for_days(RT_PRICES, [DAY, date(2024, 11, 5)])
    assert list(by_day) == [DAY] and len(by_day[DAY]) == 100
    assert sum("xhr" in d.friendly_name for d in by_day[DAY]) == 4
    last = [p for m, p in server.requests if "IceDocListJsonWS" in p][-1]
    assert re.search(r"reportTypeId=12301&_\d{9,}$", last)
    dam = mis.documents_for_days(DA_PRICES, [DAY])
    assert [d.doc_id for d in dam[DAY]] == [docs["dam"][0].doc_id]


def test_listing_retried_after_html_page(server, mis) -> None:
    server.inject("IceDocListJsonWS", "html_error_page_200")
    server.inject("IceDocListJsonWS", "empty_200")
    assert len(mis.list_documents(DA_PRICES)) == 2


# -- downloads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["http_500", "http_503", "http_429", "reset", "timeout", "html_error_page_200",
              "empty_200", "truncated"],
)  # fmt: skip
def test_download_retries_then_succeeds(server, mis, docs, tmp_path, fault) -> None:
    doc = docs["dam"][0]
    (listed,) = mis.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject(f"doclookupId={doc.doc_id}", fault, times=2, delay=1.0)
    got = mis.download(listed, tmp_path)
    assert got.path.read_bytes() == doc.zip_bytes
    assert got.size_bytes == len(doc.zip_bytes)
    assert got.sha256 == hashlib.sha256(doc.zip_bytes).hexdigest()
    assert got.downloaded_at_utc.tzinfo is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == [doc.constructed_name]


def test_retry_after_is_honoured(server, mis, http, docs, tmp_path) -> None:
    (listed,) = mis.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", "http_429", retry_after=7)
    mis.download(listed, tmp_path)
    assert http.sleeps.calls == [7.0]


def test_truncated_download_fails_cleanly(server, mis, tmp_path) -> None:
    (listed,) = mis.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", "truncated", times=10)
    with pytest.raises(SourceError) as err:
        mis.download(listed, tmp_path)
    assert "truncated" in str(err.value)
    assert f"doclookupId={listed.doc_id}" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no partial or temp file


def test_not_found_is_not_retried(server, mis, tmp_path) -> None:
    (listed,) = mis.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", "not_found")
    before = server.request_count("mirDownload")
    with pytest.raises(SourceError) as err:
        mis.download(listed, tmp_path)
    assert err.value.status == 404 and "404" in str(err.value)
    assert server.request_count("mirDownload") == before + 1
    assert list(tmp_path.iterdir()) == []


def test_retries_exhausted_on_503(server, mis, http, tmp_path) -> None:
    (listed,) = mis.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", "http_503", times=20)
    with pytest.raises(SourceError, match="failed after 5 attempts: HTTP 503") as err:
        mis.download(listed, tmp_path)
    assert err.value.status == 503
    assert len(http.sleeps.calls) == 4 and all(0 < s <= 0.16 for s in http.sleeps.calls)


def test_corrupt_zip_is_caught_at_landing(server, mis, tmp_path) -> None:
    (listed,) = mis.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", "corrupt_zip")
    got = mis.download(listed, tmp_path / "dl")  # same size, starts with PK: accepted
    with pytest.raises(ArchiveError) as err:
        land_operating_day(DAY, [got], tmp_path / "csv" / DAY.isoformat())
    assert listed.constructed_name in str(err.value)
    assert not (tmp_path / "csv" / DAY.isoformat()).exists()
    assert list((tmp_path / "csv").iterdir()) == []  # staging removed


# -- public API ------------------------------------------------------------------------------


def test_api_requires_subscription_key(server) -> None:
    reply = requests.get(f"{server.api_base_url}/archive/np4-190-cd", timeout=5)
    assert reply.status_code == 401
    assert reply.json() == {"statusCode": 401, "message": MISSING_KEY_MESSAGE}


def test_api_archive_listing_paged_and_token_cached(server, api, docs) -> None:
    before = server.request_count("oauth2")
    listed = api.list_archive(RT_PRICES, DAY, DAY)
    assert len(listed) == 100
    assert {d.operating_day for d in listed} == {DAY}
    assert server.request_count("oauth2") == before + 1
    pages = [p for _, p in server.requests if "/archive/np6-905-cd?" in p and "page=" in p]
    assert any("page=2" in p for p in pages) and any("size=40" in p for p in pages)
    repeated = [d for d in listed if d.is_repeated_hour]
    assert len(repeated) == 4
    assert all(d.publish_time.utcoffset().total_seconds() == -6 * 3600 for d in repeated)
    api.list_archive(DA_PRICES, DAY, DAY)
    assert server.request_count("oauth2") == before + 1  # cached
    server.revoke_tokens()
    assert len(api.list_archive(DA_PRICES, DAY, DAY)) == 1  # 401 -> new token -> retry
    assert server.request_count("oauth2") == before + 2


def test_fetch_day_archives_mis_and_api_agree(server, mis, api, docs, tmp_path) -> None:
    via_mis = fetch_day_archives(
        RT_PRICES, [DAY, date(2030, 1, 1)], channel="mis", download_dir=tmp_path / "m", mis=mis
    )
    via_api = fetch_day_archives(
        RT_PRICES, [DAY, date(2030, 1, 1)], channel="api", download_dir=tmp_path / "a", api=api
    )
    assert list(via_mis) == list(via_api) == [DAY]  # the empty day is absent
    assert len(via_mis[DAY]) == len(via_api[DAY]) == 100
    assert [d.sha256 for d in via_mis[DAY]] == [d.sha256 for d in via_api[DAY]]
    bulk_posts = [p for m, p in server.requests if m == "POST" and p.endswith("/download")]
    assert len(bulk_posts) >= 4  # 100 ids in chunks of 30
    assert not (tmp_path / "a" / ".bulk").exists()
    one = via_api[DAY][0]
    assert one.path.exists() and one.document.download_href and "download=" in one.url


def test_api_single_download(server, api, docs, tmp_path) -> None:
    (listed,) = api.list_archive(DA_PRICES, DAY, DAY)
    server.inject("archive/np4-190-cd?download", "http_502")
    got = api.download_document(DA_PRICES, listed, tmp_path)
    assert got.path.read_bytes() == docs["dam"][0].zip_bytes


def test_secrets_never_leak(server, http, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bad = ErcotPublicApiClient(
        server.api_base_url,
        server.token_url,
        username=USER,
        password="wrong-" + PASSWORD,
        subscription_key=KEY,
        http=http,
    )
    with pytest.raises(SourceError) as err:
        bad.list_archive(DA_PRICES, DAY, DAY)
    good = ErcotPublicApiClient(
        server.api_base_url,
        server.token_url,
        username=USER,
        password=PASSWORD,
        subscription_key=KEY,
        http=http,
    )
    token = good.token()
    server.inject("archive/np4-190-cd", "http_503", times=10)
    with pytest.raises(SourceError) as err2:
        good.list_archive(DA_PRICES, DAY, DAY)
    server.clear_faults()
    texts = [str(err.value), repr(err.value), str(err2.value), repr(good), repr(bad), repr(http)]
    texts.append(caplog.text)
    for text in texts:
        for secret in (PASSWORD, KEY, token, USER):
            assert secret not in text
    assert "503" in str(err2.value) and "archive/np4-190-cd" in str(err2.value)
    assert http.scrub(f"url?token={token}&x=1") == "url?token=***&x=1"


def test_redact_url() -> None:
    url = "https://h/p?subscription-key=abc&api_key=k&reportTypeId=12331&password=pw&_=1"
    red = redact_url(url)
    assert "abc" not in red and "=k" not in red and "pw" not in red
    assert "reportTypeId=12331" in red
    assert redact_url("https://user:pw@h/x") == "https://***@h/x"


# -- landing ---------------------------------------------------------------------------------


def test_land_operating_day(server, mis, docs, tmp_path) -> None:
    fetched = fetch_day_archives(
        RT_PRICES, [DAY], channel="mis", download_dir=tmp_path / "dl", mis=mis
    )[DAY]
    day_dir = tmp_path / "csv" / "2024-11-03"
    day_dir.mkdir(parents=True)
    (day_dir / "stale.csv").write_text("old")
    rows = land_operating_day(DAY, fetched, day_dir)
    assert not (day_dir / "stale.csv").exists()
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["2024-11-03"]  # no temp
    assert len(rows) == 100
    by_name = {d.csv_name: d for d in docs["rt"]}
    for row in rows:
        doc = by_name[row["source_file"]]
        assert Path(row["csv_path"]).read_bytes() == doc.csv_bytes
        assert Path(row["csv_path"]).is_absolute()
        assert row["data_rows"] == doc.data_rows
        assert row["doc_id"] == doc.doc_id and row["operating_day"] == DAY
        assert row["archive_name"] == doc.constructed_name
        assert row["archive_bytes"] == len(doc.zip_bytes)
        assert row["publish_time_utc"] == doc.publish_time.astimezone(UTC)
        assert row["publish_time_utc"].tzinfo == UTC
        assert row["downloaded_at_utc"].utcoffset().total_seconds() == 0
        assert row["source_url"].endswith(f"doclookupId={doc.doc_id}")
    meta = read_metadata(day_dir)
    assert meta["operating_day"] == "2024-11-03" and len(meta["files"]) == 100
    entry = meta["files"][0]
    assert set(entry) >= {
        "original_name", "source_url", "doc_id", "publish_time", "downloaded_at_utc",
        "size_bytes", "sha256", "members",
    }  # fmt: skip
    (member,) = entry["members"]
    assert set(member) >= {"name", "bytes", "sha256", "data_rows"}
    assert member["data_rows"] == 6 + 7 + 2 * 12
    # Landing again replaces the folder as a whole.
    rows2 = land_operating_day(DAY, fetched[:3], day_dir)
    assert len(rows2) == 3 and len(list(day_dir.glob("*.csv"))) == 3
    json.loads((day_dir / "metadata.json").read_text())


def test_land_local_files(tmp_path, docs) -> None:
    doc = docs["dam"][0]
    zipped = tmp_path / "drop" / doc.constructed_name
    zipped.parent.mkdir()
    zipped.write_bytes(doc.zip_bytes)
    bare = tmp_path / "drop" / "extra.csv"
    bare.write_bytes(
        b"DeliveryDate,HourEnding,AncillaryType,MCPC,DSTFlag\n11/03/2024,01:00,RRS,1,N"
    )
    rows = land_operating_day(
        DAY, [zipped, LandedSource(path=bare, original_name="extra.csv")], tmp_path / "day"
    )
    assert [r["source_file"] for r in rows] == sorted([doc.csv_name, "extra.csv"])
    extra = next(r for r in rows if r["source_file"] == "extra.csv")
    assert extra["data_rows"] == 1 and extra["doc_id"] is None and extra["source_url"] is None
    assert extra["publish_time_utc"] is None and extra["downloaded_at_utc"].tzinfo is not None


# -- rt_lmp (SCED, NP6-788-CD) ---------------------------------------------------------------


def test_sced_operating_day_is_the_date_in_the_name() -> None:
    published = datetime.fromisoformat("2024-11-04T00:00:14-06:00")
    for name, expected in [
        ("LMPSROSNODENP6788_20241104_000012_csv", date(2024, 11, 4)),  # not the previous day
        ("LMPSROSNODENP6788_20241103_235512_csv", date(2024, 11, 3)),
        ("LMPSROSNODENP6788_xhr_20241103_010513_csv", date(2024, 11, 3)),
        ("LMPSROSNODENP6788_20241103_010513_xhr_csv", date(2024, 11, 3)),
    ]:
        assert operating_day_for(RT_LMP, name, published) == expected, name
    assert operating_day_for(RT_LMP, "LMPSROSNODENP6788_csv", published) is None


def test_sced_fall_back_day_via_mis_and_api(http, tmp_path) -> None:
    """Without an `xhr` marker (UNCONFIRMED whether ERCOT adds one to SCED names) the repeated
    hour's documents still get distinct names and the right operating day. Served: 00:00 to
    01:59 local twice (36 runs) and the first runs of the next day (not asked for)."""
    generated = generate_documents(RT_LMP, [DAY, date(2024, 11, 4)], n_nodes=1, xhr_style="none")
    sced = [d for d in generated if d.interval_end_local.hour < 2]
    assert len(sced) == 36 + 24
    with ErcotStandInServer(
        sced, api_password=PASSWORD, subscription_key=KEY, api_username=USER
    ) as srv:
        mis = ErcotMisClient(srv.base_url, http)
        api = ErcotPublicApiClient(
            srv.api_base_url,
            srv.token_url,
            username=USER,
            password=PASSWORD,
            subscription_key=KEY,
            http=http,
            page_size=500,
        )
        days = [DAY, date(2024, 11, 5)]
        via_mis = fetch_day_archives(RT_LMP, days, channel="mis", download_dir=tmp_path, mis=mis)
        via_api = fetch_day_archives(RT_LMP, days, channel="api", download_dir=tmp_path, api=api)
    assert list(via_mis) == list(via_api) == [DAY]
    assert len(via_mis[DAY]) == len(via_api[DAY]) == 36
    assert {d.sha256 for d in via_mis[DAY]} == {d.sha256 for d in via_api[DAY]}
    repeated = [d for d in via_mis[DAY] if d.publish_time.utcoffset() == timedelta(hours=-6)]
    assert len(repeated) == 12  # the CST pass of 01:xx
    rows = land_operating_day(DAY, via_mis[DAY], tmp_path / "day")
    assert len({r["source_file"] for r in rows}) == 36  # no member name collides
