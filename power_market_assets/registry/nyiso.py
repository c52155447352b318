"""NYISO dataset specs (mis.nyiso.com CSVs: docs/reference/ISO_FORMATS.md section 3, and
docs/reference/fundamentals/nyiso.md for load, load forecast, fuel mix and BTM solar).

Every NYISO file is a daily CSV `<YYYYMMDD><name>.csv` under `/public/csv/<folder>/`, also
packed per month in `<YYYYMM>01<name>_csv.zip`. Each dataset's `NyisoSource` names its MIS
folder, its daily file stems and what its "Time Stamp" labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Literal

from power_market_assets.registry.kinds import (
    ANCILLARY,
    FORECAST,
    PRICE,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    RENEWABLE,
)
from power_market_assets.registry.spec import DatasetSpec, FundamentalsInputs, PriceBound

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
    # Per stem, when the stems sit in different MIS folders (BTM solar); empty: `folder`.
    folders: tuple[str, ...] = ()
    # Per stem, the day in the file name minus the partition day: a day-ahead forecast file
    # named for tomorrow is published (and partitioned) today, offset 1. Empty: all 0.
    file_day_offsets: tuple[int, ...] = ()

    def stem_folder(self, stem: str) -> str:
        """The MIS folder of one daily file stem."""
        if not self.folders:
            return self.folder
        return self.folders[self.file_names.index(stem)]

    def stem_offset(self, stem: str) -> int:
        """Days from the partition day to the day named in the stem's file."""
        if not self.file_day_offsets:
            return 0
        return self.file_day_offsets[self.file_names.index(stem)]


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

# --------------------------------------------------------------------------- fundamentals
# Facts and how sure each is: docs/reference/fundamentals/nyiso.md.

# Load is never negative; the largest zone (N.Y.C.) peaks near 12 GW, NYCA near 34 GW.
LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=20000.0),)
SYSTEM_LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=40000.0),)
# isolf's system column (the sum of the zones).
FORECAST_SYSTEM_AREA = "NYISO"
# Local publication hours. isolf: the file dated F is posted ~07:05-08:20 ET on F [3P], so
# 08:30 is when it is surely known. BTM estimated actuals: ~8 hours after the day ends
# [CLIENT]. BTM day-ahead forecast: UNCONFIRMED, taken as the isolf time of the day before.
ISOLF_PUBLISH_HOUR = 8.5
BTM_ACTUAL_PUBLISH_HOUR = 8.0
BTM_FORECAST_PUBLISH_HOUR = 8.5
# BTM solar data starts on 2020-11-17 [3P].
BTM_FIRST_DAY = date(2020, 11, 17)
# UNCONFIRMED: the first rtfuelmix day in the MIS archive.
FUEL_MIX_FIRST_DAY = date(2015, 12, 1)

# rtfuelmix "Fuel Category" -> standard category (one mapping; table in the doc).
FUEL_CATEGORIES = (
    ("Dual Fuel", "gas"),  # gas/oil dual-fuel units, which burn gas nearly always
    ("Natural Gas", "gas"),
    ("Nuclear", "nuclear"),
    ("Hydro", "hydro"),  # includes pumped storage (Gilboa), so it may dip below zero
    ("Wind", "wind"),
    ("Other Fossil Fuels", "oil"),  # oil units (and coal until 2020)
    ("Other Renewables", "other"),  # biomass, refuse, landfill gas, grid solar, batteries
)
FUEL_CATEGORY_BOUNDS = (
    ("gas", 0.0, 26000.0),
    ("nuclear", 0.0, 5500.0),
    ("hydro", -1300.0, 6500.0),
    ("wind", 0.0, 3500.0),
    ("oil", 0.0, 8000.0),
    ("other", -500.0, 5000.0),
)

LOAD = _spec(
    dataset="load",
    title="Real-time actual load (pal), 5-minute by zone",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=5,
    first_available=MARKET_START,
    report_code="pal",
    file_layout="pal",
    source=NyisoSource("pal", ("pal",), "interval_beginning"),
    publish_hour_local=0.25,
    irregular_intervals=True,
    # Today's pal file grows every 5 minutes [CLIENT: gridstatus reads it for "latest"].
    intraday_snapshots=True,
    default_locations=ZONES,
    price_bounds=LOAD_BOUNDS,
    description="Actual load of the 11 zones per RTD interval (P-58B 'pal'): Time Stamp is the "
    "interval start, 'Time Zone' (EDT/EST) tells the repeated fall-back hour apart; off-schedule "
    "RTD stamps are kept as published. No system total row: NYCA load is the sum of the zones.",
)

