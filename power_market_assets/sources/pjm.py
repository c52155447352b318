"""PJM Data Miner 2 source: one day of a feed, paged, saved as the JSON pages received.

See docs/reference/ISO_FORMATS.md section 5:
`GET https://api.pjm.com/api/v1/<feed>?startRow=1&rowCount=50000&datetime_beginning_ept=
<day 00:00>to<day 23:59>&fields=...` with the header `Ocp-Apim-Subscription-Key`. A day is
read page by page (rowCount at most 50,000) until `totalRows` rows have come; each page is
written to disk byte for byte as PJM sent it, so stage 1 keeps the originals.

The range is on the EPT label, so the fall-back day's two 01:00 hours are both inside it.
How PJM wants the range written is UNCONFIRMED (gridstatus sends `MM/DD/YYYY HH:MMtoMM/DD/YYYY
HH:MM`, the portal text shows `yyyy-MM-dd HH:mm to yyyy-MM-dd HH:mm`): `range_style` picks.
A day with zero rows is not published yet and is left out of the result; so is a real-time
day that is not over yet in Eastern time (its rows are still coming in).

A fundamentals dataset may read several feeds (`PjmSource.feeds`: wind and solar read their
actuals and their forecast): each is fetched for the day with its own fields and date filter
(a forecast's on its vintage, `evaluated_at_ept`), its pages named after it. The first feed
decides whether the day is published; the others add what they hold (possibly nothing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.registry.pjm import PjmFeed, PjmSource
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import HttpClient, SourceError, full_url
from power_market_assets.sources.landing import LandedSource
from power_market_assets.transforms.time import day_bounds_utc

log = logging.getLogger(__name__)

API_BASE_URL = "https://api.pjm.com"
API_PATH = "/api/v1"
MAX_ROW_COUNT = 50_000
# Non-members: about 6 requests a minute (a 7th gives 429) [3P; UNCONFIRMED from PJM].
NON_MEMBER_MIN_INTERVAL = 10.0
KEY_HEADER = "Ocp-Apim-Subscription-Key"

RangeStyle = Literal["gs", "portal"]
# What a request names: a price dataset's own source or one feed of a fundamentals dataset.
Feed = PjmSource | PjmFeed


def day_range(day: date, style: RangeStyle = "gs") -> str:
    """The EPT label range covering one operating day (end inclusive)."""
    if style == "gs":
        return f"{day:%m/%d/%Y} 00:00to{day:%m/%d/%Y} 23:59"
    if style == "portal":
        return f"{day:%Y-%m-%d} 00:00 to {day:%Y-%m-%d} 23:59"
    raise ValueError(f"unknown range_style {style!r} (expected 'gs' or 'portal')")


def page_file_name(spec: DatasetSpec, day: date, page: int, feed: Feed | None = None) -> str:
    return f"{(feed or spec.source).feed}_{day.isoformat()}_p{page:03d}.json"


def spec_feeds(spec: DatasetSpec) -> tuple[Feed, ...]:
    """The feeds a dataset reads for a day, the one deciding publication first."""
    return spec.source.feeds or (spec.source,)


def _reply_check(holder: list[Any]) -> Callable[[bytes], None]:
    """A `validate` callback: the body must be a Data Miner reply (else retried)."""

    def check(body: bytes) -> None:
        try:
            payload = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            start = body[:40].decode("latin-1", "replace").strip()
            raise ValueError(f"not JSON (starts with {start!r})") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            raise ValueError("JSON without an 'items' list")
        holder.append(payload)

    return check


class PjmDataMinerClient:
    """Data Miner 2 over the shared HttpClient; the key only ever travels in a header."""

    def __init__(
        self,
        base_url: str = API_BASE_URL,
        *,
        subscription_key: str | None,
        http: HttpClient | None = None,
        row_count: int = MAX_ROW_COUNT,
        range_style: RangeStyle = "gs",
        sort: str | None = "datetime_beginning_ept",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient(min_interval=NON_MEMBER_MIN_INTERVAL)
        self.row_count = max(1, min(int(row_count), MAX_ROW_COUNT))
        self.range_style = range_style
        self.sort = sort
        self._clock = clock
        self._key = subscription_key or ""
        self.http.add_secret(self._key)

    def __repr__(self) -> str:
        base_url = self.http.safe_url(self.base_url)
        return f"PjmDataMinerClient(base_url={base_url!r}, subscription_key=***)"

    def feed_url(self, spec: DatasetSpec, feed: Feed | None = None) -> str:
        return f"{self.base_url}{API_PATH}/{(feed or spec.source).feed}"

    def params(
        self, spec: DatasetSpec, day: date, start_row: int, feed: Feed | None = None
    ) -> dict[str, str]:
        feed = feed or spec.source
        params = {
            "startRow": str(start_row),
            "rowCount": str(min(self.row_count, spec.source.row_count)),
        }
        if self.sort:
            # A fundamentals feed sorts on its own date field (the LMP sort field may not be
            # one of its fields); prices keep the configured sort.
            sort = feed.date_field if spec.source.feeds else self.sort
            params.update({"sort": sort, "order": "asc"})
        params[feed.date_field] = day_range(day, self.range_style)
        if feed.fields:
            params["fields"] = feed.fields
        return params

    def _get_page(
        self, spec: DatasetSpec, params: dict[str, str], feed: Feed | None = None
    ) -> tuple[bytes, dict]:
        url = self.feed_url(spec, feed)
        holder: list[Any] = []
        headers = {KEY_HEADER: self._key} if self._key else {}
        try:
            body = self.http.get_bytes(url, params, headers=headers, validate=_reply_check(holder))
        except SourceError as exc:
            raise self.http.error(_explain(exc), url=exc.url, status=exc.status) from None
        return body, holder[-1]

    def fetch_day(self, spec: DatasetSpec, day: date, download_dir: Path) -> list[LandedSource]:
        """Every page of one operating day (of every feed of the dataset), saved as received;
        [] when not published yet (the first feed has no rows for the day)."""
        download_dir = Path(download_dir)
        download_dir.mkdir(parents=True, exist_ok=True)
        pages: list[LandedSource] = []
        try:
            for feed in spec_feeds(spec):
                feed_pages = self._fetch_feed_day(spec, feed, day, download_dir)
                pages += feed_pages
                if not feed_pages and not pages:
                    log.info("PJM %s %s: no rows yet (not published)", feed.feed, day)
                    return []
        except BaseException:
            _remove(pages)
            raise
        if spec.market == "RTM" and day_bounds_utc(day, spec.timezone)[1] > self._clock():
            log.info("PJM %s %s: the day is not over yet; left for later", spec.dataset, day)
            _remove(pages)
            return []
        return pages

    def _fetch_feed_day(
        self, spec: DatasetSpec, feed: Feed, day: date, download_dir: Path
    ) -> list[LandedSource]:
        """Every page of one feed for one day; [] when it has no rows for the day."""
        pages: list[LandedSource] = []
        start_row, received, total = 1, 0, None
        try:
            while True:
                params = self.params(spec, day, start_row, feed)
                body, payload = self._get_page(spec, params, feed)
                items = payload["items"]
                total = _total_rows(payload, total)
                if not items and received == 0:
                    break
                name = page_file_name(spec, day, len(pages) + 1, feed)
                path = atomic_write_bytes(download_dir / name, body)
                full = full_url(self.feed_url(spec, feed), params)
                pages.append(
                    LandedSource(
                        path=path,
                        original_name=name,
                        url=self.http.safe_url(full),
                        downloaded_at_utc=datetime.now(UTC),
                    )
                )
                received += len(items)
                if not items or (total is not None and received >= total):
                    break
                if total is None and not _has_next(payload):
                    break
                start_row += len(items)
            if total is not None and received != total:
                raise self.http.error(
                    f"PJM {feed.feed} {day}: got {received} rows but the reply "
                    f"announced totalRows={total}",
                    url=self.feed_url(spec, feed),
                )
        except BaseException:
            _remove(pages)
            raise
        return pages


def _total_rows(payload: dict, previous: int | None) -> int | None:
    value = payload.get("totalRows")
    try:
        return int(value) if value is not None else previous
    except (TypeError, ValueError):
        return previous


def _has_next(payload: dict) -> bool:
    links = payload.get("links") or []
    return any(isinstance(link, dict) and link.get("rel") == "next" for link in links)


def _remove(pages: list[LandedSource]) -> None:
    for page in pages:
        page.path.unlink(missing_ok=True)


def _explain(exc: SourceError) -> str:
    if exc.status == 401:
        return f"PJM Data Miner refused the subscription key (HTTP 401; set PJM_API_KEY): {exc}"
    if exc.status == 400:
        return f"PJM Data Miner rejected the query (HTTP 400): {exc}"
    return str(exc)


def fetch_days(
    spec: DatasetSpec,
    days: Iterable[date],
    download_dir: Path,
    *,
    client: PjmDataMinerClient,
) -> dict[date, list[LandedSource]]:
    """The JSON pages of each operating day; unpublished days are absent from the result."""
    result: dict[date, list[LandedSource]] = {}
    for day in sorted(set(days)):
        pages = client.fetch_day(spec, day, Path(download_dir))
        if pages:
            result[day] = pages
    return result
