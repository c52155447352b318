"""PJM dataset specs (Data Miner 2 feeds: docs/reference/ISO_FORMATS.md section 5).

Every feed is read through `https://api.pjm.com/api/v1/<feed>`; the feed name and its field
names live in its `PjmSource` so the source, the reader, the sample generator and the stand-in
server all agree on them. Facts marked UNCONFIRMED in ISO_FORMATS are parameters here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from power_market_assets.registry.kinds import (
    ACTUAL_MODEL,
    ANCILLARY,
    EMISSION_RATE,
    FORECAST,
    PRICE,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    RENEWABLE,
)
from power_market_assets.registry.spec import DatasetSpec, FundamentalsInputs, PriceBound

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
class PjmFeed:
    """One Data Miner feed of a fundamentals dataset (load, fuel mix, wind, solar): what the
    source asks for and where the reader finds a row (docs/reference/fundamentals/pjm.md).

    Each item gives one row per entry of `values` (value field, model): a feed with a
    behind-the-meter column gives two. `name_field` holds the area or fuel type; a feed
    without one (the RTO-wide renewable forecasts) uses `fixed_name`. `vintage_field` is the
    UTC publication time of a forecast (its EPT twin is checked against it); None: an actual.
    """

    feed: str
    fields: str  # the `fields` request parameter, PJM's order
    date_field: str  # the field a day's range filter applies to (the day's EPT labels)
    values: tuple[tuple[str, str], ...]  # (value field, model)
    name_field: str | None = None
    fixed_name: str = ""
    start_field: str = "datetime_beginning_utc"  # the interval start, UTC
    vintage_field: str | None = None
    technology: str | None = None  # renewable feeds: wind or solar
    # Fields read when a file carries them, else null (the emission rates' pnode_id).
    optional_fields: tuple[str, ...] = ()

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields.split(","))

    @property
    def required_fields(self) -> tuple[str, ...]:
        """What a file must carry to be this feed: times (UTC and EPT), name, values."""
        times = [self.start_field, ept_field(self.start_field)]
        if self.vintage_field:
            times += [self.vintage_field, ept_field(self.vintage_field)]
        name = [self.name_field] if self.name_field else []
        return (*times, *name, *(field for field, _ in self.values))


def ept_field(utc_field: str) -> str:
    """The EPT twin of a Data Miner UTC field (`..._utc` -> `..._ept`)."""
    return utc_field.removesuffix("_utc") + "_ept"


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
    # Fundamentals datasets: every feed read for a day, the first being `feed` (a wind or
    # solar dataset reads its actuals and its forecast feed). Empty for price datasets.
    feeds: tuple[PjmFeed, ...] = ()


def _feeds_source(*feeds: PjmFeed) -> PjmSource:
    """A fundamentals dataset's source: its first feed is the one the day's range and the
    publication check apply to."""
    first = feeds[0]
    return PjmSource(feed=first.feed, fields=first.fields, date_field=first.date_field,
                     feeds=feeds)  # fmt: skip


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


# --------------------------------------------------------------------------- fundamentals
# Issue 13: load, load forecast, generation by fuel, wind and solar. Every fact below has its
# source and certainty in docs/reference/fundamentals/pjm.md.

# hrl_load_metered load areas (field `load_area`) with their transmission zone, market region
# and NERC region [3P: load-area lists of several public projects; the zone, mkt_region and
# nerc_region spellings UNCONFIRMED]. `RTO` is PJM's own total row (zone, load_area,
# mkt_region and nerc_region all RTO [CLIENT: gridstatus tests]).
LOAD_AREAS: tuple[tuple[str, str, str, str], ...] = (
    ("AECO", "AE", "MIDATL", "RFC"),
    ("AEPAPT", "AEP", "WEST", "RFC"),
    ("AEPIMP", "AEP", "WEST", "RFC"),
    ("AEPKPT", "AEP", "WEST", "RFC"),
    ("AEPOPT", "AEP", "WEST", "RFC"),
    ("AP", "AP", "WEST", "RFC"),
    ("BC", "BC", "MIDATL", "RFC"),
    ("CE", "CE", "WEST", "RFC"),
    ("DAY", "DAY", "WEST", "RFC"),
    ("DEOK", "DEOK", "WEST", "RFC"),
    ("DOM", "DOM", "SOUTH", "SERC"),
    ("DPLCO", "DPL", "MIDATL", "RFC"),
    ("DUQ", "DUQ", "WEST", "RFC"),
    ("EASTON", "DPL", "MIDATL", "RFC"),
    ("EKPC", "EKPC", "WEST", "SERC"),
    ("JC", "JC", "MIDATL", "RFC"),
    ("ME", "ME", "MIDATL", "RFC"),
    ("OE", "ATSI", "WEST", "RFC"),
    ("OVEC", "OVEC", "WEST", "RFC"),
    ("PAPWR", "ATSI", "WEST", "RFC"),
    ("PE", "PE", "MIDATL", "RFC"),
    ("PEPCO", "PEP", "MIDATL", "RFC"),
    ("PLCO", "PL", "MIDATL", "RFC"),
    ("PN", "PN", "MIDATL", "RFC"),
    ("PS", "PS", "MIDATL", "RFC"),
    ("RECO", "RECO", "MIDATL", "RFC"),
    ("SMECO", "PEP", "MIDATL", "RFC"),
    ("UGI", "PL", "MIDATL", "RFC"),
    ("VMEU", "DOM", "SOUTH", "SERC"),
)
LOAD_TOTAL_AREA = "RTO"
# inst_load areas (field `area`) [CLIENT: gridstatus get_load docstring and tests].
INST_LOAD_AREAS = (
    "AE", "AEP", "APS", "ATSI", "BC", "COMED", "DAYTON", "DEOK", "DOM", "DPL", "DUQ", "EKPC",
    "JC", "ME", "PE", "PEP", "PL", "PN", "PS", "RECO", "UG",
    "PJM MID ATLANTIC REGION", "PJM SOUTHERN REGION", "PJM WESTERN REGION", "PJM RTO",
)  # fmt: skip
INST_LOAD_TOTAL_AREA = "PJM RTO"
# load_frcstd_7_day forecast areas (field `forecast_area`) [CLIENT: gridstatus tests, which
# show them with "&" removed and "/" as "_"; [3P] shows the raw "AE/MIDATL", "BG&E/MIDATL"].
FORECAST_AREAS = (
    "AE/MIDATL", "AEP", "AP", "ATSI", "BG&E/MIDATL", "COMED", "DAYTON", "DEOK", "DOMINION",
    "DPL/MIDATL", "DUQUESNE", "EKPC", "JCP&L/MIDATL", "METED/MIDATL", "PECO/MIDATL",
    "PENELEC/MIDATL", "PEPCO/MIDATL", "PPL/MIDATL", "PSE&G/MIDATL", "RECO/MIDATL",
    "UGI/MIDATL", "MID_ATLANTIC_REGION", "SOUTHERN_REGION", "WESTERN_REGION", "RTO_COMBINED",
)  # fmt: skip
FORECAST_TOTAL_AREA = "RTO_COMBINED"
LOAD_FORECAST_MODEL = "SEVEN_DAY"  # the feed has one forecast; named after it
# wind_gen / solar_gen areas (field `area`) [CLIENT: gridstatus by-area parsers; SOUTH and
# OTHER appear later in the wind history]. RFC is MIDATL + WEST; RTO the total.
RENEWABLE_AREAS = ("MIDATL", "WEST", "SOUTH", "OTHER", "RFC", "RTO")
RENEWABLE_FORECAST_AREA = "RTO"  # the hourly wind/solar forecasts carry no area: RTO-wide

# gen_by_fuel `fuel_type` -> standard category (the one mapping; docs table). [3P] lists
# the ten types; "Other" is kept in case PJM publishes it (UNCONFIRMED).
FUEL_CATEGORIES = (
    ("Coal", "coal"),
    ("Gas", "gas"),
    ("Oil", "oil"),
    ("Nuclear", "nuclear"),
    ("Hydro", "hydro"),
    ("Wind", "wind"),
    ("Solar", "solar"),
    ("Storage", "storage"),
    ("Other Renewables", "biomass"),  # wood, landfill gas, waste: PJM's non-wind/solar/hydro
    ("Multiple Fuels", "other"),  # dual-fuel units PJM does not split
    ("Other", "other"),
)
# Plausible hourly MW per category (PJM installed capacity with headroom; generous sanity
# limits, not market rules). Storage discharges or charges (negative).
FUEL_CATEGORY_BOUNDS = (
    ("coal", 0.0, 60000.0),
    ("gas", 0.0, 110000.0),
    ("oil", 0.0, 15000.0),
    ("nuclear", 0.0, 36000.0),
    ("hydro", 0.0, 12000.0),
    ("wind", 0.0, 15000.0),
    ("solar", 0.0, 30000.0),
    ("storage", -8000.0, 8000.0),
    ("biomass", 0.0, 5000.0),
    ("other", 0.0, 15000.0),
)
# PJM's all-time peak is ~165 GW (2006); the RTO row is the largest value of any area.
LOAD_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=200000.0),)
WIND_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=15000.0),)
# Solar actuals are metered output: may dip slightly below zero at night (station load).
SOLAR_BOUNDS = (PriceBound(start=MARKET_START, floor=-200.0, cap=30000.0),)

HRL_LOAD_METERED = PjmFeed(
    feed="hrl_load_metered",
    fields="datetime_beginning_utc,datetime_beginning_ept,nerc_region,mkt_region,zone,"
    "load_area,mw,is_verified",
    date_field="datetime_beginning_ept",
    name_field="load_area",
    values=(("mw", ACTUAL_MODEL),),
)
INST_LOAD = PjmFeed(
    feed="inst_load",
    fields="datetime_beginning_utc,datetime_beginning_ept,area,instantaneous_load",
    date_field="datetime_beginning_ept",
    name_field="area",
    values=(("instantaneous_load", ACTUAL_MODEL),),
)
LOAD_FRCSTD_7_DAY = PjmFeed(
    feed="load_frcstd_7_day",
    fields="evaluated_at_datetime_utc,evaluated_at_datetime_ept,"
    "forecast_datetime_beginning_utc,forecast_datetime_beginning_ept,"
    "forecast_datetime_ending_utc,forecast_datetime_ending_ept,forecast_area,forecast_load_mw",
    # UNCONFIRMED that the live feed filters on its vintage (one [3P] note lists
    # evaluated_at as "returned only"); the renewable forecasts do [BYTES].
    date_field="evaluated_at_datetime_ept",
    name_field="forecast_area",
    values=(("forecast_load_mw", LOAD_FORECAST_MODEL),),
    start_field="forecast_datetime_beginning_utc",
    vintage_field="evaluated_at_datetime_utc",
)
GEN_BY_FUEL = PjmFeed(
    feed="gen_by_fuel",
    fields="datetime_beginning_utc,datetime_beginning_ept,fuel_type,mw,"
    "fuel_percentage_of_total,is_renewable",
    date_field="datetime_beginning_ept",
    name_field="fuel_type",
    values=(("mw", ACTUAL_MODEL),),
)
WIND_GEN = PjmFeed(
    feed="wind_gen",
    technology="wind",
    fields="datetime_beginning_utc,datetime_beginning_ept,area,wind_generation_mw",
    date_field="datetime_beginning_ept",
    name_field="area",
    values=(("wind_generation_mw", ACTUAL_MODEL),),
)
SOLAR_GEN = PjmFeed(
    feed="solar_gen",
    technology="solar",
    fields="datetime_beginning_utc,datetime_beginning_ept,area,solar_generation_mw",
    date_field="datetime_beginning_ept",
    name_field="area",
    values=(("solar_generation_mw", ACTUAL_MODEL),),
)
_FORECAST_TIMES = (
    "datetime_beginning_ept,datetime_beginning_utc,datetime_ending_ept,datetime_ending_utc,"
    "evaluated_at_ept,evaluated_at_utc"
)  # the order gridstatus asks for [BYTES: the replies' self links]


def _renewable_forecast(technology: str, feed: str, model: str) -> PjmFeed:
    """A wind or solar forecast feed: hourly and five-minute ones have the same fields [BYTES];
    solar's behind-the-meter forecast is a series of its own, model `<model>_BTM`."""
    if technology == "wind":
        columns, values = "wind_forecast_mwh", (("wind_forecast_mwh", model),)
    else:
        columns = "solar_forecast_btm_mwh,solar_forecast_mwh"
        values = (("solar_forecast_mwh", model), ("solar_forecast_btm_mwh", f"{model}_BTM"))
    return PjmFeed(
        feed=feed,
        technology=technology,
        fields=f"{_FORECAST_TIMES},{columns}",
        date_field="evaluated_at_ept",
        fixed_name=RENEWABLE_FORECAST_AREA,
        values=values,
        vintage_field="evaluated_at_utc",
    )


