"""Stage 4 "combined": time-aligned joins of one ISO's flattened frames.

All joins are on UTC instants, never on local wall-clock labels, so the repeated fall-back hour
and the skipped spring-forward hour line up correctly. RT intervals are assigned to the hour
that contains them by truncating their UTC start to the hour; this is right for every US ISO
(their UTC offsets are whole hours).

Column naming (stable month to month: a requested location or product missing from an input
becomes an all-null Float64 column):

* time columns: interval_start_utc, interval_end_utc, interval_start_local, operating_day
* ``da_<LOC>``: day-ahead price of location LOC, LOC being the location's wide column (a plain
  identifier, see `power_market_assets.transforms.names`: "N.Y.C." -> da_n_y_c; the
  `<iso>.locations` view maps it back); callers pass wide columns, not ISO names
* ``as_<PRODUCT>``: day-ahead ancillary-service clearing price of PRODUCT
* ``rt_<LOC>``: real-time price at native granularity
* ``rt_<LOC>_mean``, ``rt_<LOC>_max``, ``rt_<LOC>_min``, ``rt_<LOC>_std``: statistics of the RT
  intervals inside the hour (nulls ignored; std is the sample std, ddof=1, null with < 2 values)
* ``rt_intervals``: RT intervals in the hour with a value for at least one requested location
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from power_market_assets.registry.kinds import ANCILLARY, PRICE
from power_market_assets.transforms.flatten import TIME_COLUMNS

# Column prefixes of the combined tables: the combine roles of the table kinds
# (registry/kinds.py), so a kind's role and its columns cannot drift apart.
DA_PREFIX = PRICE.role("DAM").prefix
RT_PREFIX = PRICE.role("RTM").prefix
AS_PREFIX = ANCILLARY.role("DAM").prefix

HOUR = "1h"
_HOUR_KEY = "__hour_start_utc__"

Frame = pl.DataFrame | pl.LazyFrame


def _eager(frame: Frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _pick(wide: pl.DataFrame, names: Sequence[str], prefix: str) -> list[pl.Expr]:
    """Select `names` from a wide frame as `<prefix><name>`, null Float64 where absent."""
    exprs = []
    for name in names:
        if name in wide.columns:
            expr = pl.col(name).cast(pl.Float64)
        else:
            expr = pl.lit(None, dtype=pl.Float64)
        exprs.append(expr.alias(f"{prefix}{name}"))
    return exprs


def _hourly_part(wide: pl.DataFrame, names: Sequence[str], prefix: str) -> pl.DataFrame:
    """Time columns + prefixed value columns of an hourly wide frame, unique on the hour."""
    frame = wide.select(*TIME_COLUMNS, *_pick(wide, names, prefix))
    dup = frame.get_column("interval_start_utc").is_duplicated()
    if dup.any():
        raise ValueError(f"combine: {int(dup.sum())} rows share an interval_start_utc ({prefix})")
    return frame


def _spine(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Union of the time columns of several frames, one row per interval_start_utc."""
    times = pl.concat([p.select(*TIME_COLUMNS) for p in parts], how="vertical_relaxed")
    return times.unique("interval_start_utc", keep="first").sort("interval_start_utc")


