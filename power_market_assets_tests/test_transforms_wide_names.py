"""Wide column names a user can type (issue 10, item 2).

`select da_N.Y.C. from nyiso.combined_da_as_rt_hourly` was a parser error: wide and combined
columns are now plain identifiers (`transforms.names`), the long tables keep the ISO's names,
and a mapping written by stage 3 (`io.locations`) takes each column back to its location.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.assets.combined import build_combined_assets
from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.definitions import lake_resources
from power_market_assets.io.catalog import connect_read_only
from power_market_assets.io.duckdb_safety import lock_to_lake
from power_market_assets.io.lake import Lake
from power_market_assets.io.locations import locations_file, locations_view_sql
from power_market_assets.io.nyiso_resource import NyisoSource
from power_market_assets.quality.checks import check_pivot_accuracy
from power_market_assets.registry import ALL_DATASETS, COMBINED_INPUTS, nyiso
from power_market_assets.registry.ercot import RT_PRICES
from power_market_assets.transforms.flatten import flatten, wide_value_columns
from power_market_assets.transforms.names import (
    DUCKDB_RESERVED,
    assign_wide_columns,
    default_wide_columns,
    location_map,
    sql_identifier,
)
from power_market_assets_tests.helpers import FALL_BACK, price_long
from power_market_standins.nyiso_server import standin_server

AWKWARD = {
    "N.Y.C.": "n_y_c",
    "HUD VL": "hud_vl",
    "PJM RTO Synchronized Reserve": "pjm_rto_synchronized_reserve",
    "0096WD_7_N001": "n_0096wd_7_n001",
    ".H.INTERNAL_HUB": "h_internal_hub",
    "LZ_AEN_EW": "lz_aen_ew",
    "Order": "order_",
    "select": "select_",
    "__": "unnamed",
}


@pytest.mark.parametrize(("name", "expected"), AWKWARD.items())
def test_identifier_of_awkward_names(name: str, expected: str) -> None:
    assert sql_identifier(name) == expected


def test_reserved_words_are_duckdbs() -> None:
    """The list transforms/ carries (it does not import duckdb) is the installed DuckDB's."""
    sql = "select keyword_name from duckdb_keywords() where keyword_category = 'reserved'"
    assert {row[0] for row in duckdb.sql(sql).fetchall()} == DUCKDB_RESERVED


def test_every_registry_default_column_parses_unquoted_in_duckdb() -> None:
    """Every hub, zone and product the registry pivots by default, plus awkward names, is a
    column DuckDB accepts unquoted, with and without the combined prefixes."""
    names = {name for spec in ALL_DATASETS for name in spec.default_locations} | set(AWKWARD)
    con = duckdb.connect()
    for column in assign_wide_columns(names).values():
        for prefixed in (column, f"da_{column}", f"rt_{column}_mean"):
            assert con.sql(f"select 1 as {prefixed}").columns == [prefixed]


def test_collisions_are_unique_and_do_not_depend_on_order() -> None:
    names = ["N.Y.C.", "N Y C", "n_y_c", "HUD VL"]
    got = assign_wide_columns(names)
    assert got == assign_wide_columns(reversed(names))
    assert got == {"N Y C": "n_y_c", "N.Y.C.": "n_y_c_2", "n_y_c": "n_y_c_3", "HUD VL": "hud_vl"}
    # A default location claims its plain name first, whatever else the table holds.
    assert assign_wide_columns(names, preferred=["N.Y.C."])["N.Y.C."] == "n_y_c"
    assert assign_wide_columns(["operating_day"]) == {"operating_day": "operating_day_2"}


def test_combined_inputs_share_their_default_locations() -> None:
    """Stage 4 names DA and RT columns from the DA spec: both must prefer the same names."""
    for da, _, rt in COMBINED_INPUTS.values():
        assert da.default_locations == rt.default_locations, da.iso
        columns = default_wide_columns(da)
        assert len(set(columns.values())) == len(columns), da.iso


