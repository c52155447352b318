"""ERCOT sources: the MIS document listing/download and the Public API archive, per DatasetSpec.

See docs/reference/ISO_FORMATS.md section 1. Both channels deliver the same per-document
zips (one CSV each); the public API bulk download wraps them in an outer zip.

Operating day of a listed document (`spec.source.listing_day_rule`):
- "publish_date_plus_one": the PublishDate's local date + 1 (DAM SPP, DAM MCPC).
- "name_interval_end": the friendly name's `YYYYMMDD_HHMM` is the interval END in Central
  time, so the interval starts `interval_minutes` earlier; the `_0000` file belongs to the
  previous day. `_retry` and `xhr` variants of the name are accepted.
- "publish_date": the PublishDate's local date (forecasts and renewables, NP3-565-CD,
  NP4-732-CD, NP4-737-CD: their partitions are publication days).
- "publish_date_minus_one": the PublishDate's local date - 1 (NP6-345-CD actual load,
  published about 05:50 the morning after).
- "name_sced_timestamp": the friendly name's `YYYYMMDD_HHMMSS` is the SCED run time in Central
  time (NP6-788-CD `LMPSROSNODENP6788_20241103_010513`), which is the row's own timestamp:
  its local date is the operating day (a run at 00:00:14 belongs to that day).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from power_market_assets.formats.archive import (
    ArchiveError,
    atomic_write_bytes,
    safe_member_basename,
)
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import (
    DownloadResult,
    HttpClient,
    SourceError,
    is_zip_file,
    iter_chunks,
)

log = logging.getLogger(__name__)

MIS_BASE_URL = "https://www.ercot.com"
API_BASE_URL = "https://api.ercot.com/api/public-reports"
API_TOKEN_URL = "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
API_CLIENT_ID = "fec253ea-0d06-4272-a5e6-b478baeecd70"
API_BULK_LIMIT = 1000
_NAME_STAMP = re.compile(r"(?<!\d)(\d{8})_(\d{4})(\d{2})?(?!\d)")

Channel = Literal["mis", "api"]


@dataclass(frozen=True)
class MisDocument:
    doc_id: str
    friendly_name: str
    constructed_name: str
    publish_time: datetime  # tz-aware
    content_size: int  # bytes of the zip; 0 when unknown (public API listing)
    report_type_id: str
    operating_day: date
    download_href: str | None = None  # public API single-document URL, when known

    @property
    def is_repeated_hour(self) -> bool:
        return "xhr" in self.friendly_name.lower()

    @property
    def file_name(self) -> str:
        """A safe local file name for the document's zip (a listing cannot name a path)."""
        name = self.constructed_name or f"{self.doc_id}.{self.friendly_name}.zip"
        try:
            return safe_member_basename(name, "ERCOT listing")
        except ArchiveError as exc:
            raise SourceError(f"unsafe download path in the ERCOT listing: {exc.problem}") from None


def publication_order(doc: Any) -> tuple[datetime, int, str]:
    """Publication order of listed documents (anything with `publish_time` and `doc_id`;
    document ids grow with time and are compared as numbers)."""
    return (doc.publish_time.astimezone(UTC), len(doc.doc_id), doc.doc_id)


@dataclass(frozen=True)
class DownloadedDocument:
    document: MisDocument
    path: Path
    url: str  # redacted
    size_bytes: int
    sha256: str
    downloaded_at_utc: datetime

    # The fields land_operating_day reads from any source.
    @property
    def original_name(self) -> str:
        return self.document.constructed_name or self.path.name

    @property
    def doc_id(self) -> str:
        return self.document.doc_id

    @property
    def publish_time(self) -> datetime:
        return self.document.publish_time


# ---------------------------------------------------------------------------------------------
# Operating-day rules


def interval_end_from_name(friendly_name: str) -> datetime | None:
    """The naive local timestamp in a friendly name (`..._20260611_1330_csv`, or with seconds
    `..._20241103_010513_csv` for SCED files), or None."""
    match = _NAME_STAMP.search(friendly_name)
    if not match:
        return None
    day, hhmm, ss = match.groups()
    return datetime.strptime(day + hhmm + (ss or "00"), "%Y%m%d%H%M%S")


