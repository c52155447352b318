"""Deterministic CAISO OASIS sample data in the real byte layout (ISO_FORMATS.md section 2).

Rows are rendered once per dataset and operating day as OASIS CSV data lines (no quoting, LF,
GMT interval columns, Pacific OPR_DT / hour-ending OPR_HR with 25 for the repeated fall-back
hour and no 3 in spring, up to 5 decimals, five LMP_TYPE rows per node and interval, one node
priced at exactly 0). The stand-in server (caiso_server.py) answers any SingleZip
window by filtering these lines and zipping them in shuffled order, as OASIS does.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from power_market_assets.registry import caiso
from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import day_bounds_utc, expected_interval_starts
from power_market_standins.common import deflated_zip

HEADERS = {
    "PRC_LMP": "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,"
    "NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,"
    "MW,GROUP",
    "PRC_INTVL_LMP": "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,NODE_ID_XML,"
    "NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,VALUE,"
    "OPR_INTERVAL,GROUP",
    "PRC_RTPD_LMP": "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,NODE_ID_XML,"
    "NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,PRC,"
    "OPR_INTERVAL,GROUP",
    "PRC_AS": "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,OPR_TYPE,"
    "ANC_TYPE,ANC_REGION,MARKET_RUN_ID,XML_DATA_ITEM,MW,GROUP",
}
COMPONENTS = (  # LMP_TYPE, XML_DATA_ITEM
    ("LMP", "LMP_PRC"),
    ("MCE", "LMP_ENE_PRC"),
    ("MCC", "LMP_CONG_PRC"),
    ("MCL", "LMP_LOSS_PRC"),
    ("MGHG", "LMP_GHG_PRC"),
)
UNITS = 100_000  # prices are drawn in 1e-5 $/MWh so that LMP = MCE + MCC + MCL + MGHG exactly
ROW_SCHEMA = {
    "interval_start_utc": pl.Datetime("us", "UTC"),
    "node": pl.Utf8(),
    "lmp_type": pl.Utf8(),
    "line": pl.Utf8(),
}


@dataclass(frozen=True)
class OasisRows:
    """All data lines one OASIS query can return, with what a request filters them by."""

    spec: DatasetSpec
    header: str
    rows: pl.DataFrame  # ROW_SCHEMA: interval_start_utc, node ("" for AS), lmp_type, line
    # The market run these lines answer (a forecast dataset has one OasisRows per run).
    market_run_id: str = ""

    @property
    def queryname(self) -> str:
        return self.spec.source.query_name

    @property
    def run_id(self) -> str:
        return self.market_run_id or self.spec.source.market_run_id


def sample_nodes(n_locations: int = 20, seed: int = 0) -> list[str]:
    """Hubs and DLAPs first, then pricing nodes named like CAISO's (0096WD_7_N001, ...-APND)."""
    fixed = [*caiso.HUBS, *caiso.ZONES]
    rng = random.Random(seed)
    nodes = fixed[:n_locations]
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    while len(nodes) < n_locations:
        stem = f"{rng.randint(0, 9999):04d}{rng.choice(letters)}{rng.choice(letters)}"
        name = f"{stem}_{rng.randint(1, 9)}_N{rng.randint(1, 999):03d}"
        if rng.random() < 0.3:
            name = f"{stem}_{rng.randint(1, 9)}_B1-APND"
        if name not in nodes:
            nodes.append(name)
    return nodes


def hour_ending(start_utc: datetime, tz: ZoneInfo) -> int:
    """CAISO's OPR_HR: local hour + 1, or 25 for the repeated fall-back hour."""
    local = start_utc.astimezone(tz)
    earlier = (start_utc - timedelta(hours=1)).astimezone(tz)
    if local.dst() == timedelta(0) and earlier.dst() != timedelta(0):
        return 25
    return local.hour + 1


def gmt_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


