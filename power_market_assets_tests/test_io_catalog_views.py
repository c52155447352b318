"""Issue 10, items 1, 3 and 5: the DuckDB catalog reads as an analyst expects.

interval_start_local is the ISO's wall clock (with utc_offset telling the repeated fall-back
hour apart) whatever the session time zone; every price column's comment carries its unit; and
all_isos.rt_prices_hourly puts every ISO's native RT prices on one hourly grid.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest

from power_market_assets.automation.runs import failure_messages, run_range
from power_market_assets.commands.query import run_query
from power_market_assets.definitions import build_definitions
from power_market_assets.io import catalog
from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.lake import Lake, write_parquet_files
from power_market_assets.registry import ALL_DATASETS, ercot, get_spec
from power_market_assets.registry.schema import (
    CARBON_UNITS,
    COLUMN_UNITS,
    PRICE_UNIT,
    QUANTITY_UNIT,
    ancillary_schema,
    price_schema,
)
from power_market_standins.ercot_fuel_mix import fuel_mix_workbooks
from power_market_standins.ercot_fundamentals import generate_any
from power_market_standins.ercot_server import ErcotStandInServer
from power_market_standins.servers import environment, standin_environment, standin_server

pytestmark = pytest.mark.slow  # a lake of every ISO built through Dagster

FALL_BACK = date(2024, 11, 3)
DAY = FALL_BACK.isoformat()
README = Path(__file__).resolve().parents[1] / "README.md"
SESSION_ZONES = ("UTC", "Asia/Tokyo")
UTC_NAMES = ("UTC", "Etc/UTC")
# The README's local-time example: a real query and the output it prints.
VIEWS_WITH_LOCAL = (
    "ercot.rt_prices_raw_parquet",
    "ercot.da_prices_flattened",
    "ercot.combined_da_as_rt_hourly",
    "all_isos.rt_prices",
    "all_isos.rt_prices_hourly",
    "nyiso.rt_prices_raw_parquet",
)
ONE_AM = datetime(2024, 11, 3, 1)
EXAMPLE_SQL = (
    "select interval_start_utc, interval_start_local, utc_offset from ercot.da_prices_raw_parquet "
    "where location = 'HB_NORTH' and interval_start_local between '2024-11-03 00:00' "
    "and '2024-11-03 02:00' order by interval_start_utc"
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    """ERCOT's fall-back day through every stage, and NYISO's 5-minute (irregular) RT prices."""
    root = tmp_path_factory.mktemp("views") / "data"
    instance = dg.DagsterInstance.ephemeral()
    docs = [d for s in ercot.ERCOT_DATASETS for d in generate_any(s, [FALL_BACK], n_nodes=3)]
    with ErcotStandInServer(docs, fuel_mix=fuel_mix_workbooks([FALL_BACK])) as server:
        defs = build_definitions(data_root=str(root), ercot_mis_url=server.base_url)
        for job, key in (("ercot_daily", DAY), ("ercot_monthly", "2024-11-01")):
            result = run_range(defs, job, key, key, instance)
            assert result.success, failure_messages(result)
    nyiso = standin_server("NYISO", [FALL_BACK], n_locations=3)
    with nyiso, environment(standin_environment("NYISO", nyiso)):
        defs = build_definitions(data_root=str(root), source_urls={"NYISO": nyiso.base_url})
        result = run_range(defs, "nyiso_rt_prices_daily", DAY, DAY, instance)
        assert result.success, failure_messages(result)
    return Lake.at(root)


def _connect(lake: Lake, session_zone: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(lake.warehouse_path), read_only=True)
    con.execute(f"SET TimeZone = '{session_zone}'")
    return con


def _views_with(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    rows = con.sql(
        "select schema_name || '.' || table_name from duckdb_columns() "
        f"where column_name = '{column}' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _timezone_of(view: str, iso: str | None) -> str:
    return get_spec(iso or view.split(".")[0], "da_prices").timezone


def _offset_text(moment: datetime) -> str:
    minutes = int(moment.utcoffset() / timedelta(minutes=1))
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@pytest.mark.parametrize("session_zone", SESSION_ZONES)
def test_local_columns_are_the_iso_wall_clock_in_every_view(lake, session_zone: str) -> None:
    """Every view with interval_start_local (raw, flattened, combined, all_isos) shows the ISO's
    wall clock and offset of each row's UTC instant, in any session time zone."""
    with _connect(lake, session_zone) as con:
        views = _views_with(con, "interval_start_local")
        assert set(VIEWS_WITH_LOCAL) <= set(views)
        for view in views:
            has_iso = "iso" in {r[0] for r in con.sql(f"describe {view}").fetchall()}
            iso = "iso" if has_iso else "null"
            rows = con.sql(
                f"select interval_start_utc, interval_start_local, utc_offset, {iso} from {view}"
            ).fetchall()
            assert rows, view
            for utc, local, offset, row_iso in rows:
                wall = utc.astimezone(ZoneInfo(_timezone_of(view, row_iso)))
                assert (local, offset) == (wall.replace(tzinfo=None), _offset_text(wall)), view


