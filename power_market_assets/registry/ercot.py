"""ERCOT dataset specs (report ids and layouts: docs/reference/ISO_FORMATS.md section 1)."""

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

ISO = "ERCOT"
TIMEZONE = "America/Chicago"
# The nodal market started 2010-12-01; partitions start there for every ERCOT dataset.
MARKET_START = date(2010, 12, 1)

HUBS = ("HB_BUSAVG", "HB_HOUSTON", "HB_HUBAVG", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST")
LOAD_ZONES = (
    "LZ_AEN",
    "LZ_CPS",
    "LZ_HOUSTON",
    "LZ_LCRA",
    "LZ_NORTH",
    "LZ_RAYBN",
    "LZ_SOUTH",
    "LZ_WEST",
)
DC_TIES = ("DC_E", "DC_L", "DC_N", "DC_R")
AS_PRODUCTS = ("ECRS", "NSPIN", "REGDN", "REGUP", "RRS")
ECRS_START = date(2023, 6, 10)

# System-wide offer cap: 9,000 $/MWh until 2022-05-31, 5,000 from 2022-06-01; floor -251.
ENERGY_BOUNDS = (
    PriceBound(start=MARKET_START, floor=-251.0, cap=9000.0),
    PriceBound(start=date(2022, 6, 1), floor=-251.0, cap=5000.0),
)
# AS clearing prices are not negative; the same caps bound them.
AS_BOUNDS = (
    PriceBound(start=MARKET_START, floor=0.0, cap=9000.0),
    PriceBound(start=date(2022, 6, 1), floor=0.0, cap=5000.0),
)

# How a listed document maps to its operating day (see sources/ercot.py). Forecasts and
# renewables are partitioned by their publication day ("publish_date"); the daily actual load
# is published the morning after its operating day ("publish_date_minus_one").
ListingDayRule = Literal[
    "publish_date_plus_one",
    "name_interval_end",
    "name_sced_timestamp",
    "publish_date",
    "publish_date_minus_one",
    "workbook_days",  # the Fuel Mix Report: not on the MIS; a workbook's own dates
]


@dataclass(frozen=True)
class ErcotSource:
    """How ERCOT serves one report: the MIS and the public API name it differently."""

    report_type_id: int  # MIS report type id (RTID), e.g. 12331; listing URLs and cdr.<RTID> names
    friendly_name_stem: str  # file-name stem of the report's documents, e.g. DAMSPNP4190
    api_path: str  # public API query path, e.g. np4-190-cd/dam_stlmnt_pnt_prices
    listing_day_rule: ListingDayRule  # how a listed document's name or date gives its day


# Fields every spec of this ISO shares (one time zone, one partitions start).
_spec = partial(DatasetSpec, iso=ISO, timezone=TIMEZONE, partitions_start=MARKET_START)

DA_PRICES = _spec(
    dataset="da_prices",
    title="DAM Settlement Point Prices",
    table_kind=PRICE,
    market="DAM",
    interval_minutes=60,
    first_available=date(2014, 5, 1),
    report_code="NP4-190-CD",
    file_layout="dam_spp",
    source=ErcotSource(
        report_type_id=12331,
        friendly_name_stem="DAMSPNP4190",
        api_path="np4-190-cd/dam_stlmnt_pnt_prices",
        listing_day_rule="publish_date_plus_one",
    ),
    publish_hour_local=13.5,
    default_locations=HUBS + LOAD_ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly day-ahead settlement point prices for every resource node, hub and "
    "load zone (NP4-190-CD), published around 13:30 Central the day before delivery.",
)

RT_PRICES = _spec(
    dataset="rt_prices",
    title="Settlement Point Prices at Resource Nodes, Hubs and Load Zones",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=15,
    first_available=date(2017, 6, 30),
    report_code="NP6-905-CD",
    file_layout="rtm_spp",
    source=ErcotSource(
        report_type_id=12301,
        friendly_name_stem="SPPHLZNP6905",
        api_path="np6-905-cd/spp_node_zone_hub",
        listing_day_rule="name_interval_end",
    ),
    publish_hour_local=0.25,
    default_locations=HUBS + LOAD_ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="15-minute real-time settlement point prices (NP6-905-CD), one file per "
    "interval, published about two minutes after the interval ends.",
)

AS_PRICES = _spec(
    dataset="as_prices",
    title="DAM Clearing Prices for Capacity",
    table_kind=ANCILLARY,
    market="DAM",
    interval_minutes=60,
    first_available=date(2017, 7, 2),
    report_code="NP4-188-CD",
    file_layout="dam_mcpc",
    source=ErcotSource(
        report_type_id=12329,
        friendly_name_stem="DAMCPCNP4188",
        api_path="np4-188-cd/dam_clear_price_for_cap",
        listing_day_rule="publish_date_plus_one",
    ),
    publish_hour_local=13.5,
    default_locations=AS_PRODUCTS,
    price_bounds=AS_BOUNDS,
    description="Hourly day-ahead ancillary-service market clearing prices for capacity "
    "(REGUP, REGDN, RRS, NSPIN, ECRS) (NP4-188-CD).",
)

# One file per SCED run (about every 5 minutes, at irregular timestamps such as 01:05:13). The
# SCED timestamp is kept as interval_start_utc (no grid is invented); 5 minutes is the nominal
# interval used for interval_end_utc and for the gap buckets of the checks. On the fall-back day
# the repeated (CST) 01:xx hour carries RepeatedHourFlag=Y. The friendly name carries the SCED
# timestamp (local), which gives the operating day ("name_sced_timestamp").
RT_LMP = _spec(
    dataset="rt_lmp",
    title="LMPs by Resource Nodes, Load Zones and Trading Hubs",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=5,
    # Earliest document in the public API archive (3P); the MIS keeps about 5 days.
    first_available=date(2024, 2, 21),
    report_code="NP6-788-CD",
    file_layout="sced_lmp",
    source=ErcotSource(
        report_type_id=12300,
        friendly_name_stem="LMPSROSNODENP6788",
        api_path="np6-788-cd/lmp_node_zone_hub",
        listing_day_rule="name_sced_timestamp",
    ),
    publish_hour_local=5 / 60,
    irregular_intervals=True,
    default_locations=HUBS + LOAD_ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Locational marginal prices of every SCED run (NP6-788-CD) at resource nodes, "
    "hubs and load zones: one file per run, about every 5 minutes at irregular timestamps, "
    "published about two seconds after the run.",
)

# ---------------------------------------------------------------------------------------------
# Fundamentals: load, load forecast, wind, solar, fuel mix (docs/reference/fundamentals/ercot.md)

# The eight weather zones and the system total, named as NP6-345-CD names them; the forecast
# (NP3-565-CD, CamelCase names) is mapped to these names so forecast and actual join on area.
WEATHER_ZONES = ("COAST", "EAST", "FAR_WEST", "NORTH", "NORTH_C", "SOUTHERN", "SOUTH_C", "WEST")
SYSTEM_AREA = "TOTAL"
# Wind and solar regions of NP4-732-CD / NP4-737-CD ("SYSTEM_WIDE" is the whole system).
RENEWABLE_SYSTEM_AREA = "SYSTEM_WIDE"
# ERCOT's record peak is about 85.5 GW (August 2023); 120 GW leaves room for growth.
LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=120_000.0),)
# Installed wind is about 40 GW, solar about 30 GW (2025); forecasts and HSLs stay below these.
WIND_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=60_000.0),)
SOLAR_BOUNDS = (PriceBound(start=MARKET_START, floor=-50.0, cap=60_000.0),)

