"""Deterministic PJM Data Miner 2 samples: feed items, JSON replies and CSV exports.

Shapes from docs/reference/ISO_FORMATS.md section 5: items carry the feed's fields in
PJM's order, datetimes ISO without offset (`2024-11-03T05:00:00`), prices with up to six
decimals, the reply envelope `{"links","items","searchSpecification","totalRows"}` written
compactly. UNCONFIRMED facts are parameters: hubs' voltage/equipment/zone as null or "";
the CSV export's datetime style (US 12-hour `11/3/2024 1:00:00 AM` or ISO) and its quoting.

DST: one item per location per UTC interval start of the operating day, so the spring-forward
day has 23 hours and the fall-back day 25 (01:00 EPT twice, told apart by the UTC field).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import numpy as np

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.registry.kinds import PRICE
from power_market_assets.registry.pjm import AS_PRODUCTS, HUBS, ZONES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import expected_interval_starts
from power_market_standins.pjm_fundamentals import feed_day_items

REAL_API = "https://api.pjm.com"
WESTERN_HUB_ID = 51288  # ISO_FORMATS 5.3
BlankStyle = Literal["null", "empty"]
DatetimeStyle = Literal["ampm", "iso"]
QuoteStyle = Literal["none", "all", "text"]
_NODE_TYPES = ("GEN", "LOAD", "AGGREGATE", "INTERFACE", "EHV", "RESIDUAL_METERED_EDC", "EXT")
_SALT = {"da_hrl_lmps": 11, "rt_fivemin_hrl_lmps": 12, "rt_hrl_lmps": 13}


@dataclass(frozen=True)
class SampleLocation:
    pnode_id: int
    name: str
    type: str
    zone: str | None
    voltage: str | None
    equipment: str | None


def sample_locations(
    n_locations: int = 20, seed: int = 0, blank: BlankStyle = "null"
) -> list[SampleLocation]:
    """Hubs first (WESTERN HUB always), then zones, then bus-level and other pnodes."""
    n_hubs = max(1, min(len(HUBS), n_locations // 4))
    n_zones = max(0, min(len(ZONES), n_locations // 3))
    none = None if blank == "null" else ""
    hubs = ["WESTERN HUB", *[h for h in HUBS if h != "WESTERN HUB"]][:n_hubs]
    out = [
        SampleLocation(WESTERN_HUB_ID if h == "WESTERN HUB" else 51200 + i, h, "HUB", none,
                       none, none)
        for i, h in enumerate(hubs)
    ]  # fmt: skip
    out += [
        SampleLocation(51291 + i, z, "ZONE", z, none, none) for i, z in enumerate(ZONES[:n_zones])
    ]
    rng = np.random.default_rng([seed, 7])
    for i in range(n_locations - len(out)):
        kind = _NODE_TYPES[i % len(_NODE_TYPES)]
        zone = ZONES[int(rng.integers(len(ZONES)))]
        kv = ("13 KV", "34.5 KV", "138 KV", "230 KV", "500 KV")[int(rng.integers(5))]
        name = f"{zone[:4]}{i:03d} {kv}  {kind[:3]}{i % 4 + 1}"
        out.append(SampleLocation(2156000 + 37 * i, name, kind, zone, kv, f"{kind[:3]}{i}"))
    return out


def _label(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _interval_labels(spec: DatasetSpec, day: date) -> list[tuple[str, str]]:
    tz = ZoneInfo(spec.timezone)
    starts = expected_interval_starts([day], spec.timezone, spec.interval_minutes).to_list()
    return [
        (
            _label(s.astimezone(UTC).replace(tzinfo=None)),
            _label(s.astimezone(tz).replace(tzinfo=None)),
        )
        for s in starts
    ]


def lmp_items(
    spec: DatasetSpec,
    day: date,
    locations: Sequence[SampleLocation],
    seed: int = 0,
) -> list[dict]:
    """One item per (interval, pnode), sorted by interval then pnode_id, PJM field order."""
    s = spec.source.suffix
    labels = _interval_labels(spec, day)
    rng = np.random.default_rng([seed, _SALT.get(spec.source.feed, 19), day.toordinal()])
    hours = np.array([int(ept[11:13]) + int(ept[14:16]) / 60 for _, ept in labels])
    shape = 28 + 14 * np.sin((hours - 7) / 24 * 2 * np.pi) + rng.normal(0, 2, len(labels))
    energy = np.round(shape, 6)
    congestion = np.round(rng.normal(0, 3, (len(labels), len(locations))), 6)
    loss = np.round(rng.normal(0, 0.6, (len(labels), len(locations))), 6)
    ordered = sorted(range(len(locations)), key=lambda k: locations[k].pnode_id)
    items = []
    for t, (utc, ept) in enumerate(labels):
        for k in ordered:
            loc = locations[k]
            e, c, lo = float(energy[t]), float(congestion[t, k]), float(loss[t, k])
            items.append(
                {
                    "datetime_beginning_utc": utc,
                    "datetime_beginning_ept": ept,
                    "pnode_id": loc.pnode_id,
                    "pnode_name": loc.name,
                    "voltage": loc.voltage,
                    "equipment": loc.equipment,
                    "type": loc.type,
                    "zone": loc.zone,
                    f"system_energy_price_{s}": e,
                    f"total_lmp_{s}": round(e + c + lo, 6),
                    f"congestion_price_{s}": c,
                    f"marginal_loss_price_{s}": lo,
                    "row_is_current": True,
                    "version_nbr": 1,
                }
            )
    return items


def as_items(
    spec: DatasetSpec, day: date, seed: int = 0, *, ratio_rows: bool = False
) -> list[dict]:
    """One item per (hour, product); `ratio_rows` adds non-price rows the reader must drop."""
    labels = _interval_labels(spec, day)
    rng = np.random.default_rng([seed, 23, day.toordinal()])
    values = np.round(np.abs(rng.normal(4, 3, (len(labels), len(AS_PRODUCTS)))), 6)
    items = []
    for t, (utc, ept) in enumerate(labels):
        rows = [(p, "price", float(values[t, k])) for k, p in enumerate(AS_PRODUCTS)]
        if ratio_rows:
            rows.append(("PJM RTO Mileage Ratio", "Ratio", 3.4))
        for product, unit, value in rows:
            items.append(
                {
                    "datetime_beginning_utc": utc,
                    "datetime_beginning_ept": ept,
                    "ancillary_service": product,
                    "unit": unit,
                    "value": value,
                    "version_nbr": 1,
                    "row_is_current": True,
                }
            )
    return items


def feed_items(
    spec: DatasetSpec,
    days: Iterable[date],
    n_locations: int = 20,
    seed: int = 0,
    blank: BlankStyle = "null",
) -> list[dict]:
    """Every item of a dataset's feed for these operating days, in time order (a
    fundamentals dataset: its first feed's, pjm_fundamentals.py)."""
    if spec.source.feeds:
        return feed_day_items(spec.source.feeds[0], days, seed)
    locations = sample_locations(n_locations, seed, blank)
    items: list[dict] = []
    for day in sorted(days):
        if spec.table_kind is PRICE:
            items += lmp_items(spec, day, locations, seed)
        else:
            items += as_items(spec, day, seed)
    return items