def operating_day_for(spec: DatasetSpec, friendly_name: str, publish_time: datetime) -> date | None:
    """The operating day a document belongs to, per `spec.source.listing_day_rule`."""
    if spec.source.listing_day_rule == "publish_date_plus_one":
        # The literal local date of the publish time (its own offset), plus one.
        return publish_time.date() + timedelta(days=1)
    if spec.source.listing_day_rule == "publish_date":
        # Forecasts and renewables: partitioned by the local day they were published.
        return publish_time.date()
    if spec.source.listing_day_rule == "publish_date_minus_one":
        # The daily actual load: published the morning after its operating day.
        return publish_time.date() - timedelta(days=1)
    if spec.source.listing_day_rule == "name_interval_end":
        end = interval_end_from_name(friendly_name)
        if end is None:
            return None
        return (end - timedelta(minutes=spec.interval_minutes)).date()
    if spec.source.listing_day_rule == "name_sced_timestamp":
        stamp = interval_end_from_name(friendly_name)
        return None if stamp is None else stamp.date()
    if spec.source.listing_day_rule == "workbook_days":  # not listed on the MIS
        return None
    raise ValueError(f"unknown listing_day_rule {spec.source.listing_day_rule!r}")


def parse_publish_date(text: str, timezone: str) -> datetime:
    """A listing's PublishDate: it carries its offset; a bare local time is read in the ISO's
    zone (the first reading of a repeated hour)."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))


def _resolve_post_datetime(text: str, friendly_name: str, timezone: str) -> datetime:
    """API `postDatetime` is local without offset, ambiguous in the repeated fall-back hour.

    When the name carries a timestamp (RT files), pick the reading closest to the interval
    end the name states (`xhr` names are the CST pass); otherwise the first (CDT) reading.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        return value
    tz = ZoneInfo(timezone)
    first, second = value.replace(tzinfo=tz, fold=0), value.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    end = interval_end_from_name(friendly_name)
    if end is None:
        return second if "xhr" in friendly_name.lower() else first
    # Compare in UTC: arithmetic between datetimes of the same tzinfo ignores `fold`.
    end_at = end.replace(tzinfo=tz, fold=1 if "xhr" in friendly_name.lower() else 0)
    end_utc = end_at.astimezone(UTC)
    return min((first, second), key=lambda c: abs((c.astimezone(UTC) - end_utc).total_seconds()))


def _is_csv_document(friendly_name: str, constructed_name: str = "") -> bool:
    return friendly_name.lower().endswith("_csv") or "csv.zip" in constructed_name.lower()


# ---------------------------------------------------------------------------------------------
# MIS


class ErcotMisClient:
    """The public MIS: `IceDocListJsonWS` listing (rolling window) and `mirDownload`."""

    def __init__(
        self,
        base_url: str = MIS_BASE_URL,
        http: HttpClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient()
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.http.safe_url(self.base_url)!r})"

    def report_listing_url(self, report_type_id: str) -> str:
        """The listing of one report type (the trailing `_<seconds>` defeats caches)."""
        return (
            f"{self.base_url}/misapp/servlets/IceDocListJsonWS?reportTypeId={report_type_id}"
            f"&_{int(self._clock())}"
        )

    def listing_url(self, spec: DatasetSpec) -> str:
        return self.report_listing_url(str(spec.source.report_type_id))

    def download_url(self, doc) -> str:
        """`doc`: anything with a `doc_id` (a listed daily or yearly document)."""
        return f"{self.base_url}/misdownload/servlets/mirDownload?doclookupId={doc.doc_id}"

    def list_documents(self, spec: DatasetSpec) -> list[MisDocument]:
        """CSV documents currently listed for the spec's report type, newest first."""
        url = self.listing_url(spec)
        payload = self.http.get_json(url)
        return parse_listing(spec, payload, source=self.http.safe_url(url))

    def documents_for_days(
        self, spec: DatasetSpec, days: Iterable[date]
    ) -> dict[date, list[MisDocument]]:
        """Listed CSV documents grouped by operating day (days with none are absent).

        A correction is posted beside the original under the same friendly name; only the
        newest of each name is kept, so the day's files replace the old values instead of
        duplicating them. Reports with vintages (every hourly forecast under one name) keep
        every document.
        """
        wanted = set(days)
        # A report with vintages (forecasts, renewables) republishes under one friendly name
        # every hour: each document is a publication of its own, kept by its id.
        vintages = spec.table_kind.vintage_column is not None
        newest: dict[tuple[date, str], MisDocument] = {}
        for doc in self.list_documents(spec):
            if doc.operating_day not in wanted:
                continue
            key = (doc.operating_day, doc.doc_id if vintages else doc.friendly_name)
            if key not in newest or publication_order(doc) > publication_order(newest[key]):
                newest[key] = doc
        out: dict[date, list[MisDocument]] = {}
        for doc in sorted(newest.values(), key=publication_order):
            out.setdefault(doc.operating_day, []).append(doc)
        return out

    def download(self, doc: MisDocument, dest_dir: Path) -> DownloadedDocument:
        url = self.download_url(doc)
        result = self.http.download(
            url,
            Path(dest_dir) / doc.file_name,
            expected_size=doc.content_size or None,
            validate=is_zip_file,
        )
        return _downloaded(doc, result)