LOAD = _spec(
    dataset="load",
    title="Actual System Load by Weather Zone",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=60,
    first_available=date(2014, 1, 1),
    report_code="NP6-345-CD",
    file_layout="load_by_weather_zone",
    source=ErcotSource(
        report_type_id=13101,
        friendly_name_stem="ACTUALSYSLOADWZNP6345",
        api_path="np6-345-cd/act_sys_load_by_wzn",
        listing_day_rule="publish_date_minus_one",
    ),
    publish_hour_local=5 + 50 / 60,
    default_locations=(*WEATHER_ZONES, SYSTEM_AREA),
    price_bounds=LOAD_BOUNDS,
    description="Hourly actual load (average MW) of the eight weather zones and the ERCOT "
    "total (area TOTAL) (NP6-345-CD), one file a day published about 05:50 Central the "
    "morning after the operating day.",
)

LOAD_FORECAST = _spec(
    dataset="load_forecast",
    title="Seven-Day Load Forecast by Model and Weather Zone",
    table_kind=FORECAST,
    market="DAM",
    interval_minutes=60,
    first_available=date(2019, 1, 1),
    report_code="NP3-565-CD",
    file_layout="load_forecast_by_model",
    source=ErcotSource(
        report_type_id=14837,
        friendly_name_stem="LFMODWEATHERNP3565",
        api_path="np3-565-cd/lf_by_model_weather_zone",
        listing_day_rule="publish_date",
    ),
    publish_hour_local=0.5,
    default_locations=(SYSTEM_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="Hourly load forecasts for the current day and the next seven, every model "
    "ERCOT runs (model = ERCOT's model name; InUseFlag is not kept), by weather zone and "
    "total (areas named as in the actual load) (NP3-565-CD); published every hour at about "
    "half past, partitioned by publication day, every vintage kept.",
)

WIND = _spec(
    dataset="wind",
    title="Wind Power Production - Hourly Averaged Actual and Forecasted Values",
    table_kind=RENEWABLE,
    market="RTM",
    interval_minutes=60,
    first_available=date(2014, 1, 1),
    report_code="NP4-732-CD",
    file_layout="wind_hourly",
    source=ErcotSource(
        report_type_id=13028,
        friendly_name_stem="WPPHRLYAVGACTNP4732",
        api_path="np4-732-cd/wpp_hrly_avrg_actl_fcast",
        listing_day_rule="publish_date",
    ),
    publish_hour_local=55 / 60,
    default_locations=(RENEWABLE_SYSTEM_AREA,),
    price_bounds=WIND_BOUNDS,
    description="Hourly wind generation, system-wide and by load-zone region: actuals (model "
    "ACTUAL, and the actual HSL as model HSL) for the past 48 hours and the STWPF, WGRPP and "
    "COP HSL forecasts for the next 168 (NP4-732-CD); published every hour, partitioned by "
    "publication day, every vintage kept.",
)

SOLAR = _spec(
    dataset="solar",
    title="Solar Power Production - Hourly Averaged Actual and Forecasted Values",
    table_kind=RENEWABLE,
    market="RTM",
    interval_minutes=60,
    first_available=date(2019, 1, 1),
    report_code="NP4-737-CD",
    file_layout="solar_hourly",
    source=ErcotSource(
        report_type_id=13483,
        friendly_name_stem="PVGRHRLYAVGACTNP4737",
        api_path="np4-737-cd/spp_hrly_avrg_actl_fcast",
        listing_day_rule="publish_date",
    ),
    publish_hour_local=55 / 60,
    default_locations=(RENEWABLE_SYSTEM_AREA,),
    price_bounds=SOLAR_BOUNDS,
    description="Hourly solar generation, system-wide: actuals (model ACTUAL, and the actual "
    "HSL as model HSL) for the past 48 hours and the STPPF, PVGRPP and COP HSL forecasts for "
    "the next 168 (NP4-737-CD); published every hour, partitioned by publication day, every "
    "vintage kept.",
)

# The Fuel Mix Report's fuel names (workbook since 2017; the dashboard's in the second group)
# -> standard categories. WSL (wholesale storage load) is storage charging, published
# negative; ERCOT folds storage discharge into "Other" in this report [3P, UNCONFIRMED].
FUEL_CATEGORIES = (
    ("Biomass", "biomass"),
    ("Coal", "coal"),
    ("Gas", "gas"),
    ("Gas-CC", "gas"),
    ("Hydro", "hydro"),
    ("Nuclear", "nuclear"),
    ("Other", "other"),
    ("Solar", "solar"),
    ("Wind", "wind"),
    ("WSL", "storage"),
    ("Coal and Lignite", "coal"),
    ("Natural Gas", "gas"),
    ("Power Storage", "storage"),
)
FUEL_CATEGORY_BOUNDS = (
    ("coal", 0.0, 20_000.0),
    ("gas", 0.0, 75_000.0),
    ("nuclear", 0.0, 5_500.0),
    ("hydro", 0.0, 1_000.0),
    ("wind", 0.0, 45_000.0),
    ("solar", -200.0, 40_000.0),
    ("biomass", 0.0, 500.0),
    ("storage", -15_000.0, 15_000.0),
    ("other", -2_000.0, 15_000.0),
)

FUEL_MIX = _spec(
    dataset="fuel_mix",
    title="Fuel Mix Report (generation by fuel, 15-minute settlement intervals)",
    table_kind=QUANTITY_BY_FUEL,
    market="RTM",
    interval_minutes=15,
    first_available=date(2017, 1, 1),
    report_code="IntGenbyFuel",
    file_layout="fuel_mix_workbook",
    source=ErcotSource(
        report_type_id=0,  # not a MIS report: ERCOT's generation page links the workbooks
        friendly_name_stem="IntGenbyFuel",
        api_path="",
        listing_day_rule="workbook_days",
    ),
    # Posted in arrears (the current year's workbook is refreshed every week or few).
    publish_hour_local=12.0,
    default_locations=tuple(dict.fromkeys(name for name, _ in FUEL_CATEGORIES[:10])),
    fuel_categories=FUEL_CATEGORIES,
    category_bounds=FUEL_CATEGORY_BOUNDS,
    description="Generation by fuel in 15-minute settlement intervals (average MW: the "
    "workbook's quarter-hour MWh x 4) from ERCOT's yearly Fuel Mix Report workbooks "
    "(IntGenbyFuel<YYYY>.xlsx, a sheet per month, posted in arrears on the generation "
    "page); WSL (storage charging) is negative.",
)

ERCOT_DATASETS = (
    DA_PRICES,
    RT_PRICES,
    AS_PRICES,
    RT_LMP,
    LOAD,
    LOAD_FORECAST,
    WIND,
    SOLAR,
    FUEL_MIX,
)

# The per-ISO combined asset joins hourly DA prices, hourly DA AS prices and the finest regular
# RT interval (15-minute SPPs; the irregular SCED LMPs are not a combined input).
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)

# What ERCOT's `fundamentals_hourly` joins (registry/spec.py FundamentalsInputs).
FUNDAMENTALS_INPUTS = FundamentalsInputs(
    da_prices=DA_PRICES,
    rt_prices=RT_PRICES,
    hub="HB_NORTH",
    load=LOAD,
    load_forecast=LOAD_FORECAST,
    fuel_mix=FUEL_MIX,
    renewables=(WIND, SOLAR),
    load_area=SYSTEM_AREA,
    forecast_area=SYSTEM_AREA,
)