def _awkward_long() -> pl.DataFrame:
    series = [("N.Y.C.", "ZONE"), ("N Y C", "NODE"), ("LZ_AEN", "ZONE"), ("LZ_AEN", "ZONE_EW")]
    return price_long(RT_PRICES, [FALL_BACK], series)


def test_flatten_names_columns_by_the_mapping_and_keeps_the_long_names() -> None:
    long = _awkward_long()
    result = flatten(long, RT_PRICES)
    mapping = result.locations
    assert mapping.equals(location_map(long, RT_PRICES))
    assert sorted(wide_value_columns(result.frame)) == sorted(mapping["wide_column"])
    by_column = {row["wide_column"]: row for row in mapping.iter_rows(named=True)}
    assert by_column["n_y_c"]["location"] == "N Y C"  # sorted original name first
    assert by_column["n_y_c_2"]["location"] == "N.Y.C."
    assert by_column["lz_aen_ew"]["location_type"] == "ZONE_EW"
    assert by_column["lz_aen"]["location_type"] == "ZONE"
    assert set(mapping.columns) == {
        "wide_column", "location", "location_type", "iso_location_type", "product", "zone",
        "model",
    }  # fmt: skip
    nyc = long.filter(pl.col("location") == "N.Y.C.").sort("interval_start_utc")["lmp"]
    assert result.frame.sort("interval_start_utc")["n_y_c_2"].to_list() == nyc.to_list()
    assert check_pivot_accuracy(long, result.frame, RT_PRICES).passed


def test_pivot_check_compares_through_the_mapping() -> None:
    """Swapped columns (the two N.Y.C. spellings) are caught, not matched by name."""
    long = _awkward_long()
    wide = flatten(long, RT_PRICES).frame
    swapped = wide.rename({"n_y_c": "n_y_c_2", "n_y_c_2": "n_y_c"})
    outcome = check_pivot_accuracy(long, swapped, RT_PRICES)
    assert not outcome.passed and outcome.metadata["mismatched_cells"] > 0


# --------------------------------------------------------------------------- one NYISO chain

NY_FALL_BACK = date(2024, 11, 3)


