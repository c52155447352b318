"""What several sample generators share: local interval grids and deterministic zips."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from power_market_assets.transforms.time import expected_interval_starts

ZipStamp = tuple[int, int, int, int, int, int]  # a member's date_time: Y, M, D, h, m, s


def local_interval_starts(day: date, timezone: str, minutes: int) -> list[datetime]:
    """The interval starts of one operating day (23/24/25 hours) as aware local datetimes.

    From transforms/time.py's grid; the repeated fall-back hour's second pass has fold=1.
    """
    tz = ZoneInfo(timezone)
    return [start.astimezone(tz) for start in expected_interval_starts([day], timezone, minutes)]


def deflated_zip(members: Iterable[tuple[str, bytes, ZipStamp]]) -> bytes:
    """A zip of (name, bytes, date_time) members, each deflated (Python zipfile defaults)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, stamp in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
