"""A local stand-in for mis.nyiso.com on 127.0.0.1 (stdlib only), for tests and demos.

Serves generated `SampleFile`s under NYISO's real URL patterns (no authentication):

- daily CSV: `GET /public/csv/<folder>/<YYYYMMDD><stem>.csv`;
- monthly archive: `GET /public/csv/<folder>/<YYYYMM>01<stem>_csv.zip`, one
  `<YYYYMMDD><stem>.csv` per generated day of that month.

The load (`pal`, `palIntegrated`), load forecast (`isolf`), fuel mix (`rtfuelmix`) and BTM solar
(`btmactualforecast/...BTMEstimatedActual`, `btmdaforecast/...btmdaforecast`, the forecast named
for the day after its partition) files follow the same two patterns.

Anything else, a day not generated and a daily file older than `daily_available_from` (the
real daily URLs 404 for older dates) answer 404 with an IIS-style HTML page.

NYISO's own faults (beside the shared `FAULTS`):
- `maintenance_page`: an HTML "temporarily unavailable" page with status 200 where a CSV or zip
  was asked for;
- `zip_missing_last_day`: the monthly zip without its newest day (the current month's zip grows
  daily and can lag the daily files).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime

from power_market_standins.nyiso import SampleFile, SampleOptions, generate_all, monthly_zip
from power_market_standins.standin import (
    FAULTS,
    Fault,
    Request,
    Response,
    StandInServer,
)

NOT_FOUND_PAGE = (
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">\r\n<html><head>'
    b"<title>404 - File or directory not found.</title></head><body><h2>404 - File or "
    b"directory not found.</h2><h3>The resource you are looking for might have been removed, "
    b"had its name changed, or is temporarily unavailable.</h3></body></html>\r\n"
)
MAINTENANCE_PAGE = (
    b"<html><head><title>NYISO MIS</title></head><body><p>The NYISO Market Information "
    b"System is temporarily unavailable for scheduled maintenance. Please try again later."
    b"</p></body></html>\r\n"
)
_DAILY = re.compile(r"^/public/csv/(?P<folder>[A-Za-z]+)/(?P<day>\d{8})(?P<stem>[A-Za-z_]+)\.csv$")
_MONTHLY = re.compile(
    r"^/public/csv/(?P<folder>[A-Za-z]+)/(?P<month>\d{6})01(?P<stem>[A-Za-z_]+)_csv\.zip$"
)


class NyisoStandInServer(StandInServer):
    """mis.nyiso.com's daily CSVs and monthly zips for the generated days."""

    server_version = "Microsoft-IIS/10.0"
    faults = (*FAULTS, "maintenance_page", "zip_missing_last_day")

    def __init__(
        self,
        files: Iterable[SampleFile] = (),
        *,
        daily_available_from: date | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        default_delay: float = 2.0,
    ):
        super().__init__(host=host, port=port, default_delay=default_delay)
        self.daily_available_from = daily_available_from
        self._files: dict[tuple[str, str, date], SampleFile] = {}
        self._zips: dict[tuple[str, str, str], bytes] = {}
        self.add_files(files)

    def add_files(self, files: Iterable[SampleFile]) -> None:
        with self._lock:
            for sample in files:
                self._files[(sample.folder, sample.stem, sample.operating_day)] = sample
            self._zips.clear()

    def files(self) -> list[SampleFile]:
        with self._lock:
            return list(self._files.values())

    # -- routes --------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.method != "GET":
            return Response(405, b"Method Not Allowed", "text/plain")
        daily = _DAILY.match(request.path)
        if daily:
            return self._daily(daily["folder"], daily["stem"], daily["day"])
        monthly = _MONTHLY.match(request.path)
        if monthly:
            return self._monthly(monthly["folder"], monthly["stem"], monthly["month"])
        return Response(404, NOT_FOUND_PAGE, "text/html")

    def _daily(self, folder: str, stem: str, day_text: str) -> Response:
        try:
            day = datetime.strptime(day_text, "%Y%m%d").date()
        except ValueError:
            return Response(404, NOT_FOUND_PAGE, "text/html")
        if self.daily_available_from is not None and day < self.daily_available_from:
            return Response(404, NOT_FOUND_PAGE, "text/html")
        with self._lock:
            sample = self._files.get((folder, stem, day))
        if sample is None:
            return Response(404, NOT_FOUND_PAGE, "text/html")
        return Response(200, sample.data, "text/csv")

    def _monthly(self, folder: str, stem: str, month: str) -> Response:
        key = (folder, stem, month)
        with self._lock:
            body = self._zips.get(key)
            if body is None:
                members = [
                    f
                    for (fo, st, day), f in self._files.items()
                    if fo == folder and st == stem and f"{day:%Y%m}" == month
                ]
                if members:
                    body = self._zips[key] = monthly_zip(members)
        if body is None:
            return Response(404, NOT_FOUND_PAGE, "text/html")
        return Response(200, body, "application/x-zip-compressed")

    # -- NYISO faults --------------------------------------------------------------------

    def custom_fault(self, fault: Fault, response: Response) -> Response:
        if fault.fault == "maintenance_page":
            return Response(200, MAINTENANCE_PAGE, "text/html")
        if fault.fault == "zip_missing_last_day":
            body = _without_last_member(response.body)
            return Response(response.status, body, response.content_type, response.extra)
        return super().custom_fault(fault, response)


def _without_last_member(body: bytes) -> bytes:
    """The same monthly zip minus its newest member (unchanged if not a zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = sorted(archive.infolist(), key=lambda i: i.filename)[:-1]
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as smaller:
                for info in members:
                    smaller.writestr(info, archive.read(info))
        return out.getvalue()
    except zipfile.BadZipFile:
        return body


def standin_server(
    days: list[date], n_locations: int = 20, seed: int = 0, **options
) -> NyisoStandInServer:
    """A (not yet started) stand-in NYISO server holding every dataset for these days.

    Extra keyword arguments go to `SampleOptions` (styles, time_stamp, off_schedule).
    """
    opts = SampleOptions(n_locations=n_locations, seed=seed, **options)
    return NyisoStandInServer(generate_all(days, opts))


def standin_environment(server: NyisoStandInServer) -> dict[str, str]:
    """Nothing to set: NYISO's MIS is public and the client sets no pause."""
    return {}
