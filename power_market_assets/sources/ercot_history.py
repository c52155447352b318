"""ERCOT history channel: the yearly workbooks (NP4-180-ER, NP6-785-ER) as per-day stage-1 files.

The MIS keeps daily DAM files ~31 days and RT files 7; years before that are published as one
document per year and report type (RTID 13060 DAM, 13061 RTM; see formats/ercot_history.py).
They are listed by the same `IceDocListJsonWS?reportTypeId=<RTID>` servlet and downloaded by
`mirDownload?doclookupId=<DocID>`, so this module builds on the MIS client's HTTP session.

Why the year is split into per-day CSVs in the daily layout (and not landed as one workbook):
stage 1 (csv) is partitioned by operating day, and raw_parquet, its row_count check, the
flattened and combined assets all read "the CSV files of one day". Landing the same workbook
under 365 day folders would copy a large file 365 times and make every day re-read the whole
year. Splitting once gives each day a small file in the layout the daily reader already knows,
so every downstream asset works unchanged. The origin is not lost: each day's LandedSource
carries the yearly document's download URL, DocID and publish time, which stage 1 writes into
metadata.json, and the CSV name (`<workbook stem>.<sheet>.<YYYYMMDD>.csv`, kept in
`source_file`) names the workbook and the month sheet.

Caching: the yearly zip is downloaded once per document (DocID) into
`<download_dir>/history/<DocID>/` and split there once (all its days, marked complete), so the
month-sized chunks of a year's backfill reuse it instead of downloading and parsing the year
again. ERCOT refreshes the current year's workbook weekly under a new DocID, which gets its own
cache folder.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from power_market_assets.formats.archive import (
    atomic_write_bytes,
    safe_member_basename,
    sha256_file,
)
from power_market_assets.formats.ercot_history import (
    HistoryReport,
    history_report,
    is_workbook,
    split_workbook,
)
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.ercot import (
    ErcotMisClient,
    listed_entries,
    parse_publish_date,
    publication_order,
)
from power_market_assets.sources.http import SourceError, is_zip_file
from power_market_assets.sources.landing import LandedSource

log = logging.getLogger(__name__)

MAX_WORKBOOK_BYTES = 1_000_000_000  # a year of RT hubs and zones is tens of MB
SPLIT_MARKER = "split.json"


@dataclass(frozen=True)
class YearDocument:
    """One listed yearly document."""

    report: HistoryReport
    year: int
    doc_id: str
    friendly_name: str
    constructed_name: str
    publish_time: datetime  # tz-aware
    content_size: int  # bytes of the zip (0 when unknown)

    @property
    def file_name(self) -> str:
        """A safe local file name for the zip (a listing cannot name a path)."""
        name = self.constructed_name or f"{self.doc_id}.{self.friendly_name}.zip"
        return safe_member_basename(name, "ERCOT listing")


# ---------------------------------------------------------------------------------------------
# Listing


def year_of(report: HistoryReport, *names: str) -> int | None:
    """The year in `<STEM>_<YYYY>` of the friendly or constructed name (suffixes allowed)."""
    pattern = re.compile(rf"{re.escape(report.stem)}_(\d{{4}})(?!\d)", re.IGNORECASE)
    for name in names:
        match = pattern.search(name or "")
        if match:
            return int(match.group(1))
    return None


def parse_history_listing(
    report: HistoryReport, payload: Any, *, source: str = "listing"
) -> list[YearDocument]:
    """Yearly documents of a listing (`ListDocsByRptTypeRes.DocumentList`), any extension
    suffix on the friendly name; entries of another report type or without a year skipped."""
    docs = (_year_document(report, raw, source) for raw in listed_entries(payload, source=source))
    return [doc for doc in docs if doc is not None]


def _year_document(report: HistoryReport, raw: dict, source: str) -> YearDocument | None:
    if str(raw.get("ReportTypeID", report.report_type_id)) != report.report_type_id:
        return None
    friendly = str(raw.get("FriendlyName", ""))
    constructed = str(raw.get("ConstructedName", ""))
    if friendly.lower().endswith("_xml"):
        return None
    year = year_of(report, friendly, constructed)
    if year is None:
        log.warning("%s: no year in document name %r", source, friendly or constructed)
        return None
    try:
        publish = parse_publish_date(str(raw["PublishDate"]), report.spec.timezone)
        doc_id = str(raw["DocID"]).strip()
        size = int(str(raw.get("ContentSize", "0")).strip() or 0)
    except (KeyError, ValueError) as exc:
        log.warning("%s: skipping malformed listing entry %r (%s)", source, friendly, exc)
        return None
    return YearDocument(report, year, doc_id, friendly, constructed, publish, size)


def latest_per_year(docs: Iterable[YearDocument]) -> dict[int, YearDocument]:
    """The newest document of each year (an older weekly refresh may still be listed)."""
    best: dict[int, YearDocument] = {}
    for doc in docs:
        current = best.get(doc.year)
        if current is None or publication_order(doc) > publication_order(current):
            best[doc.year] = doc
    return dict(sorted(best.items()))


# ---------------------------------------------------------------------------------------------
# Client


class ErcotHistoryClient(ErcotMisClient):
    """Listing and download of the yearly documents through the same public MIS servlets."""

    def listing_url(self, report: HistoryReport) -> str:  # type: ignore[override]
        return self.report_listing_url(report.report_type_id)

    def list_years(self, report: HistoryReport) -> dict[int, YearDocument]:
        """Year -> its newest listed document."""
        url = self.listing_url(report)
        payload = self.http.get_json(url)
        return latest_per_year(
            parse_history_listing(report, payload, source=self.http.safe_url(url))
        )

    def download(self, doc: YearDocument, folder: Path) -> tuple[Path, datetime]:
        """The document's zip in `folder` (reused when already there with the listed size);
        returns its path and when it was downloaded."""
        target = Path(folder) / doc.file_name
        if _cached_zip_ok(target, doc.content_size):
            return target, datetime.fromtimestamp(target.stat().st_mtime, tz=UTC)
        result = self.http.download(
            self.download_url(doc),
            target,
            expected_size=doc.content_size or None,
            validate=is_zip_file,
        )
        return result.path, result.downloaded_at_utc


def _cached_zip_ok(path: Path, expected_size: int) -> bool:
    if not path.is_file():
        return False
    if expected_size and path.stat().st_size != expected_size:
        return False
    return zipfile.is_zipfile(path)


# ---------------------------------------------------------------------------------------------
# Workbook extraction and splitting


def extract_workbook(
    zip_path: Path, dest_dir: Path, *, max_bytes: int = MAX_WORKBOOK_BYTES
) -> Path:
    """The single .xlsx member of a yearly zip, written under its base name (never outside
    `dest_dir`) with a size limit against zip bombs."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = [i for i in archive.infolist() if not i.is_dir() and is_workbook(i.filename)]
            if len(members) != 1:
                names = ", ".join(archive.namelist()[:5])
                raise SourceError(f"{zip_path.name}: expected one .xlsx member, found: {names}")
            info = members[0]
            if info.file_size > max_bytes:
                raise SourceError(f"{zip_path.name}: workbook of {info.file_size} bytes is too big")
            data = archive.read(info)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{zip_path.name}: bad zip ({exc})") from None
    if len(data) > max_bytes:
        raise SourceError(f"{zip_path.name}: workbook larger than declared")
    name = safe_member_basename(info.filename, zip_path.name)
    return atomic_write_bytes(Path(dest_dir) / name, data)


