"""Secrets never reach a message (issue 9, item 11), against stand-ins that echo the request.

The `echo_request` fault makes a stand-in answer with the whole request (request line, headers
with Authorization and the subscription key, the form body) in its reason phrase and its body.
For every ISO's client the exception text, its causes and contexts, its formatted traceback and
the log lines must then hold no credential in any form: literal, URL-encoded, base64 of
`user:password`, or the Bearer token the token endpoint handed out. Each test also checks that
the echo did reach the message, so it cannot pass by saying nothing.
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from urllib.parse import quote, quote_plus

import dagster as dg
import pytest

from power_market_assets.automation.runs import run_range
from power_market_assets.definitions import build_definitions
from power_market_assets.registry import caiso, isone, nyiso, pjm
from power_market_assets.registry.ercot import DA_PRICES
from power_market_assets.sources import caiso as caiso_source
from power_market_assets.sources import isone as isone_source
from power_market_assets.sources import nyiso as nyiso_source
from power_market_assets.sources.ercot import ErcotMisClient, ErcotPublicApiClient
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.pjm import PjmDataMinerClient
from power_market_assets_tests.helpers import use_ercot_api
from power_market_standins.caiso_server import CaisoStandInServer
from power_market_standins.ercot_server import ErcotStandInServer
from power_market_standins.isone_server import IsoneStandInServer
from power_market_standins.nyiso_server import NyisoStandInServer
from power_market_standins.pjm_server import PjmStandInServer

DAY = date(2024, 11, 5)
# Characters that URL-encode (+ @ : / space ! & =), so the encoded forms differ from the literal.
ERCOT_USER = "ana.lyst+ops@example.org"
ERCOT_PASSWORD = "pw:Wr0ng/but secret!&="
ERCOT_KEY = "ercot-subkey-never-shown-42"
ISONE_USER = "isone.trader@example.org"
ISONE_PASSWORD = "isone P@ss/w0rd!"
PJM_KEY = "pjm-key-0123456789abcdef"
MIRROR_USER = "mirror-operator"
MIRROR_PASSWORD = "mirror:pa ss/w0rd!"  # a basic-auth mirror in front of a public ISO site


def secret_forms(secret: str) -> set[str]:
    """Every way a secret travels in a request: literal and URL-encoded (path, form, query)."""
    return {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def exception_texts(exc: BaseException) -> list[str]:
    """The exception, every cause and context (suppressed ones too) and its traceback."""
    texts = ["".join(traceback.format_exception(exc))]
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), str(getattr(current, "url", ""))]
        texts += [str(arg) for arg in current.args]
        texts.append("".join(traceback.format_exception_only(current)))
        pending += [current.__cause__, current.__context__]
    return texts


def assert_no_secret(texts: Iterable[str], secrets: Iterable[str]) -> None:
    forms = {form for secret in secrets for form in secret_forms(secret)}
    for text in texts:
        for form in forms:
            assert form not in text, f"secret form {form!r} leaked into: {text[:300]!r}"


def fail_with_echo(call: Callable[[], object]) -> SourceError:
    with pytest.raises(SourceError) as caught:
        call()
    # The echo reached the message or its cause (reason phrase or body excerpt), redacted.
    chain = " ".join(exception_texts(caught.value))
    assert "user-agent: power-market-assets" in chain.lower() and "***" in chain, chain
    return caught.value


def quick_http() -> HttpClient:
    return HttpClient(timeout=(2.0, 2.0), max_retries=1, base_delay=0.0, sleep=lambda _: None)


def mirror_url(server) -> str:
    """The stand-in's URL with basic-auth credentials in it (requests sends them)."""
    return f"http://{MIRROR_USER}:{quote(MIRROR_PASSWORD, safe='')}@{server.host}:{server.port}"


MIRROR_SECRETS = (MIRROR_USER, MIRROR_PASSWORD, basic(MIRROR_USER, MIRROR_PASSWORD))


