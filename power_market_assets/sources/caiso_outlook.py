"""CAISO Today's Outlook daily history files (fuelsource.csv), a host apart from OASIS.

`<base>/history/<YYYYMMDD>/fuelsource.csv` (gridstatus's current path; older clients used
`<base>/SP/History/<YYYYMMDD>/`): plain CSV, no account. Stage 1 keeps the file as
`<YYYYMMDD>_fuelsource.csv`, since the file itself holds no date (formats/caiso_outlook.py).
A day CAISO does not serve (404) is absent; an HTML page instead of the CSV is retried, then
an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import HttpClient, SourceError
from power_market_assets.sources.landing import LandedSource

OUTLOOK_URL = "https://www.caiso.com/outlook"
NOT_FOUND = 404


def history_url(base_url: str, day: date, file_name: str) -> str:
    return f"{base_url.rstrip('/')}/history/{day:%Y%m%d}/{file_name}"


def landed_name(day: date, file_name: str) -> str:
    """`20241103_fuelsource.csv`: the day the file's HH:MM times belong to, in its name."""
    return f"{day:%Y%m%d}_{file_name}"


def validate_csv(path: Path) -> None:
    """HttpClient `validate`: an HTML page (CAISO's site answers some misses with one) is no
    history file."""
    head = Path(path).read_bytes()[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml")):
        raise ValueError("an HTML page, not a CSV")
    if not head:
        raise ValueError("empty body")


def fetch_days(
    spec: DatasetSpec,
    days: Sequence[date],
    download_dir: Path,
    base_url: str = OUTLOOK_URL,
    http: HttpClient | None = None,
) -> dict[date, list[LandedSource]]:
    """The days' history files; days CAISO does not serve are absent."""
    http = http or HttpClient()
    folder = Path(download_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = spec.source.outlook_file
    found: dict[date, list[LandedSource]] = {}
    for day in sorted(set(days)):
        url = history_url(base_url, day, name)
        try:
            result = http.download(url, folder / landed_name(day, name), validate=validate_csv)
        except SourceError as exc:
            if exc.status == NOT_FOUND:
                continue
            raise
        found[day] = [LandedSource.from_download(result)]
    return found
