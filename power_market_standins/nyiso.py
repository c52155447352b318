"""Deterministic NYISO sample files in the byte layouts of mis.nyiso.com (ISO_FORMATS.md 3);
load, load forecast, fuel mix and BTM solar come from nyiso_fundamentals.py.

- LBMP files (`damlbmp`, `realtime`, `rtlbmp`; `_zone` and `_gen`): `Time Stamp,Name,PTID,
  LBMP ($/MWHr),Marginal Cost Losses ($/MWHr),Marginal Cost Congestion ($/MWHr)`; prices with
  exactly two decimals; rows sorted by time, then name; the zonal file holds the 11 zones and 4
  external proxies, the generator file `n_locations` generators plus the reference bus.
- AS files (`damasp`, `rtasp`): `Time Stamp,Time Zone,Name,PTID,<4 prices>[,regulation
  movement]`, one row per zone; zones of one reserve region repeat the region's price and
  regulation is one NYCA-wide price.
- Stamps: hourly files `MM/DD/YYYY HH:MM` hour beginning; RTD files `MM/DD/YYYY HH:MM:SS`
  interval ENDING by default (UNCONFIRMED: `time_stamp="interval_beginning"` gives the other
  reading). Off-schedule RTD stamps (e.g. 00:15:12) replace a few regular ones.
- DST: no 02:00 label on the spring-forward day; on the fall-back day the 01:00 labels appear
  twice (EDT block first). Published congestion has NYISO's sign: LBMP = energy + losses -
  congestion.
- Quoting and line ends per file family (`CsvStyle`): unquoted LF for damlbmp (real bytes);
  others UNCONFIRMED, so every family takes any of none/text/all quoting and LF/CRLF.
- Monthly archives `<YYYYMM>01<stem>_csv.zip` hold one `<YYYYMMDD><stem>.csv` per day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from power_market_assets.registry import nyiso
from power_market_assets.registry.kinds import PRICE
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.time import expected_interval_starts
from power_market_standins import nyiso_fundamentals
from power_market_standins.common import deflated_zip
from power_market_standins.nyiso_csv import CsvStyle, SampleFile, csv_bytes

TimeStampRule = Literal["interval_beginning", "interval_ending"]

LBMP_HEADER = (
    "Time Stamp",
    "Name",
    "PTID",
    "LBMP ($/MWHr)",
    "Marginal Cost Losses ($/MWHr)",
    "Marginal Cost Congestion ($/MWHr)",
)
AS_HEADER = ("Time Stamp", "Time Zone", "Name", "PTID", *nyiso.AS_PRODUCT_COLUMNS.values())
RT_AS_HEADER = ("Time Stamp", "Time Zone", "Name", "PTID", *nyiso.RT_AS_PRODUCT_COLUMNS.values())
# Reserve region whose price each zone repeats (for realistic AS files).
ZONE_REGIONS = {
    "WEST": "WEST",
    "GENESE": "WEST",
    "CENTRL": "WEST",
    "NORTH": "WEST",
    "MHK VL": "WEST",
    "CAPITL": "EAST",
    "HUD VL": "SENY",
    "MILLWD": "SENY",
    "DUNWOD": "SENY",
    "N.Y.C.": "NYC",
    "LONGIL": "LI",
}
REGIONS = ("WEST", "EAST", "SENY", "NYC", "LI")
# Off-schedule RTD runs: (regular stamp index within the day, seconds added to its stamp).
DEFAULT_OFF_SCHEDULE = ((2, 12), (176, 150))
_GEN_WORDS = (
    "ASTORIA", "ARTHUR KILL", "BOWLINE", "DANSKAMMER", "EMPIRE", "GILBOA", "HUNTLEY", "INDIAN PT",
    "LOVETT", "MOSES", "NIAGARA", "NINE MILE", "OSWEGO", "RAVENSWOOD", "ROSETON", "SITHE",
)  # fmt: skip
_GEN_SUFFIXES = ("___1", "___2", "_GT_1", "_GT_2", "_CC_1", "_ST_3")


# Load, load forecast, fuel mix and BTM solar: power_market_standins/nyiso_fundamentals.py.
FUNDAMENTAL_LAYOUTS = frozenset({"pal", "isolf", "rtfuelmix", "btm"})

DEFAULT_STYLES: dict[str, CsvStyle] = {
    "damlbmp": CsvStyle("none", "\n"),  # [BYTES] 2025-2026 damlbmp_zone
    "rtlbmp": CsvStyle("text", "\n"),  # [3P ERW] 2025 rtlbmp_zone
    "realtime": CsvStyle("text", "\r\n"),  # 2014 realtime: quoted, CRLF; today UNCONFIRMED
    "damasp": CsvStyle("text", "\n"),  # UNCONFIRMED
    "rtasp": CsvStyle("text", "\r\n"),  # UNCONFIRMED
}


@dataclass(frozen=True)
class Stamp:
    label: str  # the Time Stamp text
    zone_label: str  # EDT / EST of the stamped instant
    start_utc: datetime  # the interval start it stands for


@dataclass(frozen=True)
class SampleOptions:
    n_locations: int = 20
    seed: int = 0
    styles: dict[str, CsvStyle] = field(default_factory=lambda: dict(DEFAULT_STYLES))
    time_stamp: TimeStampRule | None = None  # None: the spec's own rule
    off_schedule: tuple[tuple[int, int], ...] = DEFAULT_OFF_SCHEDULE


# --------------------------------------------------------------------------- stamps


def day_stamps(
    spec: DatasetSpec,
    day: date,
    rule: TimeStampRule,
    off_schedule: Sequence[tuple[int, int]] = (),
) -> list[Stamp]:
    """The Time Stamps of one operating day's file, in file order (chronological)."""
    tz = ZoneInfo(spec.timezone)
    minutes = spec.interval_minutes
    with_seconds = minutes < 60
    shifts = dict(off_schedule) if with_seconds else {}
    stamps = []
    starts = expected_interval_starts([day], spec.timezone, minutes).to_list()
    for index, start in enumerate(starts):
        start = start.replace(tzinfo=UTC)
        instant = start + timedelta(minutes=minutes) if rule == "interval_ending" else start
        instant += timedelta(seconds=shifts.get(index, 0))
        local = instant.astimezone(tz)
        fmt = "%m/%d/%Y %H:%M:%S" if with_seconds else "%m/%d/%Y %H:%M"
        stamps.append(Stamp(local.strftime(fmt), local.tzname() or "", start))
    return stamps


