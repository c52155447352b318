"""CAISO OASIS dataset specs (queries and layouts: docs/reference/ISO_FORMATS.md section 2).

Every dataset is one OASIS `SingleZip` query; its parameters (queryname, market_run_id,
version, the price column of its CSV, the node selector and the request window rule) live in
its `CaisoSource`, so the client, the reader and the stand-in server all read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
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

ISO = "CAISO"
TIMEZONE = "America/Los_Angeles"
# The nodal market (MRTU) started 2009-04-01; partitions start there for every CAISO dataset.
MARKET_START = date(2009, 4, 1)
# The 15-minute market (FMM, PRC_RTPD_LMP) started with FERC Order 764 on 2014-05-01.
FMM_START = date(2014, 5, 1)

# Trading hubs and default load aggregation points (CAISO's own node names, unchanged).
HUBS = ("TH_NP15_GEN-APND", "TH_SP15_GEN-APND", "TH_ZP26_GEN-APND")
ZONES = ("DLAP_PGAE-APND", "DLAP_SCE-APND", "DLAP_SDGE-APND", "DLAP_VEA-APND")

# PRC_AS anc_type and anc_region codes; the AS product name is "<ANC_REGION>_<ANC_TYPE>".
AS_TYPES = ("NR", "RD", "RMD", "RMU", "RU", "SR")
AS_REGIONS = ("AS_CAISO", "AS_CAISO_EXP", "AS_NP26", "AS_NP26_EXP", "AS_SP26", "AS_SP26_EXP")
DEFAULT_AS_PRODUCTS = tuple(f"AS_CAISO_EXP_{t}" for t in AS_TYPES)

# Energy bids: cap 1,000 $/MWh, raised to a 2,000 $/MWh hard cap under FERC Order 831
# (start date UNCONFIRMED); LMPs at single nodes can fall far below the -150 bid floor through
# congestion, so the floor here is the penalty-price scale, not the bid floor.
ENERGY_BOUNDS = (
    PriceBound(start=MARKET_START, floor=-2000.0, cap=1000.0),
    PriceBound(start=date(2021, 3, 1), floor=-2000.0, cap=2000.0),
)
# AS bids are capped at 250 $/MW; scarcity pricing can go above it (up to the demand curve).
AS_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=1000.0),)

# Request windows: OASIS refuses more than 31 calendar days (ERR_CODE 1004) and counts the
# GMT days touched, so node lists ask for at most 30 operating days (the client's
# `max_window_days`); with an all-nodes group (grp_type) clients ask for one day (DAM) or one
# hour (RT) at a time.
AllNodesWindow = Literal["day", "hour", "days"]


@dataclass(frozen=True)
class MarketRun:
    """One OASIS market run of a forecast query and when CAISO publishes it.

    OASIS stamps no publication time on SLD_FCST / SLD_REN_FCST rows, so the vintage is
    rebuilt from the run's schedule (docs/reference/fundamentals/caiso.md): a daily run is
    published at `publish_local` (hour, minute) on the Pacific day `day_offset` days before
    the day it forecasts; an interval run `lead_minutes` before each interval starts (negative:
    after it ends, for actuals). A row's partition (operating_day) is its interval's Pacific
    day minus `day_offset`: the day the run was published.
    """

    model: str  # the `model` column: the market run as CAISO names it (DAM, 2DA, 7DA, ACTUAL)
    market_run_id: str
    execution_type: str = ""  # SLD_FCST RTM runs: RTPD or RTD
    day_offset: int = 0
    publish_local: tuple[int, int] | None = None
    lead_minutes: float = 0.0


@dataclass(frozen=True)
class CaisoSource:
    """One OASIS SingleZip query: what the client asks and what the reader and stand-in expect."""

    query_name: str  # OASIS queryname, e.g. PRC_LMP; also the zip and CSV member names
    market_run_id: str  # DAM, RTM (RTD) or RTPD (FMM); rows of another run are not this dataset
    version: int  # OASIS API version of the query (12 for DAM, 3 for RT)
    price_column: str  # the CSV column holding the price: MW, VALUE or PRC
    grp_type: str = "ALL_APNODES"  # node group asked for when no node list is given
    # Request window with the all-nodes group: one "day", one "hour" or multi-day "days".
    all_nodes_window: AllNodesWindow = "days"
    anc_type: str = "ALL"  # AS queries: anc_type filter (ALL: every product)
    anc_region: str = "ALL"  # AS queries: anc_region filter (ALL: every AS region)
    # Forecast queries: every market run the dataset holds, one request per run and day.
    runs: tuple[MarketRun, ...] = ()
    # Today's Outlook files: the daily history file's name (fuelsource.csv).
    outlook_file: str = ""


# Fields every spec of this ISO shares (one time zone, one partitions start).
_spec = partial(DatasetSpec, iso=ISO, timezone=TIMEZONE, partitions_start=MARKET_START)

DA_PRICES = _spec(
    dataset="da_prices",
    title="DAM Locational Marginal Prices",
    table_kind=PRICE,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="PRC_LMP",
    file_layout="oasis_lmp",
    publish_hour_local=13.0,
    source=CaisoSource(
        query_name="PRC_LMP",
        market_run_id="DAM",
        version=12,
        price_column="MW",
        grp_type="ALL_APNODES",
        all_nodes_window="day",
    ),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly day-ahead LMPs with energy, congestion, loss and greenhouse-gas "
    "components for every APNode (OASIS PRC_LMP, market_run_id DAM), published around "
    "13:00 Pacific the day before.",
)

RT_PRICES = _spec(
    dataset="rt_prices",
    title="Real-Time Dispatch (RTD) Interval LMPs",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=5,
    first_available=MARKET_START,
    report_code="PRC_INTVL_LMP",
    file_layout="oasis_lmp",
    publish_hour_local=0.1,
    source=CaisoSource(
        query_name="PRC_INTVL_LMP",
        market_run_id="RTM",
        version=3,
        price_column="VALUE",
        grp_type="ALL_APNODES",
        all_nodes_window="hour",
    ),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="5-minute real-time dispatch LMPs with components (OASIS PRC_INTVL_LMP, "
    "market_run_id RTM), published minutes after each interval.",
)

RT_PRICES_15MIN = _spec(
    dataset="rt_prices_15min",
    title="Fifteen-Minute Market (FMM) LMPs",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=15,
    first_available=FMM_START,
    report_code="PRC_RTPD_LMP",
    file_layout="oasis_lmp",
    publish_hour_local=0.25,
    source=CaisoSource(
        query_name="PRC_RTPD_LMP",
        market_run_id="RTPD",
        version=3,
        price_column="PRC",
        grp_type="ALL_APNODES",
        all_nodes_window="hour",
    ),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="15-minute market (real-time pre-dispatch) LMPs with components (OASIS "
    "PRC_RTPD_LMP, market_run_id RTPD).",
)

AS_PRICES = _spec(
    dataset="as_prices",
    title="DAM Ancillary Service Clearing Prices",
    table_kind=ANCILLARY,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="PRC_AS",
    file_layout="oasis_as",
    publish_hour_local=13.0,
    source=CaisoSource(
        query_name="PRC_AS",
        market_run_id="DAM",
        version=12,
        price_column="MW",
        anc_type="ALL",
        anc_region="ALL",
    ),
    default_locations=DEFAULT_AS_PRODUCTS,
    price_bounds=AS_BOUNDS,
    description="Hourly day-ahead AS clearing prices (OASIS PRC_AS, market_run_id DAM) per "
    "AS region; product = '<ANC_REGION>_<ANC_TYPE>', e.g. AS_CAISO_EXP_RU, so the key "
    "(interval, product) stays unique across regions.",
)

# ---------------------------------------------------------------------------------------------
# Fundamentals (issue 13): load, load forecast, generation by fuel, wind and solar.
# Facts and how sure they are: docs/reference/fundamentals/caiso.md.

# SLD_FCST areas: CAISO's TAC areas plus the system total "CA ISO-TAC".
SYSTEM_AREA = "CA ISO-TAC"
TAC_AREAS = (SYSTEM_AREA, "PGE-TAC", "SCE-TAC", "SDGE-TAC", "VEA-TAC")
# SLD_REN_FCST trading hubs.
RENEWABLE_HUBS = ("NP15", "SP15", "ZP26")
# Load is never negative; CAISO's record peak is about 52 GW (2022-09-06).
LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=60_000.0),)
# Solar actuals can dip slightly below zero at night (station service).
RENEWABLE_BOUNDS = (PriceBound(start=MARKET_START, floor=-200.0, cap=30_000.0),)
FUEL_MIX_BOUNDS = (PriceBound(start=MARKET_START, floor=-15_000.0, cap=60_000.0),)
# Today's Outlook history files go back to 2018-04-10 (UNCONFIRMED; gridstatus's docs).
OUTLOOK_START = date(2018, 4, 10)
# SLD_REN_FCST hourly wind and solar by trading hub (UNCONFIRMED start; 2016 seen by a 3P).
RENEWABLES_START = date(2016, 1, 1)

# OASIS publication schedule (gridstatus, citing OASIS Atlas > OASIS Publications Schedule):
# the DAM, 2DA and 7DA demand forecasts at 09:10 Pacific, one, two and seven days ahead.
LOAD_FORECAST_RUNS = (
    MarketRun("DAM", "DAM", day_offset=1, publish_local=(9, 10)),
    MarketRun("2DA", "2DA", day_offset=2, publish_local=(9, 10)),
    MarketRun("7DA", "7DA", day_offset=7, publish_local=(9, 10)),
)
# The 15-minute market's demand forecast (RTM run, execution type RTPD): gridstatus dates each
# interval's forecast 22.5 minutes before the interval starts.
LOAD_FORECAST_15MIN_RUNS = (MarketRun("RTPD", "RTM", execution_type="RTPD", lead_minutes=22.5),)
# Wind and solar: DAM at 07:00 Pacific the day before; HASP 90 minutes before the hour;
# actuals are not stamped: their vintage is the end of the interval.
RENEWABLE_RUNS = (
    MarketRun("ACTUAL", "ACTUAL", lead_minutes=-60.0),
    MarketRun("DAM", "DAM", day_offset=1, publish_local=(7, 0)),
    MarketRun("HASP", "HASP", lead_minutes=90.0),
)
# Today's Outlook fuel columns -> standard category (the header's spelling changed over the
# years: "Natural gas" / "Natural Gas"; both are listed).
FUEL_CATEGORIES = (
    ("Solar", "solar"),
    ("Wind", "wind"),
    ("Geothermal", "geothermal"),
    ("Biomass", "biomass"),
    ("Biogas", "biomass"),
    ("Small hydro", "hydro"),
    ("Small Hydro", "hydro"),
    ("Coal", "coal"),
    ("Nuclear", "nuclear"),
    ("Natural gas", "gas"),
    ("Natural Gas", "gas"),
    ("Large hydro", "hydro"),
    ("Large Hydro", "hydro"),
    ("Batteries", "storage"),
    ("Imports", "imports"),
    ("Other", "other"),
)
# Plausible MW per standard category in CAISO (installed capacity with headroom; batteries
# charge down to about -12 GW, net exports in spring middays).
CATEGORY_BOUNDS = (
    ("solar", -500.0, 25_000.0),
    ("wind", -100.0, 9_000.0),
    ("geothermal", 0.0, 2_000.0),
    ("biomass", 0.0, 1_500.0),
    ("hydro", -500.0, 10_000.0),
    ("coal", -50.0, 500.0),
    ("nuclear", 0.0, 2_400.0),
    ("gas", -500.0, 35_000.0),
    ("storage", -15_000.0, 15_000.0),
    ("imports", -10_000.0, 15_000.0),
    ("other", -500.0, 1_000.0),
)

LOAD = _spec(
    dataset="load",
    title="Actual Hourly Load by TAC Area",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="SLD_FCST",
    file_layout="oasis_load",
    publish_hour_local=11.0,
    source=CaisoSource(query_name="SLD_FCST", market_run_id="ACTUAL", version=1, price_column="MW"),
    default_locations=(SYSTEM_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="Actual hourly integrated load (MW) per TAC area and the CAISO total "
    f"({SYSTEM_AREA}) from OASIS SLD_FCST, market_run_id ACTUAL (XML_DATA_ITEM "
    "SYS_FCST_ACT_MW), posted after the operating day.",
)

LOAD_FORECAST = _spec(
    dataset="load_forecast",
    title="Demand Forecast by TAC Area (DAM, 2DA, 7DA)",
    table_kind=FORECAST,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="SLD_FCST",
    file_layout="oasis_load_forecast",
    publish_hour_local=9 + 10 / 60,
    source=CaisoSource(
        query_name="SLD_FCST",
        market_run_id="DAM",
        version=1,
        price_column="MW",
        runs=LOAD_FORECAST_RUNS,
    ),
    default_locations=(SYSTEM_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="Hourly demand forecasts per TAC area from OASIS SLD_FCST, one vintage per "
    "market run (model DAM, 2DA, 7DA); OASIS gives no publication stamp, so published_at_utc "
    "is 09:10 Pacific one, two or seven days before the forecast day (OASIS publication "
    "schedule). Partitioned by publication day.",
)

LOAD_FORECAST_15MIN = _spec(
    dataset="load_forecast_15min",
    title="Fifteen-Minute Market (RTPD) Demand Forecast by TAC Area",
    table_kind=FORECAST,
    market="RTM",
    interval_minutes=15,
    first_available=FMM_START,
    report_code="SLD_FCST",
    file_layout="oasis_load_forecast",
    publish_hour_local=0.25,
    source=CaisoSource(
        query_name="SLD_FCST",
        market_run_id="RTM",
        version=1,
        price_column="MW",
        runs=LOAD_FORECAST_15MIN_RUNS,
    ),
    default_locations=(SYSTEM_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="15-minute demand forecasts per TAC area from OASIS SLD_FCST, market_run_id "
    "RTM with execution_type RTPD (model RTPD); published_at_utc is 22.5 minutes before each "
    "interval (no stamp in OASIS). Kept apart from `load_forecast`, whose runs are hourly.",
)

FUEL_MIX = _spec(
    dataset="fuel_mix",
    title="Today's Outlook Supply by Fuel Source",
    table_kind=QUANTITY_BY_FUEL,
    market="RTM",
    interval_minutes=5,
    first_available=OUTLOOK_START,
    report_code="fuelsource",
    file_layout="outlook_fuelsource",
    publish_hour_local=0.1,
    source=CaisoSource(
        query_name="fuelsource",
        market_run_id="RTM",
        version=0,
        price_column="",
        outlook_file="fuelsource.csv",
    ),
    default_locations=("Solar", "Wind", "Natural Gas", "Batteries", "Imports"),
    price_bounds=FUEL_MIX_BOUNDS,
    description="5-minute generation (MW) by fuel from Today's Outlook daily history files "
    "(outlook/history/<YYYYMMDD>/fuelsource.csv); Batteries negative when charging, Imports "
    "negative for net exports, both kept. Published through the day (intraday snapshots).",
    fuel_categories=FUEL_CATEGORIES,
    category_bounds=CATEGORY_BOUNDS,
    intraday_snapshots=True,
)

RENEWABLES = _spec(
    dataset="renewables",
    title="Wind and Solar Actual and Forecast by Trading Hub",
    table_kind=RENEWABLE,
    market="DAM",
    interval_minutes=60,
    first_available=RENEWABLES_START,
    report_code="SLD_REN_FCST",
    file_layout="oasis_renewables",
    publish_hour_local=7.0,
    source=CaisoSource(
        query_name="SLD_REN_FCST",
        market_run_id="DAM",
        version=1,
        price_column="MW",
        runs=RENEWABLE_RUNS,
    ),
    default_locations=RENEWABLE_HUBS,
    price_bounds=RENEWABLE_BOUNDS,
    description="Hourly wind and solar per trading hub (NP15, SP15, ZP26) from OASIS "
    "SLD_REN_FCST: actual (model ACTUAL, vintage = interval end), the day-ahead forecast "
    "(DAM, published 07:00 Pacific the day before) and HASP (90 minutes before the hour). "
    "Partitioned by publication day.",
)

CAISO_DATASETS = (
    DA_PRICES,
    RT_PRICES,
    RT_PRICES_15MIN,
    AS_PRICES,
    LOAD,
    LOAD_FORECAST,
    LOAD_FORECAST_15MIN,
    FUEL_MIX,
    RENEWABLES,
)
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
FUNDAMENTALS_INPUTS = FundamentalsInputs(
    da_prices=DA_PRICES,
    rt_prices=RT_PRICES,
    hub="TH_SP15_GEN-APND",
    load=LOAD,
    load_forecast=LOAD_FORECAST,
    fuel_mix=FUEL_MIX,
    renewables=(RENEWABLES,),
    load_area=SYSTEM_AREA,
    forecast_area=SYSTEM_AREA,
)
