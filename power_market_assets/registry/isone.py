"""ISO New England dataset specs (facts: docs/reference/ISO_FORMATS.md section 4).

Two delivery channels carry the same prices: the public ISO Express CSV reports ("C"/"H"/"D"/"T"
rows, a cookie and a Referer required) and the authenticated web services (JSON). Yearly SMD
hourly workbooks (.xlsx) hold hub and load-zone DA and RT hourly prices too; the DA and RT
hourly readers accept them.

Ancillary services:
- `rt_as_prices`: real-time hourly reserve prices per reserve zone (the "Final Hourly Reserve
  Zone Prices & Designations" report and `/realtimehourlyoperatingreserve`); the product
  carries the zone: "ROS_TMSR", "CT_TMOR", ... (zone name, "_", product).
- `as_prices`: day-ahead hourly clearing prices of the Day-Ahead Ancillary Services Initiative
  (DASI, from operating day 2025-03-01), system-wide (reserve location 7000) only, so the
  product is the plain product: TMSR, TMNSR, TMOR and EIR (ISO_FORMATS.md 4.4). It is ISO-NE's
  AS input of the combined asset. Its partitions are the ISO's shared ones (the per-ISO jobs
  need one partitions definition); days before `first_available` are not asked for, and a
  month before it flattens to no rows (all-null as_* columns in the combined outputs).

Load, fuel mix and forecasts (`FUNDAMENTAL_DATASETS`; facts: docs/reference/fundamentals/
isone.md): ISO Express `/transform/csv/<report>` reports with the same cookie and Referer,
`zonal_load` (fiveminuteestimatedzonalload), `load` (fiveminutesystemload), `load_forecast`
(reliabilityregionloadforecast, every vintage of a forecast day), `fuel_mix` (genfuelmix, also
from the web service) and `renewables` (the seven-day wind and solar forecasts wphf / sphf).
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

ISO = "ISONE"
TIMEZONE = "America/New_York"
# Standard Market Design (LMP markets) started 2003-03-01; every ISO-NE dataset's partitions
# start there.
MARKET_START = date(2003, 3, 1)

REPORTS_BASE_URL = "https://www.iso-ne.com"
WEBSERVICES_BASE_URL = "https://webservices.iso-ne.com/api/v1.1"
REPORTS_PATH = "/static-transform/csv/histRpts"
TREE_PATH = "/isoexpress/web/reports/pricing/-/tree"

HUBS = (".H.INTERNAL_HUB",)
ZONES = (
    ".Z.MAINE",
    ".Z.NEWHAMPSHIRE",
    ".Z.VERMONT",
    ".Z.CONNECTICUT",
    ".Z.RHODEISLAND",
    ".Z.SEMASS",
    ".Z.WCMASS",
    ".Z.NEMASSBOST",
)
# Location ids of the hub and load zones [CLIENT: GS; 3P]: the 5-minute report carries only ids.
KNOWN_LOCATION_IDS: dict[str, tuple[str, str]] = {
    "4000": (".H.INTERNAL_HUB", "HUB"),
    **{str(4001 + i): (name, "LOAD ZONE") for i, name in enumerate(ZONES)},
}
# Reserve zones (id, name) and products: ten-minute spinning, ten-minute non-spinning and
# thirty-minute operating reserve. Ids and names UNCONFIRMED (only 7000 is in ISO_FORMATS).
RESERVE_ZONES = (("7000", "ROS"), ("7001", "SWCT"), ("7002", "CT"), ("7003", "NEMABSTN"))
RESERVE_PRODUCTS = ("TMSR", "TMNSR", "TMOR")
AS_PRODUCTS = tuple(
    f"{zone}_{product}" for _, zone in RESERVE_ZONES for product in RESERVE_PRODUCTS
)

# Energy offers are capped at 1,000 $/MWh with a floor of -150 $/MWh, but LMPs add reserve
# constraint penalty factors (raised with Pay-for-Performance on 2018-06-01) and congestion, so
# the bounds are wider than the offer limits. The exact era limits are UNCONFIRMED.
ENERGY_BOUNDS = (
    PriceBound(start=MARKET_START, floor=-1000.0, cap=2500.0),
    PriceBound(start=date(2018, 6, 1), floor=-1000.0, cap=4000.0),
)
# Day-ahead ancillary services (DASI) started with operating day 2025-03-01 [3P ERW; CLIENT: GS].
DASI_START = date(2025, 3, 1)
# DASI products, cleared system-wide (reserve location 7000): ten-minute spinning, ten-minute
# non-spinning, thirty-minute operating reserve and energy imbalance reserve (cleared against the
# forecast energy requirement: its price is the report's "FER Price").
DA_AS_PRODUCTS = ("TMSR", "TMNSR", "TMOR", "EIR")
DA_AS_LOCATION_ID = "7000"
RESERVE_BOUNDS = (
    PriceBound(start=MARKET_START, floor=0.0, cap=2500.0),
    PriceBound(start=date(2018, 6, 1), floor=0.0, cap=4000.0),
)


@dataclass(frozen=True)
class IsoneSource:
    """Where one dataset sits in both channels: the ISO Express report and the web service."""

    # Report path template under histRpts, or from the host root when it starts with "/";
    # fields {yyyymmdd}, {version} and {block} (the 4-hour blocks of the five-minute reports).
    report_path: str
    # ISO Express page under TREE_PATH that sets the cookie the reports need (from the host
    # root when it starts with "/": the load, fuel and forecast pages are not pricing pages).
    tree_page: str
    # Web-service path template under WEBSERVICES_BASE_URL; fields {yyyymmdd}, {version},
    # {hh} (one request per start hour) or {zone_id} (one per reserve zone). "": the dataset
    # is read from the reports only (the web-service channel fetches its reports).
    ws_path: str
    ws_root: str  # dotted key of the JSON reply's record list, e.g. HourlyLmps
    version: Literal["final", "prelim"] = "final"  # report version in paths [CLIENT: GS; HDR]
    smd_prefix: str = ""  # column prefix in the yearly SMD hourly workbooks: DA_ or RT_
    report_name: str = ""  # landed file name template for query URLs; "": the path's last part
    # Reports served as several files a day, one per variant ({variant} in report_path and
    # report_name): the wind and solar forecasts (wphf, sphf).
    variants: tuple[str, ...] = ()


# Fields every spec of this ISO shares (one time zone, one partitions start).
_spec = partial(DatasetSpec, iso=ISO, timezone=TIMEZONE, partitions_start=MARKET_START)

DA_PRICES = _spec(
    dataset="da_prices",
    title="Day-Ahead Energy Market Hourly LMP Report",
    table_kind=PRICE,
    market="DAM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="da-lmp",
    file_layout="hourly_lmp",
    publish_hour_local=13.5,
    source=IsoneSource(
        report_path="da-lmp/WW_DALMP_ISO_{yyyymmdd}.csv",
        tree_page="lmps-da-hourly",
        ws_path="hourlylmp/da/final/day/{yyyymmdd}",
        ws_root="HourlyLmps",
        smd_prefix="DA_",
    ),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly day-ahead LMPs with energy, congestion and loss components for the "
    "hub, the eight load zones and every network and external node; published the afternoon "
    "before the operating day.",
)

RT_PRICES = _spec(
    dataset="rt_prices",
    title="Five-Minute Locational Marginal Prices",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=5,
    first_available=MARKET_START,
    report_code="5min-rt",
    file_layout="five_minute_lmp",
    publish_hour_local=24.0,
    source=IsoneSource(
        # version: "final" (5min-rt-final) or "prelim" (5min-rt-prelim) [CLIENT: GS; HDR].
        version="final",
        report_path="5min-rt-{version}/lmp_5min_{yyyymmdd}_{block}.csv",
        tree_page="lmps-rt-five-min",  # UNCONFIRMED page name
        ws_path="fiveminutelmp/{version}/day/{yyyymmdd}/starthour/{hh}",
        ws_root="FiveMinLmps",
    ),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Real-time five-minute LMPs with components, six 4-hour report files per "
    "day (00-04 ... 20-24); the stamp is the interval start.",
)

RT_PRICES_HOURLY = _spec(
    dataset="rt_prices_hourly",
    title="Real-Time Energy Market Hourly LMP Report",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=60,
    first_available=MARKET_START,
    report_code="rt-lmp",
    file_layout="hourly_lmp",
    publish_hour_local=24.0,
    source=IsoneSource(
        version="final",
        report_path="rt-lmp/lmp_rt_{version}_{yyyymmdd}.csv",
        tree_page="lmps-rt-hourly-final",  # UNCONFIRMED page name
        ws_path="hourlylmp/rt/{version}/day/{yyyymmdd}",
        ws_root="HourlyLmps",
        smd_prefix="RT_",
    ),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Real-time hourly LMPs with components for every pricing location.",
)

RT_AS_PRICES = _spec(
    dataset="rt_as_prices",
    title="Final Hourly Reserve Zone Prices & Designations",
    table_kind=ANCILLARY,
    market="RTM",
    interval_minutes=60,
    first_available=date(2006, 10, 1),  # locational forward reserve / RT reserve pricing
    report_code="hourly-reserve",
    file_layout="hourly_reserve",
    publish_hour_local=24.0,
    source=IsoneSource(
        # Report path and page name UNCONFIRMED (only the title is documented [HDR]).
        report_path="rt-reserve-pricing/hourly_res_prc_final_{yyyymmdd}.csv",
        tree_page="reserve-pricing-hourly",
        ws_path="realtimehourlyoperatingreserve/day/{yyyymmdd}/location/{zone_id}",
        ws_root="RealTimeHourlyOperatingReserves",  # JSON shape UNCONFIRMED
    ),
    default_locations=AS_PRODUCTS,
    price_bounds=RESERVE_BOUNDS,
    description="Real-time hourly reserve clearing prices (TMSR, TMNSR, TMOR) per reserve "
    "zone; products are named <zone>_<product>, e.g. ROS_TMSR.",
)

AS_PRICES = _spec(
    dataset="as_prices",
    title="Day-Ahead Hourly Reserve Requirements Prices Designations and Forecast",
    table_kind=ANCILLARY,
    market="DAM",
    interval_minutes=60,
    first_available=DASI_START,
    report_code="daasreservedata",
    file_layout="daas_reserve",
    publish_hour_local=13.5,  # UNCONFIRMED: with the DA LMPs (BUST fetches after 13:00)
    source=IsoneSource(
        # A dynamic ISO Express CSV (not histRpts): a path from the host root, with the day as
        # the start and end of the range [3P ERW]; the landed file gets `report_name`.
        report_path="/transform/csv/daasreservedata?start={yyyymmdd}&end={yyyymmdd}",
        report_name="daasreservedata_{yyyymmdd}.csv",
        tree_page="ancillary-daas-hourly-rr",
        ws_path="daasreservedata/day/{yyyymmdd}",
        # {"isone_web_services":{"day_ahead_reserves":{"day_ahead_reserve":[...]}}} [CLIENT: GS]
        ws_root="isone_web_services.day_ahead_reserves",
    ),
    default_locations=DA_AS_PRODUCTS,
    price_bounds=RESERVE_BOUNDS,
    description="Day-ahead hourly ancillary service clearing prices of the DASI market "
    "(from 2025-03-01), system-wide: TMSR, TMNSR, TMOR and EIR (the FER price), $/MW-hour.",
)

# ---------------------------------------------------------------------------------------------
# Load, generation by fuel, wind and solar (issue 13; docs/reference/fundamentals/isone.md)

LOAD_TREE = "/isoexpress/web/reports/load-and-demand/-/tree"
OPERATIONS_TREE = "/isoexpress/web/reports/operations/-/tree"
# The ISO Express transform reports need both start and end, else they answer an empty report
# [3P]; one file per operating day.
_TRANSFORM_DAY = "?start={yyyymmdd}&end={yyyymmdd}"
# Load is never negative; the caps are far above New England's records (system peak about
# 28 GW in 2006; the largest zone, Connecticut, under 8 GW).
ZONE_LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=15000.0),)
SYSTEM_LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=40000.0),)
RENEWABLE_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=15000.0),)
# The whole-system measure of the five-minute system load report (its column name).
SYSTEM_LOAD_AREA = "Native Load"
# Behind-the-meter solar of a load zone is kept beside its load as "<zone> BTM PV".
BTM_PV_SUFFIX = " BTM PV"
# The one forecast of the reliability-region report and of the wind and solar reports.
LOAD_FORECAST_MODEL = "RELIABILITY_REGION_3DAY"
RENEWABLE_FORECAST_MODEL = "SEVEN_DAY"
RENEWABLE_AREA = "ISONE"
# genfuelmix "Fuel Category" -> standard category (one documented mapping: the fundamentals
# doc). Names [BYTES: web-service replies]; Coal, "Energy Storage", "Battery Storage"
# UNCONFIRMED.
FUEL_CATEGORIES = (
    ("Coal", "coal"),
    ("Natural Gas", "gas"),
    ("Landfill Gas", "biomass"),
    ("Oil", "oil"),
    ("Nuclear", "nuclear"),
    ("Hydro", "hydro"),
    ("Wind", "wind"),
    ("Solar", "solar"),
    ("Wood", "biomass"),
    ("Refuse", "biomass"),
    ("Energy Storage", "storage"),
    ("Battery Storage", "storage"),
    ("Other", "other"),
)
# Plausible MW per standard category in New England (installed capacity plus headroom);
# storage charges (negative).
FUEL_CATEGORY_BOUNDS = (
    ("coal", 0.0, 2500.0),
    ("gas", 0.0, 20000.0),
    ("oil", 0.0, 8000.0),
    ("nuclear", 0.0, 5000.0),
    ("hydro", -2000.0, 5000.0),
    ("wind", 0.0, 5000.0),
    ("solar", 0.0, 8000.0),
    ("biomass", 0.0, 2500.0),
    ("storage", -3000.0, 3000.0),
    ("other", -500.0, 2000.0),
)

ZONAL_LOAD = _spec(
    dataset="zonal_load",
    title="Five-Minute Estimated Zonal Load",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=5,
    first_available=date(2023, 1, 1),  # UNCONFIRMED: ISO Express keeps a shallow archive [3P]
    report_code="fiveminuteestimatedzonalload",
    file_layout="five_minute_zonal_load",
    publish_hour_local=24.0,
    source=IsoneSource(
        report_path="/transform/csv/fiveminuteestimatedzonalload" + _TRANSFORM_DAY,
        report_name="fiveminuteestimatedzonalload_{yyyymmdd}_{yyyymmdd}.csv",
        tree_page=f"{LOAD_TREE}/estimated-zonal-load",
        ws_path="",
        ws_root="",
    ),
    default_locations=ZONES,
    price_bounds=ZONE_LOAD_BOUNDS,
    description="Estimated load of the eight load zones every five minutes (2,304 rows a day), "
    "with each zone's estimated behind-the-meter solar as area '<zone> BTM PV'. Published "
    "through the day: a file fetched before midnight is an intraday snapshot.",
    intraday_snapshots=True,
)

LOAD = _spec(
    dataset="load",
    title="Five-Minute System Load",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=5,
    first_available=date(2023, 1, 1),  # UNCONFIRMED archive depth
    report_code="fiveminutesystemload",
    file_layout="five_minute_system_load",
    publish_hour_local=24.0,
    source=IsoneSource(
        report_path="/transform/csv/fiveminutesystemload" + _TRANSFORM_DAY,
        report_name="fiveminutesystemload_{yyyymmdd}_{yyyymmdd}.csv",
        tree_page=f"{LOAD_TREE}/dmnd-five-minute-sys",
        ws_path="",
        ws_root="",
    ),
    default_locations=(SYSTEM_LOAD_AREA,),
    price_bounds=SYSTEM_LOAD_BOUNDS,
    description="New England system load every five minutes; each of the report's load "
    "measures is an area named as its column ('Native Load' is the system's load; 'Total "
    "Load', 'Asset Related Load' and the measures with behind-the-meter solar added ride "
    "along). Published through the day.",
    intraday_snapshots=True,
)

LOAD_FORECAST = _spec(
    dataset="load_forecast",
    title="Three-Day Reliability Region Demand Forecast",
    table_kind=FORECAST,
    market="DAM",
    interval_minutes=60,
    first_available=date(2019, 1, 1),  # [3P: dates from 2019-11 fetched]
    report_code="reliabilityregionloadforecast",
    file_layout="reliability_region_forecast",
    publish_hour_local=9.5,  # the morning run [3P]; re-published through the day
    source=IsoneSource(
        report_path="/transform/csv/reliabilityregionloadforecast?start={yyyymmdd}",
        report_name="reliabilityregionloadforecast_{yyyymmdd}.csv",
        tree_page=f"{LOAD_TREE}/three-day-reliability-region-demand-forecast",
        ws_path="",
        ws_root="",
    ),
    default_locations=ZONES,
    price_bounds=ZONE_LOAD_BOUNDS,
    description="Hourly demand forecast of the eight reliability regions (the load zones) "
    "for one day, every publication of the three days before it (its creation time is "
    "published_at_utc). The file is asked for by the day forecast, so a partition is the "
    "forecast day and holds all of its vintages.",
)

FUEL_MIX = _spec(
    dataset="fuel_mix",
    title="Generation Fuel Mix",
    table_kind=QUANTITY_BY_FUEL,
    market="RTM",
    # Stamps are irregular (01:05:30, 01:05:33, 01:06:50, 01:12:29 ... [BYTES]): at least one
    # in every ten-minute bucket in the real day seen, not in every five-minute one.
    interval_minutes=10,
    first_available=date(2018, 1, 1),  # UNCONFIRMED
    report_code="genfuelmix",
    file_layout="genfuelmix",
    publish_hour_local=24.0,
    source=IsoneSource(
        report_path="/transform/csv/genfuelmix" + _TRANSFORM_DAY,
        report_name="genfuelmix_{yyyymmdd}_{yyyymmdd}.csv",
        tree_page=f"{OPERATIONS_TREE}/gen-fuel-mix",  # UNCONFIRMED page name
        # {"GenFuelMixes":{"GenFuelMix":[{"BeginDate":...,"GenMw":...,"FuelCategory":...}]}}
        # [BYTES: fixtures/real/isone/]
        ws_path="genfuelmix/day/{yyyymmdd}",
        ws_root="GenFuelMixes",
    ),
    irregular_intervals=True,
    price_bounds=SYSTEM_LOAD_BOUNDS,
    fuel_categories=FUEL_CATEGORIES,
    category_bounds=FUEL_CATEGORY_BOUNDS,
    description="Generation by fuel category at irregular stamps (seconds kept, one or "
    "more in each ten-minute bucket); storage charging is negative. ISO-NE publishes no "
    "total.",
    intraday_snapshots=True,
)

RENEWABLES = _spec(
    dataset="renewables",
    title="Seven-Day Wind and Solar Power Forecasts",
    table_kind=RENEWABLE,
    market="DAM",
    interval_minutes=60,
    first_available=date(2023, 1, 1),  # UNCONFIRMED
    report_code="wphf/sphf",
    file_layout="seven_day_renewable_forecast",
    publish_hour_local=10.0,  # "generated daily by 10 am" [CLIENT: GS]
    source=IsoneSource(
        report_path="/transform/csv/{variant}?start={yyyymmdd}",
        report_name="{variant}_{yyyymmdd}.csv",
        variants=("wphf", "sphf"),
        tree_page=f"{OPERATIONS_TREE}/seven-day-wind-power-forecast",
        ws_path="",
        ws_root="",
    ),
    price_bounds=RENEWABLE_BOUNDS,
    description="Hourly wind (wphf) and solar (sphf) power forecasts for seven days, one "
    "publication a day (published_at: the day at 10:00, as the ISO says it is generated); "
    "ISO-NE publishes no wind or solar actual here (the fuel mix has them).",
)

FUNDAMENTAL_DATASETS = (ZONAL_LOAD, LOAD, LOAD_FORECAST, FUEL_MIX, RENEWABLES)


# The six 4-hour blocks of the five-minute reports (local wall clock).
BLOCKS = ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")


def report_paths(spec: DatasetSpec, day: date) -> list[str]:
    """URL paths (under the reports host) of a dataset's report file(s) for an operating day:
    under histRpts, or from the host root when the template starts with "/"."""
    template = spec.source.report_path
    blocks = BLOCKS if "{block}" in template else ("",)
    variants = spec.source.variants or ("",)
    version = spec.source.version
    prefix = "" if template.startswith("/") else f"{REPORTS_PATH}/"
    return [
        prefix + template.format(yyyymmdd=f"{day:%Y%m%d}", version=version, block=b, variant=v)
        for v in variants
        for b in blocks
    ]


def report_name(spec: DatasetSpec, path: str, day: date) -> str:
    """The file name a report lands under: `report_name` (query URLs), else the path's last
    segment."""
    template = spec.source.report_name
    if not template:
        return path.rsplit("/", 1)[-1]
    variant = next((v for v in spec.source.variants if f"/{v}?" in path), "")
    return template.format(yyyymmdd=f"{day:%Y%m%d}", variant=variant)


def ws_paths(spec: DatasetSpec, day: date) -> list[tuple[str, str]]:
    """(path under the web-service root, local file name) of each request for a day: one per
    day, per start hour 00..23 (5-minute LMPs) or per reserve zone."""
    template = spec.source.ws_path
    if "{hh}" in template:
        values: list[dict[str, str]] = [{"hh": f"{h:02d}"} for h in range(24)]
    elif "{zone_id}" in template:
        values = [{"zone_id": zone_id} for zone_id, _ in RESERVE_ZONES]
    else:
        values = [{}]
    version = spec.source.version
    out = []
    for extra in values:
        path = template.format(yyyymmdd=f"{day:%Y%m%d}", version=version, **extra)
        out.append((path, path.replace("/day/", "_").replace("/", "_") + ".json"))
    return out


PRICE_DATASETS = (DA_PRICES, RT_PRICES, RT_PRICES_HOURLY, RT_AS_PRICES, AS_PRICES)
ISONE_DATASETS = (*PRICE_DATASETS, *FUNDAMENTAL_DATASETS)
# (DA hourly, DA hourly AS or None, finest RT) for the combined asset.
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
# What ISO-NE's fundamentals_hourly joins; the zones' sum is not the system (BTM PV areas).
FUNDAMENTALS_INPUTS = FundamentalsInputs(
    da_prices=DA_PRICES,
    rt_prices=RT_PRICES,
    hub=HUBS[0],
    load=LOAD,
    load_forecast=LOAD_FORECAST,
    fuel_mix=FUEL_MIX,
    load_area=SYSTEM_LOAD_AREA,
)