LOAD_HOURLY = replace(
    LOAD,
    dataset="load_hourly",
    title="Integrated actual load (palIntegrated), hourly by zone",
    interval_minutes=60,
    report_code="palIntegrated",
    source=NyisoSource("palIntegrated", ("palIntegrated",), "interval_beginning"),
    publish_hour_local=0.5,
    irregular_intervals=False,
    intraday_snapshots=False,
    description="Hourly integrated actual load of the 11 zones (palIntegrated); hour-beginning "
    "stamps with a 'Time Zone' column.",
)

LOAD_FORECAST = _spec(
    dataset="load_forecast",
    title="ISO load forecast (isolf), hourly by zone, every publication",
    table_kind=FORECAST,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="isolf",
    file_layout="isolf",
    source=NyisoSource("isolf", ("isolf",), "interval_beginning"),
    publish_hour_local=ISOLF_PUBLISH_HOUR,
    default_locations=(*ZONES, FORECAST_SYSTEM_AREA),
    price_bounds=SYSTEM_LOAD_BOUNDS,
    description="NYISO's zonal load forecast: one wide file per publication day F covering F "
    "00:00 to F+5 23:00 hourly (11 zone columns and NYISO, the sum), posted ~07:05-08:20 ET on "
    "F; published_at_utc is F 08:30 ET. Model 'isolf'. The fall-back 01:00 row appears twice "
    "(first EDT, by row order).",
)

FUEL_MIX = _spec(
    dataset="fuel_mix",
    title="Real-time fuel mix (rtfuelmix), 5-minute",
    table_kind=QUANTITY_BY_FUEL,
    market="RTM",
    interval_minutes=5,
    first_available=FUEL_MIX_FIRST_DAY,
    report_code="rtfuelmix",
    file_layout="rtfuelmix",
    source=NyisoSource("rtfuelmix", ("rtfuelmix",), "interval_ending"),
    publish_hour_local=0.25,
    irregular_intervals=True,
    intraday_snapshots=True,  # like pal, today's file grows through the day
    price_bounds=(PriceBound(start=MARKET_START, floor=-1300.0, cap=26000.0),),
    fuel_categories=FUEL_CATEGORIES,
    category_bounds=FUEL_CATEGORY_BOUNDS,
    description="Generation by NYISO fuel category per RTD interval (seven categories; no "
    "total row). Stamps are interval ENDING (00:05:00 .. next day 00:00:00), 'Time Zone' "
    "EDT/EST. Grid-scale solar and batteries are inside 'Other Renewables'.",
)

BTM_SOLAR = _spec(
    dataset="btm_solar",
    title="Behind-the-meter solar, estimated actual and day-ahead forecast, hourly by zone",
    table_kind=RENEWABLE,
    market="RTM",
    interval_minutes=60,
    first_available=BTM_FIRST_DAY,
    report_code="btmactualforecast",
    file_layout="btm",
    source=NyisoSource(
        "btmactualforecast",
        ("BTMEstimatedActual", "btmdaforecast"),
        "interval_beginning",
        folders=("btmactualforecast", "btmdaforecast"),
        file_day_offsets=(0, 1),
    ),
    publish_hour_local=BTM_ACTUAL_PUBLISH_HOUR,
    default_locations=("SYSTEM",),
    price_bounds=(PriceBound(start=BTM_FIRST_DAY, floor=0.0, cap=10000.0),),
    description="Behind-the-meter solar per zone and SYSTEM (P-70A estimated actual, model "
    "ACTUAL, published_at the next day 08:00 ET; P-70B day-ahead forecast, model "
    "'btmdaforecast', file named for day D published on D-1 08:30 ET). A partition (day P) "
    "holds P's estimated actual and the forecast published on P (for P+1). Behind the meter: "
    "not part of pal load.",
)

NYISO_DATASETS = (
    DA_PRICES,
    RT_PRICES,
    RT_PRICES_HOURLY,
    AS_PRICES,
    RT_AS_PRICES,
    LOAD,
    LOAD_HOURLY,
    LOAD_FORECAST,
    FUEL_MIX,
    BTM_SOLAR,
)
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
# BTM solar is behind the meter (pal load is net of it), so net load takes wind and solar from
# the fuel mix, not from BTM_SOLAR.
FUNDAMENTALS_INPUTS = FundamentalsInputs(
    da_prices=DA_PRICES,
    rt_prices=RT_PRICES,
    hub="N.Y.C.",
    load=LOAD,
    load_forecast=LOAD_FORECAST,
    fuel_mix=FUEL_MIX,
    renewables=(),
    load_area=None,
    forecast_area=FORECAST_SYSTEM_AREA,
)
