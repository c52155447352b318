"""Emission factors per standard fuel category: a versioned reference table, kept as data.

Every number carries its source; docs/CARBON.md explains the choices. Two bases:

- **direct**: CO2 from combustion at the plant, gCO2/kWh of net generation (EIA's US averages
  for the fossil fuels; EIA counts biomass, hydro, solar and wind as carbon neutral, and
  nuclear burns nothing). The basis of location-based Scope 2 reporting.
- **lifecycle**: gCO2-equivalent/kWh over the plant's whole life (fuel chain, construction,
  decommissioning): the IPCC AR5 (2014) medians, oil from IPCC SRREN (2011), which AR5 lacks.

`storage`, `imports` and `other` have no factor of their own: what they count as is a treatment
chosen when intensity is computed (transforms/carbon.py `Treatment`). An ISO may override a
category where a better regional figure exists (`ISO_OVERRIDES`); none is filled yet.
Changing any number means a new `FACTORS_VERSION`: every intensity and export carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from power_market_assets.registry.kinds import STANDARD_FUELS

FACTORS_VERSION = "2026-11.1"
LB_PER_KWH_TO_G = 453.59237  # grams in a pound (exact)

EIA_FAQ_74 = (
    "EIA, 'How much carbon dioxide is produced per kilowatthour of U.S. electricity "
    "generation?' (FAQ 74), 2022 utility-scale US data (State Electricity Profiles, Tables 5 "
    "and 7): coal 2.30, natural gas 0.97, petroleum 2.38 lb CO2/kWh"
)
EIA_CARBON_NEUTRAL = (
    "EIA FAQ 74: 'EIA considers electricity generation from biomass, hydro, solar, and wind to "
    "be carbon neutral' (biogenic CO2 is reported outside the scopes)"
)
NO_COMBUSTION = "no combustion at the plant (direct CO2 is zero by definition)"
GEOTHERMAL_DIRECT = (
    "taken as zero; EIA FAQ 74 notes some geothermal plants emit CO2 (together with other "
    "fuels, 1% of US power-sector CO2): an understatement for flash plants (CAISO)"
)
AR5 = "IPCC AR5 WG3 (2014) Annex III, Table A.III.2, lifecycle median"
SRREN = "IPCC SRREN (2011) Annex II, Table A.II.4, lifecycle median (AR5 gives no oil figure)"
BY_TREATMENT = "none: counted as chosen by the treatment (transforms/carbon.py Treatment)"


@dataclass(frozen=True)
class EmissionFactor:
    """gCO2/kWh of one standard category on both bases (None: decided by a treatment)."""

    category: str
    direct: float | None
    lifecycle: float | None
    direct_source: str
    lifecycle_source: str


def _lb(lb_per_kwh: float) -> float:
    return round(lb_per_kwh * LB_PER_KWH_TO_G, 1)


DEFAULT_FACTORS: tuple[EmissionFactor, ...] = (
    EmissionFactor("coal", _lb(2.30), 820.0, EIA_FAQ_74, f"{AR5} (coal, pulverized)"),
    EmissionFactor("gas", _lb(0.97), 490.0, EIA_FAQ_74, f"{AR5} (gas, combined cycle)"),
    EmissionFactor("oil", _lb(2.38), 840.0, f"{EIA_FAQ_74} (petroleum)", SRREN),
    EmissionFactor("nuclear", 0.0, 12.0, NO_COMBUSTION, AR5),
    EmissionFactor("hydro", 0.0, 24.0, EIA_CARBON_NEUTRAL, AR5),
    EmissionFactor("wind", 0.0, 11.0, EIA_CARBON_NEUTRAL, f"{AR5} (onshore; offshore 12)"),
    EmissionFactor("solar", 0.0, 48.0, EIA_CARBON_NEUTRAL, f"{AR5} (utility PV; rooftop 41)"),
    EmissionFactor("biomass", 0.0, 230.0, EIA_CARBON_NEUTRAL, f"{AR5} (biomass, dedicated)"),
    EmissionFactor("geothermal", 0.0, 38.0, GEOTHERMAL_DIRECT, AR5),
    EmissionFactor("storage", None, None, BY_TREATMENT, BY_TREATMENT),
    EmissionFactor("imports", None, None, BY_TREATMENT, BY_TREATMENT),
    EmissionFactor("other", None, None, BY_TREATMENT, BY_TREATMENT),
)
# Per ISO: categories whose regional figure is better than the US default (same shape).
ISO_OVERRIDES: dict[str, tuple[EmissionFactor, ...]] = {}


def factors_for(iso: str) -> dict[str, EmissionFactor]:
    """Category -> factor for one ISO: the defaults with the ISO's overrides applied."""
    table = {f.category: f for f in DEFAULT_FACTORS}
    for override in ISO_OVERRIDES.get(iso.upper(), ()):
        table[override.category] = replace(override)
    return table


def highest_factor(iso: str, basis: str) -> float:
    """The largest factor of a basis ("direct" or "lifecycle"): the physical upper bound of
    an average intensity built from these factors."""
    values = [getattr(f, basis) for f in factors_for(iso).values()]
    return max(v for v in values if v is not None)


def _check_table() -> None:
    categories = [f.category for f in DEFAULT_FACTORS]
    if sorted(categories) != sorted(STANDARD_FUELS):
        raise ValueError(f"emission factors must cover STANDARD_FUELS exactly: {categories}")
    for iso, overrides in ISO_OVERRIDES.items():
        unknown = {f.category for f in overrides} - set(STANDARD_FUELS)
        if unknown:
            raise ValueError(f"{iso} overrides unknown categories {sorted(unknown)}")


_check_table()