def split_document(zip_path: Path, spec: DatasetSpec, doc_dir: Path) -> dict[date, list[Path]]:
    """Every day of the document as daily-layout CSVs under `doc_dir/days`, done once: a
    marker (split.json: the yearly zip's name, size and sha256, and the files of each day)
    is written last, and a second run (the next backfill chunk) just reads it."""
    days_dir = doc_dir / "days"
    marker = doc_dir / SPLIT_MARKER
    cached = _read_marker(marker, days_dir)
    if cached is not None:
        return cached
    staging = doc_dir / f".days.tmp-{uuid.uuid4().hex[:8]}"
    try:
        workbook = extract_workbook(zip_path, staging)
        files = split_workbook(workbook, spec, staging)
        workbook.unlink()
        if days_dir.exists():  # a split interrupted before its marker was written
            shutil.rmtree(days_dir, ignore_errors=True)
        try:
            os.replace(staging, days_dir)
        except OSError:  # another run finished the same split first
            cached = _read_marker(marker, days_dir)
            if cached is None:
                raise
            return cached
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    out = {day: [days_dir / p.name for p in paths] for day, paths in files.items()}
    record = {
        # The yearly original the day files were cut from (stage 1 records url and DocID).
        "document": {
            "name": zip_path.name,
            "bytes": zip_path.stat().st_size,
            "sha256": sha256_file(zip_path),
            "workbook": workbook.name,
        },
        "days": {day.isoformat(): [p.name for p in paths] for day, paths in out.items()},
    }
    atomic_write_bytes(marker, json.dumps(record, indent=1).encode("utf-8"))
    return out


def _read_marker(marker: Path, days_dir: Path) -> dict[date, list[Path]] | None:
    try:
        listing = json.loads(marker.read_text("utf-8"))["days"]
        out = {date.fromisoformat(d): [days_dir / n for n in names] for d, names in listing.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not all(p.is_file() for paths in out.values() for p in paths):
        return None
    return out


# ---------------------------------------------------------------------------------------------
# Per-day sources for the csv asset


def fetch_history_days(
    spec: DatasetSpec,
    days: Iterable[date],
    *,
    download_dir: Path,
    client: ErcotHistoryClient | None = None,
) -> dict[date, list[LandedSource]]:
    """Per-day CSVs cut from the yearly workbooks, as LandedSources naming the workbook.

    Each year's document is downloaded and split at most once. Days of years without a
    document, or beyond the workbook's last day (the current year), are absent: not published.
    """
    report = history_report(spec)
    if report is None:
        raise SourceError(f"ERCOT {spec.dataset}: no yearly history report")
    wanted = sorted(set(days))
    if not wanted:
        return {}
    client = client or ErcotHistoryClient()
    listed = client.list_years(report)
    result: dict[date, list[LandedSource]] = {}
    for year in sorted({d.year for d in wanted}):
        doc = listed.get(year)
        if doc is None:
            continue
        doc_dir = Path(download_dir) / "history" / _safe(doc.doc_id)
        doc_dir.mkdir(parents=True, exist_ok=True)
        zip_path, fetched_at = client.download(doc, doc_dir)
        by_day = split_document(zip_path, spec, doc_dir)
        url = client.http.safe_url(client.download_url(doc))
        for day in (d for d in wanted if d.year == year and d in by_day):
            result[day] = [_landed(p, doc, url, fetched_at) for p in by_day[day]]
    return result


def _landed(path: Path, doc: YearDocument, url: str, fetched_at: datetime) -> LandedSource:
    return LandedSource(
        path=path,
        original_name=path.name,
        url=url,
        doc_id=doc.doc_id,
        publish_time=doc.publish_time,
        downloaded_at_utc=fetched_at,
    )


def _safe(text: str) -> str:
    """A DocID as a folder name (they are digits; anything else is neutralized)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text) or "doc"