def listed_entries(payload: Any, *, source: str = "listing") -> list[dict[str, Any]]:
    """The entries of `{"ListDocsByRptTypeRes":{"DocumentList":[{"Document":{...}}]}}`."""
    try:
        items = payload["ListDocsByRptTypeRes"]["DocumentList"]
    except (KeyError, TypeError):
        raise SourceError(f"{source}: not an ERCOT document listing") from None
    if isinstance(items, dict):  # a single document is sometimes not wrapped in a list
        items = [items]
    entries = [item.get("Document", item) for item in items or [] if isinstance(item, dict)]
    return [raw for raw in entries if isinstance(raw, dict)]


def parse_listing(spec: DatasetSpec, payload: Any, *, source: str = "listing") -> list[MisDocument]:
    """The CSV documents of a listing (see `listed_entries`) for the spec's report type."""
    docs: list[MisDocument] = []
    for raw in listed_entries(payload, source=source):
        friendly = str(raw.get("FriendlyName", ""))
        constructed = str(raw.get("ConstructedName", ""))
        if not _is_csv_document(friendly, constructed):
            continue
        rtid = str(raw.get("ReportTypeID", spec.source.report_type_id))
        if rtid != str(spec.source.report_type_id):
            continue
        try:
            publish = parse_publish_date(str(raw["PublishDate"]), spec.timezone)
            doc_id = str(raw["DocID"]).strip()
            size = int(str(raw.get("ContentSize", "0")).strip() or 0)
        except (KeyError, ValueError) as exc:
            log.warning("%s: skipping malformed listing entry %r (%s)", source, friendly, exc)
            continue
        day = operating_day_for(spec, friendly, publish)
        if day is None:
            log.warning("%s: no operating day in document name %r", source, friendly)
            continue
        docs.append(
            MisDocument(
                doc_id=doc_id,
                friendly_name=friendly,
                constructed_name=constructed,
                publish_time=publish,
                content_size=size,
                report_type_id=rtid,
                operating_day=day,
            )
        )
    return docs


def _downloaded(doc: MisDocument, result: DownloadResult) -> DownloadedDocument:
    return DownloadedDocument(
        document=doc,
        path=result.path,
        url=result.url,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        downloaded_at_utc=result.downloaded_at_utc,
    )


# ---------------------------------------------------------------------------------------------
# Public API