# --------------------------------------------------------------------------- locations


def generator_names(n_locations: int, seed: int = 0) -> list[tuple[str, int]]:
    """(name, PTID) of the reference bus and `n_locations` generators, sorted by name."""
    rng = np.random.default_rng(seed + 7)
    names: set[str] = set()
    while len(names) < n_locations:
        word = _GEN_WORDS[int(rng.integers(len(_GEN_WORDS)))]
        suffix = _GEN_SUFFIXES[int(rng.integers(len(_GEN_SUFFIXES)))]
        names.add(f"{word}{suffix}" if rng.random() < 0.7 else f"{word} {len(names) + 1}{suffix}")
    gens = [(name, 23500 + 3 * k) for k, name in enumerate(sorted(names))]
    return sorted([(nyiso.REFERENCE_BUS, 24008), *gens])


def zone_names() -> list[tuple[str, int]]:
    """The zonal file's 15 names (zones and external proxies), sorted by name."""
    return sorted(nyiso.ZONE_PTIDS.items())


def _money(cents: np.ndarray) -> list[str]:
    return [f"{c / 100:.2f}" for c in cents.tolist()]


def _rng(spec: DatasetSpec, day: date, seed: int, salt: int) -> np.random.Generator:
    dataset_salt = sum(map(ord, spec.dataset))
    return np.random.default_rng([seed, day.toordinal(), dataset_salt, salt])


def _shape(stamps: Sequence[Stamp], tz: ZoneInfo) -> np.ndarray:
    hours = np.array([s.start_utc.astimezone(tz).hour for s in stamps], dtype=float)
    return 0.5 - 0.5 * np.cos((hours - 4.0) / 24.0 * 2 * np.pi)


# --------------------------------------------------------------------------- files


