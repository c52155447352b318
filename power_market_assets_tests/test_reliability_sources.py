"""Faults from the sources (issue 5), against the ERCOT stand-in server on 127.0.0.1.

test_sources_ercot.py already shows each fault being retried to success, Retry-After being
honoured, 404 not being retried and a corrupt zip being caught at landing. This file adds
what it does not: every fault exhausting its retries (a clear error, no partial file),
429 without Retry-After backing off, faults on the listing, the listed-then-404 document and
the not-yet-published day through a real run, hostile names from a listing, and secrets in
the logs of a failed run.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.io.lake import Lake
from power_market_assets.registry.ercot import DA_PRICES
from power_market_assets.sources.ercot import ErcotMisClient, fetch_day_archives
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets_tests.helpers import use_ercot_api
from power_market_standins.ercot import build_listing, generate_documents
from power_market_standins.ercot_server import ErcotStandInServer

DAY = date(2024, 11, 5)
LAKE_DA = "ercot/da_prices/raw_parquet"
# (fault, what the final error says) for faults that a retry can help with.
RETRYABLE = [
    ("http_500", "HTTP 500"),
    ("http_503", "HTTP 503"),
    ("http_429", "HTTP 429"),
    ("reset", "connection failed"),
    ("timeout", "timed out"),
    ("truncated", "truncated"),
    ("html_error_page_200", "not a zip"),
    ("empty_200", "empty body"),
]


class Sleeps(list):
    """Records the back-off delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def docs():
    return generate_documents(DA_PRICES, [DAY], n_nodes=3)


@pytest.fixture(scope="module")
def server(docs):
    with ErcotStandInServer(docs) as running:
        yield running


@pytest.fixture
def client(server):
    server.clear_faults()
    sleeps = Sleeps()
    http = HttpClient(timeout=(2.0, 0.3), max_retries=2, base_delay=0.01, sleep=sleeps)
    mis = ErcotMisClient(server.base_url, http)
    mis.sleeps = sleeps  # type: ignore[attr-defined]
    yield mis
    http.close()
    server.clear_faults()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize(("fault", "reason"), RETRYABLE)
def test_fault_exhausting_retries_is_reported_and_leaves_no_file(
    server, client, tmp_path, fault, reason
) -> None:
    (listed,) = client.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", fault, times=10, delay=0.6)
    with pytest.raises(SourceError) as err:
        client.download(listed, tmp_path / "dl")
    message = str(err.value)
    assert "failed after 3 attempts" in message and reason in message
    assert f"doclookupId={listed.doc_id}" in message
    assert len(client.sleeps) == 2  # backed off between the attempts
    assert _files(tmp_path / "dl") == []  # no partial or temp file in the downloads folder


def test_429_without_retry_after_backs_off_exponentially(server, client, tmp_path) -> None:
    (listed,) = client.documents_for_days(DA_PRICES, [DAY])[DAY]
    server.inject("mirDownload", "http_429", times=2)  # no Retry-After header
    client.download(listed, tmp_path)
    first, second = client.sleeps
    assert 0.005 <= first <= 0.01 and 0.01 <= second <= 0.02  # base * 2**n, jittered


@pytest.mark.parametrize("fault", ["http_500", "reset", "truncated", "timeout"])
def test_listing_faults_are_retried(server, client, fault) -> None:
    server.inject("IceDocListJsonWS", fault, times=2, delay=0.6)
    assert len(client.list_documents(DA_PRICES)) == 1


def test_listing_fault_exhausted_is_a_clear_error(server, client) -> None:
    server.inject("IceDocListJsonWS", "http_503", times=10)
    with pytest.raises(SourceError, match="IceDocListJsonWS.*failed after 3 attempts: HTTP 503"):
        client.list_documents(DA_PRICES)


def test_hostile_file_name_in_listing_cannot_escape_downloads(server, client, docs, tmp_path):
    listing = build_listing(docs)
    entry = listing["ListDocsByRptTypeRes"]["DocumentList"][0]["Document"]
    entry["ConstructedName"] = "../../escaped.DAMSPNP4190_csv.zip"
    server.set_raw_listing(str(DA_PRICES.source.report_type_id), json.dumps(listing).encode())
    try:
        with pytest.raises(SourceError, match="unsafe download path"):
            fetch_day_archives(
                DA_PRICES, [DAY], channel="mis", download_dir=tmp_path / "a" / "b", mis=client
            )
    finally:
        server.clear_raw_listing(str(DA_PRICES.source.report_type_id))
    assert _files(tmp_path) == ["a", "b"]  # nothing written anywhere else


# -- through a run ---------------------------------------------------------------------------


def _run(root: Path, server: ErcotStandInServer, day: date) -> dg.ExecuteInProcessResult:
    defs = build_definitions(data_root=str(root), ercot_mis_url=server.base_url)
    key = day.isoformat()
    return run_range(defs, "ercot_da_prices_daily", key, key, dg.DagsterInstance.ephemeral())


def _error_chain(result: dg.ExecuteInProcessResult) -> list[str]:
    """Every message of every step failure, causes included (what the UI shows)."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data:
            error = event.step_failure_data.error
            while error is not None:
                messages.append(error.message)
                error = error.cause
    return messages


def test_listed_document_that_404s_fails_the_run_cleanly(server, tmp_path) -> None:
    server.clear_faults()
    server.inject("mirDownload", "not_found", times=1)
    result = _run(tmp_path, server, DAY)
    assert not result.success
    message = " ".join(_error_chain(result))
    assert "404" in message and "mirDownload?doclookupId=" in message
    lake = Lake.at(tmp_path)
    assert lake.all_partition_files(LAKE_DA) == []
    assert not lake.csv_day_dir("ercot/da_prices/csv", DAY.isoformat()).exists()
    assert not [n for n in _files(tmp_path) if n.endswith(".tmp") or ".tmp-" in n]
    assert set(_files(lake.downloads_dir)) <= {"ercot", "da_prices"}  # folders only


def test_day_not_published_yet_is_not_available_not_a_failure(server, tmp_path) -> None:
    server.clear_faults()
    later = date(2024, 11, 20)
    result = _run(tmp_path, server, later)
    assert result.success
    assert result.get_asset_materialization_events() == []
    observed = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert observed and observed[0].metadata["status"].value == "not available"
    assert Lake.at(tmp_path).all_partition_files(LAKE_DA) == []


def test_credentials_absent_from_every_log_of_a_failed_run(
    server, tmp_path, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    password, key, user = "pw-Wr0ng-but-secret!", "subkey-never-shown-42", "someone@example.org"
    use_ercot_api(monkeypatch, server, user, password, key)
    defs = build_definitions(data_root=str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    result = run_range(defs, "ercot_da_prices_daily", "2024-11-05", "2024-11-05", instance)
    assert not result.success  # the stand-in refuses these credentials
    texts = [str(event) for event in instance.all_logs(result.run_id)]
    texts += _error_chain(result)
    texts.append(caplog.text)
    assert any("token request failed" in t for t in texts)
    for text in texts:
        for secret in (password, key, user):
            assert secret not in text