def select_fields(items: Sequence[dict], fields: Sequence[str]) -> list[dict]:
    return [{f: item.get(f) for f in fields} for item in items]


def reply_href(base: str, feed: str, start_row: int, row_count: int, fields: str, filters: dict):
    query = f"RowCount={row_count}&Order=Asc&StartRow={start_row}&IsActiveMetadata=True"
    query += f"&Fields={quote(fields, safe='')}"
    for key, value in filters.items():
        query += f"&{key}={quote(value, safe='')}"
    return f"{base}/api/v1/{feed}?{query}"


def json_reply(
    feed: str,
    page: Sequence[dict],
    *,
    total_rows: int,
    start_row: int = 1,
    row_count: int = 50000,
    fields: Sequence[str] = (),
    filters: dict[str, str] | None = None,
    base: str = REAL_API,
) -> bytes:
    """A Data Miner 2 reply: links (self, metadata, next when rows remain), items, spec."""
    filters = filters or {}
    names = list(fields) or (list(page[0]) if page else [])
    joined = ",".join(names)
    links = [
        {"rel": "self", "href": reply_href(base, feed, start_row, row_count, joined, filters)},
        {"rel": "metadata", "href": f"{base}/api/v1/{feed}/metadata"},
    ]
    if start_row - 1 + len(page) < total_rows:
        nxt = reply_href(base, feed, start_row + len(page), row_count, joined, filters)
        links.append({"rel": "next", "href": nxt})
    payload = {
        "links": links,
        "items": list(page),
        "searchSpecification": {
            "rowCount": row_count,
            "order": "Asc",
            "startRow": start_row,
            "isActiveMetadata": True,
            "fields": names,
            "filters": [{k: v} for k, v in filters.items()],
        },
        "totalRows": total_rows,
    }
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _ampm(label: str) -> str:
    value = datetime.fromisoformat(label)
    hour = value.hour % 12 or 12
    half = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value:%M:%S} {half}"


def _csv_cell(value: object, quoting: QuoteStyle) -> str:
    if value is None:
        return '""' if quoting == "all" else ""
    text = ("True" if value else "False") if isinstance(value, bool) else str(value)
    is_text = isinstance(value, str)
    if quoting == "all" or (quoting == "text" and is_text) or "," in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_export(
    items: Sequence[dict],
    fields: Sequence[str],
    *,
    datetime_style: DatetimeStyle = "ampm",
    quoting: QuoteStyle = "none",
    line_ending: str = "\r\n",
) -> bytes:
    """A Data Miner CSV export of these items (header = field names). Quoting (UNCONFIRMED):
    "none" (only where needed), "all" cells, or "text" cells only; a trailing line end."""
    lines = [",".join(_csv_cell(f, quoting) for f in fields)]
    for item in items:
        row = []
        for field in fields:
            value = item.get(field)
            if field.startswith("datetime_") and value and datetime_style == "ampm":
                value = _ampm(value)
            row.append(_csv_cell(value, quoting))
        lines.append(",".join(row))
    return (line_ending.join(lines) + line_ending).encode("utf-8")


def spec_fields(spec: DatasetSpec) -> list[str]:
    return spec.source.fields.split(",")


def write_json_day(
    spec: DatasetSpec, day: date, folder: Path | str, n_locations: int = 20, seed: int = 0
) -> Path:
    """One day's reply as a single JSON file (what stage 1 holds for a one-page day)."""
    items = select_fields(feed_items(spec, [day], n_locations, seed), spec_fields(spec))
    body = json_reply(spec.source.feed, items, total_rows=len(items), fields=spec_fields(spec))
    return atomic_write_bytes(Path(folder) / f"{spec.source.feed}_{day}_p001.json", body)


def write_csv_day(
    spec: DatasetSpec, day: date, folder: Path | str, n_locations: int = 20, seed: int = 0,
    **style,
) -> Path:  # fmt: skip
    """One day as a Data Miner CSV export, named after the feed."""
    items = feed_items(spec, [day], n_locations, seed)
    body = csv_export(items, spec_fields(spec), **style)
    return atomic_write_bytes(Path(folder) / f"{spec.source.feed}_{day}.csv", body)
