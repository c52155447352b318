"""A local stand-in PJM Data Miner 2 API on 127.0.0.1 (stdlib only).

`GET /api/v1/<feed>?startRow=1&rowCount=N&datetime_beginning_ept=<from>to<to>&fields=...`
answers with the reply envelope (pjm.py `json_reply`), `links` carrying `next` while
rows remain; `GET /api/v1/<feed>/metadata` lists the fields. Every call needs the header
`Ocp-Apim-Subscription-Key` (401 JSON without it or with a wrong one). rowCount above 50,000,
an unparseable date range or an unknown field give PJM's 400 error body (`errors`, `code`,
`message`, `activityId`, `timestamp`). Ranges are accepted in both forms seen
(`MM/DD/YYYY HH:MMtoMM/DD/YYYY HH:MM` and `yyyy-MM-dd HH:mm to yyyy-MM-dd HH:mm`); the end
is inclusive. `download=true` returns the bare item list with an `X-TotalRows` header.

Own faults besides standin.py's: `pjm_400` (the error body) and `pjm_rate_limit`
(429 with the API gateway's message and `Retry-After` when given).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import ClassVar

from power_market_assets.registry.pjm import PJM_DATASETS
from power_market_standins.pjm import feed_items, json_reply
from power_market_standins.pjm_fundamentals import feed_day_items
from power_market_standins.standin import (
    FAULTS,
    MISSING_KEY_MESSAGE,
    Fault,
    Request,
    Response,
    StandInServer,
    json_response,
    subscription_key_refusal,
)

__all__ = ["MISSING_KEY_MESSAGE", "PjmStandInServer", "parse_range", "pjm_error"]

API_PREFIX = "/api/v1/"
MAX_ROW_COUNT = 50_000
_RANGE_FORMATS = ("%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M", "%m/%d/%Y", "%Y-%m-%d")
# Date fields a range filter may name: prices and actuals on the interval, forecasts on their
# vintage (evaluated_at...) or their interval (forecast_datetime_beginning...).
_DATE_FILTERS = (
    "datetime_beginning_ept",
    "datetime_beginning_utc",
    "evaluated_at_ept",
    "evaluated_at_utc",
    "evaluated_at_datetime_ept",
    "evaluated_at_datetime_utc",
    "forecast_datetime_beginning_ept",
    "forecast_datetime_beginning_utc",
)
# The order items are served in: by vintage (forecasts), then by interval.
_ORDER_FIELDS = (
    "evaluated_at_datetime_utc",
    "evaluated_at_utc",
    "datetime_beginning_utc",
    "forecast_datetime_beginning_utc",
)


def _order(item: dict) -> tuple[str, ...]:
    return tuple(item[f] for f in _ORDER_FIELDS if f in item)


def _day_field(item: dict) -> str:
    """The EPT field whose date is an item's day: its vintage's, else its interval's."""
    return next(f for f in _DATE_FILTERS if f.endswith("_ept") and f in item)


