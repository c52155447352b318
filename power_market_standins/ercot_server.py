"""A local stand-in ERCOT server on 127.0.0.1 for tests and demos (stdlib only).

Serves generated `SampleDocument`s under ERCOT's real URL patterns:

- MIS: `GET /misapp/servlets/IceDocListJsonWS?reportTypeId=<RTID>&_<ts>` (the cache buster is
  ignored) and `GET /misdownload/servlets/mirDownload?doclookupId=<DocID>` (CSV zips and their
  small `_xml` twins, and the yearly history documents of RTID 13060/13061 added with
  `add_history_documents`: ercot_history.py).
- ERCOT's public site: `GET /gridinfo/generation` (the page linking the Fuel Mix Report
  workbooks) and `GET /files/docs/<YYYY>/<MM>/<DD>/IntGenbyFuel<YYYY>.xlsx`
  (`add_fuel_mix_workbooks`: ercot_fuel_mix.py).
- Public API under `/api/public-reports`: `GET /archive/<emil>?postDatetimeFrom=..&
  postDatetimeTo=..&size=..&page=..` (paged), `GET /archive/<emil>?download=<docId>` (one zip),
  `POST /archive/<emil>/download` with `{"docIds": [...]}` (a zip of per-document zips); every
  API call needs `Ocp-Apim-Subscription-Key` (401 JSON without it) and a Bearer token from
  the token endpoint (`POST <token_path>`, form-encoded ROPC grant).

Faults on demand: `server.inject(path_substring, fault, times=1)` with a fault from `FAULTS`
(standin.py).

    with ErcotStandInServer(docs) as server:
        client = ErcotMisClient(server.base_url, http)
"""

from __future__ import annotations

import io
import json
import math
import time
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl

from power_market_assets.formats.ercot_fuel_mix import LAYOUT as FUEL_MIX_LAYOUT
from power_market_assets.registry.ercot import ERCOT_DATASETS, TIMEZONE
from power_market_standins.ercot import (
    SampleDocument,
    build_listing,
    listing_bytes,
)
from power_market_standins.ercot_fuel_mix import (
    FuelMixWorkbook,
    fuel_mix_workbooks,
    generation_page,
    site_files,
)
from power_market_standins.ercot_fundamentals import generate_any
from power_market_standins.standin import (
    FAULTS,
    MISSING_KEY_MESSAGE,
    Request,
    Response,
    StandInServer,
    corrupt_zip_bytes,
    json_response,
    not_found,
    subscription_key_refusal,
)

__all__ = ["FAULTS", "MISSING_KEY_MESSAGE", "ErcotStandInServer", "corrupt_zip_bytes"]

DEFAULT_TOKEN_PATH = "/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
API_PREFIX = "/api/public-reports"


@dataclass(frozen=True)
class _StoredDoc:
    body: bytes
    file_name: str
    report_code: str  # lower-case EMIL
    friendly_name: str
    post_datetime: str  # local, no offset (API)
    is_csv: bool


