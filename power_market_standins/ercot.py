"""Deterministic ERCOT sample documents in the byte formats of the real MIS files.

Covers the three ERCOT specs (see docs/reference/ISO_FORMATS.md section 1):

- DA_PRICES, NP4-190-CD `DAMSPNP4190`: one file per operating day, hourly, published the day
  before delivery; prices carry a leading space (`, 35.06`).
- RT_PRICES, NP6-905-CD `SPPHLZNP6905_YYYYMMDD_HHMM`: one file per 15-minute interval, the name
  carrying the interval END (local); load zones and DC ties appear twice (LZ/LZEW, LZ_DC/LZ_DCEW).
- AS_PRICES, NP4-188-CD `DAMCPCNP4188`: hourly MCPC per product; ECRS only from 2023-06-10.
- RT_LMP, NP6-788-CD `LMPSROSNODENP6788_YYYYMMDD_HHMMSS`: one file per SCED run, about every 5
  minutes at an irregular second (`11/03/2024 01:05:13`), the name carrying the run time; every
  hub, load zone, DC tie and node once (no type column, no energy-weighted twins); the second
  (CST) 01:xx hour of the fall-back day flagged RepeatedHourFlag=Y. Optional extra runs inside a
  5-minute bucket (`extra_run_rate`), as ERCOT re-runs SCED now and then.

`api_reply` renders generated documents as a public API JSON reply (section 1.9: "fields" +
positional "data", ISO dates, JSON booleans for the DST flag, numbers for prices).

Text conventions: no quoting, LF endings, a trailing newline, MM/DD/YYYY dates, HourEnding
01:00..24:00, DeliveryHour 1..24 unpadded, numbers in their shortest form with at most two
decimals. DST: the spring-forward day has 23 hours (HE 03:00 omitted), the fall-back day 25
(HE 02:00 twice, the repeated CST hour flagged DSTFlag=Y). On the fall-back day the repeated RT
documents get `xhr` in their friendly name; where exactly is UNCONFIRMED, so it is a parameter
(`xhr_style`).

Zips are written byte-for-byte like ERCOT's (Java ZipOutputStream style): one deflate member,
flags 0x0808, versions 20, data descriptor, no extra field, no comment, external attributes 0,
entry time = publish time (local). The generator is vectorized (numpy prices, polars text).
"""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.registry.ercot import (
    AS_PRODUCTS,
    DC_TIES,
    ECRS_START,
    HUBS,
    LOAD_ZONES,
)
from power_market_assets.registry.spec import DatasetSpec
from power_market_standins.common import local_interval_starts

XhrStyle = Literal["prefix", "suffix", "none"]

DUNS = "0000000000000000"
DAM_HEADER = "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag"
RTM_HEADER = (
    "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,"
    "SettlementPointPrice,DSTFlag"
)
MCPC_HEADER = "DeliveryDate,HourEnding,AncillaryType,MCPC,DSTFlag"
SCED_HEADER = "SCEDTimestamp,RepeatedHourFlag,SettlementPoint,LMP"
# Listing retention: ExpiredDate = end of the day publish + N days.
EXPIRY_DAYS = {"dam_spp": 31, "dam_mcpc": 31, "rtm_spp": 7, "sced_lmp": 5}
# Hub types in the RT file.
HUB_TYPES = {"HB_BUSAVG": "SH", "HB_HUBAVG": "AH"}
_NODE_TYPES = (("RN", 812), ("PCCRN", 160), ("LCCRN", 68), ("PUN", 52))
_SYLLABLES = (
    "AB", "AL", "AN", "AR", "BA", "BE", "BO", "BR", "CA", "CE", "CO", "DA", "DE", "DO", "EL",
    "EN", "ER", "FA", "FO", "GA", "GO", "HA", "HI", "HO", "JA", "KE", "LA", "LE", "LO", "MA",
    "ME", "MI", "MO", "NA", "NE", "NO", "OR", "PA", "PE", "PI", "RA", "RE", "RI", "RO", "SA",
    "SE", "SI", "SO", "TA", "TE", "TO", "VA", "VE", "WI", "ZA",
)  # fmt: skip
_NODE_SUFFIXES = (
    "RN", "RN", "ALL", "UNIT1", "UNIT2", "CC1", "SLR_RN", "WND_RN", "ESR_RN", "G1", "PV1", "BES1",
)  # fmt: skip
_SPEC_SALT = {12331: 1, 12301: 2, 12329: 3, 12300: 0}


@dataclass(frozen=True)
class SampleDocument:
    """One generated MIS document (the CSV zip) plus its `_xml` twin's listing entry."""

    spec: DatasetSpec
    operating_day: date
    doc_id: str
    friendly_name: str  # with the _csv suffix, as in the listing
    constructed_name: str  # the zip's file name
    publish_time: datetime  # tz-aware, local
    csv_name: str  # the single zip member
    csv_bytes: bytes
    zip_bytes: bytes
    listing_entry: dict[str, str]
    xml_listing_entry: dict[str, str]
    xml_zip_bytes: bytes
    interval_end_local: datetime | None = None  # naive wall clock; RT files only
    dst_repeated: bool = False  # RT files of the repeated fall-back hour

    @property
    def xml_doc_id(self) -> str:
        return self.xml_listing_entry["DocID"]

    @property
    def content_size(self) -> int:
        return len(self.zip_bytes)

    @property
    def data_rows(self) -> int:
        return self.csv_bytes.count(b"\n") - 1

    @property
    def post_datetime(self) -> str:
        """Public API `postDatetime`: local time without offset."""
        return self.publish_time.replace(tzinfo=None).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Zip packaging