def lbmp_file(
    spec: DatasetSpec, day: date, stem: str, stamps: list[Stamp], opts: SampleOptions
) -> SampleFile:
    """One LBMP CSV (zonal or generator) of one operating day."""
    is_zone = stem.endswith("_zone")
    points = zone_names() if is_zone else generator_names(opts.n_locations, opts.seed)
    tz = ZoneInfo(spec.timezone)
    # The system energy price is shared by both files of a day: its generator has no salt.
    energy_rng = _rng(spec, day, opts.seed, 0)
    noise = energy_rng.normal(0.0, 3.0, len(stamps))
    energy = np.round(2500 + 3000 * _shape(stamps, tz) + 100 * noise).astype(np.int64)
    rng = _rng(spec, day, opts.seed, 1 if is_zone else 2)
    n = len(points)
    loss = rng.integers(-300, 400, size=(len(stamps), n))
    congested = rng.random((len(stamps), n)) < 0.3
    congestion = np.where(congested, rng.integers(-1500, 2500, size=(len(stamps), n)), 0)
    reference = [k for k, (name, _) in enumerate(points) if name == nyiso.REFERENCE_BUS]
    loss[:, reference] = 0
    congestion[:, reference] = 0
    lbmp = energy[:, None] + loss - congestion  # NYISO's sign: LBMP = energy + loss - MCC
    rows = []
    for t, stamp in enumerate(stamps):
        lb, lo, co = _money(lbmp[t]), _money(loss[t]), _money(congestion[t])
        for k, (name, ptid) in enumerate(points):
            rows.append((stamp.label, name, str(ptid), lb[k], lo[k], co[k]))
    style = opts.styles.get(spec.source.folder, CsvStyle())
    data = csv_bytes(LBMP_HEADER, rows, 2, style)
    return SampleFile(spec, day, spec.source.folder, stem, data, len(rows))


def asp_file(spec: DatasetSpec, day: date, stamps: list[Stamp], opts: SampleOptions) -> SampleFile:
    """One AS price CSV (damasp or rtasp) of one operating day."""
    rt = spec.market == "RTM"
    rng = _rng(spec, day, opts.seed, 3)
    n_t = len(stamps)
    # Nested reserve prices: each region adds to the one it sits in; 10-min >= 30-min.
    oper = np.cumsum(rng.integers(0, 300, size=(n_t, len(REGIONS))), axis=1)
    non_sync = oper + rng.integers(0, 200, size=(n_t, len(REGIONS)))
    spin = non_sync + rng.integers(0, 400, size=(n_t, len(REGIONS)))
    reg_cap = rng.integers(500, 2500, size=n_t)
    reg_move = rng.integers(0, 60, size=n_t)
    zones = sorted(nyiso.ZONES)
    rows = []
    for t, stamp in enumerate(stamps):
        for zone in zones:
            r = REGIONS.index(ZONE_REGIONS[zone])
            prices = [spin[t, r], non_sync[t, r], oper[t, r], reg_cap[t]]
            if rt:
                prices.append(reg_move[t])
            money = _money(np.array(prices))
            rows.append((stamp.label, stamp.zone_label, zone, str(nyiso.ZONE_PTIDS[zone]), *money))
    style = opts.styles.get(spec.source.folder, CsvStyle())
    header = RT_AS_HEADER if rt else AS_HEADER
    data = csv_bytes(header, rows, 3, style)
    return SampleFile(
        spec, day, spec.source.folder, ",".join(spec.source.file_names), data, len(rows)
    )


def generate_files(
    spec: DatasetSpec, days: Iterable[date], options: SampleOptions | None = None
) -> list[SampleFile]:
    """Every daily file of a NYISO dataset for these operating days."""
    opts = options or SampleOptions()
    if spec.file_layout in FUNDAMENTAL_LAYOUTS:
        return nyiso_fundamentals.generate_files(spec, days, opts.seed)
    rule = opts.time_stamp or spec.source.time_stamp
    out = []
    for day in sorted(set(days)):
        stamps = day_stamps(spec, day, rule, opts.off_schedule)  # type: ignore[arg-type]
        if spec.table_kind is PRICE:
            out += [lbmp_file(spec, day, stem, stamps, opts) for stem in _stems(spec)]
        else:
            out.append(asp_file(spec, day, stamps, opts))
    return out


def _stems(spec: DatasetSpec) -> list[str]:
    return list(spec.source.file_names)


def monthly_zip(files: Iterable[SampleFile]) -> bytes:
    """The month's archive: one `<YYYYMMDD><stem>.csv` member per day, in day order."""
    return deflated_zip(
        (sample.name, sample.data, (*sample.operating_day.timetuple()[:3], 23, 59, 58))
        for sample in sorted(files, key=lambda f: f.operating_day)
    )


def generate_all(days: Iterable[date], options: SampleOptions | None = None) -> list[SampleFile]:
    """Every NYISO dataset's files for these days."""
    days = list(days)
    return [f for spec in nyiso.NYISO_DATASETS for f in generate_files(spec, days, options)]
