"""A stand-in ISO-NE server on 127.0.0.1: ISO Express report CSVs and the web services.

URL patterns as on the real hosts (ISO_FORMATS.md section 4):

- `GET /isoexpress/web/reports/pricing/-/tree/<page>`: an HTML page that sets the session
  cookie (`JSESSIONID`).
- `GET /static-transform/csv/histRpts/<dir>/<file>.csv` and the dynamic
  `GET /transform/csv/<report>?start=YYYYMMDD&end=YYYYMMDD` (the DASI reserve data, the load,
  fuel-mix and forecast reports of isone_fundamentals.py): the report,
  `text/csv`; refused with 403 and an HTML "Access Denied" page unless the request carries a
  cookie the server issued and a `Referer` naming an ISO Express report page. A day the server
  does not hold is 404.
- `GET /api/v1.1/<path>[.json]`: web-service JSON; HTTP basic auth (401 otherwise). A day not
  held answers the reply's root with no records (`{"HourlyLmps":""}`).

ISO-NE faults on top of the shared ones: `forbidden_403` (the cookie expired),
`empty_csv_200` (a well-formed report with no "D" lines), `csv_as_html_200` (status 200 with
an HTML page instead of the CSV).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable
from datetime import date

from power_market_assets.registry import isone as registry
from power_market_standins import isone_fundamentals
from power_market_standins.isone import SampleFile, empty_report, generate_files, ws_payload
from power_market_standins.standin import (
    FAULTS,
    HTML_ERROR_PAGE,
    Fault,
    Request,
    Response,
    StandInServer,
    not_found,
)

API_PREFIX = "/api/v1.1"
TRANSFORM_PATH = "/transform/csv/"
COOKIE = "JSESSIONID"
ACCESS_DENIED = (
    b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>"
    b"You don't have permission to access this resource.</BODY></HTML>\n"
)
ISONE_FAULTS = ("forbidden_403", "empty_csv_200", "csv_as_html_200")


class IsoneStandInServer(StandInServer):
    """ISO Express reports (cookie + Referer) and webservices (basic auth) for sample files."""

    faults = FAULTS + ISONE_FAULTS
    server_version = "IsoneStandIn/1.0"

    def __init__(
        self,
        files: Iterable[SampleFile] = (),
        *,
        username: str = "analyst@example.com",
        password: str = "isone-Pass-w0rd",
        host: str = "127.0.0.1",
        port: int = 0,
        default_delay: float = 2.0,
    ):
        super().__init__(host=host, port=port, default_delay=default_delay)
        self.username = username
        self.password = password
        self._reports: dict[str, SampleFile] = {}
        self._replies: dict[str, SampleFile] = {}
        self._roots: dict[str, str] = {}  # API path stem -> JSON root for empty replies
        self._cookies: set[str] = set()
        self.add_files(files)

    @property
    def webservices_url(self) -> str:
        return self.base_url + API_PREFIX

    def add_files(self, files: Iterable[SampleFile]) -> None:
        with self._lock:
            for f in files:
                if f.channel == "reports":
                    self._reports[f.url_path] = f
                else:
                    self._replies[f.url_path] = f

    def remove_day(self, day) -> None:
        """Forget every file of an operating day (it becomes 'not yet published')."""
        with self._lock:
            for table in (self._reports, self._replies):
                for key in [k for k, f in table.items() if f.operating_day == day]:
                    del table[key]

    def expire_cookies(self) -> None:
        with self._lock:
            self._cookies.clear()

    # -- routes --------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.method != "GET":
            return Response(405, b"Method Not Allowed", "text/plain")
        if request.path.startswith("/isoexpress/web/reports/"):
            return self._page()
        if request.path.startswith((registry.REPORTS_PATH + "/", TRANSFORM_PATH)):
            return self._report(request)
        if request.path.startswith(API_PREFIX + "/"):
            return self._api(request)
        return not_found()

    def _page(self) -> Response:
        token = uuid.uuid4().hex
        with self._lock:
            self._cookies.add(token)
        body = b"<!DOCTYPE html><html><head><title>ISO Express</title></head><body></body></html>"
        return Response(
            200, body, "text/html;charset=UTF-8", {"Set-Cookie": f"{COOKIE}={token}; Path=/"}
        )

    def _has_session(self, request: Request) -> bool:
        cookies = dict(
            part.strip().split("=", 1)
            for part in request.headers.get("cookie", "").split(";")
            if "=" in part
        )
        referer = request.headers.get("referer", "")
        with self._lock:
            known = cookies.get(COOKIE) in self._cookies
        return known and "/isoexpress/web/reports/" in referer

    def _report(self, request: Request) -> Response:
        if not self._has_session(request):
            return Response(403, ACCESS_DENIED, "text/html")
        with self._lock:
            found = self._reports.get(request.path) or self._reports.get(request.target)
        if found is None:
            return not_found(b"<html><body>Page Not Found</body></html>")
        return Response(
            200,
            found.body,
            "text/csv",
            {"Content-Disposition": f'attachment; filename="{found.name}"'},
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.username and password == self.password

    def _api(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(
                401,
                b"<html><body>401 Unauthorized</body></html>",
                "text/html",
                {"WWW-Authenticate": 'Basic realm="webservices"'},
            )
        path = request.path[len(API_PREFIX) + 1 :].removesuffix(".json")
        with self._lock:
            found = self._replies.get(path)
        if found is not None:
            return Response(200, found.body, "application/json")
        root = _root_for(path)
        if root is None:
            return Response(404, b'{"error":"Not Found"}', "application/json")
        return Response(200, json.dumps(ws_payload(root, [])).encode(), "application/json")

    def custom_fault(self, fault: Fault, response: Response) -> Response:
        if fault.fault == "forbidden_403":
            return Response(403, ACCESS_DENIED, "text/html")
        if fault.fault == "csv_as_html_200":
            return Response(200, HTML_ERROR_PAGE, "text/html")
        if fault.fault == "empty_csv_200":
            return Response(200, empty_report(registry.DA_PRICES, date.today()), "text/csv")
        return super().custom_fault(fault, response)


def _root_for(path: str) -> str | None:
    for spec in (s for s in registry.ISONE_DATASETS if s.source.ws_path):
        stem = spec.source.ws_path.split("/{", 1)[0].split("/day", 1)[0]
        if path.startswith(stem.split("/", 1)[0]):
            return spec.source.ws_root
    return None


def standin_server(days: list[date], n_locations: int = 20, seed: int = 0) -> IsoneStandInServer:
    """A (not yet started) stand-in ISO-NE server holding every ISO-NE dataset for `days`."""
    specs = registry.ISONE_DATASETS
    files = generate_files(specs, days, n_locations, seed)
    return IsoneStandInServer(files + isone_fundamentals.generate_files(specs, days, seed))


def standin_environment(server: IsoneStandInServer) -> dict[str, str]:
    """No real-world 10 s spacing between ISO-NE requests against the stand-in."""
    return {"PMA_ISONE_MIN_INTERVAL": "0"}