class ErcotPublicApiClient:
    """api.ercot.com: B2C ROPC token + subscription key; archive listing and downloads.

    Credentials are never put in reprs, log lines or exception messages (they are registered
    with the HttpClient, which scrubs them from every message).
    """

    def __init__(
        self,
        base_url: str = API_BASE_URL,
        token_url: str = API_TOKEN_URL,
        *,
        username: str,
        password: str,
        subscription_key: str,
        http: HttpClient | None = None,
        client_id: str = API_CLIENT_ID,
        token_ttl_seconds: float = 55 * 60,
        page_size: int = 1000,
        bulk_chunk_size: int = API_BULK_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.client_id = client_id
        self.http = http or HttpClient(min_interval=2.0)  # 30 requests/minute
        self._username = username
        self._password = password
        self._subscription_key = subscription_key
        self._token: str | None = None
        self._token_at = 0.0
        self._ttl = token_ttl_seconds
        self._clock = clock
        self.page_size = page_size
        self.bulk_chunk_size = min(bulk_chunk_size, API_BULK_LIMIT)
        for secret in (username, password, subscription_key):
            self.http.add_secret(secret)

    def __repr__(self) -> str:
        return (
            f"ErcotPublicApiClient(base_url={self.http.safe_url(self.base_url)!r}, credentials=***)"
        )

    # -- auth ----------------------------------------------------------------------------

    def token(self, *, refresh: bool = False) -> str:
        now = self._clock()
        if self._token and not refresh and now - self._token_at < self._ttl:
            return self._token
        form = {
            "grant_type": "password",
            "username": self._username,
            "password": self._password,
            "response_type": "id_token",
            "scope": f"openid {self.client_id} offline_access",
            "client_id": self.client_id,
        }
        try:
            reply = self.http.post_json(self.token_url, data=form)
        except SourceError as exc:
            raise self.http.error(
                f"ERCOT API token request failed: {exc}", url=exc.url, status=exc.status
            ) from None
        token = (reply or {}).get("id_token") or (reply or {}).get("access_token")
        if not token:
            raise self.http.error("ERCOT API token reply has no id_token", url=self.token_url)
        self.http.add_secret(str(token))
        self._token = str(token)
        self._token_at = now
        return self._token

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token()}",
            "Ocp-Apim-Subscription-Key": self._subscription_key,
        }

    def _authed(self, call: Callable[[dict[str, str]], Any]) -> Any:
        """Run a request; on 401 fetch a fresh token once and retry."""
        try:
            return call(self.headers())
        except SourceError as exc:
            if exc.status != 401:
                raise
            self.token(refresh=True)
            return call(self.headers())

    # -- archive -------------------------------------------------------------------------

    def archive_url(self, spec: DatasetSpec) -> str:
        return f"{self.base_url}/archive/{spec.report_code.lower()}"

    def list_archive(self, spec: DatasetSpec, start: date, end: date) -> list[MisDocument]:
        """Archived CSV documents whose operating day is in [start, end], oldest first."""
        # DAM files are posted the day before delivery; RT files up to the next midnight.
        post_from = datetime.combine(start - timedelta(days=1), datetime.min.time())
        post_to = datetime.combine(end + timedelta(days=1), datetime.max.time())
        url = self.archive_url(spec)
        docs: list[MisDocument] = []
        page = 1
        while True:
            params = {
                "postDatetimeFrom": post_from.strftime("%Y-%m-%dT%H:%M:%S"),
                "postDatetimeTo": post_to.strftime("%Y-%m-%dT%H:%M:%S"),
                "size": self.page_size,
                "page": page,
            }
            reply = self._authed(lambda h, p=params: self.http.get_json(url, p, headers=h))
            for raw in (reply or {}).get("archives") or []:
                doc = self._archive_document(spec, raw)
                if doc is not None and start <= doc.operating_day <= end:
                    docs.append(doc)
            meta = (reply or {}).get("_meta") or {}
            total_pages = int(meta.get("totalPages") or 1)
            if page >= total_pages:
                break
            page += 1
        docs.sort(key=lambda d: (d.publish_time.astimezone(UTC), d.doc_id))
        return docs

    def _archive_document(self, spec: DatasetSpec, raw: dict[str, Any]) -> MisDocument | None:
        friendly = str(raw.get("friendlyName", ""))
        if friendly.lower().endswith("_xml"):
            return None
        try:
            doc_id = str(raw["docId"]).strip()
            publish = _resolve_post_datetime(str(raw["postDatetime"]), friendly, spec.timezone)
        except (KeyError, ValueError):
            log.warning("skipping malformed archive entry %r", friendly)
            return None
        day = operating_day_for(spec, friendly, publish)
        if day is None:
            return None
        href = (((raw.get("_links") or {}).get("endpoint") or {}).get("href")) or None
        return MisDocument(
            doc_id=doc_id,
            friendly_name=friendly,
            constructed_name="",
            publish_time=publish,
            content_size=0,
            report_type_id=str(spec.source.report_type_id),
            operating_day=day,
            download_href=href,
        )

    def download_document(
        self, spec: DatasetSpec, doc: MisDocument, dest_dir: Path
    ) -> DownloadedDocument:
        """One archived document (its zip) through its `_links.endpoint.href`."""
        url = doc.download_href or f"{self.archive_url(spec)}?download={doc.doc_id}"
        dest = Path(dest_dir) / doc.file_name
        result = self._authed(
            lambda h: self.http.download(url, dest, headers=h, validate=is_zip_file)
        )
        return _downloaded(doc, result)

    def download_bulk(self, spec: DatasetSpec, doc_ids: Iterable[str], dest: Path) -> list[Path]:
        """POST archive/{emil}/download in chunks of <= 1000 ids; each reply (a zip of
        per-document zips) is saved in the folder `dest` as `bulk-<n>.zip`."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        url = f"{self.archive_url(spec)}/download"
        paths = []
        for n, chunk in enumerate(iter_chunks(list(doc_ids), self.bulk_chunk_size)):
            target = dest / f"bulk-{spec.report_code.lower()}-{n:04d}.zip"
            body = {"docIds": [int(d) if str(d).isdigit() else d for d in chunk]}
            self._authed(
                lambda h, t=target, b=body: self.http.download(
                    url, t, method="POST", json=b, headers=h, validate=is_zip_file
                )
            )
            paths.append(target)
        return paths


def split_bulk_zip(
    outer: Path, docs_by_id: dict[str, MisDocument], dest_dir: Path, *, url: str
) -> list[DownloadedDocument]:
    """Save each per-document zip of a bulk download as its own file.

    Member names start with `<docId>.`; members whose id was not requested are ignored.
    """
    out: list[DownloadedDocument] = []
    now = datetime.now(UTC)
    try:
        with zipfile.ZipFile(outer) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
                doc_id = base.split(".", 1)[0]
                doc = docs_by_id.get(doc_id)
                if doc is None:
                    continue
                if info.file_size > 2_000_000_000:
                    raise SourceError(f"{outer.name}: member {base!r} is too large", url=url)
                data = zf.read(info)
                target = Path(dest_dir) / doc.file_name
                atomic_write_bytes(target, data)
                out.append(
                    DownloadedDocument(
                        document=doc,
                        path=target,
                        url=doc.download_href or url,
                        size_bytes=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                        downloaded_at_utc=now,
                    )
                )
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"{outer.name}: bad bulk download zip ({exc})", url=url) from None
    return out


# ---------------------------------------------------------------------------------------------
# Convenience for the csv asset


def fetch_day_archives(
    spec: DatasetSpec,
    days: Iterable[date],
    *,
    channel: Channel,
    download_dir: Path,
    mis: ErcotMisClient | None = None,
    api: ErcotPublicApiClient | None = None,
    download_workers: int = 4,
) -> dict[date, list[DownloadedDocument]]:
    """Download every CSV document of the given operating days.

    `channel="mis"` uses the MIS listing (only the recent rolling window is available);
    `channel="api"` uses the public API archive with bulk downloads. Days without documents
    are absent from the result; the caller reports them. MIS documents are small (8 KB for a
    15-minute RT file, ~100 a day), so a few download at once; the shared HttpClient's rate
    limit still spaces the requests when one is configured.
    """
    wanted = sorted(set(days))
    download_dir = Path(download_dir)
    download_dir.mkdir(parents=True, exist_ok=True)
    result: dict[date, list[DownloadedDocument]] = {}
    if not wanted:
        return result
    if channel == "mis":
        client = mis or ErcotMisClient()
        by_day = sorted(client.documents_for_days(spec, wanted).items())
        with ThreadPoolExecutor(max_workers=max(1, download_workers)) as pool:
            for day, docs in by_day:
                result[day] = list(pool.map(lambda d: client.download(d, download_dir), docs))
        return result
    if channel == "api":
        if api is None:
            raise ValueError("channel 'api' needs an ErcotPublicApiClient")
        docs = [
            d for d in api.list_archive(spec, wanted[0], wanted[-1]) if d.operating_day in wanted
        ]
        if not docs:
            return result
        by_id = {d.doc_id: d for d in docs}
        staging = download_dir / ".bulk"
        try:
            for outer in api.download_bulk(spec, list(by_id), staging):
                for item in split_bulk_zip(
                    outer,
                    by_id,
                    download_dir,
                    url=api.http.safe_url(f"{api.archive_url(spec)}/download"),
                ):
                    result.setdefault(item.document.operating_day, []).append(item)
                outer.unlink(missing_ok=True)
        finally:
            with contextlib.suppress(OSError):
                staging.rmdir()
        missing = set(by_id) - {i.doc_id for items in result.values() for i in items}
        if missing:
            log.warning("bulk download lacked %d documents; fetching them one by one", len(missing))
            for doc_id in sorted(missing):
                item = api.download_document(spec, by_id[doc_id], download_dir)
                result.setdefault(item.document.operating_day, []).append(item)
        for items in result.values():
            items.sort(key=lambda i: (i.publish_time.astimezone(UTC), i.doc_id))
        return dict(sorted(result.items()))
    raise ValueError(f"unknown channel {channel!r} (expected 'mis' or 'api')")
