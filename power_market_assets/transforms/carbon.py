"""Grid carbon intensity from a fuel-mix long table (QUANTITY_BY_FUEL), pure Polars.

Per interval: generation by standard fuel category, each category's share of the supply, and
the average intensity in gCO2/kWh on two bases, direct (combustion) and lifecycle, from the
versioned factor table (registry/emission_factors.py). Energy-weighted hourly values follow.

Storage, imports and "other" have no factor of their own; `Treatment` says what each counts as
(docs/CARBON.md):

- `system_average` (default): the energy is supply at the intensity of the interval's
  generation with factors. It takes its share of the mix and leaves the intensity unchanged
  (storage re-delivers energy charged from this grid; imports and "other" are of unknown
  origin, so the ISO's own mix is the least-assumption stand-in).
- `exclude`: left out of the supply (shares renormalize over the rest).
- `factor`: a fixed factor, which must exist in the table (an ISO override).

Negative MW (storage charging, net exports) is never supply. `negative="drop"` (default) drops
each negative fuel row before summing a category (charging is load); `negative="net"` nets it
against the category's positive rows (ERCOT's "Power Storage" discharge minus "WSL" charging)
and floors the category at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from power_market_assets.registry.emission_factors import FACTORS_VERSION, factors_for
from power_market_assets.registry.kinds import STANDARD_FUELS

TREATMENTS = ("system_average", "exclude", "factor")
NEGATIVE_HANDLING = ("drop", "net")
INTERVAL_COLUMNS = (
    "interval_start_utc",
    "interval_end_utc",
    "interval_start_local",
    "operating_day",
    "iso",
    "interval_minutes",
)
BASES = ("direct", "lifecycle")


@dataclass(frozen=True)
class Treatment:
    """How storage discharge, imports and "other" count, and what negative MW does."""

    storage: str = "system_average"
    imports: str = "system_average"
    other: str = "system_average"
    negative: str = "drop"

    def __post_init__(self) -> None:
        for name in ("storage", "imports", "other"):
            if getattr(self, name) not in TREATMENTS:
                raise ValueError(f"{name} treatment must be one of {TREATMENTS}")
        if self.negative not in NEGATIVE_HANDLING:
            raise ValueError(f"negative must be one of {NEGATIVE_HANDLING}")

    def of(self, category: str) -> str:
        """The treatment of a category: fuels with a factor always count at their factor."""
        return getattr(self, category) if category in ("storage", "imports", "other") else "factor"

    @property
    def label(self) -> str:
        return (
            f"storage={self.storage};imports={self.imports};other={self.other};"
            f"negative={self.negative}"
        )


DEFAULT_TREATMENT = Treatment()


def factor_table(iso: str, treatment: Treatment = DEFAULT_TREATMENT) -> pl.DataFrame:
    """fuel_category, treatment, direct, lifecycle (gCO2/kWh; null unless counted by factor)."""
    rows = []
    for category, factor in factors_for(iso).items():
        how = treatment.of(category)
        if how == "factor" and (factor.direct is None or factor.lifecycle is None):
            raise ValueError(f"{iso}: treatment 'factor' for {category} needs a factor")
        keep = how == "factor"
        rows.append(
            {
                "fuel_category": category,
                "treatment": how,
                "factor_direct": factor.direct if keep else None,
                "factor_lifecycle": factor.lifecycle if keep else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "fuel_category": pl.Utf8,
            "treatment": pl.Utf8,
            "factor_direct": pl.Float64,
            "factor_lifecycle": pl.Float64,
        },
    )


def category_generation(fuel_mix: pl.DataFrame, treatment: Treatment) -> pl.DataFrame:
    """Interval x standard category MW (every category of every interval; absent = 0)."""
    mw = pl.col("mw").clip(lower_bound=0.0) if treatment.negative == "drop" else pl.col("mw")
    keys = list(INTERVAL_COLUMNS)
    summed = fuel_mix.group_by([*keys, "fuel_category"]).agg(mw=mw.sum())
    if treatment.negative == "net":
        summed = summed.with_columns(pl.col("mw").clip(lower_bound=0.0))
    intervals = fuel_mix.select(keys).unique()
    categories = pl.DataFrame({"fuel_category": list(STANDARD_FUELS)})
    return (
        intervals.join(categories, how="cross")
        .join(summed, on=[*keys, "fuel_category"], how="left")
        .with_columns(pl.col("mw").fill_null(0.0))
    )


def category_mix(
    fuel_mix: pl.DataFrame, iso: str, treatment: Treatment = DEFAULT_TREATMENT
) -> pl.DataFrame:
    """Long: interval x category with mw, share of supply, and the gCO2/kWh it counts at
    (`gco2_direct`, `gco2_lifecycle`; a `system_average` category takes the interval's
    intensity; an excluded one has null share and factors). Sorted by time, category."""
    factors = factor_table(iso, treatment)
    frame = category_generation(fuel_mix, treatment).join(factors, on="fuel_category")
    counted = pl.col("treatment") == "factor"
    supplied = pl.col("treatment") != "exclude"
    over = list(INTERVAL_COLUMNS)
    frame = frame.with_columns(
        supply_mw=pl.col("mw").filter(supplied).sum().over(over),
        counted_mw=pl.col("mw").filter(counted).sum().over(over),
        **{
            f"_g_{b}": (pl.col("mw") * pl.col(f"factor_{b}")).filter(counted).sum().over(over)
            for b in BASES
        },
    )
    rest = {
        b: pl.when(pl.col("counted_mw") > 0).then(pl.col(f"_g_{b}") / pl.col("counted_mw"))
        for b in BASES
    }
    return (
        frame.with_columns(
            share=pl.when(supplied & (pl.col("supply_mw") > 0)).then(
                pl.col("mw") / pl.col("supply_mw")
            ),
            **{
                f"gco2_{b}": pl.when(counted)
                .then(pl.col(f"factor_{b}"))
                .when(pl.col("treatment") == "system_average")
                .then(rest[b])
                for b in BASES
            },
        )
        .select(
            *INTERVAL_COLUMNS,
            "fuel_category",
            "treatment",
            "mw",
            "share",
            "gco2_direct",
            "gco2_lifecycle",
            "supply_mw",
        )
        .sort("interval_start_utc", "fuel_category")
    )


def _intensity(basis: str) -> pl.Expr:
    weighted = (pl.col("share") * pl.col(f"gco2_{basis}")).sum()
    return pl.when(
        pl.col("share").is_not_null().any() & pl.col(f"gco2_{basis}").is_not_null().any()
    ).then(weighted)


def intensity_from_mix(mix: pl.DataFrame, treatment: Treatment = DEFAULT_TREATMENT) -> pl.DataFrame:
    """Wide, one row per interval: supply_mw, gco2_per_kwh_direct / _lifecycle (the share-
    weighted sum of the categories' factors), then mw_<category> and share_<category> for
    every standard category, the factor table's version and the treatment."""
    totals = mix.group_by(INTERVAL_COLUMNS).agg(
        supply_mw=pl.col("supply_mw").first(),
        gco2_per_kwh_direct=_intensity("direct"),
        gco2_per_kwh_lifecycle=_intensity("lifecycle"),
    )
    wide = mix.pivot(
        on="fuel_category",
        index="interval_start_utc",
        values=["mw", "share"],
        aggregate_function=None,
    )
    columns = [f"{v}_{c}" for v in ("mw", "share") for c in STANDARD_FUELS]
    return (
        totals.join(wide, on="interval_start_utc")
        .select(
            *INTERVAL_COLUMNS,
            "supply_mw",
            "gco2_per_kwh_direct",
            "gco2_per_kwh_lifecycle",
            *columns,
        )
        .with_columns(factors_version=pl.lit(FACTORS_VERSION), treatment=pl.lit(treatment.label))
        .sort("interval_start_utc")
    )


def carbon_intensity(
    fuel_mix: pl.DataFrame, iso: str, treatment: Treatment = DEFAULT_TREATMENT
) -> pl.DataFrame:
    """The native-interval intensity of a fuel-mix long table (see `intensity_from_mix`)."""
    return intensity_from_mix(category_mix(fuel_mix, iso, treatment), treatment)


def hourly_intensity(intensity: pl.DataFrame) -> pl.DataFrame:
    """Hour-beginning (UTC hour) values of a native-interval intensity frame: mean MW,
    energy-weighted shares and intensities, and how many native intervals each hour holds.
    A local hour repeated at fall-back is two UTC hours, so that day has 25 rows."""
    mw = [f"mw_{c}" for c in STANDARD_FUELS]
    shares = [f"share_{c}" for c in STANDARD_FUELS]
    supply = pl.col("supply_mw")

    def weighted(column: str) -> pl.Expr:
        valid = pl.col(column).is_not_null()
        weight = supply.filter(valid).sum()
        value = (pl.col(column) * supply).filter(valid).sum() / weight
        return pl.when(valid.any() & (weight > 0)).then(value).alias(column)

    return (
        intensity.with_columns(interval_start_utc=pl.col("interval_start_utc").dt.truncate("1h"))
        .group_by("interval_start_utc", "operating_day", "iso")
        .agg(
            pl.col("interval_start_local").min(),
            pl.len().cast(pl.Int32).alias("intervals"),
            supply.mean(),
            weighted("gco2_per_kwh_direct"),
            weighted("gco2_per_kwh_lifecycle"),
            *[pl.col(c).mean() for c in mw],
            *[weighted(c) for c in shares],
            pl.col("factors_version").first(),
            pl.col("treatment").first(),
        )
        .with_columns(
            interval_end_utc=pl.col("interval_start_utc").dt.offset_by("1h"),
            interval_minutes=pl.lit(60, pl.Int16),
        )
        .select(
            *INTERVAL_COLUMNS,
            "intervals",
            "supply_mw",
            "gco2_per_kwh_direct",
            "gco2_per_kwh_lifecycle",
            *mw,
            *shares,
            "factors_version",
            "treatment",
        )
        .sort("interval_start_utc")
    )


def snap_to_grid(fuel_mix: pl.DataFrame, interval_minutes: int) -> pl.DataFrame:
    """Irregular stamps (NYISO 00:05:12, ISO-NE) onto the nominal grid: each fuel's mean MW
    per `interval_minutes` bucket, so every interval has one row per fuel. Days start on the
    hour in US time zones, so truncating the UTC stamp gives the local grid."""
    step = f"{interval_minutes}m"
    start = pl.col("interval_start_utc").dt.truncate(step)
    return (
        fuel_mix.with_columns(
            interval_start_utc=start,
            interval_end_utc=start.dt.offset_by(step),
            interval_start_local=pl.col("interval_start_local").dt.truncate(step),
            interval_minutes=pl.lit(interval_minutes).cast(fuel_mix.schema["interval_minutes"]),
        )
        .group_by(*INTERVAL_COLUMNS, "fuel", "fuel_category")
        .agg(pl.col("mw").mean())
        .sort("interval_start_utc", "fuel")
    )