class ErcotStandInServer(StandInServer):
    """ERCOT's MIS listing and download servlets and its public API archive."""

    server_version = "ErcotStandIn/1.0"

    def __init__(
        self,
        docs: Iterable[SampleDocument] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_username: str = "analyst@example.com",
        api_password: str = "correct-horse-battery",
        subscription_key: str = "sample-subscription-key",
        token_path: str = DEFAULT_TOKEN_PATH,
        default_delay: float = 2.0,
        history: Iterable[Any] = (),
        fuel_mix: Iterable[FuelMixWorkbook] = (),
    ):
        super().__init__(host=host, port=port, default_delay=default_delay)
        self.api_username = api_username
        self.api_password = api_password
        self.subscription_key = subscription_key
        self.token_path = token_path
        self._docs: dict[str, _StoredDoc] = {}
        self._samples: dict[str, list[SampleDocument]] = {}  # by report type id
        self._listing_cache: dict[str, bytes] = {}
        self._raw_listings: dict[str, bytes] = {}
        self._tokens: set[str] = set()
        self._extra_entries: dict[str, list[dict[str, str]]] = {}  # by report type id
        self._fuel_mix: dict[int, FuelMixWorkbook] = {}  # by year
        self.add_documents(docs)
        self.add_history_documents(history)
        self.add_fuel_mix_workbooks(fuel_mix)

    @property
    def api_base_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + self.token_path

    # -- content -------------------------------------------------------------------------

    def add_documents(self, docs: Iterable[SampleDocument]) -> None:
        with self._lock:
            for doc in docs:
                rtid = str(doc.spec.source.report_type_id)
                code = doc.spec.report_code.lower()
                self._samples.setdefault(rtid, []).append(doc)
                self._listing_cache.pop(rtid, None)
                self._docs[doc.doc_id] = _StoredDoc(
                    doc.zip_bytes, doc.constructed_name, code, doc.friendly_name,
                    doc.post_datetime, True,
                )  # fmt: skip
                self._docs[doc.xml_doc_id] = _StoredDoc(
                    doc.xml_zip_bytes, doc.xml_listing_entry["ConstructedName"], code,
                    doc.xml_listing_entry["FriendlyName"], doc.post_datetime, False,
                )  # fmt: skip

    def add_history_documents(self, workbooks: Iterable[Any]) -> None:
        """Yearly documents (ercot_history.py `HistoryWorkbook`: report_type_id,
        listing_entry, doc_id, zip_bytes, ...), listed under their own report type and
        downloaded by mirDownload like every document. Not in the public API archive."""
        with self._lock:
            for book in workbooks:
                rtid = str(book.report_type_id)
                self._extra_entries.setdefault(rtid, []).append(dict(book.listing_entry))
                self._listing_cache.pop(rtid, None)
                self._docs[str(book.doc_id)] = _StoredDoc(
                    book.zip_bytes, book.constructed_name, book.report_code.lower(),
                    book.friendly_name, book.post_datetime, False,
                )  # fmt: skip

    def add_fuel_mix_workbooks(self, books: Iterable[FuelMixWorkbook]) -> None:
        """Fuel Mix Report workbooks, linked from the generation page (the two newest years;
        older ones in FuelMixReport_PreviousYears.zip); a newer posting of a year replaces
        the older one and its link, as ERCOT's page does."""
        with self._lock:
            self._fuel_mix.update({book.year: book for book in books})

    def set_raw_listing(self, report_type_id: str, body: bytes) -> None:
        """Serve these exact bytes as the listing of a report type (e.g. a real doclist)."""
        with self._lock:
            self._raw_listings[str(report_type_id)] = body

    def clear_raw_listing(self, report_type_id: str) -> None:
        """Go back to serving the generated listing of a report type."""
        with self._lock:
            self._raw_listings.pop(str(report_type_id), None)

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (the API then answers 401)."""
        with self._lock:
            self._tokens.clear()

    # -- internals used by the routes ----------------------------------------------------

    def _listing(self, rtid: str) -> bytes:
        with self._lock:
            raw = self._raw_listings.get(rtid)
            if raw is not None:
                return raw
            cached = self._listing_cache.get(rtid)
            if cached is None:
                docs = self._samples.get(rtid, [])
                extra = self._extra_entries.get(rtid, [])
                if extra:
                    cached = listing_bytes(_merged_listing(docs, extra))
                elif docs:
                    cached = listing_bytes(build_listing(docs))
                else:
                    cached = b'{"ListDocsByRptTypeRes":{"DocumentList":[]}}'
                self._listing_cache[rtid] = cached
            return cached

    def _doc(self, doc_id: str) -> _StoredDoc | None:
        with self._lock:
            return self._docs.get(doc_id)

    def _archive_docs(self, code: str) -> list[tuple[str, _StoredDoc]]:
        with self._lock:
            items = [(k, d) for k, d in self._docs.items() if d.report_code == code and d.is_csv]
        items.sort(key=lambda kv: (kv[1].post_datetime, kv[0]))
        return items

    def _issue_token(self) -> str:
        token = "tok-" + uuid.uuid4().hex
        with self._lock:
            self._tokens.add(token)
        return token

    def _token_ok(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    # -- routes ------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        method, path, query, body = request.method, request.path, request.query, request.body
        if method == "POST" and path == self.token_path:
            return self._token(body)
        if method == "GET" and path == "/misapp/servlets/IceDocListJsonWS":
            rtid = query.get("reportTypeId", "")
            return Response(200, self._listing(rtid), "application/json")
        if method == "GET" and path == "/misdownload/servlets/mirDownload":
            doc = self._doc(query.get("doclookupId", ""))
            if doc is None:
                return Response(404, b"Document not found", "text/plain")
            return self._zip(doc)
        if path.startswith(API_PREFIX + "/"):
            return self._api(request, path[len(API_PREFIX) :])
        if method == "GET" and path == "/gridinfo/generation":
            with self._lock:
                books = list(self._fuel_mix.values())
            return Response(200, generation_page(books), "text/html; charset=utf-8")
        if method == "GET" and path.startswith("/files/docs/"):
            with self._lock:
                served = site_files(list(self._fuel_mix.values())).get(path)
            return Response(200, *served) if served else not_found()
        return not_found()

    def _zip(self, doc: _StoredDoc) -> Response:
        return Response(
            200,
            doc.body,
            "application/zip",
            {"Content-Disposition": f'attachment; filename="{doc.file_name}"'},
        )

    def _token(self, body: bytes) -> Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        if (
            form.get("grant_type") != "password"
            or form.get("username") != self.api_username
            or form.get("password") != self.api_password
        ):
            return json_response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "AADB2C90225: The username or password is invalid.",
                },
            )
        token = self._issue_token()
        return json_response(
            200,
            {
                "access_token": token,
                "id_token": token,
                "token_type": "Bearer",
                "expires_in": "3600",
            },
        )

    def _api(self, request: Request, path: str) -> Response:
        method, query, body = request.method, request.query, request.body
        key = request.headers.get("ocp-apim-subscription-key") or query.get("subscription-key")
        refusal = subscription_key_refusal(key, self.subscription_key)
        if refusal is not None:
            return refusal
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not self._token_ok(auth[7:].strip()):
            return json_response(401, {"statusCode": 401, "message": "Invalid or expired token"})
        segments = [s for s in path.split("/") if s]
        if len(segments) >= 2 and segments[0] == "archive":
            code = segments[1].lower()
            if len(segments) == 2 and method == "GET":
                if "download" in query:
                    doc = self._doc(query["download"])
                    if doc is None or doc.report_code != code:
                        return json_response(404, {"statusCode": 404, "message": "Not found"})
                    return self._zip(doc)
                return self._archive_listing(code, query)
            if len(segments) == 3 and segments[2] == "download" and method == "POST":
                return self._bulk(code, body)
        return json_response(404, {"statusCode": 404, "message": "Resource not found"})

    def _archive_listing(self, code: str, query: dict[str, str]) -> Response:
        start = query.get("postDatetimeFrom", "")
        end = query.get("postDatetimeTo", "")
        try:
            size = max(1, int(query.get("size", "1000")))
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            return json_response(400, {"statusCode": 400, "message": "bad paging parameters"})
        items = [
            (doc_id, doc)
            for doc_id, doc in self._archive_docs(code)
            if (not start or doc.post_datetime >= start) and (not end or doc.post_datetime <= end)
        ]
        total_pages = max(1, math.ceil(len(items) / size))
        chunk = items[(page - 1) * size : page * size]
        href_base = f"{self.api_base_url}/archive/{code}?download="
        return json_response(
            200,
            {
                "_meta": {
                    "totalRecords": len(items),
                    "pageSize": size,
                    "totalPages": total_pages,
                    "currentPage": page,
                },
                "product": {"emilId": code.upper()},
                "archives": [
                    {
                        "docId": int(doc_id),
                        "friendlyName": doc.friendly_name.removesuffix("_csv"),
                        "postDatetime": doc.post_datetime,
                        "_links": {"endpoint": {"href": href_base + doc_id}},
                    }
                    for doc_id, doc in chunk
                ],
                "_links": {"self": {"href": f"{self.api_base_url}/archive/{code}"}},
            },
        )

    def _bulk(self, code: str, body: bytes) -> Response:
        try:
            ids = [str(i) for i in json.loads(body or b"{}")["docIds"]]
        except (ValueError, KeyError, TypeError):
            message = "body must be {docIds: [...]}"
            return json_response(400, {"statusCode": 400, "message": message})
        if len(ids) > 1000:
            return json_response(400, {"statusCode": 400, "message": "at most 1000 docIds"})
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as outer:
            for doc_id in ids:
                doc = self._doc(doc_id)
                if doc is None or doc.report_code != code:
                    continue
                info = zipfile.ZipInfo(f"{doc_id}.{doc.file_name}", time.localtime()[:6])
                outer.writestr(info, doc.body)
        return Response(200, buf.getvalue(), "application/zip")


def _merged_listing(docs: list[SampleDocument], extra: list[dict[str, str]]) -> dict:
    """Generated documents and added entries in one listing, newest PublishDate first."""
    items = build_listing(docs)["ListDocsByRptTypeRes"]["DocumentList"] if docs else []
    items = items + [{"Document": dict(entry)} for entry in extra]
    items.sort(key=lambda i: datetime.fromisoformat(i["Document"]["PublishDate"]), reverse=True)
    return {"ListDocsByRptTypeRes": {"DocumentList": items}}


def standin_server(days: list[date], n_locations: int = 40, seed: int = 0) -> ErcotStandInServer:
    """A (not yet started) stand-in MIS server holding every ERCOT dataset for `days` (prices,
    the load, load forecast, wind and solar reports of power_market_standins/
    ercot_fundamentals.py, and the Fuel Mix Report workbooks of ercot_fuel_mix.py)."""
    return ErcotStandInServer(
        [
            doc
            for spec in ERCOT_DATASETS
            if spec.file_layout != FUEL_MIX_LAYOUT
            for doc in generate_any(spec, days, n_nodes=n_locations, seed=seed)
        ],
        fuel_mix=fuel_mix_workbooks(days, TIMEZONE, seed=seed),
    )


def standin_environment(server: ErcotStandInServer) -> dict[str, str]:
    """Nothing to set: ERCOT's MIS has no pause between requests and needs no credentials."""
    return {}