def pjm_error(status: int, message: str, field: str = "") -> Response:
    """PJM's error body (ISO_FORMATS 5.2)."""
    body = {
        "errors": [{"field": field, "message": message}] if field else [{"message": message}],
        "code": status,
        "message": message,
        "activityId": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return json_response(status, body)


def _parse_point(text: str) -> datetime:
    for fmt in _RANGE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(text)


def parse_range(text: str) -> tuple[datetime, datetime]:
    """`A to B` or `AtoB` -> inclusive naive bounds (a single point is a one-point range)."""
    parts = text.split("to")
    if len(parts) == 1:
        point = _parse_point(parts[0])
        return point, point
    if len(parts) != 2:
        raise ValueError(text)
    return _parse_point(parts[0]), _parse_point(parts[1])


class PjmStandInServer(StandInServer):
    """Data Miner 2 feeds held in memory, paged and key-checked like the real API."""

    faults: ClassVar[tuple[str, ...]] = (*FAULTS, "pjm_400", "pjm_rate_limit")
    server_version = "PjmStandIn/1.0"

    def __init__(
        self,
        feeds: dict[str, list[dict]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        subscription_key: str = "sample-pjm-key",
        max_row_count: int = MAX_ROW_COUNT,
        default_delay: float = 2.0,
    ):
        super().__init__(host=host, port=port, default_delay=default_delay)
        self.subscription_key = subscription_key
        self.max_row_count = max_row_count
        self._feeds: dict[str, list[dict]] = {}
        for feed, items in (feeds or {}).items():
            self.add_items(feed, items)

    # -- content -------------------------------------------------------------------------

    def add_items(self, feed: str, items: Iterable[dict]) -> None:
        with self._lock:
            merged = self._feeds.get(feed, []) + list(items)
            merged.sort(key=_order)  # stable: pnode (area, fuel) order kept
            self._feeds[feed] = merged

    def remove_day(self, feed: str, day: date) -> None:
        """Make an operating day (EPT date; a forecast's publication day) unpublished again."""
        prefix = day.isoformat()
        with self._lock:
            self._feeds[feed] = [
                i for i in self._feeds.get(feed, [])
                if not i[_day_field(i)].startswith(prefix)
            ]  # fmt: skip

    # -- routes --------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.method != "GET" or not request.path.startswith(API_PREFIX):
            return json_response(404, {"statusCode": 404, "message": "Resource not found"})
        refusal = subscription_key_refusal(
            request.headers.get("ocp-apim-subscription-key"), self.subscription_key
        )
        if refusal is not None:
            return refusal
        segments = [s for s in request.path[len(API_PREFIX) :].split("/") if s]
        with self._lock:
            items = self._feeds.get(segments[0]) if segments else None
        if items is None:
            return json_response(404, {"statusCode": 404, "message": "Resource not found"})
        if len(segments) == 2 and segments[1] == "metadata":
            return json_response(200, {"fields": [{"name": f} for f in (items[:1] or [{}])[0]]})
        if len(segments) != 1:
            return json_response(404, {"statusCode": 404, "message": "Resource not found"})
        return self._query(segments[0], items, request.query)

    def _query(self, feed: str, items: list[dict], query: dict[str, str]) -> Response:
        lowered = {k.lower(): v for k, v in query.items()}
        try:
            start_row = int(lowered.get("startrow", "1"))
            row_count = int(lowered["rowcount"])
        except KeyError:
            return pjm_error(400, "rowCount is required when other parameters are given")
        except ValueError:
            return pjm_error(400, "startRow and rowCount must be integers")
        if row_count > self.max_row_count or row_count < 1 or start_row < 1:
            return pjm_error(400, f"rowCount must be between 1 and {self.max_row_count}")
        filters = {}
        selected = items
        for name in _DATE_FILTERS:
            if name not in lowered:
                continue
            filters[name] = lowered[name]
            try:
                low, high = parse_range(lowered[name])
            except ValueError:
                return pjm_error(400, f"The value '{lowered[name]}' is not valid.", name)
            selected = [
                i for i in selected
                if low <= datetime.fromisoformat(i[name]) <= high
            ]  # fmt: skip
        fields = [f for f in lowered.get("fields", "").split(",") if f]
        known = set(items[0]) if items else set()
        unknown = [f for f in fields if known and f not in known]
        if unknown:
            return pjm_error(400, f"Invalid field(s): {','.join(unknown)}", "fields")
        page = selected[start_row - 1 : start_row - 1 + row_count]
        if fields:  # the items keep their own field order, as PJM's do [BYTES]
            page = [{f: v for f, v in i.items() if f in fields} for i in page]
        if lowered.get("download", "").lower() == "true":
            body = json.dumps(page, separators=(",", ":")).encode()
            extra = {"X-TotalRows": str(len(selected))}
            return Response(200, body, "application/json", extra)
        body = json_reply(
            feed,
            page,
            total_rows=len(selected),
            start_row=start_row,
            row_count=row_count,
            fields=fields or (list(page[0]) if page else []),
            filters=filters,
            base=self.base_url,
        )
        return Response(200, body, "application/json; charset=utf-8")

    # -- PJM's own faults ----------------------------------------------------------------

    def custom_fault(self, fault: Fault, response: Response) -> Response:
        if fault.fault == "pjm_400":
            return pjm_error(400, "The request is invalid.", "datetime_beginning_ept")
        if fault.fault == "pjm_rate_limit":
            seconds = fault.retry_after or "60"
            body = {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in "
                    f"{seconds} seconds."}  # fmt: skip
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return Response(429, json.dumps(body).encode(), "application/json", extra)
        return super().custom_fault(fault, response)


def standin_server(days: list[date], n_locations: int = 20, seed: int = 0) -> PjmStandInServer:
    """A (not yet started) stand-in Data Miner holding every PJM dataset for these days
    (every feed of a fundamentals dataset; forecasts: the vintages published these days)."""
    server = PjmStandInServer()
    for spec in PJM_DATASETS:
        for feed in spec.source.feeds:
            server.add_items(feed.feed, feed_day_items(feed, days, seed))
        if not spec.source.feeds:
            server.add_items(spec.source.feed, feed_items(spec, days, n_locations, seed))
    return server


def standin_environment(server: PjmStandInServer) -> dict[str, str]:
    """No real-world 10 s spacing, and the stand-in's own demo subscription key."""
    return {"PMA_PJM_MIN_INTERVAL": "0", "PJM_API_KEY": server.subscription_key}
