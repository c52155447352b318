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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Literal

from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec, PriceBound

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
    tree_page: str  # ISO Express page under TREE_PATH that sets the cookie the reports need
    # Web-service path template under WEBSERVICES_BASE_URL; fields {yyyymmdd}, {version},
    # {hh} (one request per start hour) or {zone_id} (one per reserve zone).
    ws_path: str
    ws_root: str  # dotted key of the JSON reply's record list, e.g. HourlyLmps
    version: Literal["final", "prelim"] = "final"  # report version in paths [CLIENT: GS; HDR]
    smd_prefix: str = ""  # column prefix in the yearly SMD hourly workbooks: DA_ or RT_
    report_name: str = ""  # landed file name template for query URLs; "": the path's last part


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

# The six 4-hour blocks of the five-minute reports (local wall clock).
BLOCKS = ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")


def report_paths(spec: DatasetSpec, day: date) -> list[str]:
    """URL paths (under the reports host) of a dataset's report file(s) for an operating day:
    under histRpts, or from the host root when the template starts with "/"."""
    template = spec.source.report_path
    blocks = BLOCKS if "{block}" in template else ("",)
    version = spec.source.version
    prefix = "" if template.startswith("/") else f"{REPORTS_PATH}/"
    return [
        prefix + template.format(yyyymmdd=f"{day:%Y%m%d}", version=version, block=b) for b in blocks
    ]


def report_name(spec: DatasetSpec, path: str, day: date) -> str:
    """The file name a report lands under: `report_name` (query URLs), else the path's last
    segment."""
    template = spec.source.report_name
    return template.format(yyyymmdd=f"{day:%Y%m%d}") if template else path.rsplit("/", 1)[-1]


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


ISONE_DATASETS = (DA_PRICES, RT_PRICES, RT_PRICES_HOURLY, RT_AS_PRICES, AS_PRICES)
# (DA hourly, DA hourly AS or None, finest RT) for the combined asset.
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