@pytest.mark.parametrize("session_zone", SESSION_ZONES)
def test_ercot_fall_back_shows_one_oclock_twice(lake, session_zone: str) -> None:
    with _connect(lake, session_zone) as con:
        hours = con.sql(
            "select location, count(distinct (interval_start_local, utc_offset)) "
            "from ercot.da_prices_raw_parquet where operating_day = '2024-11-03' group by 1"
        ).fetchall()
        one_oclock = con.sql(
            "select interval_start_local, utc_offset from ercot.combined_da_as_rt_hourly "
            "where interval_start_local = '2024-11-03 01:00' order by interval_start_utc"
        ).fetchall()
    assert hours and all(count == 25 for _, count in hours)
    assert one_oclock == [
        (datetime(2024, 11, 3, 1), "-05:00"),
        (datetime(2024, 11, 3, 1), "-06:00"),
    ]


def _units_of(view: str) -> tuple[str, ...]:
    """The units a view's DOUBLE columns may carry: its dataset's (prices $/MWh, load,
    generation and forecasts MW); both in the fundamentals output."""
    schema, name = view.split(".")
    if name.startswith("carbon_intensity"):
        return tuple(f", {unit}" for unit in set(CARBON_UNITS.values()))
    for spec in ALL_DATASETS:
        if spec.iso.lower() == schema and name.startswith(f"{spec.dataset}_"):
            return (f", {spec.unit}",)
    if schema == "all_isos" and name in catalog.KIND_VIEWS:
        return (f", {QUANTITY_UNIT}",)
    if name == f"combined_{catalog.FUNDAMENTALS_KIND_NAME}":
        return (f", {PRICE_UNIT}", f", {QUANTITY_UNIT}")
    return (f", {PRICE_UNIT}",)


def test_every_price_column_has_its_unit(lake) -> None:
    with _connect(lake, "UTC") as con:
        columns = con.sql(
            "select schema_name || '.' || table_name, column_name, data_type, comment "
            "from duckdb_columns() where schema_name in ('ercot', 'nyiso', 'all_isos')"
        ).fetchall()
    doubles = [(view, c, comment) for view, c, kind, comment in columns if kind == "DOUBLE"]
    assert len(doubles) > 100
    assert [d for d in doubles if not d[2] or not d[2].endswith(_units_of(d[0]))] == []
    comments = {(view, c): comment for view, c, _, comment in columns}
    view = "ercot.rt_prices_raw_parquet"
    assert comments[(view, "interval_start_utc")] == "interval start, UTC"
    assert "ISO wall clock" in comments[(view, "interval_start_local")]
    assert "real-time" in comments[("ercot.combined_da_as_rt_hourly", "rt_hb_north_max")]


def _native_rt(lake: Lake) -> pl.DataFrame:
    frames = [
        pl.read_parquet(f).with_columns(pl.col("iso").cast(pl.Utf8))
        for iso in ("ercot", "nyiso")
        for f in lake.all_partition_files(f"{iso}/rt_prices/raw_parquet")
    ]
    return pl.concat([f.drop("interval_start_local") for f in frames])


