"""ISO-NE sources: the ISO Express report CSVs and the authenticated web services.

Reports (no account, ISO_FORMATS.md 4.1): the CSV paths answer 403 unless the session holds
the cookie an ISO Express report page sets and the request names such a page as `Referer`.
The client visits the dataset's tree page first, sends it as Referer, and on a 403 visits it
again (the cookie expired) and retries once. A 200 that is not a report (an HTML page) is
retried; a 404 or a well-formed report without "D" lines means "not published yet".

Web services (account, 4.3): HTTP basic auth with the ISO-NE user and password, JSON by
`Accept: application/json`. A reply whose root holds no records means "not published yet".

A day before the dataset's `first_available` (the DASI reserve data starts 2025-03-01) is not
asked for: the market did not exist, so the day is absent.

A day is returned only when all of its files are published (all six 5-minute blocks; for the
web services, records in the reply of the day's last hour), so a half-published day is absent,
not landed half.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from power_market_assets.formats.isone import count_data_lines, json_record_count
from power_market_assets.registry import isone as registry
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.landing import LandedSource

log = logging.getLogger(__name__)

Channel = Literal["reports", "webservices"]
CHANNELS = ("reports", "webservices")
REPORTS_MIN_INTERVAL = 10.0  # seconds; third parties pace the report CSVs at ~9-11 s


def _is_report(path: Path) -> None:
    """`validate` for report downloads: a C/H/D/T file starts with a "C" (or "H") row."""
    with open(path, "rb") as handle:
        body = handle.read(64)
    head = body[:16].lstrip(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise ValueError("empty body where a report CSV was expected")
    if not head.startswith((b'"C"', b'"H"', b"C,", b"H,")):
        raise ValueError(f"not an ISO-NE report (starts with {body[:40]!r})")


@dataclass(frozen=True)
class RemoteFile:
    url: str
    name: str


class IsoneReportsClient:
    """ISO Express static report CSVs, with the cookie page visit and Referer they need."""

    def __init__(self, base_url: str = registry.REPORTS_BASE_URL, http: HttpClient | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient(min_interval=REPORTS_MIN_INTERVAL)
        self._visited: set[str] = set()

    def __repr__(self) -> str:
        return f"IsoneReportsClient(base_url={self.http.safe_url(self.base_url)!r})"

    def page_url(self, spec: DatasetSpec) -> str:
        """The ISO Express page of the report: under the pricing tree, or from the host root
        (load, operations pages) when the spec's page starts with "/"."""
        page = spec.source.tree_page
        path = page if page.startswith("/") else f"{registry.TREE_PATH}/{page}"
        return f"{self.base_url}{path}"

    def visit(self, spec: DatasetSpec, *, again: bool = False) -> str:
        """GET the report's tree page once per session (it sets the cookie); returns its URL."""
        page = self.page_url(spec)
        if again or page not in self._visited:
            self.http.get_bytes(page)
            self._visited.add(page)
        return page

    def files(self, spec: DatasetSpec, day: date) -> list[RemoteFile]:
        return [
            RemoteFile(f"{self.base_url}{path}", registry.report_name(spec, path, day))
            for path in registry.report_paths(spec, day)
        ]

    def download(
        self, spec: DatasetSpec, remote: RemoteFile, dest_dir: Path
    ) -> LandedSource | None:
        """One report; None when it is not published (404, or no "D" lines)."""
        page = self.visit(spec)
        dest = Path(dest_dir) / remote.name
        try:
            result = self._get(remote, dest, page)
        except SourceError as exc:
            if exc.status == 403:  # the session cookie expired: visit the page again, once
                result = self._get(remote, dest, self.visit(spec, again=True))
            elif exc.status == 404:
                return None
            else:
                raise
        if count_data_lines(dest.read_bytes()) == 0:
            dest.unlink(missing_ok=True)
            return None
        return LandedSource.from_download(result)

    def _get(self, remote: RemoteFile, dest: Path, page: str):
        return self.http.download(remote.url, dest, headers={"Referer": page}, validate=_is_report)

    def fetch_day(self, spec: DatasetSpec, day: date, dest_dir: Path) -> list[LandedSource]:
        """Every report file of a day, or [] when any of them is not published."""
        landed = []
        for remote in self.files(spec, day):
            item = self.download(spec, remote, dest_dir)
            if item is None:
                log.info("%s %s: %s not published yet", spec.iso, day, remote.name)
                for done in landed:
                    done.path.unlink(missing_ok=True)
                return []
            landed.append(item)
        return landed