def _dos_datetime(when: datetime) -> tuple[int, int]:
    year = max(when.year, 1980)
    dos_time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    dos_date = ((year - 1980) << 9) | (when.month << 5) | when.day
    return dos_time, dos_date


def make_zip(member_name: str, data: bytes, when: datetime, *, compresslevel: int = 9) -> bytes:
    """A single-member zip laid out exactly like ERCOT's MIS downloads.

    Local header with zero CRC and sizes, flags 0x0808, versions 20, deflated data, a data
    descriptor, a central directory entry and the end record; no extras, no comments.
    ERCOT's deflate output matches zlib level 8 or 9 on the real files.
    """
    name = member_name.encode("utf-8")
    comp = zlib.compressobj(compresslevel, zlib.DEFLATED, -15)
    body = comp.compress(data) + comp.flush()
    crc = zlib.crc32(data) & 0xFFFFFFFF
    dos_time, dos_date = _dos_datetime(when)
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0x0808, 8, dos_time, dos_date, 0, 0, 0, len(name), 0
    )
    descriptor = struct.pack("<IIII", 0x08074B50, crc, len(body), len(data))
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50, 20, 20, 0x0808, 8, dos_time, dos_date, crc, len(body), len(data),
        len(name), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    head = local + name + body + descriptor
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(head), 0)
    return head + central + name + end


# ---------------------------------------------------------------------------------------------
# Number formatting (vectorized)


