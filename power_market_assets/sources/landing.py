"""Stage 1 ("csv") landing: the original CSV files of one operating day, plus metadata.json.

`land_operating_day` extracts every archive of a day (ERCOT document zips, bulk zips, or files a
user dropped: a .zip or a bare .csv) into a temp sibling folder, writes `metadata.json` there and
then swaps it in for the day folder, so that a crash never leaves a half-written day:

    day_dir.tmp-<id>  --(complete)-->  rename day_dir away -> rename tmp in -> delete old

A run killed (SIGKILL) between the two renames leaves no day folder but its previous version
under `.<day>.old-<id>`; the next landing of any day in that folder puts it back first
(`recover_interrupted_swaps`), and staging folders a killed run left behind are removed once
they are old enough not to belong to a live run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from power_market_assets.formats import file_edition
from power_market_assets.formats.archive import (
    ArchiveError,
    ExtractedMember,
    atomic_write_bytes,
    extract_csv_members,
    sha256_file,
)

METADATA_FILE = "metadata.json"
IN_MEMORY_ARCHIVE_BYTES = 64 << 20
STALE_STAGING_SECONDS = 3600.0


@dataclass(frozen=True)
class LandedSource:
    """A generic archive or CSV to land (for files that did not come from an ISO client)."""

    path: Path
    original_name: str
    url: str | None = None
    doc_id: str | None = None
    publish_time: datetime | None = None
    downloaded_at_utc: datetime | None = None

    @classmethod
    def from_local_file(cls, path: Path | str) -> LandedSource:
        """A file dropped by a user: no URL, no id; 'downloaded' at its modification time."""
        p = Path(path)
        mtime = datetime.fromtimestamp(p.stat().st_mtime, tz=UTC)
        return cls(path=p, original_name=p.name, downloaded_at_utc=mtime)

    @classmethod
    def from_download(
        cls, result: Any, *, path: Path | None = None, url: str | None = None
    ) -> LandedSource:
        """A file an ISO client downloaded (`sources.http.DownloadResult`), or one it cut from
        that download at `path`; named after the file, with the download's URL and time."""
        p = Path(path) if path is not None else Path(result.path)
        return cls(
            path=p,
            original_name=p.name,
            url=url or result.url,
            downloaded_at_utc=result.downloaded_at_utc,
        )


