"""NYISO source: daily CSVs and monthly zip archives from mis.nyiso.com (no authentication).

See docs/reference/ISO_FORMATS.md section 3.1. Per dataset (`spec.source.folder`,
`spec.source.file_names`), every operating day needs one file per stem:

    daily:   /public/csv/<folder>/<YYYYMMDD><stem>.csv
    monthly: /public/csv/<folder>/<YYYYMM>01<stem>_csv.zip   (one <YYYYMMDD><stem>.csv a day)

A stem may sit in its own folder and be named for another day than its partition
(`NyisoSource.stem_folder`, `stem_offset`: BTM solar's day-ahead forecast named for tomorrow
is published, and partitioned, today).

Which URL is asked (`plan_days`, the rule the tests pin down):

1. A calendar month asked in full is taken from its monthly zip (one request instead of ~30).
   Days the zip lacks (the current month's zip grows daily and may lag) go to rule 2.
2. Any other day is taken from its daily CSV.
3. A daily CSV that answers 404 (NYISO removes old daily files) falls back to its month's zip,
   fetched at most once per month and stem in one call.
4. A day found in neither is absent from the result (not published yet): not an error. A day
   with only some of its stems (zonal file but no generator file) is absent too, with a
   warning, so a partition is never landed half.

Bodies are checked before they are kept: a CSV that is empty or an HTML page (NYISO's
maintenance page comes with status 200) and a zip that does not open are retried.
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from power_market_assets.formats.archive import (
    ArchiveError,
    atomic_write_bytes,
    safe_member_basename,
)
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import DownloadResult, HttpClient, SourceError, is_zip_file
from power_market_assets.sources.landing import LandedSource
from power_market_assets.transforms.time import day_bounds_utc

log = logging.getLogger(__name__)

MIS_BASE_URL = "https://mis.nyiso.com"
MAX_MEMBER_BYTES = 512 << 20  # a generator RT day is ~15 MB; anything near this is a bomb


@dataclass(frozen=True)
class DayPlan:
    """Which days come from monthly zips first, and which from daily CSVs."""

    monthly: dict[date, list[date]]  # first of month -> its days (the whole month)
    daily: list[date]


def month_of(day: date) -> date:
    return day.replace(day=1)


def plan_days(days: Iterable[date]) -> DayPlan:
    """Rule 1 and 2: whole calendar months from their zip, every other day from its CSV."""
    by_month: dict[date, set[date]] = {}
    for day in set(days):
        by_month.setdefault(month_of(day), set()).add(day)
    monthly: dict[date, list[date]] = {}
    daily: list[date] = []
    for month, wanted in sorted(by_month.items()):
        if len(wanted) == calendar.monthrange(month.year, month.month)[1]:
            monthly[month] = sorted(wanted)
        else:
            daily.extend(sorted(wanted))
    return DayPlan(monthly=monthly, daily=daily)


def is_csv_body(path: Path) -> None:
    """A `validate` callback: a CSV must not be empty nor an HTML page (retried if so)."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head.strip():
        raise ValueError("empty body where a CSV was expected")
    if head.lstrip().startswith(b"<"):
        start = head.lstrip()[:40].decode("latin-1", "replace")
        raise ValueError(f"an HTML page where a CSV was expected (starts with {start!r})")


def is_whole_zip(path: Path) -> None:
    """A `validate` callback: a zip signature and a central directory that opens."""
    is_zip_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"zip does not open ({exc})") from None


