"""ERCOT's Fuel Mix Report: the yearly workbooks linked from the generation page.

The report is not on the MIS (no report type id, no listing servlet): ERCOT's page
https://www.ercot.com/gridinfo/generation links `IntGenbyFuel<YYYY>.xlsx` under
`/files/docs/<posting date>/`, a path that moves with every re-posting [3P], so the page is
read for the links each time. A workbook holds every day of its year posted so far (the
current year's in arrears, weeks behind): a requested day gets the workbook only when the
workbook holds it, and the same file is then listed under each of its days (stage 1 lands it
under every day, stage 2 parses it once: io/stages.py). Older years come out of the page's
`FuelMixReport_PreviousYears.zip` (one workbook per year; 2007-2015 are binary .xls, not read).

The version `published_days` gives a day is the workbook's link (it changes on re-posting).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from urllib.parse import urljoin

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.formats.ercot_fuel_mix import is_fuel_mix_workbook, workbook_days
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import HttpClient, SourceError, is_zip_file
from power_market_assets.sources.landing import LandedSource

GENERATION_PAGE = "/gridinfo/generation"
_WORKBOOK_LINK = re.compile(
    r"""href\s*=\s*["']([^"']*?/files/docs/[^"']*?IntGenbyFuel(\d{4})\.xlsx)["']""", re.IGNORECASE
)
_ARCHIVE_LINK = re.compile(
    r"""href\s*=\s*["']([^"']*?/files/docs/[^"']*?FuelMixReport_PreviousYears\.zip)["']""",
    re.IGNORECASE,
)
MAX_WORKBOOK_BYTES = 500_000_000  # a year's workbook is a few MB


class ErcotFuelMixClient:
    """The generation page and the workbook downloads (ERCOT's public site, no account)."""

    def __init__(self, base_url: str = "https://www.ercot.com", http: HttpClient | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient()

    @property
    def page_url(self) -> str:
        return self.base_url + GENERATION_PAGE

    def page_links(self) -> tuple[dict[int, str], str | None]:
        """(year -> the absolute URL of its workbook, the previous-years zip's URL or None)."""
        page = self.http.get_bytes(self.page_url).decode("utf-8", "replace")
        archive = _ARCHIVE_LINK.search(page)
        return self._workbooks(page), urljoin(self.page_url, archive[1]) if archive else None

    def workbook_links(self) -> dict[int, str]:
        """Year -> the absolute URL of its workbook, as the page links them."""
        return self.page_links()[0]

    def _workbooks(self, page: str) -> dict[int, str]:
        links = {
            int(year): urljoin(self.page_url, href) for href, year in _WORKBOOK_LINK.findall(page)
        }
        if not links:
            raise SourceError(f"{self.http.safe_url(self.page_url)}: no IntGenbyFuel workbook link")
        return links

    def download(self, url: str, dest_dir: Path) -> LandedSource:
        """One workbook into `dest_dir` (an .xlsx is a zip: a truncated body is retried)."""
        name = url.rsplit("/", 1)[-1]
        result = self.http.download(url, Path(dest_dir) / name, validate=is_zip_file)
        return LandedSource.from_download(result, url=self.http.safe_url(url))

    def previous_year(self, archive_url: str, year: int, dest_dir: Path) -> LandedSource | None:
        """One year's workbook out of FuelMixReport_PreviousYears.zip (downloaded once into
        `dest_dir`); None when the zip has no .xlsx for the year (2007-2015 are .xls)."""
        archive = Path(dest_dir) / archive_url.rsplit("/", 1)[-1]
        if not archive.exists():
            self.http.download(archive_url, archive, validate=is_zip_file)
        try:
            with zipfile.ZipFile(archive) as bundle:
                members = [
                    info
                    for info in bundle.infolist()
                    if is_fuel_mix_workbook(info.filename)
                    and info.filename.lower().endswith(f"{year}.xlsx")
                ]
                if not members:
                    return None
                if members[0].file_size > MAX_WORKBOOK_BYTES:
                    raise SourceError(f"{archive.name}: {members[0].filename} is too large")
                name = Path(members[0].filename.replace("\\", "/")).name
                path = atomic_write_bytes(Path(dest_dir) / name, bundle.read(members[0]))
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{archive.name}: bad zip ({exc})", url=archive_url) from None
        landed = LandedSource.from_local_file(path)
        return LandedSource(
            path=path,
            original_name=name,
            url=self.http.safe_url(archive_url),
            downloaded_at_utc=landed.downloaded_at_utc,
        )


def fetch_fuel_mix_days(
    spec: DatasetSpec,
    days: Iterable[date],
    *,
    download_dir: Path,
    client: ErcotFuelMixClient | None = None,
) -> dict[date, list[LandedSource]]:
    """The workbook of each requested day's year, under every requested day it holds; days it
    does not hold yet (or years without a workbook) are absent: not published."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    client = client or ErcotFuelMixClient()
    links, archive = client.page_links()
    result: dict[date, list[LandedSource]] = {}
    for year in sorted({d.year for d in wanted}):
        folder = Path(download_dir) / "fuel_mix" / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        if year in links:
            book = client.download(links[year], folder)
        elif archive is not None:  # older years: out of FuelMixReport_PreviousYears.zip
            book = client.previous_year(archive, year, Path(download_dir) / "fuel_mix")
        else:
            book = None
        if book is None:
            continue
        held = set(workbook_days(book.path))
        for day in (d for d in wanted if d.year == year and d in held):
            result[day] = [book]
    return result


def published_days(client: ErcotFuelMixClient, download_dir: Path) -> dict[date, str]:
    """Every day the linked workbooks (the current and previous year) hold, each with its
    workbook's link as the version; older years (the previous-years zip) do not change and
    are left to backfills."""
    out: dict[date, str] = {}
    for year, url in sorted(client.workbook_links().items()):
        book = client.download(url, Path(download_dir) / str(year))
        out.update({day: client.http.safe_url(url) for day in workbook_days(book.path)})
    return out
