"""ERCOT dataset specs (report ids and layouts: docs/reference/ISO_FORMATS.md section 1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Literal

from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec, PriceBound

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

# How a listed document maps to its operating day (see sources/ercot.py).
ListingDayRule = Literal["publish_date_plus_one", "name_interval_end", "name_sced_timestamp"]


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

ERCOT_DATASETS = (DA_PRICES, RT_PRICES, AS_PRICES, RT_LMP)

# The per-ISO combined asset joins hourly DA prices, hourly DA AS prices and the finest regular
# RT interval (15-minute SPPs; the irregular SCED LMPs are not a combined input).
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
