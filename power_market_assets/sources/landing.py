"""Stage 1 ("csv") landing: the original CSV files of one operating day, plus metadata.json.

A day of many small CSVs sharing a header (ERCOT publishes 96 to 288 a day) is kept as one
joined CSV (`_joined.csv`: one header, every member's bytes otherwise unchanged), the
archives exactly as served (`_archives.zip`, stored, not recompressed) and an index in the
manifest and metadata.json (each member's name, byte range, data lines, the zip's CRC-32,
its archive, publish time and URL): every original stays recoverable byte for byte
(`member_bytes`) and traceable by name, without writing thousands of small files. Other days
keep their members as files.

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
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from power_market_assets.formats import file_edition
from power_market_assets.formats.archive import (
    ArchiveError,
    ExtractedMember,
    atomic_write_bytes,
    extract_csv_members,
    same_contents,
    sha256_file,
)
from power_market_assets.formats.csvjoin import JoinedCsv, join_members
from power_market_assets.formats.csvjoin import member_bytes as joined_member_bytes

METADATA_FILE = "metadata.json"
JOINED_CSV = "_joined.csv"
ARCHIVES_ZIP = "_archives.zip"
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


def as_landed_source(item: Any) -> LandedSource:
    """Any landing source (a client's download, a LandedSource, a path) as a LandedSource:
    plain data, so a day's sources can be handed to a worker process."""
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
    join_csv: bool = False,
    max_total_bytes: int = 2_000_000_000,
    max_ratio: float = 200.0,
    max_depth: int = 3,
) -> list[dict[str, Any]]:
    """Land the archives of one operating day into `day_dir`; returns one manifest row per CSV.

    `archives` holds `DownloadedDocument`s, `LandedSource`s or plain paths (local .zip/.csv).
    `join_csv`: the day's CSVs may be kept as one joined file (the dataset's reader parses
    joined members; see the module docstring). Raises `ArchiveError` (a ValueError) for
    unsafe or corrupt archives; the previous day folder, if any, is then left untouched.
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
    try:
        landing = _DayLanding(day, day_dir, staging, datetime.now(UTC), limits, join_csv)
        for item in archives:
            landing.extract(as_landed_source(item))
        rows = landing.store()
        _write_day_metadata(staging, day, landing.landed_at, landing.files_meta)
        _swap_in(staging, day_dir, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    rows.sort(key=lambda r: r["source_file"])
    return rows


@dataclass
class _DayLanding:
    """One operating day being landed: where and when, the extraction limits, and what the
    archives delivered so far (members of small archives are held in memory until `store`
    decides between one joined CSV and one file per member)."""

    day: date
    day_dir: Path
    staging: Path
    landed_at: datetime
    limits: dict[str, Any]
    join_csv: bool
    files_meta: list[dict[str, Any]] = field(default_factory=list)
    # each archive as served (None: too large to hold, extracted from disk), with files_meta
    payloads: list[tuple[str, bytes | None]] = field(default_factory=list)
    kept: list[tuple[ExtractedMember, dict[str, Any]]] = field(default_factory=list)
    seen: dict[str, tuple[ExtractedMember, str]] = field(default_factory=dict)

    def extract(self, source: LandedSource) -> None:
        """Extract one archive (into memory when small and joining is allowed, else into
        staging); a CSV another archive of the day already delivered, identically, is kept
        once (with other contents it is refused)."""
        payload, archive_bytes, archive_sha = _read_archive(source)
        in_memory = self.join_csv and isinstance(payload, bytes)
        members: list[ExtractedMember] = extract_csv_members(
            payload,
            None if in_memory else self.staging,
            source_name=source.original_name,
            **self.limits,
            atomic_members=False,  # staging is swapped in whole
        )
        self.payloads.append((source.original_name, payload if in_memory else None))
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
        self.kept += [
            (member, archive)
            for member in members
            if not _already_delivered(member, source.original_name, self.seen)
        ]
        self.files_meta.append(
            {
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
                "members": members,  # ExtractedMembers until store() describes them
            }
        )

    def store(self) -> list[dict[str, Any]]:
        """Write the kept members (one joined CSV, or a file each); their manifest rows."""
        members = [member for member, _ in self.kept]
        in_memory = all(p is not None for _, p in self.payloads)  # members too, then
        joined = join_members([(m.name, m.data) for m in members]) if in_memory else None
        if joined is not None:
            ranges = self._write_joined(joined)
        else:
            ranges = {}
            self.kept = [(_write_kept_member(m, self.staging), a) for m, a in self.kept]
        self._describe_members(ranges)
        return [self._manifest_row(m, a, ranges.get(m.name)) for m, a in self.kept]

    def _write_joined(self, joined: JoinedCsv) -> dict[str, tuple[int, int]]:
        """The joined CSV and the archives as served (a stored zip: bytes unchanged)."""
        (self.staging / JOINED_CSV).write_bytes(joined.data)
        with zipfile.ZipFile(self.staging / ARCHIVES_ZIP, "w", zipfile.ZIP_STORED) as bundle:
            stored: dict[str, bytes] = {}  # name in the bundle -> the archive's bytes
            for file_meta, (name, payload) in zip(self.files_meta, self.payloads, strict=True):
                if stored.get(name, payload) != payload:  # another archive of the same name
                    name = _free_name(name, stored)
                if name not in stored:  # the same archive twice is stored once
                    stored[name] = payload
                    bundle.writestr(name, payload)
                file_meta["stored_as"] = f"{ARCHIVES_ZIP}/{name}"
        return {m.name: r for (m, _), r in zip(self.kept, joined.body_ranges, strict=True)}

    def _describe_members(self, ranges: dict[str, tuple[int, int]]) -> None:
        """metadata.json's members of each archive, as stored (a member two archives
        delivered identically is described under both)."""
        stored = {member.name: member for member, _ in self.kept}
        for file_meta in self.files_meta:
            file_meta["members"] = [
                _member_meta(stored[m.name], m.archive_chain, ranges.get(m.name))
                for m in file_meta["members"]
            ]

    def _manifest_row(
        self, member: ExtractedMember, archive: dict[str, Any], byte_range: tuple[int, int] | None
    ) -> dict[str, Any]:
        start, end = byte_range or (None, None)
        return {
            "operating_day": self.day,
            "source_file": member.name,
            "csv_path": str(self.day_dir / (JOINED_CSV if byte_range else member.name)),
            **archive,
            "csv_bytes": member.size_bytes,
            "csv_sha256": member.sha256,
            "csv_crc32": member.crc32,
            "byte_start": start,
            "byte_end": end,
            "data_rows": member.data_rows,
        }


def _free_name(name: str, taken: Mapping[str, Any]) -> str:
    """`name` with `~2`, `~3`... before its suffix: the first not in `taken`."""
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot else (name, "")
    candidates = (f"{stem}~{n}{suffix}" for n in range(2, len(taken) + 3))
    return next(candidate for candidate in candidates if candidate not in taken)


def _write_kept_member(member: ExtractedMember, staging: Path) -> ExtractedMember:
    """A member held in memory, written as its own file (a day that is not joined), with
    its sha256 as members extracted to disk have; others are returned as they are."""
    if member.data is None:
        return member
    path = staging / member.name
    path.write_bytes(member.data)
    sha = hashlib.sha256(member.data).hexdigest()
    return replace(member, path=path, sha256=sha, data=None)


def _read_archive(source: LandedSource) -> tuple[Path | bytes, int, str]:
    """(what to extract from, size, sha256): small archives (every ISO document) are read
    once, hashed and extracted from memory; large ones are streamed from disk."""
    with open(source.path, "rb") as handle:
        archive_bytes = os.fstat(handle.fileno()).st_size
        if archive_bytes <= IN_MEMORY_ARCHIVE_BYTES:
            payload = handle.read()
            return payload, len(payload), hashlib.sha256(payload).hexdigest()
    return source.path, archive_bytes, sha256_file(source.path)


def _already_delivered(
    member: ExtractedMember, archive_name: str, seen: dict[str, tuple[ExtractedMember, str]]
) -> bool:
    """The same CSV delivered twice gets one manifest row; with other contents it is refused."""
    if member.name not in seen:
        seen[member.name] = (member, archive_name)
        return False
    first, other = seen[member.name]
    if not same_contents(first, member):
        raise ArchiveError(
            archive_name,
            f"CSV {member.name!r} was also delivered by {other!r} with different contents",
        )
    return True


def _member_meta(
    member: ExtractedMember, archive_chain: tuple[str, ...], byte_range: tuple[int, int] | None
) -> dict[str, Any]:
    """A member in metadata.json: where it is (its own file, or a byte range of the joined
    CSV), its size, checksums, data lines and the archives it came through."""
    meta = {
        "name": member.name,
        "bytes": member.size_bytes,
        "sha256": member.sha256,
        "crc32": member.crc32,
        "data_rows": member.data_rows,
        "archive_chain": list(archive_chain),
    }
    if byte_range is not None:
        meta["stored_in"] = JOINED_CSV
        meta["byte_range"] = list(byte_range)
    return meta


def _write_day_metadata(
    staging: Path, day: date, landed_at: datetime, files_meta: list[dict[str, Any]]
) -> None:
    """The day's metadata.json: every archive landed, with its members."""
    metadata = {
        "operating_day": day.isoformat(),
        "landed_at_utc": landed_at.isoformat(),
        "files": files_meta,
    }
    atomic_write_bytes(staging / METADATA_FILE, json.dumps(metadata).encode("utf-8") + b"\n")


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


def member_bytes(day_dir: Path | str, row: dict[str, Any]) -> bytes:
    """A landed CSV exactly as published, from its manifest row: its own file, or its byte
    range of the day's joined CSV under the joined file's header line."""
    path = Path(day_dir) / Path(row["csv_path"]).name
    if row.get("byte_start") is None:
        return path.read_bytes()
    return joined_member_bytes(path.read_bytes(), row["byte_start"], row["byte_end"])