def format_units(value: int, fixed: bool) -> str:
    """1e-5 units -> OASIS text: fixed 5 decimals (RT) or trailing zeros trimmed (DA/AS)."""
    text = f"{value / UNITS:.5f}"
    if text == "-0.00000":
        text = "0.00000"
    if fixed:
        return text
    text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _rng(seed: int, *parts: object) -> np.random.Generator:
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _time_labels(start: datetime, spec: DatasetSpec, tz: ZoneInfo, pad_hour: bool) -> dict:
    local = start.astimezone(tz)
    hour = hour_ending(start, tz)
    minutes = spec.interval_minutes
    interval = 0 if minutes >= 60 else local.minute // minutes + 1
    return {
        "gs": gmt_text(start),
        "ge": gmt_text(start + timedelta(minutes=minutes)),
        "dt": local.date().isoformat(),
        "hr": f"{hour:02d}" if pad_hour else str(hour),
        "iv": str(interval),
    }


def _lmp_parts(rng: np.random.Generator, n_times: int, n_nodes: int, rt: bool) -> np.ndarray:
    """(times, nodes, 4) integer 1e-5 $/MWh: energy, congestion, loss, ghg."""
    hours = np.linspace(0, 24, n_times, endpoint=False)
    shape = 35 + 20 * np.sin((hours - 7) / 24 * 2 * np.pi) ** 2
    energy = shape[:, None] + rng.normal(0, 6 if rt else 2, (n_times, 1))
    energy = np.repeat(energy, n_nodes, axis=1)
    congestion = rng.normal(0, 3, (n_times, n_nodes)) * (rng.random(n_nodes) < 0.6)
    loss = rng.normal(0, 1, (n_times, n_nodes))
    ghg = np.abs(rng.normal(0, 0.8, (n_times, n_nodes))) * (rng.random(n_nodes) < 0.25)
    parts = np.stack([energy, congestion, loss, ghg], axis=-1)
    parts = np.rint(parts * (100 if not rt else UNITS)).astype(np.int64)
    if not rt:  # DA prices carry fewer decimals
        parts *= UNITS // 100
    parts[:, -1, :] = 0  # the last node is listed but not priced: every component 0
    return parts


def _lmp_lines(spec: DatasetSpec, day: date, nodes: Sequence[str], seed: int, pad_hour: bool):
    tz = ZoneInfo(spec.timezone)
    query = spec.source.query_name
    run = spec.source.market_run_id
    rt = spec.market == "RTM"
    grp = "ALL_APNODES" if rt else "ALL"
    starts = expected_interval_starts([day], spec.timezone, spec.interval_minutes).to_list()
    parts = _lmp_parts(_rng(seed, query, day.isoformat()), len(starts), len(nodes), rt)
    out = []
    for t, start in enumerate(starts):
        lab = _time_labels(start, spec, tz, pad_hour)
        for n, node in enumerate(nodes):
            values = [int(parts[t, n].sum()), *(int(v) for v in parts[t, n])]
            for (kind, item), value in zip(COMPONENTS, values, strict=True):
                price = format_units(value, fixed=rt)
                if query == "PRC_LMP":
                    line = (
                        f"{lab['gs']},{lab['ge']},{lab['dt']},{lab['hr']},0,{node},{node},{node},"
                        f"{run},{kind},{item},{node},{grp},1,{price},{n + 1}"
                    )
                else:
                    line = (
                        f"{lab['gs']},{lab['ge']},{lab['dt']},{lab['hr']},{node},{node},{node},"
                        f"{run},{kind},{item},{node},{grp},0,{price},{lab['iv']},{n + 1}"
                    )
                out.append((start, node, kind, line))
    return out