@pytest.fixture(scope="module")
def nyiso_run(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """NYISO DA, AS and RT through csv -> raw_parquet -> flattened -> combined (stand-in);
    the data root and each monthly asset's preview (markdown) by asset key."""
    root = tmp_path_factory.mktemp("nyiso_names")
    specs = nyiso.COMBINED_INPUTS
    assets = [a for spec in specs if spec is not None for a in build_dataset_assets(spec)]
    assets.append(build_combined_assets(*specs))
    with standin_server([NY_FALL_BACK], n_locations=2) as server:
        source = NyisoSource(base_url=server.base_url, max_retries=1, backoff_seconds=0.01)
        resources = {**lake_resources(root), "nyiso_source": source}
        keys = [k for a in assets for k in a.keys]
        daily = [k for k in keys if k.path[-1].endswith(("_csv", "_raw_parquet"))]
        monthly = [k for k in keys if k not in daily]
        for keys, partition in ((daily, "2024-11-03"), (monthly, "2024-11-01")):
            result = dg.materialize(
                assets, selection=keys, partition_key=partition, resources=resources
            )
            assert result.success
    previews = {
        event.asset_key.to_user_string(): str(event.materialization.metadata["preview"].value)
        for event in result.get_asset_materialization_events()
    }
    return root, previews


@pytest.fixture(scope="module")
def nyiso_lake(nyiso_run) -> Path:
    return nyiso_run[0]


@pytest.mark.slow
def test_previews_and_plots_find_their_columns(nyiso_run) -> None:
    """The UI's preview and plot of a month pick the wide columns of the first locations."""
    _, previews = nyiso_run
    assert "| capitl |" in previews["nyiso/da_prices_flattened"]
    assert "| da_capitl |" in previews["nyiso/combined_da_as_rt_hourly"]


@pytest.mark.slow
def test_combined_columns_query_unquoted_and_equal_the_long_values(nyiso_lake: Path) -> None:
    con = connect_read_only(Lake.at(nyiso_lake))
    try:
        wide = con.sql(
            "select interval_start_utc, da_n_y_c, da_hud_vl from nyiso.combined_da_as_rt_hourly"
            " where operating_day = '2024-11-03' order by 1"
        ).pl()
        long = con.sql(
            "select interval_start_utc, location, lmp from nyiso.da_prices_raw_parquet "
            "where location in ('N.Y.C.', 'HUD VL') order by 1"
        ).pl()
        as_columns = con.sql("select * from nyiso.combined_da_as_hourly limit 0").columns
    finally:
        con.close()
    assert wide.height == 25
    for column, location in (("da_n_y_c", "N.Y.C."), ("da_hud_vl", "HUD VL")):
        values = long.filter(pl.col("location") == location)["lmp"].to_list()
        assert wide[column].to_list() == values and len(values) == 25
    assert "as_n_y_c_spin_10" in as_columns
    assert all(c == sql_identifier(c) for c in as_columns)


@pytest.mark.slow
def test_locations_view_maps_columns_back_to_the_iso_names(nyiso_lake: Path) -> None:
    lake = Lake.at(nyiso_lake)
    assert locations_file(lake, nyiso.DA_PRICES, "2024-11-01").exists()
    con = duckdb.connect()
    lock_to_lake(con, lake)  # as the catalog rebuild connects: the view reads only the lake
    con.sql("create schema nyiso")
    con.sql(locations_view_sql(lake, "NYISO"))
    rows = con.sql(
        "select dataset, location, location_type, product, first_month from nyiso.locations "
        "where wide_column = 'n_y_c' order by dataset"
    ).fetchall()
    assert [r[:4] for r in rows] == [
        ("da_prices", "N.Y.C.", "ZONE", None),
        ("rt_prices", "N.Y.C.", "ZONE", None),
    ]
    assert rows[0][4] == date(2024, 11, 1)
    product = con.sql(
        "select product from nyiso.locations where wide_column = 'n_y_c_spin_10'"
    ).fetchall()
    assert product == [("N.Y.C._SPIN_10",)]
    raw = pl.read_parquet(lake.partition_file("nyiso/da_prices/raw_parquet", "2024-11-03"))
    assert "N.Y.C." in set(raw["location"])  # the long table keeps the ISO's name


def test_locations_view_waits_for_a_flattened_month(tmp_path: Path) -> None:
    assert locations_view_sql(Lake.at(tmp_path), "NYISO") is None


def test_locations_view_reads_mapping_files_written_before_a_column_existed(
    tmp_path: Path,
) -> None:
    """A data root kept across an upgrade holds mappings without the newer `model` column:
    the view still builds (the catalog rebuild would otherwise fail every run) and shows it
    as NULL, and the newer files' values where they have it."""
    lake = Lake.at(tmp_path)
    old = locations_file(lake, RT_PRICES, "2024-10-01")
    old.parent.mkdir(parents=True)
    row = {"dataset": "rt_prices", "month": date(2024, 10, 1), "wide_column": "hb_north"}
    pl.DataFrame([{**row, "location": "HB_NORTH", "location_type": "HUB"}]).with_columns(
        iso_location_type=pl.lit("HU"), product=pl.lit(None, pl.Utf8), zone=pl.lit(None, pl.Utf8)
    ).write_parquet(old)
    con = duckdb.connect()
    lock_to_lake(con, lake)
    con.sql("create schema ercot")
    con.sql(locations_view_sql(lake, "ERCOT"))
    assert con.sql("select location, model from ercot.locations").fetchall() == [("HB_NORTH", None)]
