"""A local stand-in CAISO OASIS server on 127.0.0.1 (stdlib only) for tests and demos.

`GET /oasisapi/SingleZip?queryname=<Q>&startdatetime=YYYYMMDDTHH:MM-0000&enddatetime=...
&market_run_id=<M>&version=<V>&resultformat=6&(node=A,B | grp_type=ALL|ALL_APNODES)`
answers, like OASIS, with HTTP 200 and a zip every time:

- data: one CSV (node list), or one CSV per LMP component for an all-nodes group
  (`split_components`, after BUST's observation; UNCONFIRMED, so switchable), rows shuffled;
- no rows in the window: an error XML with ERR_CODE 1000;
- a window touching more than 31 calendar days (GMT): ERR_CODE 1004;
- a malformed request: ERR_CODE 1001 in `INVALID_REQUEST.xml` (UNCONFIRMED).

The load, forecast and renewable queries (SLD_FCST, SLD_REN_FCST) are answered per market run
(`market_run_id`). Today's Outlook, another CAISO host, is served beside it:
`GET /outlook/history/<YYYYMMDD>/fuelsource.csv` (and the older `/outlook/SP/History/...`
path), a 404 for a day it does not hold.

CAISO faults on demand, besides the generic ones of standin.py:
`caiso_no_data` (1000), `caiso_window_too_long` (1004), `caiso_try_again` (1015, GroupZip
"Please Submit request after Sometime") and `caiso_throttle_html` (HTTP 200 with an HTML
"Acceptable Use Policy Violation" page instead of a zip; wording UNCONFIRMED).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from power_market_assets.registry.kinds import PRICE
from power_market_standins.caiso import (
    COMPONENTS,
    OasisRows,
    generate_all,
    member_name,
    shuffled_csv,
    zip_members,
)
from power_market_standins.caiso_fundamentals import (
    FUELSOURCE_NAME,
    fuelsource_files,
    generate_oasis,
)
from power_market_standins.standin import (
    FAULTS,
    Fault,
    Request,
    Response,
    StandInServer,
    not_found,
)

SINGLE_ZIP_PATH = "/oasisapi/SingleZip"
# Today's Outlook daily history files (current path, and the older /SP/History one).
OUTLOOK_PATH = re.compile(r"^/outlook/(?:history|SP/History)/(\d{8})/([a-z_]+\.csv)$")
OASIS_TIME_FORMAT = "%Y%m%dT%H:%M%z"
MAX_WINDOW_DAYS = 31
ERRORS = {
    1000: "No data returned for the specified selection",
    1001: "Invalid request",
    1004: "Data can be requested for period of 31 days only",
    1015: "GroupZip DownLoad is in Processing, Please Submit request after Sometime",
}
THROTTLE_PAGE = (
    b"<html><head><title>Acceptable Use Policy Violation</title></head><body>"
    b"<h1>Acceptable Use Policy Violation</h1><p>Too many requests; please retry after 5 "
    b"seconds.</p></body></html>\n"
)
CAISO_FAULTS = ("caiso_no_data", "caiso_window_too_long", "caiso_try_again", "caiso_throttle_html")
_FAULT_CODES = {"caiso_no_data": 1000, "caiso_window_too_long": 1004, "caiso_try_again": 1015}


def error_xml(code: int, description: str | None = None, when: datetime | None = None) -> bytes:
    """OASIS's error report, laid out as the real no-data reply (ISO_FORMATS.md 2.6)."""
    stamp = (when or datetime(2024, 1, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    text = description or ERRORS.get(code, "Error")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<m:OASISReport xmlns:m="http://www.caiso.com/soa/OASISReport_v1.xsd">\n'
        "<m:MessageHeader>\n"
        f"\t<m:TimeDate>{stamp}</m:TimeDate>\n"
        "\t<m:Source>OASIS</m:Source>\n"
        "\t<m:Version>v20131201</m:Version>\n"
        "</m:MessageHeader>\n"
        "<m:MessagePayload>\n"
        "<m:RTO>\n"
        "<m:name>CAISO</m:name>\n"
        "<m:DISCLAIMER_ITEM>\n"
        "<m:DISCLAIMER>The contents of these pages are subject to change without notice. "
        "Decisions based on information contained within the California ISO's web site are "
        "the visitor's sole responsibility.</m:DISCLAIMER>\n"
        "</m:DISCLAIMER_ITEM>\n"
        "<m:ERROR>\n"
        f"<m:ERR_CODE>{code}</m:ERR_CODE>\n"
        f"<m:ERR_DESC>{text}</m:ERR_DESC>\n"
        "</m:ERROR>\n"
        "\n"
        "</m:RTO>\n"
        "</m:MessagePayload>\n"
        "</m:OASISReport>\n"
    ).encode()


def _zip_response(name: str, members: list[tuple[str, bytes]], when: datetime) -> Response:
    return Response(
        200,
        zip_members(members, when),
        "application/x-zip-compressed",
        {"Content-Disposition": f"inline; filename={name}"},
    )


class CaisoStandInServer(StandInServer):
    """OASIS `SingleZip` for the queries in `datasets` (by queryname)."""

    faults = FAULTS + CAISO_FAULTS
    server_version = "CaisoStandIn/1.0"

    def __init__(
        self,
        datasets: Mapping[str, OasisRows],
        *,
        outlook_files: Mapping[date, bytes] | None = None,
        seed: int = 0,
        split_components: bool = True,
        max_window_days: int = MAX_WINDOW_DAYS,
        host: str = "127.0.0.1",
        port: int = 0,
        default_delay: float = 2.0,
    ):
        super().__init__(host=host, port=port, default_delay=default_delay)
        self.datasets = dict(datasets)
        # (queryname, market_run_id) -> lines: a query may serve several market runs.
        self.queries = {(rows.queryname, rows.run_id): rows for rows in datasets.values()}
        self.outlook_files = dict(outlook_files or {})
        self.seed = seed
        self.split_components = split_components
        self.max_window_days = max_window_days

    # -- routing ---------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        outlook = OUTLOOK_PATH.match(request.path)
        if request.method == "GET" and outlook:
            return self._outlook(*outlook.groups())
        if request.method != "GET" or request.path != SINGLE_ZIP_PATH:
            return not_found()
        query = request.query
        rows = self.queries.get((query.get("queryname", ""), query.get("market_run_id", "")))
        spec = rows.spec if rows else None
        try:
            start = datetime.strptime(query["startdatetime"], OASIS_TIME_FORMAT)
            end = datetime.strptime(query["enddatetime"], OASIS_TIME_FORMAT)
        except (KeyError, ValueError):
            return self._error(1001, "INVALID_REQUEST.xml")
        if (
            rows is None
            or spec is None
            or query.get("resultformat") != "6"
            or query.get("market_run_id") != rows.run_id
            or query.get("version") != str(spec.source.version)
            or end <= start
        ):
            return self._error(1001, "INVALID_REQUEST.xml")
        stem = self._stem(rows, start, end)
        touched = (end - timedelta(microseconds=1)).astimezone(UTC).date() - start.astimezone(
            UTC
        ).date()
        if touched.days + 1 > self.max_window_days:
            return self._error(1004, f"{stem}.xml")
        selected = self._select(rows, start, end, query)
        if selected.height == 0:
            return self._error(1000, f"{stem}.xml")
        return self._data(rows, selected, start, end, stem, grouped="node" not in query)

    def _stem(self, rows: OasisRows, start: datetime, end: datetime) -> str:
        first, last = self._local_dates(rows, start, end)
        spec = rows.spec
        name = member_name(rows.queryname, rows.run_id, str(spec.source.version), first, last)
        return name.removesuffix(".csv")

    def _outlook(self, stamp: str, name: str) -> Response:
        try:
            day = datetime.strptime(stamp, "%Y%m%d").date()
        except ValueError:
            return not_found()
        data = self.outlook_files.get(day)
        if name != FUELSOURCE_NAME or data is None:
            return not_found()
        return Response(200, data, "text/csv")

    @staticmethod
    def _local_dates(rows: OasisRows, start: datetime, end: datetime):
        tz = ZoneInfo(rows.spec.timezone)
        last = (end - timedelta(microseconds=1)).astimezone(tz).date()
        return start.astimezone(tz).date(), last

    def _select(
        self, rows: OasisRows, start: datetime, end: datetime, query: Mapping[str, str]
    ) -> pl.DataFrame:
        t = pl.col("interval_start_utc")
        frame = rows.rows.filter((t >= start.astimezone(UTC)) & (t < end.astimezone(UTC)))
        nodes = query.get("node")
        if nodes and rows.spec.table_kind is PRICE:
            frame = frame.filter(pl.col("node").is_in(nodes.split(",")))
        return frame

    def _data(
        self,
        rows: OasisRows,
        selected: pl.DataFrame,
        start: datetime,
        end: datetime,
        stem: str,
        grouped: bool,
    ) -> Response:
        seed = shuffle_seed(self.seed, stem, start.isoformat())
        if grouped and self.split_components and rows.spec.table_kind is PRICE:
            spec = rows.spec
            first, last = self._local_dates(rows, start, end)
            run, version = spec.source.market_run_id, str(spec.source.version)
            members = []
            for kind, _ in COMPONENTS:
                part = selected.filter(pl.col("lmp_type") == kind).get_column("line").to_list()
                name = member_name(rows.queryname, run, version, first, last, kind)
                members.append((name, shuffled_csv(rows.header, part, seed)))
        else:
            lines = selected.get_column("line").to_list()
            members = [(f"{stem}.csv", shuffled_csv(rows.header, lines, seed))]
        return _zip_response(f"{stem}_csv.zip", members, start)

    def _error(self, code: int, member: str, description: str | None = None) -> Response:
        body = error_xml(code, description)
        when = datetime(2024, 1, 1, tzinfo=UTC)
        return _zip_response(f"{member}.zip", [(member, body)], when)

    # -- CAISO faults ---------------------------------------------------------------------

    def custom_fault(self, fault: Fault, response: Response) -> Response:
        if fault.fault == "caiso_throttle_html":
            return Response(200, THROTTLE_PAGE, "text/html")
        code = _FAULT_CODES.get(fault.fault)
        if code is None:
            return super().custom_fault(fault, response)
        member = "INVALID_REQUEST.xml" if code != 1015 else "PUB_GRP_N.xml"
        return self._error(code, member)


def shuffle_seed(*parts: object) -> int:
    """A stable small seed (Python's hash of str is salted per process)."""
    return random.Random(repr(parts)).randint(0, 1 << 16)


def standin_server(
    days: list[date], n_locations: int = 20, seed: int = 0, **options
) -> CaisoStandInServer:
    """A (not yet started) stand-in OASIS server holding every CAISO dataset for `days`."""
    datasets = {**generate_all(days, n_locations, seed), **generate_oasis(days, seed)}
    outlook = fuelsource_files(days, seed)
    return CaisoStandInServer(datasets, outlook_files=outlook, seed=seed, **options)


def standin_environment(server: CaisoStandInServer) -> dict[str, str]:
    """No real-world 5 s pause between OASIS requests against the stand-in; Today's Outlook
    from the same stand-in."""
    return {
        "PMA_CAISO_PAUSE_SECONDS": "0",
        "PMA_CAISO_OUTLOOK_URL": f"{server.base_url}/outlook",
    }
