"""PJM dataset specs (Data Miner 2 feeds: docs/reference/ISO_FORMATS.md section 5).

Every feed is read through `https://api.pjm.com/api/v1/<feed>`; the feed name and its field
names live in its `PjmSource` so the source, the reader, the sample generator and the stand-in
server all agree on them. Facts marked UNCONFIRMED in ISO_FORMATS are parameters here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec, PriceBound

ISO = "PJM"
TIMEZONE = "America/New_York"
# PJM's LMP market opened 1998-04-01; partitions start there for every PJM dataset.
MARKET_START = date(1998, 4, 1)

# Trading hubs (pnode_name, type HUB) and transmission zones (type ZONE) kept in the combined
# outputs. Hub names from PJM's hub list; zone pnode names follow the `zone` codes of
# ISO_FORMATS 5.3 (whether every zone pnode is named exactly as its code: UNCONFIRMED).
HUBS = (
    "AEP GEN HUB",
    "AEP-DAYTON HUB",
    "ATSI GEN HUB",
    "CHICAGO GEN HUB",
    "CHICAGO HUB",
    "DOMINION HUB",
    "EASTERN HUB",
    "N ILLINOIS HUB",
    "NEW JERSEY HUB",
    "OHIO HUB",
    "WEST INT HUB",
    "WESTERN HUB",
)
ZONES = (
    "AECO",
    "AEP",
    "APS",
    "ATSI",
    "BGE",
    "COMED",
    "DAY",
    "DEOK",
    "DOM",
    "DPL",
    "DUQ",
    "EKPC",
    "JCPL",
    "METED",
    "OVEC",
    "PECO",
    "PENELEC",
    "PEPCO",
    "PPL",
    "PSEG",
    "RECO",
)
# Day-ahead AS products as named by `ancillary_service` (region carried in the name) [3P].
AS_PRODUCTS = (
    "PJM RTO Synchronized Reserve",
    "PJM RTO Primary Reserve",
    "PJM RTO Thirty Minutes Reserve",
    "Mid-Atlantic/Dominion Synchronized Reserve",
    "Mid-Atlantic/Dominion Primary Reserve",
)

# Field lists in PJM's allowed `fields` order (ISO_FORMATS 5.3). `{s}` is da or rt.
LMP_FIELDS = (
    "datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,voltage,equipment,type,"
    "zone,system_energy_price_{s},total_lmp_{s},congestion_price_{s},marginal_loss_price_{s},"
    "row_is_current,version_nbr"
)
# UNCONFIRMED ([3P] test mocks only): the DA ancillary feed's fields. HDR notes that one AS
# feed writes version_nbr before row_is_current, so that order is used here.
AS_FIELDS = (
    "datetime_beginning_utc,datetime_beginning_ept,ancillary_service,unit,value,"
    "version_nbr,row_is_current"
)

# Energy: offer cap 1,000 $/MWh (2,000 for verified cost-based offers) plus shortage penalty
# factors; nodal congestion can drive prices well below zero. Bounds are generous sanity
# limits (UNCONFIRMED as exact market rules); the Reserve Price Formation reform (2022-10-01)
# raised the reserve penalty factors.
ENERGY_BOUNDS = (
    PriceBound(start=MARKET_START, floor=-2500.0, cap=3700.0),
    PriceBound(start=date(2022, 10, 1), floor=-2500.0, cap=5000.0),
)
AS_BOUNDS = (
    PriceBound(start=MARKET_START, floor=0.0, cap=3700.0),
    PriceBound(start=date(2022, 10, 1), floor=0.0, cap=5000.0),
)

PAGE_ROWS = 50000  # rowCount maximum per request (ISO_FORMATS 5.1)


@dataclass(frozen=True)
class PjmSource:
    """One Data Miner 2 feed: what the source asks for and what the reader expects back."""

    feed: str  # feed name under /api/v1/, e.g. da_hrl_lmps; also the landed file names
    fields: str  # the `fields` request parameter: comma separated, in PJM's allowed order
    date_field: str = "datetime_beginning_ept"  # the field a day's range filter applies to
    row_count: int = PAGE_ROWS  # rows asked per page (the client may ask for fewer)
    suffix: str = ""  # LMP feeds: da or rt, the suffix of the price fields (total_lmp_da)
    # AS feeds (UNCONFIRMED field names and unit labels, [3P] mocks): where the product, the
    # value and the unit are; rows whose unit is not one of `price_units` (e.g. a Ratio row)
    # are not prices and are left out.
    product_field: str = "ancillary_service"
    value_field: str = "value"
    unit_field: str = "unit"
    price_units: tuple[str, ...] = ()  # lower case


def _lmp_source(feed: str, suffix: str) -> PjmSource:
    return PjmSource(feed=feed, fields=LMP_FIELDS.format(s=suffix), suffix=suffix)


# Fields every spec of this ISO shares (one time zone, one partitions start).
_spec = partial(DatasetSpec, iso=ISO, timezone=TIMEZONE, partitions_start=MARKET_START)

DA_PRICES = _spec(
    dataset="da_prices",
    title="Day-Ahead Hourly LMPs",
    table_kind=PRICE,
    market="DAM",
    interval_minutes=60,
    first_available=date(2000, 6, 1),  # UNCONFIRMED: start of da_hrl_lmps history
    report_code="da_hrl_lmps",
    file_layout="lmp",
    publish_hour_local=13.5,
    source=_lmp_source("da_hrl_lmps", "da"),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly day-ahead LMPs with energy, congestion and loss components for every "
    "pnode (Data Miner 2 feed da_hrl_lmps), posted around 13:30 EPT the day before delivery.",
)

RT_PRICES = _spec(
    dataset="rt_prices",
    title="Real-Time Five Minute LMPs",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=5,
    # UNCONFIRMED: 5-minute history older than ~186 days is archived (still served).
    first_available=date(2018, 1, 1),
    report_code="rt_fivemin_hrl_lmps",
    file_layout="lmp",
    publish_hour_local=1.0,
    source=_lmp_source("rt_fivemin_hrl_lmps", "rt"),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Five-minute real-time LMPs with components (rt_fivemin_hrl_lmps). A day is "
    "fetched once it is over in Eastern time.",
)

RT_PRICES_HOURLY = _spec(
    dataset="rt_prices_hourly",
    title="Real-Time Hourly LMPs",
    table_kind=PRICE,
    market="RTM",
    interval_minutes=60,
    first_available=date(1998, 4, 1),
    report_code="rt_hrl_lmps",
    file_layout="lmp",
    publish_hour_local=12.0,
    source=_lmp_source("rt_hrl_lmps", "rt"),
    default_locations=HUBS + ZONES,
    price_bounds=ENERGY_BOUNDS,
    description="Hourly real-time (settlement) LMPs with components (rt_hrl_lmps), the "
    "integrated hourly roll-up of the five-minute prices.",
)

AS_PRICES = _spec(
    dataset="as_prices",
    title="Day-Ahead Ancillary Service Prices",
    table_kind=ANCILLARY,
    market="DAM",
    interval_minutes=60,
    first_available=date(2022, 10, 1),  # [3P]: the DA reserve market began with RPF
    report_code="da_ancillary_services",
    file_layout="ancillary",
    publish_hour_local=13.5,
    source=PjmSource(
        feed="da_ancillary_services",
        fields=AS_FIELDS,
        product_field="ancillary_service",
        value_field="value",
        unit_field="unit",
        price_units=("price", "$/mwh"),
    ),
    default_locations=AS_PRODUCTS,
    price_bounds=AS_BOUNDS,
    description="Hourly day-ahead ancillary-service clearing prices (da_ancillary_services); "
    "the product name carries the reserve zone (e.g. 'PJM RTO Synchronized Reserve'). "
    "Field names UNCONFIRMED (third-party evidence only).",
)

PJM_DATASETS = (DA_PRICES, RT_PRICES, RT_PRICES_HOURLY, AS_PRICES)
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