class NyisoMisClient:
    """mis.nyiso.com daily CSVs and monthly zips through one HttpClient."""

    def __init__(
        self,
        base_url: str = MIS_BASE_URL,
        http: HttpClient | None = None,
        *,
        download_workers: int = 4,
        max_member_bytes: int = MAX_MEMBER_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient()
        self.download_workers = max(1, download_workers)
        self.max_member_bytes = max_member_bytes
        self._clock = clock

    def __repr__(self) -> str:
        return f"NyisoMisClient(base_url={self.http.safe_url(self.base_url)!r})"

    # -- URLs ----------------------------------------------------------------------------

    def daily_url(self, folder: str, stem: str, day: date) -> str:
        return f"{self.base_url}/public/csv/{folder}/{day:%Y%m%d}{stem}.csv"

    def monthly_url(self, folder: str, stem: str, month: date) -> str:
        return f"{self.base_url}/public/csv/{folder}/{month:%Y%m}01{stem}_csv.zip"

    # -- single files --------------------------------------------------------------------

    def download_daily(
        self, folder: str, stem: str, day: date, dest_dir: Path
    ) -> LandedSource | None:
        """One daily CSV, or None when NYISO answers 404 (gone or not published)."""
        url = self.daily_url(folder, stem, day)
        dest = Path(dest_dir) / f"{day:%Y%m%d}{stem}.csv"
        try:
            result = self.http.download(url, dest, validate=is_csv_body)
        except SourceError as exc:
            if exc.status == 404:
                return None
            raise
        return LandedSource.from_download(result)

    def download_month(
        self, folder: str, stem: str, month: date, days: Iterable[date], dest_dir: Path
    ) -> dict[date, LandedSource]:
        """The wanted days' members of one monthly zip ({} when the zip answers 404)."""
        url = self.monthly_url(folder, stem, month)
        staging = Path(dest_dir) / ".monthly"
        zip_path = staging / f"{month:%Y%m}01{stem}_csv.zip"
        try:
            result = self.http.download(url, zip_path, validate=is_whole_zip)
        except SourceError as exc:
            if exc.status == 404:
                return {}
            raise
        try:
            return self._members(zip_path, stem, set(days), Path(dest_dir), result)
        finally:
            zip_path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                staging.rmdir()

    def _members(
        self, zip_path: Path, stem: str, days: set[date], dest_dir: Path, result: DownloadResult
    ) -> dict[date, LandedSource]:
        found: dict[date, LandedSource] = {}
        label = zip_path.name
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                base = safe_member_basename(info.filename, label)
                day = _member_day(base, stem)
                if day is None or day not in days:
                    continue
                if info.file_size > self.max_member_bytes:
                    raise ArchiveError(label, f"member {base!r} is too large ({info.file_size:,})")
                with archive.open(info) as member:
                    data = member.read(self.max_member_bytes + 1)
                if len(data) > self.max_member_bytes:
                    raise ArchiveError(label, f"member {base!r} expands beyond its limit")
                target = atomic_write_bytes(dest_dir / base, data)
                found[day] = LandedSource.from_download(
                    result, path=target, url=f"{result.url}#{base}"
                )
        return found

    # -- days ----------------------------------------------------------------------------

    def fetch_stem(
        self, folder: str, stem: str, days: Iterable[date], dest_dir: Path
    ) -> dict[date, LandedSource]:
        """One file stem for these days, by the module's rule (absent days: not found)."""
        plan = plan_days(days)
        found: dict[date, LandedSource] = {}
        zips_asked: set[date] = set()
        daily = list(plan.daily)
        for month, month_days in plan.monthly.items():
            zips_asked.add(month)
            found.update(self.download_month(folder, stem, month, month_days, dest_dir))
            daily.extend(d for d in month_days if d not in found)
        with ThreadPoolExecutor(max_workers=self.download_workers) as pool:
            results = pool.map(lambda d: (d, self.download_daily(folder, stem, d, dest_dir)), daily)
            gone = []
            for day, source in results:
                if source is None:
                    gone.append(day)
                else:
                    found[day] = source
        by_month: dict[date, list[date]] = {}
        for day in gone:
            by_month.setdefault(month_of(day), []).append(day)
        for month, month_days in sorted(by_month.items()):
            if month in zips_asked:
                continue  # that zip was read already: these days are not published
            found.update(self.download_month(folder, stem, month, month_days, dest_dir))
        return found

    def fetch_days(
        self, spec: DatasetSpec, days: Iterable[date], download_dir: Path
    ) -> dict[date, list[LandedSource]]:
        """Every file of the dataset for these operating days; incomplete days are absent.

        A real-time day still under way is absent too: its file then also holds NYISO's
        advisory intervals for the hours ahead, with nothing telling them from real prices.
        """
        now = self._clock()
        wanted = sorted(
            d
            for d in set(days)
            if spec.market != "RTM" or day_bounds_utc(d, spec.timezone)[1] <= now
        )
        download_dir = Path(download_dir)
        download_dir.mkdir(parents=True, exist_ok=True)
        stems = list(spec.source.file_names)
        per_stem = {stem: self._fetch_stem_days(spec, stem, wanted, download_dir) for stem in stems}
        result: dict[date, list[LandedSource]] = {}
        for day in wanted:
            have = [per_stem[stem][day] for stem in stems if day in per_stem[stem]]
            if len(have) == len(stems):
                result[day] = have
            elif have:
                missing = [stem for stem in stems if day not in per_stem[stem]]
                log.warning(
                    "NYISO %s %s: only part of the day is published (missing %s); left out",
                    spec.dataset,
                    day,
                    ", ".join(missing),
                )
        return result

    def _fetch_stem_days(
        self, spec: DatasetSpec, stem: str, days: list[date], download_dir: Path
    ) -> dict[date, LandedSource]:
        """One stem's files for these partition days, from the stem's folder; a file named for
        another day than its partition (a forecast named for tomorrow, published today) is
        asked under the day in its name and returned under the partition day."""
        shift = timedelta(days=spec.source.stem_offset(stem))
        folder = spec.source.stem_folder(stem)
        found = self.fetch_stem(folder, stem, [d + shift for d in days], download_dir)
        return {named - shift: source for named, source in found.items()}


def _member_day(name: str, stem: str) -> date | None:
    """The day of a `<YYYYMMDD><stem>.csv` member (None for anything else)."""
    if not name.lower().endswith(f"{stem.lower()}.csv") or len(name) != len(stem) + 12:
        return None
    try:
        return datetime.strptime(name[:8], "%Y%m%d").date()
    except ValueError:
        return None


def fetch_days(
    spec: DatasetSpec,
    days: Iterable[date],
    download_dir: Path,
    *,
    client: NyisoMisClient | None = None,
) -> dict[date, list[LandedSource]]:
    """Download every file of `spec` for these operating days (see the module rule)."""
    return (client or NyisoMisClient()).fetch_days(spec, days, download_dir)
