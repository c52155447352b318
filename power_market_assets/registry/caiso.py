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

from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.registry.spec import DatasetSpec, PriceBound

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

CAISO_DATASETS = (DA_PRICES, RT_PRICES, RT_PRICES_15MIN, AS_PRICES)
COMBINED_INPUTS = (DA_PRICES, AS_PRICES, RT_PRICES)