def _join_hourly(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    spine = _spine(parts)
    out = spine
    for part in parts:
        out = out.join(
            part.drop(TIME_COLUMNS[1:]), on="interval_start_utc", how="left", coalesce=True
        )
    return out.sort("interval_start_utc")


def combine_da_as_hourly(
    da_wide: Frame,
    as_wide: Frame,
    locations: Sequence[str],
    products: Sequence[str],
) -> pl.DataFrame:
    """DA prices and AS clearing prices side by side, one row per hour (UTC-keyed).

    Columns: interval_start_utc, interval_end_utc, interval_start_local, operating_day, then
    ``da_<LOC>`` for each of `locations` and ``as_<PRODUCT>`` for each of `products`, in the
    order given. Rows: the union of the hours in the two inputs, sorted by interval_start_utc.
    """
    da = _hourly_part(_eager(da_wide), locations, DA_PREFIX)
    asp = _hourly_part(_eager(as_wide), products, AS_PREFIX)
    return _join_hourly([da, asp])


def _rt_hourly_stats(rt: pl.DataFrame, locations: Sequence[str]) -> pl.DataFrame:
    """RT statistics per UTC hour: time columns of the hour, rt_<LOC>_<stat>, rt_intervals."""
    present = [loc for loc in locations if loc in rt.columns]
    has_data = (
        pl.any_horizontal([pl.col(c).is_not_null() for c in present]) if present else pl.lit(False)
    )
    aggs: list[pl.Expr] = [pl.col("operating_day").first()]
    for loc in locations:
        col = pl.col(loc).cast(pl.Float64) if loc in rt.columns else pl.lit(None, pl.Float64)
        aggs += [
            col.mean().alias(f"{RT_PREFIX}{loc}_mean"),
            col.max().alias(f"{RT_PREFIX}{loc}_max"),
            col.min().alias(f"{RT_PREFIX}{loc}_min"),
            col.std(ddof=1).alias(f"{RT_PREFIX}{loc}_std"),
        ]
    aggs.append(has_data.sum().cast(pl.Int32).alias(f"{RT_PREFIX}intervals"))
    hourly = (
        rt.sort("interval_start_utc")
        .with_columns(pl.col("interval_start_utc").dt.truncate(HOUR).alias(_HOUR_KEY))
        .group_by(_HOUR_KEY, maintain_order=True)
        .agg(aggs)
        .rename({_HOUR_KEY: "interval_start_utc"})
    )
    # The hour's local start is the same instant as its UTC start, shown in the ISO's zone.
    local_dtype = rt.schema["interval_start_local"]
    tz = getattr(local_dtype, "time_zone", None) or "UTC"
    hourly = hourly.with_columns(
        pl.col("interval_start_utc").dt.offset_by(HOUR).alias("interval_end_utc"),
        pl.col("interval_start_utc").dt.convert_time_zone(tz).alias("interval_start_local"),
    )
    return hourly.select(*TIME_COLUMNS, pl.exclude(TIME_COLUMNS))


def combine_da_as_rt_hourly(
    da_wide: Frame,
    as_wide: Frame,
    rt_wide: Frame,
    locations: Sequence[str],
    products: Sequence[str],
) -> pl.DataFrame:
    """DA + AS hourly with RT statistics over the RT intervals inside each hour.

    Columns: the time columns, ``da_<LOC>``, ``as_<PRODUCT>``, then per location
    ``rt_<LOC>_mean``, ``rt_<LOC>_max``, ``rt_<LOC>_min``, ``rt_<LOC>_std``, and finally
    ``rt_intervals`` (Int32, 0 for hours without RT data). An RT interval belongs to the hour
    whose UTC start is its own UTC start truncated to the hour. Rows: the union of the DA, AS
    and RT hours, sorted by interval_start_utc.
    """
    da = _hourly_part(_eager(da_wide), locations, DA_PREFIX)
    asp = _hourly_part(_eager(as_wide), products, AS_PREFIX)
    rt = _rt_hourly_stats(_eager(rt_wide), locations)
    out = _join_hourly([da, asp, rt])
    return out.with_columns(pl.col(f"{RT_PREFIX}intervals").fill_null(0))


def combine_da_as_rt_native(
    da_wide: Frame,
    as_wide: Frame,
    rt_wide: Frame,
    locations: Sequence[str],
    products: Sequence[str],
) -> pl.DataFrame:
    """One row per RT interval, with DA and AS repeated from the hour containing it.

    Columns: the RT time columns, ``rt_<LOC>`` for each location, then ``da_<LOC>`` and
    ``as_<PRODUCT>`` taken from the DA / AS hour whose interval_start_utc equals the RT
    interval's UTC start truncated to the hour (so the repeated fall-back 01:00 hour's quarter
    hours join the second DA 01:00 hour). Rows: the RT intervals, sorted by interval_start_utc.
    """
    rt = _eager(rt_wide)
    da = _hourly_part(_eager(da_wide), locations, DA_PREFIX).drop(TIME_COLUMNS[1:])
    asp = _hourly_part(_eager(as_wide), products, AS_PREFIX).drop(TIME_COLUMNS[1:])
    base = rt.select(*TIME_COLUMNS, *_pick(rt, locations, RT_PREFIX)).with_columns(
        pl.col("interval_start_utc").dt.truncate(HOUR).alias(_HOUR_KEY)
    )
    out = base.join(da.rename({"interval_start_utc": _HOUR_KEY}), on=_HOUR_KEY, how="left").join(
        asp.rename({"interval_start_utc": _HOUR_KEY}), on=_HOUR_KEY, how="left"
    )
    return out.drop(_HOUR_KEY).sort("interval_start_utc")
