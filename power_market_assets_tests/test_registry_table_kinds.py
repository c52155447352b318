"""Table kinds (registry/kinds.py): the price and ancillary tables are unchanged, and each new
kind gets its schema, Pandera checks, duplicate key, pivot and vintage query from the kind."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandera.polars as pa
import polars as pl
import pytest

from power_market_assets.quality.checks import check_duplicates, check_pivot_accuracy
from power_market_assets.quality.schemas import long_table_schema
from power_market_assets.registry import ALL_DATASETS
from power_market_assets.registry.ercot import AS_PRICES, DA_PRICES
from power_market_assets.registry.kinds import (
    ANCILLARY,
    FORECAST,
    KINDS,
    PRICE,
    QUANTITY_BY_AREA,
    QUANTITY_BY_FUEL,
    RENEWABLE,
    TableKind,
    kind_named,
)
from power_market_assets.registry.schema import (
    COLUMN_UNITS,
    COMBINED_PREFIXES,
    ISO_ENUM,
    MARKET_ENUM,
    long_schema,
)
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.flatten import flatten, wide_value_columns
from power_market_assets.transforms.vintage import latest_as_of

DAY = date(2025, 3, 10)  # an ordinary 24-hour day in Texas (the day after DST starts)
TIME = {
    "interval_start_utc": pl.Datetime("us", "UTC"),
    "interval_end_utc": pl.Datetime("us", "UTC"),
    "interval_start_local": pl.Datetime("us", DA_PRICES.timezone),
    "operating_day": pl.Date(),
    "iso": ISO_ENUM,
    "market": MARKET_ENUM,
    "interval_minutes": pl.Int16(),
}
# The long tables as they were before kinds existed: columns, order and dtypes must not move.
PRICE_BEFORE = {
    **TIME,
    "location": pl.Utf8(),
    "location_type": pl.Utf8(),
    "iso_location_type": pl.Utf8(),
    "lmp": pl.Float64(),
    "energy": pl.Float64(),
    "congestion": pl.Float64(),
    "loss": pl.Float64(),
    "ghg": pl.Float64(),
    "source_file": pl.Utf8(),
}
ANCILLARY_BEFORE = {**TIME, "product": pl.Utf8(), "price": pl.Float64(), "source_file": pl.Utf8()}


def _spec(kind: TableKind, dataset: str) -> DatasetSpec:
    """An ERCOT day-ahead spec of another kind (no default locations)."""
    return replace(DA_PRICES, dataset=dataset, table_kind=kind, default_locations=())


def _hours(n: int) -> list[datetime]:
    """The first `n` hour starts of DAY (Central daylight time, UTC-5)."""
    first = datetime(2025, 3, 10, 5, tzinfo=UTC)
    return [first + timedelta(hours=h) for h in range(n)]


def _long(spec: DatasetSpec, starts: list[datetime], **columns: list) -> pl.DataFrame:
    """A standard long table of `spec` with the given interval starts and kind columns."""
    time = pl.DataFrame(
        {"interval_start_utc": starts}, schema={"interval_start_utc": TIME["interval_start_utc"]}
    )
    frame = time.with_columns(
        pl.col("interval_start_utc").dt.offset_by("1h").alias("interval_end_utc"),
        pl.col("interval_start_utc")
        .dt.convert_time_zone(spec.timezone)
        .alias("interval_start_local"),
        pl.lit(DAY).alias("operating_day"),
        pl.lit(spec.iso).alias("iso"),
        pl.lit(spec.market).alias("market"),
        pl.lit(spec.interval_minutes).alias("interval_minutes"),
        *(pl.Series(name, values) for name, values in columns.items()),
        pl.lit("synthetic.csv").alias("source_file"),
    )
    return frame.select(list(spec.schema)).cast(spec.schema)


FUEL_SPEC = _spec(QUANTITY_BY_FUEL, "fuel_mix")
AREA_SPEC = _spec(QUANTITY_BY_AREA, "load")
FORECAST_SPEC = _spec(FORECAST, "load_forecast")


def _fuel_mix() -> pl.DataFrame:
    hours = _hours(2)
    return _long(
        FUEL_SPEC,
        [hours[0]] * 3 + [hours[1]] * 3,
        fuel=["Gas", "Wind", "Solar"] * 2,
        fuel_category=["gas", "wind", "solar"] * 2,
        iso_total_mw=[None] * 6,
        mw=[30_000.0, 12_000.0, 0.0, 29_500.0, 12_500.0, 0.0],
    )


def _forecast() -> pl.DataFrame:
    """Two vintages of the first hour (06:00 and 12:00 the day before), one of the second."""
    hours = _hours(2)
    early, late = datetime(2025, 3, 9, 6, tzinfo=UTC), datetime(2025, 3, 9, 12, tzinfo=UTC)
    return _long(
        FORECAST_SPEC,
        [hours[0], hours[0], hours[1]],
        published_at_utc=[early, late, early],
        area=["SYSTEM"] * 3,
        model=["ISO"] * 3,
        mw=[41_000.0, 41_800.0, 40_500.0],
    )


def test_price_and_ancillary_tables_are_unchanged() -> None:
    assert DA_PRICES.schema == PRICE_BEFORE and list(DA_PRICES.schema) == list(PRICE_BEFORE)
    assert AS_PRICES.schema == ANCILLARY_BEFORE and list(AS_PRICES.schema) == list(ANCILLARY_BEFORE)
    assert (DA_PRICES.unique_key, DA_PRICES.pivot_column, DA_PRICES.value_column) == (
        ("interval_start_utc", "location", "location_type"),
        "location",
        "lmp",
    )
    assert (AS_PRICES.unique_key, AS_PRICES.pivot_column, AS_PRICES.value_column) == (
        ("interval_start_utc", "product"),
        "product",
        "price",
    )
    assert PRICE.nullable_columns == {"iso_location_type", "energy", "congestion", "loss", "ghg"}
    assert ANCILLARY.nullable_columns == frozenset()
    assert COMBINED_PREFIXES == {
        "da_": "day-ahead price",
        "as_": "day-ahead ancillary-service price",
        "rt_": "real-time price",
    }


def test_every_spec_declares_a_registered_kind_that_equals_its_name() -> None:
    for spec in ALL_DATASETS:
        assert isinstance(spec.table_kind, TableKind), spec.dataset
        assert spec.table_kind in KINDS and kind_named(spec.table_kind.name) is spec.table_kind
    assert PRICE == "price" and ANCILLARY != "price" and hash(PRICE) == hash("price")
    with pytest.raises(KeyError, match="no table kind"):
        kind_named("emissions")


def test_each_kind_is_consistent_and_carries_its_unit() -> None:
    for kind in KINDS:
        names = set(kind.dtypes)
        assert set(kind.key) - {"interval_start_utc"} <= names, kind
        assert {kind.pivot_column, kind.value_column} <= names, kind
        assert not set(kind.key) & kind.nullable_columns, kind
        assert kind.value_column in kind.measured_columns, kind
        assert all(COLUMN_UNITS[c] == kind.unit for c in kind.measured_columns), kind
        assert (kind.vintage_column in kind.key) if kind.vintage_column else True, kind
        assert list(long_schema(kind, "UTC"))[-1] == "source_file", kind
    assert {k.unit for k in (QUANTITY_BY_AREA, QUANTITY_BY_FUEL, FORECAST, RENEWABLE)} == {"MW"}
    roles = {k.name: k.role("DAM").prefix for k in KINDS if k.role("DAM")}
    assert roles == {
        "price": "da_",
        "ancillary": "as_",
        "quantity_by_area": "load_",
        "quantity_by_fuel": "gen_",
        "forecast": "fcst_",
        "renewable": "ren_",
    }
    assert PRICE.role("RTM").prefix == "rt_" and ANCILLARY.role("RTM") is None


@pytest.mark.parametrize(
    ("spec", "frame"),
    [
        (FUEL_SPEC, _fuel_mix()),
        (FORECAST_SPEC, _forecast()),
        (AREA_SPEC, _long(AREA_SPEC, _hours(3), area=["NORTH"] * 3, mw=[1.0, 2.0, 3.0])),
    ],
    ids=["quantity_by_fuel", "forecast", "quantity_by_area"],
)
def test_pandera_schema_of_a_new_kind(spec: DatasetSpec, frame: pl.DataFrame) -> None:
    schema = long_table_schema(spec)
    schema.validate(frame)
    with pytest.raises(pa.errors.SchemaError):
        schema.validate(frame.with_columns(pl.col("mw").cast(pl.Int64)))
    series = spec.table_kind.series_columns[0]
    null_key = frame.with_columns(pl.lit(None, pl.Utf8).alias(series))
    with pytest.raises(pa.errors.SchemaError):
        schema.validate(null_key)


def test_forecast_vintages_are_not_duplicates_but_a_repeated_vintage_is() -> None:
    frame = _forecast()
    assert check_duplicates(frame, FORECAST_SPEC).passed
    repeated = pl.concat([frame, frame.head(1)])
    outcome = check_duplicates(repeated, FORECAST_SPEC)
    assert not outcome.passed and outcome.metadata["duplicate_keys"] == 1


def test_flatten_pivots_a_fuel_mix_to_one_column_per_fuel() -> None:
    result = flatten(_fuel_mix(), FUEL_SPEC)
    wide = result.frame
    assert wide_value_columns(wide) == ["gas", "solar", "wind"]
    assert wide.height == 24  # the complete hourly grid of the day
    assert wide.row(1, named=True)["gas"] == 29_500.0
    assert result.locations.get_column("product").to_list() == ["Gas", "Solar", "Wind"]
    assert check_pivot_accuracy(_fuel_mix(), wide, FUEL_SPEC, result.locations).passed


def test_latest_as_of_keeps_the_newest_vintage_published_by_then() -> None:
    frame = _forecast()
    at_noon = latest_as_of(frame, FORECAST, datetime(2025, 3, 9, 12, tzinfo=UTC))
    assert at_noon.get_column("mw").to_list() == [41_800.0, 40_500.0]
    in_the_morning = latest_as_of(frame, FORECAST, datetime(2025, 3, 9, 7, tzinfo=UTC))
    assert in_the_morning.get_column("mw").to_list() == [41_000.0, 40_500.0]
    assert latest_as_of(frame, FORECAST, datetime(2025, 3, 8, tzinfo=UTC)).is_empty()
    flattened = flatten(at_noon, FORECAST_SPEC).frame
    assert flattened.get_column("system").head(2).to_list() == [41_800.0, 40_500.0]
    with pytest.raises(ValueError, match="no vintage"):
        latest_as_of(frame, PRICE, datetime(2025, 3, 9, tzinfo=UTC))
