"""The shared machinery of every stand-in ISO server: a stdlib HTTP server on 127.0.0.1.

Each ISO's server (ercot_server.py for ERCOT, <iso>_server.py for the others)
subclasses `StandInServer` and implements `route(request) -> Response` under the ISO's real URL
patterns. Lifecycle, request logging and fault injection live here once:

    with MyIsoStandInServer(docs) as server:
        server.inject("/oasisapi", "http_503", times=2, retry_after=0)
        client = MyIsoClient(server.base_url, http)

Faults in `FAULTS` apply to any server; a subclass adds its own (CAISO's error XML, say) by
extending `faults` and overriding `custom_fault`.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

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
    "echo_request",
)
# `echo_request`: a misbehaving endpoint that echoes the whole request (request line, headers
# with Authorization and subscription keys, form body) in its reason phrase and its body, as
# some gateways and debug proxies do; it proves that no client lets credentials into messages.
ECHO_STATUS = 400
# The API gateway's answers to a missing or wrong `Ocp-Apim-Subscription-Key` (ERCOT's public
# API and PJM's Data Miner sit behind the same kind of gateway).
MISSING_KEY_MESSAGE = (
    "Access denied due to missing subscription key. Make sure to include subscription key "
    "when making requests to an API."
)
INVALID_KEY_MESSAGE = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription."
)
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Error</title></head>"
    b"<body><h1>We're sorry</h1><p>The system is temporarily unavailable.</p></body></html>\n"
)


@dataclass
class Fault:
    substring: str
    fault: str
    remaining: int
    retry_after: str | None
    delay: float
    status: int = ECHO_STATUS  # the error status of `echo_request`


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path with query, as sent
    path: str
    query: dict[str, str]  # last value of each parameter
    headers: dict[str, str]  # header names lower-cased
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    extra: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # the reason phrase; None: the standard one for the status


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


def subscription_key_refusal(key: str | None, expected: str) -> Response | None:
    """The gateway's 401 for a missing or wrong subscription key; None when `key` is right."""
    if not key:
        return json_response(401, {"statusCode": 401, "message": MISSING_KEY_MESSAGE})
    if key != expected:
        return json_response(401, {"statusCode": 401, "message": INVALID_KEY_MESSAGE})
    return None


def echo_text(request: Request) -> str:
    """The request as one line: request line, every header, then the body."""
    headers = " | ".join(f"{name}: {value}" for name, value in request.headers.items())
    body = request.body.decode("latin-1")
    return f"{request.method} {request.target} | {headers} | {body}"


def echo_response(request: Request, status: int) -> Response:
    """An error whose reason phrase and body both repeat the request verbatim."""
    text = echo_text(request).replace("\r", " ").replace("\n", " ")
    return Response(status, f"Bad request: {text}".encode("latin-1"), "text/plain", reason=text)


def not_found(message: bytes = b"Not Found") -> Response:
    return Response(404, message, "text/plain")


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


class StandInServer:
    """ThreadingHTTPServer on 127.0.0.1 (free port) in a background thread."""

    faults: ClassVar[tuple[str, ...]] = FAULTS
    server_version: ClassVar[str] = "StandIn/1.0"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, default_delay: float = 2.0):
        self.host = host
        self.port = port
        self.default_delay = default_delay
        self.requests: list[tuple[str, str]] = []  # (method, path with query); no headers
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what a subclass implements ------------------------------------------------------

    def route(self, request: Request) -> Response:
        """Answer one request under the ISO's URL patterns (called without the lock held)."""
        return not_found()

    def custom_fault(self, fault: Fault, response: Response) -> Response:
        """Apply a fault from the subclass's own additions to `faults`."""
        raise ValueError(f"{type(self).__name__} does not implement fault {fault.fault!r}")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self):
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer((self.host, self.port), _make_handler(self))
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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- faults and request log ----------------------------------------------------------

    def inject(
        self,
        path_substring: str,
        fault: str,
        times: int = 1,
        *,
        retry_after: float | str | None = None,
        delay: float | None = None,
        status: int = ECHO_STATUS,
    ) -> None:
        """The next `times` requests whose path+query contains `path_substring` get `fault`
        (`status`: the error status `echo_request` answers with)."""
        if fault not in self.faults:
            raise ValueError(f"unknown fault {fault!r}; expected one of {self.faults}")
        with self._lock:
            self._faults.append(
                Fault(
                    path_substring,
                    fault,
                    times,
                    None if retry_after is None else str(retry_after),
                    self.default_delay if delay is None else delay,
                    status,
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def request_count(self, path_substring: str = "") -> int:
        with self._lock:
            return sum(1 for _, p in self.requests if path_substring in p)

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.substring in target:
                    fault.remaining -= 1
                    return fault
        return None

    def _apply_fault(self, fault: Fault, response: Response, request: Request) -> Response | None:
        """The response to send instead; None means 'send `response` cut short'."""
        kind = fault.fault
        if kind == "echo_request":
            return echo_response(request, fault.status)
        if kind.startswith("http_"):
            status = int(kind.split("_")[1])
            extra = {}
            if status == 429 and fault.retry_after is not None:
                extra["Retry-After"] = fault.retry_after
            body = json.dumps({"statusCode": status, "message": "injected fault"}).encode()
            return Response(status, body, "application/json", extra)
        if kind == "not_found":
            return not_found()
        if kind == "html_error_page_200":
            return Response(200, HTML_ERROR_PAGE, "text/html")
        if kind == "empty_200":
            return Response(200, b"", response.content_type)
        if kind == "corrupt_zip":
            return Response(
                response.status,
                corrupt_zip_bytes(response.body),
                response.content_type,
                response.extra,
            )
        if kind == "truncated":
            return None
        if kind == "timeout":
            return response  # the (late) normal answer
        return self.custom_fault(fault, response)


def _make_handler(server: StandInServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = server.server_version

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def _handle(self, method: str) -> None:
            with server._lock:
                server.requests.append((method, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = server._take_fault(self.path)
            if fault is not None and fault.fault == "reset":
                self._reset()
                return
            if fault is not None and fault.fault == "timeout":
                server._stop.wait(fault.delay)
            parts = urlsplit(self.path)
            request = Request(
                method=method,
                target=self.path,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = server.route(request)
            except Exception as exc:  # a bug in the stand-in: report it as a 500
                response = json_response(500, {"error": f"{type(exc).__name__}: {exc}"})
            if fault is not None:
                replaced = server._apply_fault(fault, response, request)
                if replaced is None:
                    self._send(response, truncate=True)
                    return
                response = replaced
            self._send(response)

        def _send(self, response: Response, *, truncate: bool = False) -> None:
            try:
                self.send_response(response.status, response.reason)
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

    return Handler