class IsoneWebServicesClient:
    """webservices.iso-ne.com/api/v1.1 with HTTP basic auth; credentials never in messages."""

    def __init__(
        self,
        base_url: str = registry.WEBSERVICES_BASE_URL,
        *,
        username: str,
        password: str,
        http: HttpClient | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient(min_interval=1.0)
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.http.add_credentials(username, password)

    def __repr__(self) -> str:
        base_url = self.http.safe_url(self.base_url)
        return f"IsoneWebServicesClient(base_url={base_url!r}, credentials=***)"

    def files(self, spec: DatasetSpec, day: date) -> list[RemoteFile]:
        return [
            RemoteFile(f"{self.base_url}/{path}", name)
            for path, name in registry.ws_paths(spec, day)
        ]

    def download(
        self, spec: DatasetSpec, remote: RemoteFile, dest_dir: Path
    ) -> tuple[LandedSource, int]:
        """One reply and its record count."""
        root = spec.source.ws_root
        dest = Path(dest_dir) / remote.name
        try:
            result = self.http.download(
                remote.url, dest, headers=self._headers, validate=_validator_json(root)
            )
        except SourceError as exc:
            if exc.status == 401:
                raise self.http.error(
                    f"ISO-NE web services refused the credentials (HTTP 401) for {remote.url}",
                    url=exc.url,
                    status=401,
                ) from None
            raise
        records = json_record_count(json.loads(dest.read_bytes()), root)
        return LandedSource.from_download(result), records

    def fetch_day(self, spec: DatasetSpec, day: date, dest_dir: Path) -> list[LandedSource]:
        """Every reply of a day, or [] when the day's last reply holds no records yet."""
        replies = [self.download(spec, remote, dest_dir) for remote in self.files(spec, day)]
        last_hour_published = replies and replies[-1][1] > 0
        if not last_hour_published or not sum(n for _, n in replies):
            for landed, _ in replies:
                landed.path.unlink(missing_ok=True)
            log.info("%s %s %s: not published yet", spec.iso, spec.dataset, day)
            return []
        # Empty replies (the spring day's missing 02 start hour) carry no rows; keep them out.
        kept = []
        for landed, records in replies:
            if records:
                kept.append(landed)
            else:
                landed.path.unlink(missing_ok=True)
        return kept


def _validator_json(root: str):
    def validate(path: Path) -> None:
        body = Path(path).read_bytes()
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(f"not JSON (starts with {body[:40]!r})") from None
        top = root.split(".", 1)[0]
        if not isinstance(payload, dict) or top not in payload:
            raise ValueError(f"JSON reply without the {top!r} root")

    return validate


def fetch_days(
    spec: DatasetSpec,
    days: Iterable[date],
    download_dir: Path,
    *,
    channel: Channel = "reports",
    reports: IsoneReportsClient | None = None,
    webservices: IsoneWebServicesClient | None = None,
) -> dict[date, list[LandedSource]]:
    """Download every file of the given operating days; unpublished days are absent."""
    download_dir = Path(download_dir)
    download_dir.mkdir(parents=True, exist_ok=True)
    if channel == "reports":
        client = reports or IsoneReportsClient()
    elif channel == "webservices":
        if webservices is None:
            raise ValueError("channel 'webservices' needs an IsoneWebServicesClient")
        client = webservices
    else:
        raise ValueError(f"unknown ISO-NE channel {channel!r} (expected one of {CHANNELS})")
    result: dict[date, list[LandedSource]] = {}
    before = sorted(d for d in set(days) if d < spec.first_available)
    if before:
        log.info(
            "%s %s starts on %s: %d earlier day(s) not asked for (%s..%s)",
            spec.iso, spec.dataset, spec.first_available, len(before), before[0], before[-1],
        )  # fmt: skip
    for day in sorted(set(days) - set(before)):
        landed = client.fetch_day(spec, day, download_dir / day.isoformat())
        if landed:
            result[day] = landed
    return result
