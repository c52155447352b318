"""CAISO OASIS source: `SingleZip` downloads per DatasetSpec, split into operating days.

See docs/reference/ISO_FORMATS.md section 2. No account is needed. Every answer is a zip
under HTTP 200: CSV members with data, or one XML member with an ERR_CODE:

- 1000 no data: the window's days are not published (yet); they are left out, not an error;
- 1004 window over 31 days: a SourceError naming the window (the planner never asks for one);
- 1015 "Please Submit request after Sometime", and the throttle's HTML page instead of a zip:
  retried with backoff through HttpClient (`validate` rejects them);
- anything else: a SourceError with the code and description.

Windows (GMT, from local midnights in the tz database): an all-nodes group (`grp_type`) asks
for one operating day (DAM, AS) or one hour (RT) per request, as clients that work against
OASIS do; a node list or the AS query asks for up to `max_window_days` (30) days at once.
Stage 1 lands files per operating day, so a window's CSVs are handed on as they are when the
window is exactly one day, renamed per hour for hourly windows (their members share names),
and split by operating day (lines unchanged, header repeated) for multi-day windows; a day a
window covers only in part (still being published) is left out.

Forecast datasets (a spec with `runs`: SLD_FCST DAM/2DA/7DA, SLD_REN_FCST ACTUAL/DAM/HASP) are
partitioned by publication day: for publication day D each run is asked for the day it
forecasts (D + its `day_offset`), one request per run; D is left out until every run has it.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from power_market_assets.formats.archive import atomic_write_bytes, safe_member_basename
from power_market_assets.registry.caiso import MarketRun
from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.sources.http import DownloadResult, HttpClient, SourceError, is_zip_file
from power_market_assets.sources.landing import LandedSource
from power_market_assets.transforms.time import day_bounds_utc, expected_interval_count

log = logging.getLogger(__name__)

OASIS_URL = "https://oasis.caiso.com"
SINGLE_ZIP_PATH = "/oasisapi/SingleZip"
# GS sleeps 4-5 s after every request; OASIS answers bursts with 429s or a throttle page.
DEFAULT_PAUSE_SECONDS = 5.0
NO_DATA = 1000
WINDOW_TOO_LONG = 1004
TRY_AGAIN_CODES = frozenset({1015})
_ERR_CODE = re.compile(rb"<(?:\w+:)?ERR_CODE>\s*(\d+)\s*</(?:\w+:)?ERR_CODE>")
_ERR_DESC = re.compile(rb"<(?:\w+:)?ERR_DESC>(.*?)</(?:\w+:)?ERR_DESC>", re.S)
_NAME_DATES = re.compile(r"^\d{8}_\d{8}_")


class OasisError(SourceError):
    """OASIS answered with an error report (ERR_CODE) that is not 'no data'."""

    def __init__(self, message: str, *, code: int, url: str = ""):
        super().__init__(message, url=url)
        self.code = code


@dataclass(frozen=True)
class Window:
    """One SingleZip request: [start_utc, end_utc) and the operating days it touches."""

    start_utc: datetime
    end_utc: datetime
    days: tuple[date, ...]
    kind: str  # "day" (exactly one operating day), "hour" (part of one), "days" (several)

    def oasis_time(self, when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y%m%dT%H:%M-0000")

    @property
    def label(self) -> str:
        return f"{self.start_utc:%Y%m%dT%H%M}Z-{self.end_utc:%Y%m%dT%H%M}Z"


# ---------------------------------------------------------------------------------------------
# Window planning


def _consecutive_runs(days: Iterable[date]) -> list[list[date]]:
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def plan_windows(
    spec: DatasetSpec, days: Iterable[date], *, all_nodes: bool, max_window_days: int = 30
) -> list[Window]:
    """The requests covering `days`, within OASIS's limits (see the module docstring)."""
    rule = spec.source.all_nodes_window if all_nodes else "days"
    windows: list[Window] = []
    for run in _consecutive_runs(days):
        if rule == "hour":
            for day in run:
                start, end = day_bounds_utc(day, spec.timezone)
                hours = int((end - start) // timedelta(hours=1))
                for h in range(hours):
                    t = start + timedelta(hours=h)
                    windows.append(Window(t, t + timedelta(hours=1), (day,), "hour"))
            continue
        size = 1 if rule == "day" else max(1, max_window_days)
        for i in range(0, len(run), size):
            chunk = tuple(run[i : i + size])
            start = day_bounds_utc(chunk[0], spec.timezone)[0]
            end = day_bounds_utc(chunk[-1], spec.timezone)[1]
            windows.append(Window(start, end, chunk, "day" if len(chunk) == 1 else "days"))
    return windows


# ---------------------------------------------------------------------------------------------
# Error reports inside the zip


@dataclass(frozen=True)
class OasisReport:
    code: int
    description: str
    member: str


def error_report(zip_bytes: bytes) -> OasisReport | None:
    """The ERR_CODE report of an OASIS zip, or None when it holds CSV data."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if any(n.lower().endswith(".csv") for n in names):
            return None
        for name in names:
            if name.lower().endswith(".xml"):
                body = zf.read(name)
                code = _ERR_CODE.search(body)
                desc = _ERR_DESC.search(body)
                text = desc.group(1).decode("utf-8", "replace").strip() if desc else ""
                return OasisReport(int(code.group(1)) if code else -1, text, name)
    return OasisReport(-1, f"no CSV or XML member (members: {names})", "")


def validate_oasis_zip(path: Path) -> None:
    """HttpClient `validate`: throttle pages, corrupt zips and 'try again' reports are retried."""
    is_zip_file(path)
    try:
        report = error_report(Path(path).read_bytes())
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"corrupt zip ({exc})") from None
    if report is not None and report.code in TRY_AGAIN_CODES:
        raise ValueError(f"OASIS ERR_CODE {report.code}: {report.description}")


# ---------------------------------------------------------------------------------------------
# Client


class OasisClient:
    """OASIS `SingleZip` (resultformat=6: CSV in a zip) for one dataset spec at a time.

    `nodes`: request these nodes (`node=A,B`) in windows of up to `max_window_days`; empty:
    every node of the spec's `grp_type` in one-day or one-hour windows.
    """

    def __init__(
        self,
        base_url: str = OASIS_URL,
        http: HttpClient | None = None,
        *,
        nodes: Sequence[str] = (),
        max_window_days: int = 30,
    ):
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient(min_interval=DEFAULT_PAUSE_SECONDS)
        self.nodes = tuple(nodes)
        self.max_window_days = max_window_days

    def __repr__(self) -> str:
        return f"OasisClient(base_url={self.http.safe_url(self.base_url)!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}{SINGLE_ZIP_PATH}"

    def params(
        self, spec: DatasetSpec, window: Window, run: MarketRun | None = None
    ) -> dict[str, str]:
        """The SingleZip query; `run`: one market run of a forecast dataset. Load and
        renewable queries take no node selector (every TAC area / trading hub comes back)."""
        params = {
            "resultformat": "6",
            "queryname": spec.source.query_name,
            "version": str(spec.source.version),
            "market_run_id": run.market_run_id if run else spec.source.market_run_id,
            "startdatetime": window.oasis_time(window.start_utc),
            "enddatetime": window.oasis_time(window.end_utc),
        }
        if run is not None and run.execution_type:
            params["execution_type"] = run.execution_type
        if spec.table_kind is ANCILLARY:
            params["anc_type"] = spec.source.anc_type
            params["anc_region"] = spec.source.anc_region
        elif spec.table_kind is not PRICE:
            pass
        elif self.nodes:
            params["node"] = ",".join(self.nodes)
        else:
            params["grp_type"] = spec.source.grp_type
        return params

    def windows(self, spec: DatasetSpec, days: Iterable[date]) -> list[Window]:
        all_nodes = spec.table_kind is PRICE and not self.nodes
        return plan_windows(spec, days, all_nodes=all_nodes, max_window_days=self.max_window_days)

    def download_window(
        self, spec: DatasetSpec, window: Window, dest_dir: Path, run: MarketRun | None = None
    ) -> DownloadResult | None:
        """The window's zip on disk, or None when OASIS has no data for it (ERR_CODE 1000)."""
        query = spec.source.query_name if run is None else f"{spec.source.query_name}_{run.model}"
        dest = Path(dest_dir) / f"{query}_{window.label}.zip"
        result = self.http.download(
            self.url, dest, params=self.params(spec, window, run), validate=validate_oasis_zip
        )
        report = error_report(dest.read_bytes())
        if report is None:
            return result
        dest.unlink(missing_ok=True)
        if report.code == NO_DATA:
            log.info("%s: no data for %s (not published yet?)", result.url, window.label)
            return None
        hint = ""
        if report.code == WINDOW_TOO_LONG:
            hint = f" (window {window.label} covers {len(window.days)} days; OASIS allows 31)"
        raise OasisError(
            self.http.scrub(
                f"{result.url}: OASIS ERR_CODE {report.code}: {report.description}{hint}"
            ),
            code=report.code,
            url=result.url,
        )


# ---------------------------------------------------------------------------------------------
# Window zip -> files per operating day


def _csv_members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [
            (safe_member_basename(i.filename, path.name), zf.read(i))
            for i in zf.infolist()
            if i.filename.lower().endswith(".csv")
        ]


def _day_of_line(spec: DatasetSpec, header: list[str]):
    """A function: data line -> its operating day (from the GMT start, else OPR_DT)."""
    tz = ZoneInfo(spec.timezone)
    cache: dict[str, date | None] = {}
    if "INTERVALSTARTTIME_GMT" in header:
        index = header.index("INTERVALSTARTTIME_GMT")

        def convert(cell: str) -> date | None:
            try:
                return datetime.fromisoformat(cell).astimezone(tz).date()
            except ValueError:
                return None
    else:
        index = header.index("OPR_DT") if "OPR_DT" in header else -1

        def convert(cell: str) -> date | None:
            try:
                return date.fromisoformat(cell)
            except ValueError:
                return None

    def day_of(line: str) -> tuple[date | None, str]:
        cells = line.split(",")
        cell = cells[index].strip() if 0 <= index < len(cells) else ""
        if cell not in cache:
            cache[cell] = convert(cell)
        return cache[cell], cell

    return day_of


def split_csv_by_day(name: str, data: bytes, spec: DatasetSpec) -> dict[date, tuple[bytes, int]]:
    """One OASIS CSV -> {operating_day: (CSV bytes with the header, distinct interval starts)}.

    Lines are kept byte for byte; lines whose day cannot be read stay with the first day (the
    reader then reports them).
    """
    text = data.decode("utf-8", "replace")
    header_line, _, body = text.partition("\n")
    header = [c.strip() for c in header_line.rstrip("\r").split(",")]
    day_of = _day_of_line(spec, header)
    lines: dict[date | None, list[str]] = {}
    starts: dict[date | None, set[str]] = {}
    for line in body.split("\n"):
        if not line.strip():
            continue
        day, start = day_of(line)
        lines.setdefault(day, []).append(line)
        starts.setdefault(day, set()).add(start)
    unknown = lines.pop(None, [])
    starts.pop(None, None)
    if unknown and lines:
        lines[min(lines)].extend(unknown)
    out = {}
    for day, day_lines in lines.items():
        payload = "\n".join([header_line, *day_lines]) + "\n"
        out[day] = (payload.encode("utf-8"), len(starts.get(day, ())))
    return out


def day_member_name(name: str, day: date, window: Window) -> str:
    """The member's name for one day: its leading dates set to the day; hourly windows add
    their GMT start so that a day's 23-25 hourly files do not share a name."""
    stem = name[: -len(".csv")] if name.lower().endswith(".csv") else name
    dates = f"{day:%Y%m%d}_{day:%Y%m%d}_"
    stem = _NAME_DATES.sub(dates, stem) if _NAME_DATES.match(stem) else dates + stem
    if window.kind == "hour":
        stem += f"_{window.start_utc:%Y%m%dT%H%M}Z"
    return f"{stem}.csv"


def files_by_day(
    spec: DatasetSpec, window: Window, result: DownloadResult, dest_dir: Path
) -> dict[date, list[LandedSource]]:
    """The window's CSVs as per-day files (see the module docstring); partial days left out."""
    if window.kind == "day":
        return {window.days[0]: [LandedSource.from_download(result)]}
    out: dict[date, list[LandedSource]] = {}
    partial: set[date] = set()
    for name, data in _csv_members(result.path):
        if window.kind == "hour":
            day = window.days[0]
            target = Path(dest_dir) / day.isoformat() / day_member_name(name, day, window)
            written = atomic_write_bytes(target, data)
            out.setdefault(day, []).append(LandedSource.from_download(result, path=written))
            continue
        for day, (payload, starts) in split_csv_by_day(name, data, spec).items():
            if day not in window.days:
                continue
            if starts < expected_interval_count(day, spec.timezone, spec.interval_minutes):
                partial.add(day)
            target = Path(dest_dir) / day.isoformat() / day_member_name(name, day, window)
            written = atomic_write_bytes(target, payload)
            out.setdefault(day, []).append(LandedSource.from_download(result, path=written))
    for day in partial:
        log.info("%s %s: %s is incomplete in OASIS; left out", spec.iso, spec.dataset, day)
        out.pop(day, None)
    return out


def day_window(day: date, timezone: str) -> Window:
    """The one-request window of a whole operating day."""
    start, end = day_bounds_utc(day, timezone)
    return Window(start, end, (day,), "day")


def fetch_publication_days(
    spec: DatasetSpec, days: Sequence[date], download_dir: Path, client: OasisClient
) -> dict[date, list[LandedSource]]:
    """A forecast dataset's publication days: each market run's zip for the day it forecasts
    (see the module docstring); a day any run has not published yet is absent."""
    found: dict[date, list[LandedSource]] = {}
    for day in sorted(set(days)):
        sources = []
        for run in spec.source.runs:
            target = day + timedelta(days=run.day_offset)
            result = client.download_window(
                spec, day_window(target, spec.timezone), download_dir, run
            )
            if result is None:
                break
            sources.append(LandedSource.from_download(result))
        else:
            found[day] = sources
    return found


def fetch_days(
    spec: DatasetSpec,
    days: Sequence[date],
    download_dir: Path,
    client: OasisClient | None = None,
) -> dict[date, list[LandedSource]]:
    """Download the operating days' OASIS files; days not (fully) published are absent."""
    client = client or OasisClient()
    if spec.source.runs:
        download_dir = Path(download_dir)
        download_dir.mkdir(parents=True, exist_ok=True)
        return fetch_publication_days(spec, days, download_dir, client)
    download_dir = Path(download_dir)
    download_dir.mkdir(parents=True, exist_ok=True)
    found: dict[date, list[LandedSource]] = {}
    missing: set[date] = set()
    for window in client.windows(spec, days):
        if set(window.days) <= missing:
            continue  # an earlier hour of the day had no data: the day is left out anyway
        result = client.download_window(spec, window, download_dir)
        if result is None:
            missing.update(window.days)
            continue
        per_day = files_by_day(spec, window, result, download_dir)
        missing.update(set(window.days) - set(per_day))
        for day, sources in per_day.items():
            found.setdefault(day, []).extend(sources)
    return {day: found[day] for day in sorted(found) if day not in missing}
