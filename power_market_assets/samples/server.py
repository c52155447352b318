"""A local stand-in ERCOT server on 127.0.0.1 for tests and demos (stdlib only).

Serves generated `SampleDocument`s under ERCOT's real URL patterns:

- MIS: `GET /misapp/servlets/IceDocListJsonWS?reportTypeId=<RTID>&_<ts>` (the cache buster is
  ignored) and `GET /misdownload/servlets/mirDownload?doclookupId=<DocID>` (CSV zips and their
  small `_xml` twins).
- Public API under `/api/public-reports`: `GET /archive/<emil>?postDatetimeFrom=..&
  postDatetimeTo=..&size=..&page=..` (paged), `GET /archive/<emil>?download=<docId>` (one zip),
  `POST /archive/<emil>/download` with `{"docIds": [...]}` (a zip of per-document zips); every
  API call needs `Ocp-Apim-Subscription-Key` (401 JSON without it) and a Bearer token from
  the token endpoint (`POST <token_path>`, form-encoded ROPC grant).

Faults on demand: `server.inject(path_substring, fault, times=1)` with a fault from `FAULTS`.

    with ErcotStandInServer(docs) as server:
        client = ErcotMisClient(server.base_url, http)
"""

from __future__ import annotations

import io
import json
import math
import socket
import struct
import threading
import time
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from power_market_assets.samples.ercot import SampleDocument, build_listing, listing_bytes

FAULTS = (
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_429",
    "reset",
    "timeout",
    "truncated",
    "corrupt_zip",
    "html_error_page_200",
    "empty_200",
    "not_found",
)
DEFAULT_TOKEN_PATH = "/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
API_PREFIX = "/api/public-reports"
MISSING_KEY_MESSAGE = (
    "Access denied due to missing subscription key. Make sure to include subscription key "
    "when making requests to an API."
)
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>ERCOT - Error</title></head>"
    b"<body><h1>We're sorry</h1><p>The system is temporarily unavailable.</p></body></html>\n"
)


@dataclass
class _Fault:
    substring: str
    fault: str
    remaining: int
    retry_after: str | None
    delay: float


@dataclass(frozen=True)
class _StoredDoc:
    body: bytes
    file_name: str
    report_code: str  # lower-case EMIL
    friendly_name: str
    post_datetime: str  # local, no offset (API)
    is_csv: bool


def corrupt_zip_bytes(data: bytes) -> bytes:
    """Same length, still starts with a zip signature, but the central directory is broken."""
    buf = bytearray(data)
    end = buf.rfind(b"PK\x05\x06")
    if end >= 0:
        buf[end : end + 4] = b"XX\x00\x00"
    central = buf.find(b"PK\x01\x02")
    if central >= 0:
        buf[central : central + 4] = b"ZZ\x00\x00"
    mid = len(buf) // 2
    for k in range(mid, min(mid + 16, len(buf))):
        buf[k] ^= 0xFF
    return bytes(buf)