def _as_lines(spec: DatasetSpec, day: date, seed: int, pad_hour: bool):
    tz = ZoneInfo(spec.timezone)
    run = spec.source.market_run_id
    starts = expected_interval_starts([day], spec.timezone, spec.interval_minutes).to_list()
    rng = _rng(seed, "PRC_AS", day.isoformat())
    levels = {"NR": 0.5, "RD": 8.0, "RMD": 0.1, "RMU": 0.2, "RU": 10.0, "SR": 4.0}
    out = []
    for start in starts:
        lab = _time_labels(start, spec, tz, pad_hour)
        for g, region in enumerate(caiso.AS_REGIONS):
            for kind in caiso.AS_TYPES:
                value = max(0.0, levels[kind] * (1 + rng.normal(0, 0.3)))
                price = format_units(int(round(value * 100)) * (UNITS // 100), fixed=False)
                line = (
                    f"{lab['gs']},{lab['ge']},{lab['dt']},{lab['hr']},0,Hourly,{kind},{region},"
                    f"{run},{kind}_CLR_PRC,{price},{g + 1}"
                )
                out.append((start, "", kind, line))
    return out


def _drop_gmt(header: str, lines: list[tuple]) -> tuple[str, list[tuple]]:
    """The layout without the GMT columns (UNCONFIRMED older form; tests the label path)."""
    cut = lambda text: text.split(",", 2)[2]  # noqa: E731
    return cut(header), [(s, n, k, cut(line)) for s, n, k, line in lines]


def generate_rows(
    spec: DatasetSpec,
    days: Iterable[date],
    n_locations: int = 20,
    seed: int = 0,
    *,
    pad_hour: bool = False,
    gmt_columns: bool = True,
) -> OasisRows:
    """Every data line of `spec`'s query for these operating days (sorted by time here; the
    server shuffles them). `pad_hour` writes OPR_HR as 01..25 (zero padding UNCONFIRMED)."""
    query = spec.source.query_name
    nodes = sample_nodes(n_locations, seed)
    lines: list[tuple] = []
    for day in sorted(set(days)):
        if spec.table_kind is PRICE:
            lines += _lmp_lines(spec, day, nodes, seed, pad_hour)
        else:
            lines += _as_lines(spec, day, seed, pad_hour)
    header = HEADERS[query]
    if not gmt_columns:
        header, lines = _drop_gmt(header, lines)
    frame = pl.DataFrame(lines, schema=ROW_SCHEMA, orient="row")
    return OasisRows(spec=spec, header=header, rows=frame)


def shuffled_csv(header: str, lines: Sequence[str], seed: int = 0) -> bytes:
    """An OASIS CSV: header, then the lines in OASIS's arbitrary order, LF, no quoting."""
    order = list(lines)
    random.Random(seed).shuffle(order)
    return ("\n".join([header, *order]) + "\n").encode("ascii")


def member_name(
    query: str, market: str, version: str, first: date, last: date, part: str = ""
) -> str:
    """`<startYYYYMMDD>_<endYYYYMMDD>_<QUERY>_<MKT>[_<COMPONENT>]_v<version>.csv`."""
    suffix = f"_{part}" if part else ""
    return f"{first:%Y%m%d}_{last:%Y%m%d}_{query}_{market}{suffix}_v{version}.csv"


def zip_members(members: Sequence[tuple[str, bytes]], when: datetime) -> bytes:
    """A deflated zip of (name, bytes) members stamped `when` in UTC (deterministic)."""
    stamp = when.astimezone(UTC).timetuple()[:6]
    return deflated_zip((name, data, stamp) for name, data in members)


def day_csv(rows: OasisRows, day: date, seed: int = 0) -> tuple[str, bytes]:
    """One operating day of a query as a single OASIS CSV (name, bytes), for reader tests."""
    start, end = day_bounds_utc(day, rows.spec.timezone)
    part = rows.rows.filter(
        (pl.col("interval_start_utc") >= start) & (pl.col("interval_start_utc") < end)
    )
    spec = rows.spec
    name = member_name(
        rows.queryname, spec.source.market_run_id, str(spec.source.version), day, day
    )
    return name, shuffled_csv(rows.header, part.get_column("line").to_list(), seed)


def generate_all(
    days: Iterable[date], n_locations: int = 20, seed: int = 0, **options: bool
) -> dict[str, OasisRows]:
    """Every CAISO price and AS dataset's rows, by OASIS queryname (the load, forecast and
    renewable queries: caiso_fundamentals.generate_oasis)."""
    days = list(days)
    return {
        spec.source.query_name: generate_rows(spec, days, n_locations, seed, **options)
        for spec in caiso.CAISO_DATASETS
        if spec.table_kind is PRICE or spec.table_kind is ANCILLARY
    }