def test_rt_prices_hourly_is_the_mean_of_native_intervals(lake) -> None:
    expected = (
        _native_rt(lake)
        .group_by(
            "iso", "location", "location_type", pl.col("interval_start_utc").dt.truncate("1h")
        )
        .agg(
            pl.col("lmp").mean().alias("lmp_mean"),
            pl.col("lmp").min().alias("lmp_min"),
            pl.col("lmp").max().alias("lmp_max"),
            pl.col("lmp").count().alias("intervals"),
        )
        .sort("iso", "location", "location_type", "interval_start_utc")
    )
    with _connect(lake, "Asia/Tokyo") as con:
        actual = con.sql(
            "select iso, location, location_type, interval_start_utc, lmp_mean, lmp_min, lmp_max, "
            "intervals from all_isos.rt_prices_hourly order by all"
        ).pl()
    actual = actual.with_columns(pl.col("interval_start_utc").dt.convert_time_zone("UTC"))
    assert set(actual["iso"]) == {"ERCOT", "NYISO"}
    assert actual.height == expected.height
    assert (actual["lmp_mean"] - expected["lmp_mean"]).abs().max() < 1e-9
    rest = actual.drop("lmp_mean")
    assert rest.equals(expected.drop("lmp_mean").cast(rest.schema))
    per_hour = actual.group_by("iso").agg(pl.col("intervals").max()).sort("iso").rows()
    assert per_hour == [("ERCOT", 4), ("NYISO", 12)]


# --- README ---------------------------------------------------------------------------------


def _schema_table() -> dict[str, str]:
    """The README's schema table: column -> unit."""
    table = README.read_text().split("| column | type (DuckDB view) | unit |")[1].split("\n\n")[0]
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]*) \|", table, re.MULTILINE)
    return {column: unit.strip() for column, unit in rows}


def test_readme_schema_table_units_come_from_the_registry() -> None:
    table = _schema_table()
    columns = {*price_schema("UTC"), *ancillary_schema("UTC"), "utc_offset"}
    assert columns <= set(table)
    assert {c: table[c] for c in columns} == {c: COLUMN_UNITS.get(c, "") for c in columns}


def test_readme_local_time_example_is_real_output(lake, monkeypatch) -> None:
    """The README's example rows are what `power-market query` prints for its SQL (which
    prints interval_start_utc in the machine's time zone: the README shows a UTC machine)."""
    if duckdb.sql("select current_setting('TimeZone')").fetchone()[0] not in UTC_NAMES:
        pytest.skip("the README example was printed on a machine whose time zone is UTC")
    monkeypatch.setenv("COLUMNS", "100")
    out = io.StringIO()
    assert run_query(EXAMPLE_SQL, data_root=str(lake.root), out=out) == 0
    readme = README.read_text()
    assert EXAMPLE_SQL in readme.replace("\n  ", " ")
    rows = [line for line in out.getvalue().splitlines() if "2024-11-03" in line]
    assert len(rows) == 4 and all(row in readme for row in rows)
    assert [row.split()[-2] for row in rows] == ["-05:00", "-05:00", "-06:00", "-06:00"]


def _wide_lake(root: Path, n_columns: int) -> Lake:
    lake = Lake.at(root)
    start = datetime(2024, 11, 1, 5, tzinfo=ZoneInfo("UTC"))
    frame = pl.DataFrame({"interval_start_utc": [start + timedelta(hours=h) for h in range(3)]})
    frame = frame.with_columns(
        interval_end_utc=pl.col("interval_start_utc").dt.offset_by("1h"),
        interval_start_local=pl.col("interval_start_utc").dt.convert_time_zone("America/Chicago"),
        operating_day=pl.lit(date(2024, 11, 1)),
        **{f"node_{n}": pl.lit(float(n)) for n in range(n_columns)},
    )
    write_parquet_files({lake.partition_file("ercot/rt_lmp/flattened", "2024-11-01"): frame})
    return lake


def _comments(lake: Lake, view: str) -> dict[str, str | None]:
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        columns = con.sql(
            f"select column_name, comment from duckdb_columns() where table_name = '{view}'"
        ).fetchall()
        own = f"select comment from duckdb_views() where view_name = '{view}'"
        (table,) = con.sql(own).fetchall()
    return {"(view)": table[0], **dict(columns)}


def test_a_very_wide_view_states_its_unit_once(tmp_path: Path, monkeypatch) -> None:
    """Column comments cost n^2 in DuckDB: past MAX_COLUMN_COMMENTS only the named columns get
    one, and the view's own comment gives the unit of the location columns."""
    lake = _wide_lake(tmp_path / "data", 5)
    refresh_catalog(lake)
    narrow = _comments(lake, "rt_lmp_flattened")
    assert narrow["node_4"].endswith(", $/MWh") and "$/MWh" in narrow["(view)"]
    monkeypatch.setattr(catalog, "MAX_COLUMN_COMMENTS", 3)
    refresh_catalog(lake)
    wide = _comments(lake, "rt_lmp_flattened")
    assert wide["node_4"] is None and wide["(view)"] == narrow["(view)"]
    assert wide["interval_start_local"] == narrow["interval_start_local"] is not None
