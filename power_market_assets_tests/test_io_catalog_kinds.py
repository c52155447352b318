"""Issue 13's catalog: `<iso>.<dataset>_latest` for datasets that keep every vintage, the
cross-ISO views by kind (all_isos.load, load_forecast, fuel_mix, renewables) and the units of
quantity columns, on a lake written from synthetic long tables (no Dagster run), with the
registry narrowed to synthetic specs so the test does not depend on any ISO's datasets."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import polars as pl
import pytest

from power_market_assets.io import catalog
from power_market_assets.io.catalog import kind_views_sql, latest_views_sql, refresh_catalog
from power_market_assets.io.lake import Lake, stage_lake_path, write_parquet_files
from power_market_assets.registry.ercot import DA_PRICES, RT_PRICES
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.flatten import flatten
from power_market_assets.transforms.fundamentals import fundamentals_hourly
from power_market_assets.transforms.vintage import latest_as_of
from power_market_assets_tests.fundamentals_frames import (
    FALL_BACK,
    FUEL_MIX,
    INPUTS,
    LOAD,
    LOAD_FORECAST,
    RENEWABLES,
    forecast_long,
    fuel_mix_long,
    load_long,
    price_long,
    renewables_long,
    standard,
    utc,
)

NEXT_DAY = date(2024, 11, 4)
DAYS = [FALL_BACK, NEXT_DAY]
CAISO_LOAD = replace(LOAD, iso="CAISO", timezone="America/Los_Angeles")
VINTAGES = [utc(2024, 11, 2, 6), utc(2024, 11, 2, 18), utc(2024, 11, 3, 12)]
SPECS = (LOAD, FUEL_MIX, LOAD_FORECAST, RENEWABLES, CAISO_LOAD)
MONTH = "2024-11-01"


def _write_days(lake: Lake, spec: DatasetSpec, frame: pl.DataFrame) -> None:
    """One raw_parquet file per operating day, as stage 2 writes them."""
    path = stage_lake_path(spec, "raw_parquet")
    write_parquet_files(
        {
            lake.partition_file(path, day.isoformat()): part
            for (day,), part in frame.group_by("operating_day")
        }
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "ALL_DATASETS", SPECS)
        patch.setattr(catalog, "FUNDAMENTALS_INPUTS", {"ERCOT": INPUTS})
        lake = Lake.at(tmp_path_factory.mktemp("kinds") / "data")
        load = load_long(DAYS)
        _write_days(lake, LOAD, load)
        _write_days(lake, FUEL_MIX, fuel_mix_long(DAYS))
        _write_days(lake, LOAD_FORECAST, forecast_long(DAYS, VINTAGES))
        _write_days(lake, RENEWABLES, renewables_long(DAYS, utc(2024, 11, 2, 12)))
        caiso = standard(CAISO_LOAD, load.select("interval_start_utc", "area", "mw"))
        _write_days(lake, CAISO_LOAD, caiso)
        flat = flatten(load, LOAD).frame
        write_parquet_files({lake.partition_file(stage_lake_path(LOAD, "flattened"), MONTH): flat})
        hourly = fundamentals_hourly(
            INPUTS,
            da=price_long(DA_PRICES, DAYS),
            rt=price_long(RT_PRICES, DAYS),
            load=load,
            load_forecast=forecast_long(DAYS, VINTAGES),
            fuel_mix=fuel_mix_long(DAYS),
            renewables=[renewables_long(DAYS, utc(2024, 11, 2, 12))],
        )
        path = lake.partition_file("ercot/combined/fundamentals_hourly", MONTH)
        write_parquet_files({path: hourly})
        refresh_catalog(lake)
    return lake


@pytest.fixture
def con(lake: Lake):
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        yield con


def test_latest_view_holds_the_newest_vintage_of_each_interval(con) -> None:
    rows = con.sql(
        "select count(*), count(distinct interval_start_utc), min(mw), max(mw), "
        "min(published_at_utc) from ercot.load_forecast_latest"
    ).fetchone()
    assert rows[:4] == (49, 49, 50_012.0, 50_012.0)  # 25 + 24 hours, the 12:00 vintage
    columns = [r[0] for r in con.sql("describe ercot.load_forecast_latest").fetchall()]
    raw = [r[0] for r in con.sql("describe ercot.load_forecast_raw_parquet").fetchall()]
    assert columns == raw
    names = {r[0] for r in con.sql("select view_name from duckdb_views()").fetchall()}
    assert "wind_solar_latest" in names and "load_latest" not in names


def test_forecast_as_of_t(con) -> None:
    """The README's as-of query gives what latest_as_of gives: the 18:00 vintage at 20:00."""
    as_of = "2024-11-02 20:00:00+00"
    rows = con.sql(
        "select interval_start_utc, mw from ercot.load_forecast_raw_parquet "
        f"where published_at_utc <= TIMESTAMPTZ '{as_of}' and area = 'SYSTEM' "
        "qualify row_number() over (partition by interval_start_utc, area, model "
        "order by published_at_utc desc) = 1 order by interval_start_utc"
    ).pl()
    expected = latest_as_of(forecast_long(DAYS, VINTAGES), LOAD_FORECAST.table_kind,
                            utc(2024, 11, 2, 20))  # fmt: skip
    assert rows.height == expected.height == 49
    assert set(rows.get_column("mw")) == {50_018.0}


