"""What every PJM Data Miner 2 file shares, whichever feed it holds: the reply envelope, the
datetime labels and the CSV header spelling (docs/reference/ISO_FORMATS.md section 5).

Kept apart from the readers so the price reader (formats/pjm.py) and the fundamentals
reader (formats/pjm_fundamentals.py) use one definition without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from power_market_assets.formats.errors import FormatError

_LABEL_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)


def parse_label(text: str) -> datetime | None:
    """A Data Miner datetime (ISO with or without milliseconds, or US 12-hour) -> naive."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in _LABEL_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def json_items(data: bytes, name: str) -> list:
    """The item list of a Data Miner reply (envelope or bare list)."""
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(name, f"not valid JSON ({exc})") from None
    if isinstance(payload, dict):
        if "items" not in payload:
            if "errors" in payload or "message" in payload:
                message = str(payload.get("message", ""))[:200]
                raise FormatError(name, f"a Data Miner error reply, not data: {message!r}")
            raise FormatError(name, "JSON reply has no 'items' list")
        payload = payload["items"]
    if not isinstance(payload, list) or not all(isinstance(i, dict) for i in payload):
        raise FormatError(name, "JSON 'items' is not a list of objects")
    return payload


def is_json(name: str, data: bytes) -> bool:
    if name.lower().endswith(".json"):
        return True
    if name.lower().endswith(".csv"):
        return False
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def csv_header(header: Sequence[str]) -> list[str]:
    """Header cells as field names: quotes and spaces stripped, lower case."""
    return [cell.strip().strip('"').strip().lower() for cell in header]