@pytest.fixture(scope="module")
def ercot():
    with ErcotStandInServer(
        api_username=ERCOT_USER, api_password=ERCOT_PASSWORD, subscription_key=ERCOT_KEY
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def _debug_logs(caplog):
    caplog.set_level(logging.DEBUG)


def _api(server: ErcotStandInServer) -> ErcotPublicApiClient:
    return ErcotPublicApiClient(
        server.api_base_url,
        server.token_url,
        username=ERCOT_USER,
        password=ERCOT_PASSWORD,
        subscription_key=ERCOT_KEY,
        http=quick_http(),
    )


def test_ercot_token_request_echo_hides_user_and_password(ercot, caplog) -> None:
    ercot.clear_faults()
    ercot.inject(ercot.token_path, "echo_request", times=5)
    error = fail_with_echo(lambda: _api(ercot).token())
    assert "token request failed" in str(error) and error.status == 400
    assert_no_secret([*exception_texts(error), caplog.text], [ERCOT_USER, ERCOT_PASSWORD])


@pytest.mark.parametrize("status", [400, 401, 500])
def test_ercot_api_echo_hides_key_and_bearer_token(ercot, caplog, status) -> None:
    ercot.clear_faults()
    api = _api(ercot)
    token = api.token()
    ercot.inject("/archive/", "echo_request", times=5, status=status)
    error = fail_with_echo(lambda: api.list_archive(DA_PRICES, DAY, DAY))
    assert error.status == status
    secrets = [ERCOT_USER, ERCOT_PASSWORD, ERCOT_KEY, token, api.token()]
    assert_no_secret([*exception_texts(error), caplog.text], secrets)


def test_ercot_api_bulk_download_echo_hides_key_and_token(ercot, tmp_path, caplog) -> None:
    ercot.clear_faults()
    api = _api(ercot)
    token = api.token()
    ercot.inject("/download", "echo_request", times=5, status=500)
    error = fail_with_echo(lambda: api.download_bulk(DA_PRICES, ["1234"], tmp_path))
    assert "failed after 2 attempts" in str(error)
    assert "retry 1/1" in caplog.text  # the retry was logged, scrubbed too
    assert not list(tmp_path.iterdir())  # nothing half-written
    secrets = [ERCOT_USER, ERCOT_PASSWORD, ERCOT_KEY, token]
    assert_no_secret([*exception_texts(error), caplog.text], secrets)


def test_ercot_mis_behind_a_basic_auth_mirror(ercot, caplog) -> None:
    ercot.clear_faults()
    ercot.inject("IceDocListJsonWS", "echo_request", times=5)
    mis = ErcotMisClient(mirror_url(ercot), quick_http())
    error = fail_with_echo(lambda: mis.list_documents(DA_PRICES))
    assert_no_secret([*exception_texts(error), caplog.text, repr(mis)], MIRROR_SECRETS)


def test_isone_webservices_echo_hides_basic_credentials(tmp_path, caplog) -> None:
    with IsoneStandInServer(username=ISONE_USER, password=ISONE_PASSWORD) as server:
        server.inject("/api/", "echo_request", times=5, status=401)
        client = isone_source.IsoneWebServicesClient(
            server.webservices_url, username=ISONE_USER, password=ISONE_PASSWORD, http=quick_http()
        )
        error = fail_with_echo(
            lambda: isone_source.fetch_days(
                isone.DA_PRICES, [DAY], tmp_path, channel="webservices", webservices=client
            )
        )
    assert "refused the credentials" in str(error)
    secrets = [ISONE_USER, ISONE_PASSWORD, basic(ISONE_USER, ISONE_PASSWORD)]
    assert_no_secret([*exception_texts(error), caplog.text], secrets)


@pytest.mark.parametrize("status", [400, 401])
def test_pjm_echo_hides_the_key(tmp_path, caplog, status) -> None:
    with PjmStandInServer(subscription_key=PJM_KEY) as server:
        server.inject("/api/v1", "echo_request", times=5, status=status)
        client = PjmDataMinerClient(server.base_url, subscription_key=PJM_KEY, http=quick_http())
        error = fail_with_echo(lambda: client.fetch_day(pjm.DA_PRICES, DAY, tmp_path))
    assert f"HTTP {status}" in str(error)
    assert_no_secret([*exception_texts(error), caplog.text], [PJM_KEY])


def test_caiso_behind_a_basic_auth_mirror(tmp_path, caplog) -> None:
    with CaisoStandInServer({}) as server:
        server.inject("SingleZip", "echo_request", times=5, status=500)
        client = caiso_source.OasisClient(mirror_url(server), quick_http())
        error = fail_with_echo(
            lambda: caiso_source.fetch_days(caiso.DA_PRICES, [DAY], tmp_path, client)
        )
    assert_no_secret([*exception_texts(error), caplog.text, repr(client)], MIRROR_SECRETS)


def test_nyiso_behind_a_basic_auth_mirror(tmp_path, caplog) -> None:
    with NyisoStandInServer() as server:
        server.inject("/", "echo_request", times=5, status=403)
        client = nyiso_source.NyisoMisClient(mirror_url(server), quick_http())
        error = fail_with_echo(
            lambda: nyiso_source.fetch_days(nyiso.DA_PRICES, [DAY], tmp_path, client=client)
        )
    assert_no_secret([*exception_texts(error), caplog.text, repr(client)], MIRROR_SECRETS)


def test_scrubber_redacts_every_form_of_a_registered_secret() -> None:
    http = HttpClient()
    http.add_credentials(ISONE_USER, ISONE_PASSWORD)
    http.add_secret(ERCOT_KEY)
    text = " ".join(
        [
            *secret_forms(ISONE_USER),
            *secret_forms(ISONE_PASSWORD),
            basic(ISONE_USER, ISONE_PASSWORD),
            f"Ocp-Apim-Subscription-Key: {ERCOT_KEY}",
            "Authorization: Bearer eyJhbGciOi.unregistered-token",
            '{"id_token": "tok-unregistered-123456"}',
        ]
    )
    scrubbed = http.scrub(text)
    assert_no_secret([scrubbed], [ISONE_USER, ISONE_PASSWORD, ERCOT_KEY])
    assert basic(ISONE_USER, ISONE_PASSWORD) not in scrubbed
    assert "unregistered-token" not in scrubbed and "tok-unregistered" not in scrubbed
    assert "Ocp-Apim-Subscription-Key: ***" in scrubbed


def _files_text(root: Path) -> str:
    """Every file under `root` (run and event storage, compute logs, metadata), as text."""
    return "\n".join(
        p.read_bytes().decode("latin-1") for p in sorted(root.rglob("*")) if p.is_file()
    )


def _failure_texts(result: dg.ExecuteInProcessResult) -> list[str]:
    """Every step failure's message and stack, causes and contexts included."""
    texts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data:
            pending = [event.step_failure_data.error]
            while pending:
                error = pending.pop()
                if error is not None:
                    texts += [error.message, "".join(error.stack)]
                    pending += [error.cause, error.context]
    return texts


def test_failed_run_event_log_and_compute_logs_hold_no_secret(
    ercot, tmp_path, monkeypatch, caplog, capfd
) -> None:
    ercot.clear_faults()
    ercot.inject(ercot.token_path, "echo_request", times=20)
    use_ercot_api(monkeypatch, ercot, ERCOT_USER, ERCOT_PASSWORD, ERCOT_KEY)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        defs = build_definitions(data_root=str(tmp_path / "data"))
        result = run_range(
            defs, "ercot_da_prices_daily", DAY.isoformat(), DAY.isoformat(), instance
        )
        assert not result.success
        texts = [str(event) for event in instance.all_logs(result.run_id)]
    texts += _failure_texts(result)
    assert any("token request failed" in t and "user-agent" in t.lower() for t in texts)
    console = capfd.readouterr()
    compute_logs = _files_text(home / "storage")  # the step's captured stdout/stderr
    assert "token request failed" in compute_logs and "user-agent" in compute_logs.lower()
    texts += [caplog.text, console.out, console.err, _files_text(tmp_path)]
    assert_no_secret(texts, [ERCOT_USER, ERCOT_PASSWORD, ERCOT_KEY])