def test_forecast_error_against_the_actual_load(con) -> None:
    """Hourly mean of the 15-minute actual against the latest forecast, per UTC hour."""
    rows = con.sql(
        """
        with actual as (
            select date_trunc('hour', timezone('UTC', interval_start_utc)) as hour_utc,
                   avg(mw) as actual_mw
            from ercot.load_raw_parquet where area = 'SYSTEM' group by 1
        )
        select f.interval_start_utc, f.interval_start_local, f.utc_offset,
               f.mw as forecast_mw, a.actual_mw, f.mw - a.actual_mw as error_mw
        from ercot.load_forecast_latest f
        join actual a on a.hour_utc = timezone('UTC', f.interval_start_utc)
        where f.area = 'SYSTEM' order by f.interval_start_utc
        """
    ).pl()
    assert rows.height == 49
    hours = rows.get_column("interval_start_utc").dt.hour().cast(pl.Float64)
    assert rows.get_column("error_mw").to_list() == (50_012.0 - 40_000.0 - 100 * hours).to_list()
    one_am = rows.filter(pl.col("interval_start_local") == pl.datetime(2024, 11, 3, 1))
    assert one_am.get_column("utc_offset").to_list() == ["-05:00", "-06:00"]


def test_all_isos_views_by_kind(con) -> None:
    load = con.sql(
        "select iso, dataset, count(*), min(mw) from all_isos.load group by 1, 2 order by 1"
    ).fetchall()
    # (25 + 24) hours x 4 quarter hours x 2 areas each
    assert load == [("CAISO", "load", 392, 10_000.0), ("ERCOT", "load", 392, 10_000.0)]
    categories = con.sql(
        "select fuel_category, sum(mw) / count(distinct interval_start_utc) "
        "from all_isos.fuel_mix group by 1 order by 1"
    ).fetchall()
    assert categories == [("gas", 30_000.0), ("solar", 2_000.0), ("storage", -500.0),
                          ("wind", 8_000.0)]  # fmt: skip
    renewables = con.sql(
        "select dataset, technology, model, count(*) from all_isos.renewables "
        "group by all order by all"
    ).fetchall()
    assert [r[:3] for r in renewables] == [
        ("wind_solar", "solar", "ACTUAL"),
        ("wind_solar", "solar", "STWPF"),
        ("wind_solar", "wind", "ACTUAL"),
        ("wind_solar", "wind", "STWPF"),
    ]
    forecast = con.sql("select count(*) from all_isos.load_forecast").fetchone()[0]
    assert forecast == 49 * len(VINTAGES)
    # Each ISO's wall clock: CAISO's 01:00 (PDT) of 11-03 is 08:00 UTC.
    caiso = con.sql(
        "select interval_start_utc, utc_offset from all_isos.load where iso = 'CAISO' "
        "and area = 'SYSTEM' and interval_start_local = '2024-11-03 01:00' order by 1"
    ).fetchall()
    assert [(r[0].hour, r[1]) for r in caiso] == [(8, "-07:00"), (9, "-08:00")]


def test_quantity_columns_say_mw_and_fundamentals_say_each_unit(con) -> None:
    comments = dict(
        con.sql(
            "select schema_name || '.' || table_name || '.' || column_name, comment "
            "from duckdb_columns() where data_type = 'DOUBLE'"
        ).fetchall()
    )
    assert comments["ercot.load_flattened.system"].endswith(", MW")
    assert comments["all_isos.load.mw"].endswith(", MW")
    assert comments["ercot.load_forecast_latest.mw"].endswith(", MW")
    fundamentals = "ercot.combined_fundamentals_hourly."
    assert comments[fundamentals + "da_price"].endswith(", $/MWh")
    assert comments[fundamentals + "rt_price"].endswith(", $/MWh")
    for column in ("load_mw", "load_forecast_mw", "gen_gas", "gen_coal", "wind_mw", "net_load_mw"):
        assert comments[fundamentals + column].endswith(", MW"), column
    doubles = [c for c in comments if c.split(".")[1] != "locations"]
    assert all(comments[c] and comments[c].endswith((", MW", ", $/MWh")) for c in doubles)
    views = dict(con.sql("select view_name, comment from duckdb_views()").fetchall())
    assert "MW" in views["load_flattened"] and "$/MWh" not in views["load_flattened"]
    assert "net load" in views["combined_fundamentals_hourly"]


def test_kind_views_need_a_dataset_of_the_kind() -> None:
    assert kind_views_sql([]) == {} and latest_views_sql([]) == {}
