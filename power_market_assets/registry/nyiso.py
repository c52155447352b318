"""NYISO dataset specs (mis.nyiso.com CSVs: docs/reference/ISO_FORMATS.md section 3).

Every NYISO price file is a daily CSV `<YYYYMMDD><name>.csv` under `/public/csv/<folder>/`,
also packed per month in `<YYYYMM>01<name>_csv.zip`. Each dataset's `NyisoSource` names its
MIS folder, its daily file stems and what its "Time Stamp" labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Literal

from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec, PriceBound

ISO = "NYISO"
TIMEZONE = "America/New_York"
# SMD2 (2005-02-01) started today's market design: RTD 5-minute real-time LBMPs and the
# co-optimized reserve markets. Every NYISO dataset's partitions start there. UNCONFIRMED:
# how far back the MIS monthly archives reach for each folder.
MARKET_START = date(2005, 2, 1)

# The 11 load zones, alphabetical as NYISO sorts them, and the 4 external proxy buses that
# the zonal LBMP files also carry (ISO_FORMATS 3.4).
ZONES = (
    "CAPITL",
    "CENTRL",
    "DUNWOD",
    "GENESE",
    "HUD VL",
    "LONGIL",
    "MHK VL",
    "MILLWD",
    "N.Y.C.",
    "NORTH",
    "WEST",
)
ZONE_PTIDS = {
    "WEST": 61752,
    "GENESE": 61753,
    "CENTRL": 61754,
    "NORTH": 61755,
    "MHK VL": 61756,
    "CAPITL": 61757,
    "HUD VL": 61758,
    "MILLWD": 61759,
    "DUNWOD": 61760,
    "N.Y.C.": 61761,
    "LONGIL": 61762,
    "H Q": 61844,
    "NPX": 61845,
    "O H": 61846,
    "PJM": 61847,
}
REFERENCE_BUS = "NYISO_LBMP_REFERENCE"

# AS products: NYISO publishes one row per zone; the product name carries the zone
# ("N.Y.C._SPIN_10") so that (interval_start_utc, product) stays unique.
AS_PRODUCT_COLUMNS = {
    "SPIN_10": "10 Min Spinning Reserve ($/MWHr)",
    "NON_SYNC_10": "10 Min Non-Synchronous Reserve ($/MWHr)",
    "OPER_30": "30 Min Operating Reserve ($/MWHr)",
    "REG_CAP": "NYCA Regulation Capacity ($/MWHr)",
}
RT_AS_PRODUCT_COLUMNS = {**AS_PRODUCT_COLUMNS, "REG_MOVE": "NYCA Regulation Movement ($/MW)"}
# Zones whose prices are the reserve regions' (West = WEST, East = CAPITL, SENY = HUD VL,
# NYC = N.Y.C., Long Island = LONGIL) for the combined outputs.
AS_DEFAULT_ZONES = ("WEST", "CAPITL", "HUD VL", "N.Y.C.", "LONGIL")
AS_PRODUCTS = tuple(
    f"{zone}_{product}" for zone in AS_DEFAULT_ZONES for product in AS_PRODUCT_COLUMNS
)

# UNCONFIRMED: energy offers are capped at 1,000 $/MWh and floored at -1,000 $/MWh, but
# shortage pricing (reserve and transmission demand curves) can lift LBMPs well above the
# offer cap, so the cap is set wide. The range check is not blocking.
ENERGY_BOUNDS = (PriceBound(start=MARKET_START, floor=-1000.0, cap=5000.0),)
# Reserve and regulation prices are never negative; demand curves bound them (wide cap).
AS_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=5000.0),)


TimeStamp = Literal["interval_beginning", "interval_ending"]


@dataclass(frozen=True)
class NyisoSource:
    """Where a dataset's daily CSVs sit on mis.nyiso.com and how their stamps read."""

    folder: str  # MIS folder under /public/csv/: damlbmp, realtime, rtlbmp, damasp, rtasp
    # Daily file stems of the dataset (`<YYYYMMDD><stem>.csv`): the zonal and generator LBMP
    # files are two files of one dataset.
    file_names: tuple[str, ...]
    # What "Time Stamp" labels: interval_beginning (hourly files) or interval_ending (RTD
    # files; UNCONFIRMED in ISO_FORMATS 3.6, so the reader and the sample generator honour it).
    time_stamp: TimeStamp


# Fields every spec of this ISO shares (one time zone, one partitions start).
_spec = partial(DatasetSpec, iso=ISO, timezone=TIMEZONE, partitions_start=MARKET_START)

DA_PRICES = _spec(
    dataset="da_prices",
    title="DAM LBMP, zonal and generator",
    table_kind=PRICE,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="damlbmp",
    file_layout="lbmp",
    source=NyisoSource("damlbmp", ("damlbmp_zone", "damlbmp_gen"), "interval_beginning"),
    publish_hour_local=11.0,
    default_locations=ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly day-ahead LBMPs with marginal losses and congestion for the 11 zones, "
    "4 external proxies (damlbmp_zone) and every generator bus (damlbmp_gen); two files "
    "per operating day, one dataset. Congestion is flipped to lmp = energy + congestion + loss.",
)

RT_PRICES = _spec(
    dataset="rt_prices",
    title="Real-time (RTD) LBMP, zonal and generator",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=5,
    first_available=MARKET_START,
    report_code="realtime",
    file_layout="lbmp",
    source=NyisoSource("realtime", ("realtime_zone", "realtime_gen"), "interval_ending"),
    publish_hour_local=0.25,
    irregular_intervals=True,
    default_locations=ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="5-minute real-time dispatch (RTD) LBMPs for zones and generators. Stamps are "
    "interval ENDING and converted to interval starts; off-schedule RTD runs (00:15:12) are "
    "kept as published, so intervals are irregular around a 5-minute nominal grid.",
)

RT_PRICES_HOURLY = _spec(
    dataset="rt_prices_hourly",
    title="Real-time LBMP, hourly integrated, zonal and generator",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="rtlbmp",
    file_layout="lbmp",
    source=NyisoSource("rtlbmp", ("rtlbmp_zone", "rtlbmp_gen"), "interval_beginning"),
    publish_hour_local=0.5,
    default_locations=ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly time-weighted real-time LBMPs (rtlbmp) for zones and generators.",
)

AS_PRICES = _spec(
    dataset="as_prices",
    title="DAM ancillary service prices",
    table_kind=ANCILLARY,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="damasp",
    file_layout="asp",
    source=NyisoSource("damasp", ("damasp",), "interval_beginning"),
    publish_hour_local=11.0,
    default_locations=AS_PRODUCTS,
    price_bounds=AS_BOUNDS,
    description="Hourly day-ahead reserve and regulation capacity prices per zone; the "
    "product carries the zone name (e.g. N.Y.C._SPIN_10, WEST_REG_CAP).",
)

RT_AS_PRICES = replace(
    AS_PRICES,
    dataset="rt_as_prices",
    title="Real-time ancillary service prices",
    market="RTM",
    interval_minutes=5,
    report_code="rtasp",
    source=NyisoSource("rtasp", ("rtasp",), "interval_ending"),
    publish_hour_local=0.25,
    irregular_intervals=True,
    default_locations=(),
    description="5-minute real-time reserve, regulation capacity and regulation movement "
    "prices per zone (RTD stamps, interval ending, irregular like rt_prices).",
)

NYISO_DATASETS = (DA_PRICES, RT_PRICES, RT_PRICES_HOURLY, AS_PRICES, RT_AS_PRICES)
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