class ErcotStandInServer:
    """ThreadingHTTPServer on 127.0.0.1 (free port) in a background thread."""

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
    ):
        self.host = host
        self.port = port
        self.api_username = api_username
        self.api_password = api_password
        self.subscription_key = subscription_key
        self.token_path = token_path
        self.default_delay = default_delay
        self.requests: list[tuple[str, str]] = []  # (method, path with query); no headers
        self._lock = threading.Lock()
        self._docs: dict[str, _StoredDoc] = {}
        self._samples: dict[str, list[SampleDocument]] = {}  # by report type id
        self._listing_cache: dict[str, bytes] = {}
        self._raw_listings: dict[str, bytes] = {}
        self._faults: list[_Fault] = []
        self._tokens: set[str] = set()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_documents(docs)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> ErcotStandInServer:
        if self._httpd is not None:
            return self
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ErcotStandInServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
                rtid = doc.spec.report_id
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

    def set_raw_listing(self, report_type_id: str, body: bytes) -> None:
        """Serve these exact bytes as the listing of a report type (e.g. a real doclist)."""
        with self._lock:
            self._raw_listings[str(report_type_id)] = body

    def clear_raw_listing(self, report_type_id: str) -> None:
        """Go back to serving the generated listing of a report type."""
        with self._lock:
            self._raw_listings.pop(str(report_type_id), None)

    def add_raw_document(self, doc_id: str, body: bytes, file_name: str = "") -> None:
        with self._lock:
            self._docs[str(doc_id)] = _StoredDoc(
                body, file_name or f"{doc_id}.zip", "", "", "", True
            )

    def inject(
        self,
        path_substring: str,
        fault: str,
        times: int = 1,
        *,
        retry_after: float | str | None = None,
        delay: float | None = None,
    ) -> None:
        """The next `times` requests whose path+query contains `path_substring` get `fault`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        with self._lock:
            self._faults.append(
                _Fault(
                    path_substring,
                    fault,
                    times,
                    None if retry_after is None else str(retry_after),
                    self.default_delay if delay is None else delay,
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (the API then answers 401)."""
        with self._lock:
            self._tokens.clear()

    def request_count(self, path_substring: str = "") -> int:
        with self._lock:
            return sum(1 for _, p in self.requests if path_substring in p)

    # -- internals used by the handler ---------------------------------------------------

    def _take_fault(self, target: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.substring in target:
                    fault.remaining -= 1
                    return fault
        return None

    def _listing(self, rtid: str) -> bytes:
        with self._lock:
            raw = self._raw_listings.get(rtid)
            if raw is not None:
                return raw
            cached = self._listing_cache.get(rtid)
            if cached is None:
                docs = self._samples.get(rtid, [])
                if docs:
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


class _Response:
    def __init__(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.extra = extra or {}


def _json(status: int, payload: Any) -> _Response:
    return _Response(status, json.dumps(payload).encode(), "application/json")


def _make_handler(server: ErcotStandInServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "ErcotStandIn/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        # -- dispatch --------------------------------------------------------------------

        def _handle(self, method: str) -> None:
            with server._lock:
                server.requests.append((method, self.path))
            body = b""
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                body = self.rfile.read(length)
            fault = server._take_fault(self.path)
            if fault is not None and fault.fault in ("reset",):
                self._reset()
                return
            if fault is not None and fault.fault == "timeout":
                server._stop.wait(fault.delay)
            try:
                response = self._route(method, body)
            except Exception as exc:  # a bug in the stand-in: report it as a 500
                response = _json(500, {"error": f"{type(exc).__name__}: {exc}"})
            if fault is not None:
                response = self._apply(fault, response)
                if response is None:
                    return
            self._send(response)

        def _apply(self, fault: _Fault, response: _Response) -> _Response | None:
            kind = fault.fault
            if kind.startswith("http_"):
                status = int(kind.split("_")[1])
                extra = {}
                if status == 429 and fault.retry_after is not None:
                    extra["Retry-After"] = fault.retry_after
                body = json.dumps({"statusCode": status, "message": "injected fault"}).encode()
                return _Response(status, body, "application/json", extra)
            if kind == "not_found":
                return _Response(404, b"Not Found", "text/plain")
            if kind == "html_error_page_200":
                return _Response(200, HTML_ERROR_PAGE, "text/html")
            if kind == "empty_200":
                return _Response(200, b"", response.content_type)
            if kind == "corrupt_zip":
                return _Response(
                    response.status, corrupt_zip_bytes(response.body), response.content_type,
                    response.extra,
                )  # fmt: skip
            if kind == "truncated":
                self._send(response, truncate=True)
                return None
            return response  # timeout: the (late) normal answer

        def _send(self, response: _Response, *, truncate: bool = False) -> None:
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for key, value in response.extra.items():
                    self.send_header(key, value)
                self.end_headers()
                if truncate:
                    self.wfile.write(response.body[: max(len(response.body) // 2, 1)])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    self.wfile.write(response.body)
            except OSError:
                pass  # the client went away (timeouts)

        def _reset(self) -> None:
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()
            except OSError:
                pass

        def _route(self, method: str, body: bytes) -> _Response:
            parts = urlsplit(self.path)
            path = parts.path
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if method == "POST" and path == server.token_path:
                return self._token(body)
            if method == "GET" and path == "/misapp/servlets/IceDocListJsonWS":
                rtid = query.get("reportTypeId", "")
                return _Response(200, server._listing(rtid), "application/json")
            if method == "GET" and path == "/misdownload/servlets/mirDownload":
                doc = server._doc(query.get("doclookupId", ""))
                if doc is None:
                    return _Response(404, b"Document not found", "text/plain")
                return self._zip(doc)
            if path.startswith(API_PREFIX + "/"):
                return self._api(method, path[len(API_PREFIX) :], query, body)
            return _Response(404, b"Not Found", "text/plain")

        def _zip(self, doc: _StoredDoc) -> _Response:
            return _Response(
                200,
                doc.body,
                "application/zip",
                {"Content-Disposition": f'attachment; filename="{doc.file_name}"'},
            )

        def _token(self, body: bytes) -> _Response:
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            if (
                form.get("grant_type") != "password"
                or form.get("username") != server.api_username
                or form.get("password") != server.api_password
            ):
                return _json(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "AADB2C90225: The username or password is invalid.",
                    },
                )
            token = server._issue_token()
            return _json(
                200,
                {
                    "access_token": token,
                    "id_token": token,
                    "token_type": "Bearer",
                    "expires_in": "3600",
                },
            )

        def _api(self, method: str, path: str, query: dict[str, str], body: bytes) -> _Response:
            key = self.headers.get("Ocp-Apim-Subscription-Key") or query.get("subscription-key")
            if not key:
                return _json(401, {"statusCode": 401, "message": MISSING_KEY_MESSAGE})
            if key != server.subscription_key:
                return _json(
                    401,
                    {
                        "statusCode": 401,
                        "message": "Access denied due to invalid subscription key. Make sure "
                        "to provide a valid key for an active subscription.",
                    },
                )
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or not server._token_ok(auth[7:].strip()):
                return _json(401, {"statusCode": 401, "message": "Invalid or expired token"})
            segments = [s for s in path.split("/") if s]
            if len(segments) >= 2 and segments[0] == "archive":
                code = segments[1].lower()
                if len(segments) == 2 and method == "GET":
                    if "download" in query:
                        doc = server._doc(query["download"])
                        if doc is None or doc.report_code != code:
                            return _json(404, {"statusCode": 404, "message": "Not found"})
                        return self._zip(doc)
                    return self._archive_listing(code, query)
                if len(segments) == 3 and segments[2] == "download" and method == "POST":
                    return self._bulk(code, body)
            return _json(404, {"statusCode": 404, "message": "Resource not found"})

        def _archive_listing(self, code: str, query: dict[str, str]) -> _Response:
            start = query.get("postDatetimeFrom", "")
            end = query.get("postDatetimeTo", "")
            try:
                size = max(1, int(query.get("size", "1000")))
                page = max(1, int(query.get("page", "1")))
            except ValueError:
                return _json(400, {"statusCode": 400, "message": "bad paging parameters"})
            items = [
                (doc_id, doc)
                for doc_id, doc in server._archive_docs(code)
                if (not start or doc.post_datetime >= start)
                and (not end or doc.post_datetime <= end)
            ]
            total_pages = max(1, math.ceil(len(items) / size))
            chunk = items[(page - 1) * size : page * size]
            href_base = f"{server.api_base_url}/archive/{code}?download="
            return _json(
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
                    "_links": {"self": {"href": f"{server.api_base_url}/archive/{code}"}},
                },
            )

        def _bulk(self, code: str, body: bytes) -> _Response:
            try:
                ids = [str(i) for i in json.loads(body or b"{}")["docIds"]]
            except (ValueError, KeyError, TypeError):
                return _json(400, {"statusCode": 400, "message": "body must be {docIds: [...]}"})
            if len(ids) > 1000:
                return _json(400, {"statusCode": 400, "message": "at most 1000 docIds"})
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as outer:
                for doc_id in ids:
                    doc = server._doc(doc_id)
                    if doc is None or doc.report_code != code:
                        continue
                    info = zipfile.ZipInfo(f"{doc_id}.{doc.file_name}", time.localtime()[:6])
                    outer.writestr(info, doc.body)
            return _Response(200, buf.getvalue(), "application/zip")

    return Handler