def format_cents(cents: pl.Expr) -> pl.Expr:
    """Integer cents -> ERCOT's shortest decimal text: 3520 -> 35.2, 1300 -> 13, -422 -> -4.22."""
    a = cents.abs()
    whole = (a // 100).cast(pl.Utf8)
    frac = a % 100
    text = (
        pl.when(frac == 0)
        .then(whole)
        .when(frac % 10 == 0)
        .then(pl.concat_str([whole, pl.lit("."), (frac // 10).cast(pl.Utf8)]))
        .otherwise(pl.concat_str([whole, pl.lit("."), frac.cast(pl.Utf8).str.zfill(2)]))
    )
    return pl.when(cents < 0).then(pl.concat_str([pl.lit("-"), text])).otherwise(text)


def format_price(value: float) -> str:
    """Scalar version of `format_cents` for a price in dollars."""
    cents = int(round(value * 100))
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    if frac == 0:
        return f"{sign}{whole}"
    if frac % 10 == 0:
        return f"{sign}{whole}.{frac // 10}"
    return f"{sign}{whole}.{frac:02d}"


# ---------------------------------------------------------------------------------------------
# Time grid of one operating day


@dataclass(frozen=True)
class _Grid:
    starts_local: list[datetime]  # aware
    hour: np.ndarray  # local wall-clock hour of the start, 0..23
    minute: np.ndarray
    repeated: np.ndarray  # bool: the second (CST) pass of the fall-back hour


def _day_grid(day: date, minutes: int, tz: ZoneInfo) -> _Grid:
    starts = local_interval_starts(day, tz.key, minutes)
    return _Grid(
        starts_local=starts,
        hour=np.array([s.hour for s in starts], dtype=np.int64),
        minute=np.array([s.minute for s in starts], dtype=np.int64),
        repeated=np.array([s.fold == 1 for s in starts], dtype=bool),
    )


# ---------------------------------------------------------------------------------------------
# Locations


@dataclass(frozen=True)
class SampleLocations:
    nodes: tuple[str, ...]  # resource node names
    node_types: tuple[str, ...]  # RN, PCCRN, LCCRN, PUN
    renewable: tuple[bool, ...]  # wind/solar-like nodes (the ones that go negative)
    node_hub: tuple[int, ...]  # index into the 4 physical hubs (HOUSTON, NORTH, SOUTH, WEST)


_PHYSICAL_HUBS = ("HB_HOUSTON", "HB_NORTH", "HB_SOUTH", "HB_WEST")
_ZONE_HUB = {
    "LZ_AEN": 2, "LZ_CPS": 2, "LZ_HOUSTON": 0, "LZ_LCRA": 2, "LZ_NORTH": 1, "LZ_RAYBN": 1,
    "LZ_SOUTH": 2, "LZ_WEST": 3, "DC_E": 1, "DC_L": 2, "DC_N": 1, "DC_R": 2,
}  # fmt: skip


def sample_locations(n_nodes: int = 40, seed: int = 0) -> SampleLocations:
    """Deterministic made-up resource node names (unique, upper case, like ERCOT's)."""
    rng = np.random.default_rng([seed, 7919])
    reserved = set(HUBS) | set(LOAD_ZONES) | set(DC_TIES)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n_nodes:
        k = int(rng.integers(2, 4))
        stem = "".join(_SYLLABLES[int(i)] for i in rng.integers(0, len(_SYLLABLES), size=k))
        if rng.random() < 0.3:
            stem += str(int(rng.integers(1, 10)))
        name = f"{stem}_{_NODE_SUFFIXES[int(rng.integers(0, len(_NODE_SUFFIXES)))]}"
        if name in seen or name in reserved or name[:3] in ("HB_", "LZ_", "DC_"):
            continue
        seen.add(name)
        names.append(name)
    weights = np.array([w for _, w in _NODE_TYPES], dtype=float)
    types = rng.choice(len(_NODE_TYPES), size=n_nodes, p=weights / weights.sum())
    renewable = [("SLR" in n or "WND" in n or "PV" in n or "ESR" in n) for n in names]
    extra = rng.random(n_nodes) < 0.08
    renewable = [r or bool(e) for r, e in zip(renewable, extra, strict=True)]
    hubs = rng.integers(0, len(_PHYSICAL_HUBS), size=n_nodes)
    return SampleLocations(
        nodes=tuple(names),
        node_types=tuple(_NODE_TYPES[int(t)][0] for t in types),
        renewable=tuple(renewable),
        node_hub=tuple(int(h) for h in hubs),
    )


@dataclass(frozen=True)
class _Points:
    """Settlement points in output order, with what the price model needs."""

    names: list[str]
    types: list[str]  # RT type code ("" for DAM)
    kind: np.ndarray  # 0 node, 1 physical hub, 2 zone/dc, 3 HB_HUBAVG, 4 HB_BUSAVG, 5 EW twin
    hub: np.ndarray  # physical hub index for nodes/zones/hubs
    renewable: np.ndarray
    offset: np.ndarray  # static price offset
    sensitivity: np.ndarray  # congestion sensitivity
    twin_of: np.ndarray  # for EW twins: index of the base row, else -1


def _points(locs: SampleLocations, seed: int, *, rt: bool) -> _Points:
    rng = np.random.default_rng([seed, 104729])
    rows: list[tuple[str, str, int, int, bool, float, float]] = []
    for name in HUBS:
        kind = 3 if name == "HB_HUBAVG" else 4 if name == "HB_BUSAVG" else 1
        hub = _PHYSICAL_HUBS.index(name) if name in _PHYSICAL_HUBS else 0
        off = float(rng.normal(0, 0.4)) if kind == 1 else 0.0
        rows.append((name, HUB_TYPES.get(name, "HU"), kind, hub, False, off, 0.0))
    for name in LOAD_ZONES + DC_TIES:
        code = "LZ_DC" if name.startswith("DC_") else "LZ"
        off = float(rng.normal(0.3, 0.8))
        rows.append((name, code, 2, _ZONE_HUB[name], False, off, float(rng.normal(0, 0.3))))
    for name, code, ren, hub in zip(
        locs.nodes, locs.node_types, locs.renewable, locs.node_hub, strict=True
    ):
        off = float(rng.normal(-0.4 if ren else 0.0, 1.2))
        rows.append((name, code, 0, hub, ren, off, float(rng.normal(0, 1.0))))
    entries: list[tuple[str, str, int, int, bool, float, float, int]] = [(*row, -1) for row in rows]
    if rt:
        # Energy-weighted twins of load zones and DC ties, with the same base.
        for i, row in enumerate(rows):
            if row[1] in ("LZ", "LZ_DC"):
                entries.append((row[0], row[1] + "EW", 5, row[3], False, row[5], row[6], i))
    # Output order: by name (byte order); twins: the EW row first.
    order = sorted(range(len(entries)), key=lambda k: (entries[k][0], entries[k][7] < 0))
    base_pos = {old: new for new, old in enumerate(order)}
    sel = [entries[k] for k in order]
    return _Points(
        names=[e[0] for e in sel],
        types=[e[1] if rt else "" for e in sel],
        kind=np.array([e[2] for e in sel], dtype=np.int64),
        hub=np.array([e[3] for e in sel], dtype=np.int64),
        renewable=np.array([e[4] for e in sel], dtype=bool),
        offset=np.array([e[5] for e in sel]),
        sensitivity=np.array([e[6] for e in sel]),
        twin_of=np.array([base_pos[e[7]] if e[7] >= 0 else -1 for e in sel], dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------
# Price model


def _daily_shape(hour_frac: np.ndarray) -> np.ndarray:
    evening = 0.9 * np.exp(-((hour_frac - 18.0) ** 2) / (2 * 2.2**2))
    morning = 0.25 * np.exp(-((hour_frac - 8.0) ** 2) / (2 * 1.5**2))
    night = -0.2 * np.exp(-((hour_frac - 3.5) ** 2) / (2 * 2.5**2))
    return 0.8 + evening + morning + night


def _price_matrix(
    points: _Points, grid: _Grid, day: date, seed: int, salt: int, *, rt: bool
) -> np.ndarray:
    """Prices in integer cents, shape (intervals, points)."""
    rng = np.random.default_rng([seed, salt, day.toordinal()])
    n_int, n_pts = len(grid.hour), len(points.names)
    hour_frac = grid.hour + grid.minute / 60.0
    season = 1.0 + 0.35 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 205) / 365.25)
    level = 27.0 * season * float(np.exp(rng.normal(0, 0.18)))
    system = level * _daily_shape(hour_frac) + rng.normal(0, 2.5 if rt else 0.8, n_int)
    if rt:  # a few scarcity spikes
        spikes = rng.random(n_int) < 0.012
        system = np.where(spikes, system * rng.uniform(2.5, 8.0, n_int), system)
    hub_noise = rng.normal(0, 1.0 if rt else 0.4, (n_int, len(_PHYSICAL_HUBS)))
    congestion = np.where(
        rng.random(n_int) < (0.25 if rt else 0.15), rng.gamma(2.0, 4.0 if rt else 2.0, n_int), 0.0
    )
    prices = (
        system[:, None]
        + points.offset[None, :]
        + hub_noise[:, points.hub]
        + congestion[:, None] * points.sensitivity[None, :]
        + rng.normal(0, 0.6 if rt else 0.2, (n_int, n_pts)) * (points.kind == 0)[None, :]
    )
    # Windy nights and sunny middays push renewable-heavy nodes negative.
    windy = rng.random() < 0.45
    low_hours = (hour_frac < 6.0) if windy else ((hour_frac >= 10.0) & (hour_frac < 15.0))
    negative = low_hours[:, None] & points.renewable[None, :]
    depth = rng.uniform(0.5, 15.0 if rt else 6.0, (n_int, n_pts))
    prices = np.where(negative & (rng.random((n_int, n_pts)) < 0.6), -depth, prices)
    # Averages, computed like ERCOT's: hub average of the four hubs, bus average of nodes.
    phys = [i for i, k in enumerate(points.kind) if k == 1]
    nodes = points.kind == 0
    for i, kind in enumerate(points.kind):
        if kind == 3 and phys:
            prices[:, i] = prices[:, phys].mean(axis=1)
        elif kind == 4:
            prices[:, i] = prices[:, nodes].mean(axis=1) if nodes.any() else system
    # Energy-weighted twins: usually identical, sometimes a few cents apart.
    twins = np.flatnonzero(points.twin_of >= 0)
    if len(twins):
        base = prices[:, points.twin_of[twins]]
        nudge = np.where(rng.random(base.shape) < 0.3, rng.normal(0, 0.03, base.shape), 0.0)
        prices[:, twins] = base + nudge
    prices = np.clip(prices, -251.0, 5000.0)
    return np.rint(prices * 100.0).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Document packaging


def _doc_id(publish: datetime, salt: int, xml: bool) -> str:
    seconds = int((publish.astimezone(UTC) - datetime(2010, 1, 1, tzinfo=UTC)).total_seconds())
    return str(1_000_000_000 + seconds * 8 + salt * 2 + (0 if xml else 1))


def listing_entry(
    *,
    report_type_id: str,
    report_name: str,
    prefix: str,
    keep_days: int,
    friendly: str,
    constructed: str,
    doc_id: str,
    publish: datetime,
    size: int,
) -> dict[str, str]:
    """One `IceDocListJsonWS` document entry; it expires at the end of the day `keep_days`
    after `publish` (tz-aware, local)."""
    expires_on = publish.date() + timedelta(days=keep_days)
    expired = datetime.combine(expires_on, time(23, 59, 59), tzinfo=publish.tzinfo)
    return {
        "ExpiredDate": expired.isoformat(timespec="seconds"),
        "ILMStatus": "EXT",
        "SecurityStatus": "P",
        "ContentSize": str(size),
        "Extension": "zip",
        "ReportTypeID": report_type_id,
        "Prefix": prefix,
        "FriendlyName": friendly,
        "ConstructedName": constructed,
        "DocID": doc_id,
        "PublishDate": publish.isoformat(timespec="seconds"),
        "ReportName": report_name,
        "DUNS": DUNS,
        "DocCount": "0",
    }


def _package(
    spec: DatasetSpec,
    *,
    stem: str,
    publish: datetime,
    csv_bytes: bytes,
    day: date,
    rng: np.random.Generator,
    compresslevel: int,
    interval_end_local: datetime | None = None,
    dst_repeated: bool = False,
) -> SampleDocument:
    rtid8 = f"{spec.source.report_type_id:08d}"
    salt = _SPEC_SALT.get(spec.source.report_type_id, spec.source.report_type_id % 4)
    member = f"cdr.{rtid8}.{DUNS}.{publish:%Y%m%d}.{publish:%H%M%S}.{stem}.csv"
    zip_bytes = make_zip(member, csv_bytes, publish, compresslevel=compresslevel)
    built = publish + timedelta(milliseconds=int(rng.integers(900, 1600)))
    xml_built = built - timedelta(milliseconds=int(rng.integers(40, 120)))
    constructed = f"cdr.{rtid8}.{DUNS}.{built:%Y%m%d}.{built:%H%M%S}{built.microsecond // 1000:03d}"
    xml_constructed = (
        f"cdr.{rtid8}.{DUNS}.{xml_built:%Y%m%d}.{xml_built:%H%M%S}"
        f"{xml_built.microsecond // 1000:03d}.{stem}_xml.zip"
    )
    constructed = f"{constructed}.{stem}_csv.zip"
    n_rows = csv_bytes.count(b"\n") - 1
    xml_text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{stem.split("_")[0]} sample="true" rows="{n_rows}"/>\n'
    ).encode()
    xml_zip = make_zip(member[:-4] + ".xml", xml_text, publish, compresslevel=compresslevel)
    doc_id = _doc_id(publish, salt, xml=False)
    xml_id = _doc_id(publish, salt, xml=True)
    report = {
        "report_type_id": str(spec.source.report_type_id),
        "report_name": spec.title,
        "prefix": "cdr",
        "keep_days": EXPIRY_DAYS[spec.file_layout],
        "publish": publish,
    }
    entry = listing_entry(
        **report,
        friendly=f"{stem}_csv",
        constructed=constructed,
        doc_id=doc_id,
        size=len(zip_bytes),
    )
    xml_entry = listing_entry(
        **report,
        friendly=f"{stem}_xml",
        constructed=xml_constructed,
        doc_id=xml_id,
        size=len(xml_zip),
    )
    return SampleDocument(
        spec=spec,
        operating_day=day,
        doc_id=doc_id,
        friendly_name=f"{stem}_csv",
        constructed_name=constructed,
        publish_time=publish,
        csv_name=member,
        csv_bytes=csv_bytes,
        zip_bytes=zip_bytes,
        listing_entry=entry,
        xml_listing_entry=xml_entry,
        xml_zip_bytes=xml_zip,
        interval_end_local=interval_end_local,
        dst_repeated=dst_repeated,
    )


def _hour_ending_labels(grid: _Grid) -> list[str]:
    return [f"{h + 1:02d}:00" for h in grid.hour.tolist()]


def _dam_publish(spec: DatasetSpec, day: date, rng: np.random.Generator) -> datetime:
    """Published the day before delivery, around 12:40-13:40 Central."""
    tz = ZoneInfo(spec.timezone)
    before = day - timedelta(days=1)
    base = datetime(before.year, before.month, before.day, 12, 35, tzinfo=tz)
    offset = timedelta(seconds=int(rng.integers(0, 65 * 60)))
    if spec.file_layout == "dam_mcpc":
        offset += timedelta(seconds=int(rng.integers(3, 40)))
    return (base.astimezone(UTC) + offset).astimezone(tz)


def _date_text(day: date) -> str:
    return f"{day:%m/%d/%Y}"


def _csv_text(header: str, body: str) -> bytes:
    return (header + "\n" + body + "\n").encode("ascii")


def _price_lines(
    cents: np.ndarray,
    lead: pl.Series,
    names: pl.Series,
    tail: pl.Series | None = None,
    price_lead: str = "",
) -> list[str]:
    """The CSV lines of a (rows, points) price matrix, joined per matrix row: for row r and
    point p `lead[r],names[p],<price_lead><price>[,tail[r]]`, points in order."""
    n_rows, n_pts = cents.shape
    cells = [
        pl.lit(lead).gather(pl.col("r")),
        pl.lit(names).gather(pl.col("p")),
        pl.lit(price_lead) + format_cents(pl.col("cents")),
    ]
    if tail is not None:
        cells.append(pl.lit(tail).gather(pl.col("r")))
    frame = pl.DataFrame(
        {
            "r": np.repeat(np.arange(n_rows), n_pts),
            "p": np.tile(np.arange(n_pts), n_rows),
            "cents": cents.reshape(-1),
        }
    )
    return (
        frame.select(pl.col("r"), pl.concat_str(cells, separator=",").alias("line"))
        .group_by("r", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
        .get_column("line")
        .to_list()
    )


def _flags(grid: _Grid) -> pl.Series:
    return pl.Series(np.where(grid.repeated, "Y", "N").tolist())


def _hourly_document(
    spec: DatasetSpec,
    day: date,
    grid: _Grid,
    names: list[str],
    cents: np.ndarray,
    header: str,
    price_lead: str,
    seed: int,
    salt: int,
    compresslevel: int,
) -> SampleDocument:
    """One hourly day-ahead file (DAM SPP or AS MCPC): rows by hour ending, then name.

    `price_lead` is the DAM file's leading space before every price ("" for MCPC)."""
    lead = pl.Series([f"{_date_text(day)},{label}" for label in _hour_ending_labels(grid)])
    lines = _price_lines(cents, lead, pl.Series(list(names)), _flags(grid), price_lead)
    rng = np.random.default_rng([seed, salt, day.toordinal(), 1])
    return _package(
        spec,
        stem=spec.source.friendly_name_stem,
        publish=_dam_publish(spec, day, rng),
        csv_bytes=_csv_text(header, "\n".join(lines)),
        day=day,
        rng=rng,
        compresslevel=compresslevel,
    )


def _generate_dam_spp(
    spec: DatasetSpec, days: list[date], locs: SampleLocations, seed: int, compresslevel: int
) -> list[SampleDocument]:
    tz = ZoneInfo(spec.timezone)
    points = _points(locs, seed, rt=False)
    salt = _SPEC_SALT.get(spec.source.report_type_id, 0)
    names = pl.Series("name", points.names)
    docs = []
    for day in days:
        grid = _day_grid(day, 60, tz)
        cents = _price_matrix(points, grid, day, seed, salt, rt=False)
        docs.append(
            _hourly_document(
                spec, day, grid, names, cents, DAM_HEADER, " ", seed, salt, compresslevel
            )
        )
    return docs


def _generate_dam_mcpc(
    spec: DatasetSpec, days: list[date], seed: int, compresslevel: int
) -> list[SampleDocument]:
    tz = ZoneInfo(spec.timezone)
    salt = _SPEC_SALT.get(spec.source.report_type_id, 0)
    base_level = {"ECRS": 6.0, "NSPIN": 3.0, "REGDN": 4.0, "REGUP": 7.0, "RRS": 5.0}
    docs = []
    for day in days:
        products = [p for p in AS_PRODUCTS if p != "ECRS" or day >= ECRS_START]
        grid = _day_grid(day, 60, tz)
        rng = np.random.default_rng([seed, salt, day.toordinal()])
        hour_frac = grid.hour.astype(float)
        shape = _daily_shape(hour_frac)
        cents = np.empty((len(hour_frac), len(products)), dtype=np.int64)
        for j, product in enumerate(products):
            level = base_level[product] * float(np.exp(rng.normal(0, 0.35)))
            values = level * shape**2 + rng.gamma(1.5, 0.4, len(hour_frac))
            values = np.where(rng.random(len(hour_frac)) < 0.03, values * 6.0, values)
            cents[:, j] = np.rint(np.clip(values, 0.0, 5000.0) * 100).astype(np.int64)
        docs.append(
            _hourly_document(
                spec, day, grid, products, cents, MCPC_HEADER, "", seed, salt, compresslevel
            )
        )
    return docs


def friendly_stem(stem: str, stamp: str, repeated: bool, xhr_style: XhrStyle) -> str:
    """`<stem>_<stamp>` (RT: `SPPHLZNP6905_20260611_1330`, SCED:
    `LMPSROSNODENP6788_20241103_010513`); for the repeated fall-back hour `xhr` is added."""
    if repeated and xhr_style == "prefix":
        return f"{stem}_xhr_{stamp}"
    if repeated and xhr_style == "suffix":
        return f"{stem}_{stamp}_xhr"
    return f"{stem}_{stamp}"


def _generate_rtm_spp(
    spec: DatasetSpec,
    days: list[date],
    locs: SampleLocations,
    seed: int,
    compresslevel: int,
    xhr_style: XhrStyle,
) -> list[SampleDocument]:
    tz = ZoneInfo(spec.timezone)
    minutes = spec.interval_minutes
    points = _points(locs, seed, rt=True)
    salt = _SPEC_SALT.get(spec.source.report_type_id, 0)
    name_type = pl.Series(
        "nt", [f"{n},{t}" for n, t in zip(points.names, points.types, strict=True)]
    )
    docs = []
    for day in days:
        grid = _day_grid(day, minutes, tz)
        cents = _price_matrix(points, grid, day, seed, salt, rt=True)
        prefix = pl.Series(
            [
                f"{_date_text(day)},{h + 1},{m // minutes + 1}"
                for h, m in zip(grid.hour.tolist(), grid.minute.tolist(), strict=True)
            ]
        )
        per_interval = _price_lines(cents, prefix, name_type, _flags(grid))
        rng = np.random.default_rng([seed, salt, day.toordinal(), 1])
        delays = rng.integers(118, 125, len(per_interval))
        for k, body in enumerate(per_interval):
            start = grid.starts_local[k]
            end_wall = start.replace(tzinfo=None, fold=0) + timedelta(minutes=minutes)
            end_utc = start.astimezone(UTC) + timedelta(minutes=minutes)
            publish = (end_utc + timedelta(seconds=int(delays[k]))).astimezone(tz)
            repeated = bool(grid.repeated[k])
            docs.append(
                _package(
                    spec,
                    stem=friendly_stem(
                        spec.source.friendly_name_stem,
                        f"{end_wall:%Y%m%d_%H%M}",
                        repeated,
                        xhr_style,
                    ),
                    publish=publish,
                    csv_bytes=_csv_text(RTM_HEADER, body),
                    day=day,
                    rng=rng,
                    compresslevel=compresslevel,
                    interval_end_local=end_wall,
                    dst_repeated=repeated,
                )
            )
    return docs


@dataclass(frozen=True)
class _ScedRun:
    bucket: int  # index of the 5-minute bucket of the day
    at_utc: datetime
    repeated: bool


def _sced_runs(
    grid: _Grid, day: date, seed: int, salt: int, extra_run_rate: float
) -> list[_ScedRun]:
    """One run per 5-minute bucket, 6-59 s into it; now and then an extra one in the bucket.

    Runs of the repeated hour never share a wall-clock second with the first pass (their file
    names would collide when ERCOT adds no `xhr`)."""
    rng = np.random.default_rng([seed, salt, day.toordinal(), 2])
    n = len(grid.starts_local)
    first = rng.integers(6, 60, n)
    extra = rng.random(n) < extra_run_rate
    extra_at = rng.integers(90, 280, n)
    runs: list[_ScedRun] = []
    used: set[tuple[int, int, int]] = set()
    for k, start in enumerate(grid.starts_local):
        offsets = [int(first[k])] + ([int(extra_at[k])] if extra[k] else [])
        for offset in offsets:
            at = start.astimezone(UTC) + timedelta(seconds=offset)
            wall = at.astimezone(start.tzinfo)
            while (wall.hour, wall.minute, wall.second) in used:
                at += timedelta(seconds=1)
                wall = at.astimezone(start.tzinfo)
            used.add((wall.hour, wall.minute, wall.second))
            runs.append(_ScedRun(k, at, bool(grid.repeated[k])))
    return runs


def _generate_sced_lmp(
    spec: DatasetSpec,
    days: list[date],
    locs: SampleLocations,
    seed: int,
    compresslevel: int,
    xhr_style: XhrStyle,
    extra_run_rate: float,
) -> list[SampleDocument]:
    tz = ZoneInfo(spec.timezone)
    points = _points(locs, seed, rt=False)  # every point once, sorted by name
    salt = _SPEC_SALT.get(spec.source.report_type_id, 0)
    names = pl.Series("name", points.names)
    docs = []
    for day in days:
        grid = _day_grid(day, spec.interval_minutes, tz)
        cents = _price_matrix(points, grid, day, seed, salt, rt=True)
        runs = _sced_runs(grid, day, seed, salt, extra_run_rate)
        rng = np.random.default_rng([seed, salt, day.toordinal(), 1])
        walls = [run.at_utc.astimezone(tz) for run in runs]
        run_cents = cents[[run.bucket for run in runs]]
        rerun = np.array(
            [
                run.at_utc - grid.starts_local[run.bucket].astimezone(UTC) > timedelta(seconds=60)
                for run in runs
            ]
        )
        if rerun.any():  # a re-run inside the bucket moves prices a little
            nudge = rng.integers(-40, 41, run_cents.shape)
            run_cents = np.where(rerun[:, None], run_cents + nudge, run_cents)
        prefixes = pl.Series(
            [
                f"{wall:%m/%d/%Y %H:%M:%S},{'Y' if run.repeated else 'N'}"
                for wall, run in zip(walls, runs, strict=True)
            ]
        )
        bodies = _price_lines(run_cents, prefixes, names)
        for run, wall, body in zip(runs, walls, bodies, strict=True):
            publish = (run.at_utc + timedelta(seconds=int(rng.integers(2, 5)))).astimezone(tz)
            run_wall = wall.replace(tzinfo=None)
            stamp = f"{run_wall:%Y%m%d_%H%M%S}"
            docs.append(
                _package(
                    spec,
                    stem=friendly_stem(
                        spec.source.friendly_name_stem, stamp, run.repeated, xhr_style
                    ),
                    publish=publish,
                    csv_bytes=_csv_text(SCED_HEADER, body),
                    day=day,
                    rng=rng,
                    compresslevel=compresslevel,
                    interval_end_local=run_wall,
                    dst_repeated=run.repeated,
                )
            )
    return docs


def generate_documents(
    spec: DatasetSpec,
    days: list[date] | tuple[date, ...],
    n_nodes: int = 40,
    seed: int = 0,
    *,
    xhr_style: XhrStyle = "prefix",
    compresslevel: int = 9,
    extra_run_rate: float = 0.0,
) -> list[SampleDocument]:
    """Generate the MIS documents of `spec` for each operating day (oldest first).

    The same (spec, day, n_nodes, seed) always gives the same bytes, whatever other days are
    generated alongside. `xhr_style` places `xhr` in the names of the repeated fall-back hour's
    RT documents: "prefix" -> `SPPHLZNP6905_xhr_20241103_0115`, "suffix" ->
    `SPPHLZNP6905_20241103_0115_xhr`, "none" -> no marker (UNCONFIRMED which ERCOT uses).
    SCED documents (rt_lmp) follow the same style; `extra_run_rate` is the share of 5-minute
    buckets with a second SCED run (0 gives exactly one run per bucket: 288 a normal day).
    """
    days = sorted(set(days))
    if spec.iso != "ERCOT":
        raise ValueError(f"{spec.iso}/{spec.dataset}: not an ERCOT dataset")
    if spec.file_layout == "dam_spp":
        return _generate_dam_spp(spec, days, sample_locations(n_nodes, seed), seed, compresslevel)
    if spec.file_layout == "rtm_spp":
        return _generate_rtm_spp(
            spec, days, sample_locations(n_nodes, seed), seed, compresslevel, xhr_style
        )
    if spec.file_layout == "dam_mcpc":
        return _generate_dam_mcpc(spec, days, seed, compresslevel)
    if spec.file_layout == "sced_lmp":
        return _generate_sced_lmp(
            spec,
            days,
            sample_locations(n_nodes, seed),
            seed,
            compresslevel,
            xhr_style,
            extra_run_rate,
        )
    raise ValueError(f"no ERCOT sample generator for file layout {spec.file_layout!r}")


# ---------------------------------------------------------------------------------------------
# Listing and files


def build_listing(docs: list[SampleDocument]) -> dict:
    """The `IceDocListJsonWS` JSON for these documents: newest first, `_csv` before `_xml`."""
    report_ids = {str(d.spec.source.report_type_id) for d in docs}
    if len(report_ids) > 1:
        raise ValueError(f"a listing holds one report type, got {sorted(report_ids)}")
    ordered = sorted(docs, key=lambda d: (d.publish_time.astimezone(UTC), d.doc_id), reverse=True)
    items = []
    for doc in ordered:
        items.append({"Document": dict(doc.listing_entry)})
        items.append({"Document": dict(doc.xml_listing_entry)})
    return {"ListDocsByRptTypeRes": {"DocumentList": items}}


def listing_bytes(listing: dict) -> bytes:
    """Serialized like ERCOT's: compact, no trailing newline."""
    return json.dumps(listing, separators=(",", ":")).encode("utf-8")


def write_documents(docs: list[SampleDocument], folder: Path | str) -> list[Path]:
    """Write each document's zip under its ConstructedName (atomically); returns the paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return [atomic_write_bytes(out / doc.constructed_name, doc.zip_bytes) for doc in docs]


# ---------------------------------------------------------------------------------------------
# Public API JSON replies (ISO_FORMATS.md section 1.9)

# Per layout: (API field name, label, dataType, converter of the MIS CSV cell). The DAM field
# names are from a real reply; the NP6-905 ones follow its query parameters (UNCONFIRMED) and
# the NP6-788 ones are 3P.
SCED_TIME_STYLES = ("iso", "mis")  # API SCEDTimestamp as 2024-11-03T01:05:13 or as in the CSV


def _api_date(cell: str) -> str:
    return datetime.strptime(cell, "%m/%d/%Y").date().isoformat()


def _api_flag(cell: str) -> bool:
    return cell.strip() == "Y"


def _api_price(cell: str) -> float | int:
    value = float(cell.strip())
    return int(value) if value.is_integer() else value


def _api_fields(layout: str, sced_time_style: str) -> list[tuple[str, str, str, object]]:
    def sced_time(cell: str) -> str:
        if sced_time_style == "mis":
            return cell
        return datetime.strptime(cell, "%m/%d/%Y %H:%M:%S").isoformat()

    text = str.strip
    date_f = ("deliveryDate", "Delivery Date", "DATE", _api_date)
    flag_f = ("DSTFlag", "DST Flag", "BOOLEAN", _api_flag)
    point_f = ("settlementPoint", "Settlement Point", "VARCHAR", text)
    price_f = ("settlementPointPrice", "Settlement Point Price", "DOUBLE", _api_price)
    fields = {
        "dam_spp": [
            date_f,
            ("hourEnding", "Hour Ending", "VARCHAR", text),
            point_f,
            price_f,
            flag_f,
        ],
        "rtm_spp": [
            date_f,
            ("deliveryHour", "Delivery Hour", "INTEGER", int),
            ("deliveryInterval", "Delivery Interval", "INTEGER", int),
            point_f,
            ("settlementPointType", "Settlement Point Type", "VARCHAR", text),
            price_f,
            flag_f,
        ],
        "dam_mcpc": [
            date_f,
            ("hourEnding", "Hour Ending", "VARCHAR", text),
            ("ancillaryType", "Ancillary Type", "VARCHAR", text),
            ("MCPC", "MCPC", "DOUBLE", _api_price),
            flag_f,
        ],
        "sced_lmp": [
            ("SCEDTimestamp", "SCED Time Stamp", "TIMESTAMP", sced_time),
            ("repeatHourFlag", "Repeated Hour Flag", "BOOLEAN", _api_flag),
            point_f,
            ("LMP", "LMP", "DOUBLE", _api_price),
        ],
    }
    return fields[layout]


def api_reply(
    docs: list[SampleDocument], *, sced_time_style: str = "iso", flag_true_first: bool = True
) -> dict:
    """The public API query reply holding the rows of these documents (one dataset).

    Rows are sorted by their labels; with `flag_true_first` the repeated-hour (true) row of a
    label comes before the false one, as in ERCOT's real 2025-11-02 reply (a sort artefact
    readers must not rely on)."""
    specs = {d.spec for d in docs}
    if len(specs) != 1:
        raise ValueError("an API reply holds the rows of one dataset")
    spec = specs.pop()
    if sced_time_style not in SCED_TIME_STYLES:
        raise ValueError(f"sced_time_style must be one of {SCED_TIME_STYLES}")
    fields = _api_fields(spec.file_layout, sced_time_style)
    flag_at = next(i for i, f in enumerate(fields) if f[2] == "BOOLEAN")
    rows = []
    for doc in docs:
        for line in doc.csv_bytes.decode("ascii").split("\n")[1:]:
            if line:
                cells = line.split(",")
                rows.append(
                    [convert(cell) for (*_, convert), cell in zip(fields, cells, strict=True)]
                )

    def order(row: list) -> tuple:
        labels = tuple(
            str(v) for i, v in enumerate(row) if i != flag_at and fields[i][2] != "DOUBLE"
        )
        return (*labels, not row[flag_at] if flag_true_first else row[flag_at])

    rows.sort(key=order)
    report = spec.source.api_path.rsplit("/", 1)[-1]
    base = "https://api.ercot.com/api/public-reports"
    return {
        "_meta": {
            "totalRecords": len(rows),
            "pageSize": max(len(rows), 1),
            "totalPages": 1,
            "currentPage": 1,
        },
        "report": {
            "reportName": report,
            "reportDisplayName": spec.title,
            "reportId": str(spec.source.report_type_id),
            "reportEMIL": spec.report_code,
            "downloadLimit": 2000000,
        },
        "fields": [
            {
                "name": name,
                "label": label,
                "cardinality": 0,
                "dataType": data_type,
                "searchable": True,
                "sortable": True,
                "hasRange": data_type != "VARCHAR",
            }
            for name, label, data_type, _ in fields
        ],
        "data": rows,
        "_links": {
            "self": {"href": f"{base}/{spec.source.api_path}"},
            "parent": {"href": f"{base}/{spec.source.api_path.split('/')[0]}"},
        },
    }


def api_json_bytes(docs: list[SampleDocument], **options) -> bytes:
    return json.dumps(api_reply(docs, **options), separators=(",", ":")).encode("utf-8")


def write_api_json(docs: list[SampleDocument], path: Path | str, **options) -> Path:
    """Write the API reply for these documents (e.g. one operating day) as a .json file."""
    return atomic_write_bytes(Path(path), api_json_bytes(docs, **options))


# ---------------------------------------------------------------------------------------------
# Corrupted documents for tests of checks

_PRICE_COLUMN = {"dam_spp": 3, "rtm_spp": 5, "dam_mcpc": 3, "sced_lmp": 3}


def corrupt_document(
    doc: SampleDocument,
    *,
    duplicate_rows: int = 2,
    spike_price: float | None = 99999.0,
    spike_row: int = 0,
    compresslevel: int = 9,
) -> SampleDocument:
    """A copy of `doc` with its first `duplicate_rows` data rows repeated (right after the
    originals) and the price of data row `spike_row` set to `spike_price`; re-zipped, with the
    listing ContentSize updated. Same names, id and publish time."""
    lines = doc.csv_bytes.decode("ascii").split("\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    if spike_price is not None and rows:
        col = _PRICE_COLUMN[doc.spec.file_layout]
        cells = rows[spike_row].split(",")
        lead = " " if doc.spec.file_layout == "dam_spp" else ""
        cells[col] = lead + format_price(spike_price)
        rows[spike_row] = ",".join(cells)
    if duplicate_rows:
        rows = rows[:duplicate_rows] + rows[:duplicate_rows] + rows[duplicate_rows:]
    csv_bytes = ("\n".join([header, *rows]) + "\n").encode("ascii")
    zip_bytes = make_zip(doc.csv_name, csv_bytes, doc.publish_time, compresslevel=compresslevel)
    entry = dict(doc.listing_entry)
    entry["ContentSize"] = str(len(zip_bytes))
    return dataclasses.replace(doc, csv_bytes=csv_bytes, zip_bytes=zip_bytes, listing_entry=entry)