def _as_landed(item: Any) -> LandedSource:
    if isinstance(item, LandedSource):
        return item
    if isinstance(item, (str, Path)):
        return LandedSource.from_local_file(item)
    # sources.ercot.DownloadedDocument (duck-typed to keep this module ISO-neutral)
    return LandedSource(
        path=Path(item.path),
        original_name=getattr(item, "original_name", None) or Path(item.path).name,
        url=getattr(item, "url", None),
        doc_id=getattr(item, "doc_id", None),
        publish_time=getattr(item, "publish_time", None),
        downloaded_at_utc=getattr(item, "downloaded_at_utc", None),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: publish/download times must be tz-aware")
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def land_operating_day(
    day: date,
    archives: Sequence[Any],
    day_dir: Path | str,
    *,
    max_total_bytes: int = 2_000_000_000,
    max_ratio: float = 200.0,
    max_depth: int = 3,
) -> list[dict[str, Any]]:
    """Land the archives of one operating day into `day_dir`; returns one manifest row per CSV.

    `archives` holds `DownloadedDocument`s, `LandedSource`s or plain paths (local .zip/.csv).
    Raises `ArchiveError` (a ValueError) for unsafe or corrupt archives; the previous day
    folder, if any, is then left untouched.
    """
    if not archives:
        raise ValueError(f"{day}: no archives to land")
    day_dir = Path(day_dir).absolute()
    day_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swaps(day_dir.parent, day_dir.name)
    token = uuid.uuid4().hex[:12]
    staging = day_dir.with_name(f".{day_dir.name}.tmp-{token}")
    staging.mkdir()
    limits = {"max_total_bytes": max_total_bytes, "max_ratio": max_ratio, "max_depth": max_depth}
    rows: list[dict[str, Any]] = []
    try:
        files_meta: list[dict[str, Any]] = []
        seen: dict[str, tuple[str, str]] = {}  # csv name -> (sha256, archive name)
        landed_at = datetime.now(UTC)
        landing = _DayLanding(day, day_dir, staging, landed_at, limits)
        for item in archives:
            file_meta, archive_rows = landing.land(_as_landed(item), seen)
            files_meta.append(file_meta)
            rows.extend(archive_rows)
        _write_day_metadata(staging, day, landed_at, files_meta)
        _swap_in(staging, day_dir, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    rows.sort(key=lambda r: r["source_file"])
    return rows


@dataclass(frozen=True)
class _DayLanding:
    """Where and when one operating day is being landed, and the extraction limits."""

    day: date
    day_dir: Path
    staging: Path
    landed_at: datetime
    limits: dict[str, Any]

    def land(
        self, source: LandedSource, seen: dict[str, tuple[str, str]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Extract one archive into staging: its metadata.json entry and its manifest rows
        (a CSV another archive of the day already delivered, identically, gets no row)."""
        payload, archive_bytes, archive_sha = _read_archive(source)
        members: list[ExtractedMember] = extract_csv_members(
            payload,
            self.staging,
            source_name=source.original_name,
            **self.limits,
            atomic_members=False,  # staging is swapped in whole
        )
        publish_utc = _utc(source.publish_time)
        downloaded_utc = _utc(source.downloaded_at_utc) or self.landed_at
        archive = {
            "archive_name": source.original_name,
            "doc_id": source.doc_id,
            "source_url": source.url,
            "publish_time_utc": publish_utc,
            "downloaded_at_utc": downloaded_utc,
            "archive_bytes": archive_bytes,
            "archive_sha256": archive_sha,
        }
        rows = [
            self._manifest_row(member, archive)
            for member in members
            if not _already_delivered(member, source.original_name, seen)
        ]
        file_meta = {
            "original_name": source.original_name,
            # "final"/"prelim" when the name says so (same-shaped replies otherwise)
            "edition": file_edition(source.original_name),
            "source_url": source.url,
            "doc_id": source.doc_id,
            "publish_time": _iso(source.publish_time),
            "publish_time_utc": _iso(publish_utc),
            "downloaded_at_utc": _iso(downloaded_utc),
            "size_bytes": archive_bytes,
            "sha256": archive_sha,
            "members": [_member_meta(member) for member in members],
        }
        return file_meta, rows

    def _manifest_row(self, member: ExtractedMember, archive: dict[str, Any]) -> dict[str, Any]:
        return {
            "operating_day": self.day,
            "source_file": member.name,
            "csv_path": str(self.day_dir / member.name),
            **archive,
            "csv_bytes": member.size_bytes,
            "csv_sha256": member.sha256,
            "data_rows": member.data_rows,
        }


def _read_archive(source: LandedSource) -> tuple[Path | bytes, int, str]:
    """(what to extract from, size, sha256): small archives (every ISO document) are read
    once, hashed and extracted from memory; large ones are streamed from disk."""
    archive_bytes = source.path.stat().st_size
    if archive_bytes <= IN_MEMORY_ARCHIVE_BYTES:
        payload = source.path.read_bytes()
        return payload, archive_bytes, hashlib.sha256(payload).hexdigest()
    return source.path, archive_bytes, sha256_file(source.path)


def _already_delivered(
    member: ExtractedMember, archive_name: str, seen: dict[str, tuple[str, str]]
) -> bool:
    """The same CSV delivered twice gets one manifest row; with other contents it is refused."""
    if member.name not in seen:
        seen[member.name] = (member.sha256, archive_name)
        return False
    sha, other = seen[member.name]
    if sha != member.sha256:
        raise ArchiveError(
            archive_name,
            f"CSV {member.name!r} was also delivered by {other!r} with different contents",
        )
    return True


def _member_meta(member: ExtractedMember) -> dict[str, Any]:
    return {
        "name": member.name,
        "bytes": member.size_bytes,
        "sha256": member.sha256,
        "data_rows": member.data_rows,
        "archive_chain": list(member.archive_chain),
    }


def _write_day_metadata(
    staging: Path, day: date, landed_at: datetime, files_meta: list[dict[str, Any]]
) -> None:
    """The day's metadata.json: every archive landed, with its members."""
    metadata = {
        "operating_day": day.isoformat(),
        "landed_at_utc": landed_at.isoformat(),
        "files": files_meta,
    }
    atomic_write_bytes(
        staging / METADATA_FILE, json.dumps(metadata, indent=2).encode("utf-8") + b"\n"
    )


def _swap_in(staging: Path, day_dir: Path, token: str) -> None:
    """Replace day_dir by staging: old away, new in, old deleted; restore old on failure."""
    old = day_dir.with_name(f".{day_dir.name}.old-{token}")
    had_old = day_dir.exists()
    if had_old:
        os.replace(day_dir, old)
    try:
        os.replace(staging, day_dir)
    except BaseException:
        if had_old:
            os.replace(old, day_dir)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def recover_interrupted_swaps(
    folder: Path, day_name: str, stale_after: float = STALE_STAGING_SECONDS
) -> list[Path]:
    """Undo what a killed landing of day `day_name` left in `folder`; returns the day folders
    restored. Only that day's leftovers are touched: other days may be landing right now in
    other threads, and their swaps in progress look exactly like interrupted ones.

    - `.<day>.old-<id>` without `<day>`: the kill fell between the two renames of
      `_swap_in`; the previous version is renamed back (newest first if several).
    - `.<day>.old-<id>` next to `<day>`, or `.<day>.tmp-<id>`, older than `stale_after`:
      leftovers of a finished swap or of an aborted extraction; deleted.
    """
    restored: list[Path] = []
    if not folder.is_dir():
        return restored
    cutoff = time.time() - stale_after
    leftovers = sorted(
        (
            p
            for p in folder.iterdir()
            if p.name.startswith(".") and _leftover_kind(p.name)[0] == day_name and p.is_dir()
        ),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in leftovers:
        _, kind = _leftover_kind(path.name)
        if kind == "old" and not (folder / day_name).exists():
            os.replace(path, folder / day_name)
            restored.append(folder / day_name)
        elif kind in ("old", "tmp") and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
    return restored


def _leftover_kind(name: str) -> tuple[str, str | None]:
    """`.2024-11-03.old-ab12` -> ("2024-11-03", "old"); other names -> (name, None)."""
    for kind in ("old", "tmp"):
        head, sep, _ = name[1:].rpartition(f".{kind}-")
        if sep and head:
            return head, kind
    return name, None


def read_metadata(day_dir: Path | str) -> dict[str, Any]:
    return json.loads((Path(day_dir) / METADATA_FILE).read_text("utf-8"))