HOURLY_WIND_FORECAST = _renewable_forecast("wind", "hourly_wind_power_forecast", "HOURLY")
HOURLY_SOLAR_FORECAST = _renewable_forecast("solar", "hourly_solar_power_forecast", "HOURLY")
# The five-minute forecasts: vintages every ten minutes, each covering the next ~6 hours in
# five-minute intervals [BYTES: 2024-10-01].
FIVE_MIN_WIND_FORECAST = _renewable_forecast("wind", "five_min_wind_power_forecast", "FIVE_MIN")
FIVE_MIN_SOLAR_FORECAST = _renewable_forecast("solar", "five_min_solar_power_forecast", "FIVE_MIN")

LOAD = _spec(
    dataset="load",
    title="Hourly Metered Load",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=60,
    first_available=MARKET_START,  # [3P]: the feed reaches back further (1993)
    report_code="hrl_load_metered",
    file_layout="fundamentals",
    publish_hour_local=12.0,  # UNCONFIRMED: posted the next day (preliminary, then verified)
    source=_feeds_source(HRL_LOAD_METERED),
    default_locations=(LOAD_TOTAL_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="Hourly metered load (MW) per load area with PJM's RTO total "
    "(hrl_load_metered); area = load_area. Rows are revised in place until verified.",
)
LOAD_INSTANTANEOUS = _spec(
    dataset="load_instantaneous",
    title="Instantaneous Load",
    table_kind=QUANTITY_BY_AREA,
    market="RTM",
    interval_minutes=5,  # nominal: stamps may sit off the 5-minute grid (UNCONFIRMED)
    irregular_intervals=True,
    first_available=date(2024, 1, 1),  # [CLIENT]: Data Miner keeps a rolling ~30 days
    report_code="inst_load",
    file_layout="fundamentals",
    publish_hour_local=0.1,  # every five minutes; a day is fetched once it is over
    source=_feeds_source(INST_LOAD),
    default_locations=(INST_LOAD_TOTAL_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="Instantaneous load (MW) about every five minutes per transmission zone, "
    "region and the RTO (inst_load); a rolling window of recent days only.",
)
LOAD_FORECAST = _spec(
    dataset="load_forecast",
    title="Seven-Day Load Forecast",
    table_kind=FORECAST,
    market="DAM",
    interval_minutes=60,
    first_available=date(2024, 1, 1),  # UNCONFIRMED: the feed holds current vintages only
    report_code="load_frcstd_7_day",
    file_layout="fundamentals",
    publish_hour_local=0.25,  # every half hour at :15 and :45 [CLIENT]
    source=_feeds_source(LOAD_FRCSTD_7_DAY),
    default_locations=(FORECAST_TOTAL_AREA,),
    price_bounds=LOAD_BOUNDS,
    description="Hourly load forecast for today and the next six days per forecast area and "
    "region (load_frcstd_7_day); every vintage (evaluated_at) is kept, partitioned by the "
    "EPT day it was published.",
)
FUEL_MIX = _spec(
    dataset="fuel_mix",
    title="Generation by Fuel Type",
    table_kind=QUANTITY_BY_FUEL,
    market="RTM",
    interval_minutes=60,
    first_available=date(2016, 1, 1),  # [CLIENT]: "earliest date available appears 1/1/2016"
    report_code="gen_by_fuel",
    file_layout="fundamentals",
    publish_hour_local=0.1,  # hourly, shortly after the hour (UNCONFIRMED)
    source=_feeds_source(GEN_BY_FUEL),
    default_locations=tuple(fuel for fuel, _ in FUEL_CATEGORIES),
    fuel_categories=FUEL_CATEGORIES,
    category_bounds=FUEL_CATEGORY_BOUNDS,
    description="Hourly generation (MW) by PJM fuel type (gen_by_fuel). PJM's "
    "fuel_percentage_of_total is a share, not a total in MW, so iso_total_mw stays null.",
)
WIND = _spec(
    dataset="wind",
    title="Wind Generation and Hourly Wind Forecast",
    table_kind=RENEWABLE,
    market="RTM",
    interval_minutes=60,
    first_available=date(2024, 1, 1),  # UNCONFIRMED: forecasts kept ~30 days [CLIENT]
    report_code="wind_gen",
    file_layout="fundamentals",
    publish_hour_local=7.0,  # [CLIENT]: wind_gen "published daily around 7am"
    source=_feeds_source(WIND_GEN, HOURLY_WIND_FORECAST),
    default_locations=("wind",),
    price_bounds=WIND_BOUNDS,
    description="Hourly wind generation per region (wind_gen, model ACTUAL, published_at = "
    "interval end) and every vintage of the RTO hourly wind forecast "
    "(hourly_wind_power_forecast, model HOURLY, evaluated every ten minutes).",
)
SOLAR = _spec(
    dataset="solar",
    title="Solar Generation and Hourly Solar Forecast",
    table_kind=RENEWABLE,
    market="RTM",
    interval_minutes=60,
    first_available=date(2024, 1, 1),  # UNCONFIRMED: forecasts kept ~30 days [CLIENT]
    report_code="solar_gen",
    file_layout="fundamentals",
    publish_hour_local=7.0,  # [CLIENT]: solar_gen "published daily around 7am"
    source=_feeds_source(SOLAR_GEN, HOURLY_SOLAR_FORECAST),
    default_locations=("solar",),
    price_bounds=SOLAR_BOUNDS,
    description="Hourly solar generation per region (solar_gen, model ACTUAL, published_at = "
    "interval end) and every hourly vintage of the RTO solar forecast "
    "(hourly_solar_power_forecast: models HOURLY and HOURLY_BTM, behind the meter).",
)

WIND_FORECAST_5MIN = _spec(
    dataset="wind_forecast_5min",
    title="Five-Minute Wind Forecast",
    table_kind=RENEWABLE,
    market="DAM",
    interval_minutes=5,
    first_available=date(2024, 1, 1),  # UNCONFIRMED: kept ~30 days [CLIENT]
    report_code="five_min_wind_power_forecast",
    file_layout="fundamentals",
    publish_hour_local=0.1,  # every ten minutes [BYTES]
    source=_feeds_source(FIVE_MIN_WIND_FORECAST),
    default_locations=("wind",),
    price_bounds=WIND_BOUNDS,
    description="Every vintage of PJM's RTO five-minute wind forecast "
    "(five_min_wind_power_forecast, model FIVE_MIN): evaluated every ten minutes, about six "
    "hours ahead.",
)
SOLAR_FORECAST_5MIN = _spec(
    dataset="solar_forecast_5min",
    title="Five-Minute Solar Forecast",
    table_kind=RENEWABLE,
    market="DAM",
    interval_minutes=5,
    first_available=date(2024, 1, 1),  # UNCONFIRMED: kept ~30 days [CLIENT]
    report_code="five_min_solar_power_forecast",
    file_layout="fundamentals",
    publish_hour_local=0.1,  # every ten minutes [BYTES]
    source=_feeds_source(FIVE_MIN_SOLAR_FORECAST),
    default_locations=("solar",),
    price_bounds=SOLAR_BOUNDS,
    description="Every vintage of PJM's RTO five-minute solar forecast "
    "(five_min_solar_power_forecast: models FIVE_MIN and FIVE_MIN_BTM, behind the meter): "
    "evaluated every ten minutes, six hours ahead.",
)


# --------------------------------------------------------------------------- marginal emissions
# Issue 14: PJM's own five-minute MARGINAL emission rates per pnode, its own dataset beside the
# average carbon intensity (never mixed with it). Facts and certainty:
# docs/reference/fundamentals/pjm.md, "Marginal emission rates".

# Pnodes the stand-in serves and the catalog names by default: the zone pnodes (whether the
# live feed lists zone pnodes, or only load buses: UNCONFIRMED).
EMISSION_LOCATIONS = ZONES
# lb/MWh. The dirtiest marginal units (old oil and waste-coal steam) emit ~2,500-3,000 lb
# CO2/MWh; 4,000 is a generous cap. Floor 0 as briefed: a nodal rate is a sensitivity-weighted
# sum over the marginal units and could in principle go negative (UNCONFIRMED; none seen).
EMISSION_RATE_BOUNDS = (PriceBound(start=MARKET_START, floor=0.0, cap=4000.0),)

FIVEMIN_MARGINAL_EMISSIONS = PjmFeed(
    feed="fivemin_marginal_emissions",
    # [3P] field names (two public clients); the _utc field and this order UNCONFIRMED.
    fields="datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,"
    "marginal_co2_rate,marginal_so2_rate,marginal_nox_rate",
    date_field="datetime_beginning_ept",
    name_field="pnode_name",
    # (value field, column of the emission-rate kind): one row per item, three rates.
    values=(
        ("marginal_co2_rate", "co2"),
        ("marginal_so2_rate", "so2"),
        ("marginal_nox_rate", "nox"),
    ),
    optional_fields=("pnode_id",),
)

MARGINAL_EMISSIONS = _spec(
    dataset="marginal_emissions",
    title="Five-Minute Marginal Emission Rates",
    table_kind=EMISSION_RATE,
    market="RTM",
    interval_minutes=5,
    first_available=date(2021, 9, 9),  # [3P]: PJM Inside Lines, added to Data Miner then
    report_code="fivemin_marginal_emissions",
    file_layout="marginal_emissions",
    publish_hour_local=1.0,  # UNCONFIRMED: posted through the day; fetched once it is over
    source=_feeds_source(FIVEMIN_MARGINAL_EMISSIONS),
    default_locations=EMISSION_LOCATIONS,
    price_bounds=EMISSION_RATE_BOUNDS,
    description="PJM's five-minute MARGINAL CO2, SO2 and NOx emission rates (lb/MWh) per pnode "
    "(fivemin_marginal_emissions): what one more MWh at the node emits, from the marginal "
    "units and their annual emission rates. Not an average intensity: never mix it with "
    "carbon_intensity.",
)

PJM_DATASETS = (
    DA_PRICES,
    RT_PRICES,
    RT_PRICES_HOURLY,
    AS_PRICES,
    LOAD,
    LOAD_INSTANTANEOUS,
    LOAD_FORECAST,
    FUEL_MIX,
    WIND,
    SOLAR,
    WIND_FORECAST_5MIN,
    SOLAR_FORECAST_5MIN,
    MARGINAL_EMISSIONS,
)
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
FUNDAMENTALS_INPUTS = FundamentalsInputs(
    da_prices=DA_PRICES,
    rt_prices=RT_PRICES,
    hub="WESTERN HUB",
    load=LOAD,
    load_forecast=LOAD_FORECAST,
    fuel_mix=FUEL_MIX,
    renewables=(WIND, SOLAR),
    load_area=LOAD_TOTAL_AREA,
    forecast_area=FORECAST_TOTAL_AREA,
)
