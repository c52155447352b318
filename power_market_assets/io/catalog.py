"""The DuckDB catalog: one schema per ISO, one view per asset over its Parquet files.

The catalog holds views only (Parquet is the truth), so it is rebuilt whole in a temp file
and renamed over `warehouse.duckdb`. A user holding the old file open in the duckdb CLI keeps
reading the old views; the writer never needs their lock, so it never fails because of them.
A file lock serializes concurrent rebuilds from parallel runs.

View names come from the registry, never from folder names (a folder named with a `"` once
ran its own SQL), every identifier and literal is escaped, and the rebuild connection can read
nothing outside the lake (io/duckdb_safety.py).

The Parquet files keep `interval_start_local` as an instant with the ISO's zone, which DuckDB
would print in the session's time zone (UTC: the same text as `interval_start_utc`). The views
show it as the ISO's wall clock instead (a TIMESTAMP, whatever the session time zone) with
`utc_offset` ('-05:00') next to it, so the repeated fall-back hour stays distinguishable. Every
column carries a comment with its meaning and unit (registry/schema.py COLUMN_UNITS):
`select column_name, comment from duckdb_columns() where table_name = '...'`.

Issue 13's kinds add views beyond one per folder: `<iso>.<dataset>_latest` for a dataset that
keeps every vintage (forecasts, wind and solar: the newest vintage of each interval and series,
every column of its raw_parquet view), and `all_isos.<name>` per table KIND (`KIND_VIEWS`:
load, load_forecast, fuel_mix, renewables), the union of every ISO's datasets of that kind with a
`dataset` column, in UTC (each ISO's interval_start_local its own wall clock), MW, standard fuel
categories. Each exists once at least one ISO has a partition of such a dataset.
`<iso>.combined_fundamentals_hourly` is the ISO's fundamentals output (assets/combined.py).
Issue 14: `<iso>.carbon_intensity` and `<iso>.carbon_intensity_hourly` (assets/carbon.py,
files under `<iso>/carbon_intensity/`) and their unions `all_isos.carbon_intensity[_hourly]`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from power_market_assets.formats.archive import temp_sibling
from power_market_assets.io.changes import CHANGES_STAGE
from power_market_assets.io.duckdb_safety import lock_to_lake, quote_identifier, quote_literal
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.io.locations import VIEW_NAME as LOCATIONS_VIEW
from power_market_assets.io.locations import locations_view_sql
from power_market_assets.io.object_store import open_bucket_in_duckdb
from power_market_assets.registry import ALL_DATASETS, COMBINED_INPUTS, FUNDAMENTALS_INPUTS
from power_market_assets.registry.kinds import TableKind, kind_named
from power_market_assets.registry.schema import (
    COLUMN_MEANINGS,
    FUNDAMENTALS_VIEW_COMMENT,
    column_comment,
    wide_view_comment,
)
from power_market_assets.registry.spec import STAGES, DatasetSpec

log = logging.getLogger(__name__)

# Every folder of a dataset that gets a view, named by the folder (<iso>.<dataset>_<folder>):
# its stages and its change log (io/changes.py). Combined outputs are named combined_<kind>
# (registry_views()).
VIEW_STAGES = (*STAGES, CHANGES_STAGE)
# The outputs of each ISO's combined asset (assets/combined.py COMBINED_KINDS; a test keeps
# the two equal: the io layer does not import the Dagster assets).
COMBINED_KIND_NAMES = ("da_as_hourly", "da_as_rt_hourly", "da_as_rt_native")
# Each ISO's fundamentals_hourly output (assets/combined.py FUNDAMENTALS_KIND), where the ISO
# names FUNDAMENTALS_INPUTS.
FUNDAMENTALS_KIND_NAME = "fundamentals_hourly"
# <iso>.carbon_intensity and <iso>.carbon_intensity_hourly (assets/carbon.py) of every ISO with
# a fuel_mix dataset, files under <iso>/carbon_intensity/<folder>; all_isos.<view> unions them.
CARBON_INPUT = "fuel_mix"
CARBON_VIEWS = {"carbon_intensity": "native", "carbon_intensity_hourly": "hourly"}
# Issue 15: <iso>.report_<name> (assets/reports.py, docs/REPORTS.md) of every ISO with
# COMBINED_INPUTS, files under <iso>/reports/<name>; all_isos.<view> unions the price tables.
REPORT_VIEWS = (
    "report_price_stats",
    "report_price_duration",
    "report_bess_value",
    "report_bess_schedule",
)
CROSS_ISO_REPORTS = ("report_price_stats", "report_price_duration")
# <iso>.<dataset>_latest: the newest vintage of a dataset that keeps every vintage.
LATEST_SUFFIX = "_latest"
# all_isos.<view>: every ISO's datasets of one table kind, with a `dataset` column.
KIND_VIEWS = {
    "load": "quantity_by_area",
    "load_forecast": "forecast",
    "fuel_mix": "quantity_by_fuel",
    "renewables": "renewable",
}
# all_isos.<dataset> unions every ISO's <iso>.<dataset>_raw_parquet (the standard long table).
CROSS_ISO_SCHEMA = "all_isos"
CROSS_ISO_DATASETS = ("da_prices", "rt_prices", "as_prices")
# all_isos.rt_prices_hourly: every ISO's native RT prices (5 or 15 minutes, irregular for NYISO)
# averaged to the hour, so ISOs compare hour by hour (not an ISO's own hourly price).
RT_HOURLY_VIEW = "rt_prices_hourly"
RT_NATIVE_DATASET = "rt_prices"
# The standard time columns, first in every raw, flattened and combined table.
TIME_COLUMNS = ("interval_start_utc", "interval_end_utc", "interval_start_local")
LOCAL_COLUMN = "interval_start_local"
OFFSET_COLUMN = "utc_offset"
ZONED = "TIMESTAMP WITH TIME ZONE"
# DuckDB rewrites a view's entry for each column comment, so commenting n columns costs n^2
# (1,000 columns 0.3 s, 4,000 columns 10 s): wider views (nodal flattened months) get their
# named columns' comments and the unit of all the others in the view's own comment.
MAX_COLUMN_COMMENTS = 1000
# What a rebuild killed mid-way leaves in the data root: its temp database, its WAL and
# DuckDB's spill folder (`<database>.tmp`).
_REBUILD_TEMPS = ".warehouse.duckdb.*.tmp*"


TableShape = Literal["long", "wide", "combined"]


@dataclass(frozen=True)
class CatalogView:
    schema: str
    name: str
    lake_path: str  # <iso>/<dataset>/<stage> or <iso>/combined/<kind>
    glob: str
    timezone: str = ""  # the ISO's (registry), for the wall-clock interval_start_local
    kind: str = ""  # the dataset's table kind (registry/kinds.py); "" for combined outputs
    dataset: str = ""  # the registry dataset ("" for combined outputs)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def shape(self) -> TableShape:
        """Long tables name their columns; wide ones hold one price column per location."""
        if "/combined/" in self.lake_path:
            return "combined"
        return "wide" if self.lake_path.endswith("/flattened") else "long"

    @property
    def table_kind(self) -> TableKind | None:
        return kind_named(self.kind) if self.kind else None


def carbon_lake_path(iso: str, view: str) -> str:
    """`<iso>/carbon_intensity/native` or `.../hourly`: the folder of a carbon view."""
    return f"{iso.lower()}/carbon_intensity/{CARBON_VIEWS[view]}"


def report_lake_path(iso: str, view: str) -> str:
    """`<iso>/reports/price_stats` for `report_price_stats`: the folder of a report view."""
    return f"{iso.lower()}/reports/{view.removeprefix('report_')}"


def _view(
    lake: Lake, lake_path: str, name: str, timezone: str, spec: DatasetSpec | None = None
) -> CatalogView:
    return CatalogView(
        schema=lake_path.split("/")[0],
        name=name,
        lake_path=lake_path,
        glob=lake.view_glob(lake_path),  # an s3:// root: the bucket, through httpfs
        timezone=timezone,
        kind=spec.table_kind.name if spec else "",
        dataset=spec.dataset if spec else "",
    )


def _dataset_views(lake: Lake, spec: DatasetSpec) -> list[CatalogView]:
    return [
        _view(lake, stage_lake_path(spec, stage), f"{spec.dataset}_{stage}", spec.timezone, spec)
        for stage in VIEW_STAGES
    ]


def registry_views(lake: Lake) -> list[CatalogView]:
    """Every view the registry can produce, in lake path order; names never come from the disk.

    <iso>/<dataset>/<stage> -> <iso>.<dataset>_<stage>   (and <iso>.<dataset>_changes)
    <iso>/combined/<kind>   -> <iso>.combined_<kind>
    """
    views = [view for spec in ALL_DATASETS for view in _dataset_views(lake, spec)]
    views += [
        _view(lake, f"{iso.lower()}/combined/{kind}", f"combined_{kind}", inputs[0].timezone)
        for iso, inputs in COMBINED_INPUTS.items()
        for kind in COMBINED_KIND_NAMES
    ]
    views += [
        _view(
            lake,
            f"{iso.lower()}/combined/{FUNDAMENTALS_KIND_NAME}",
            f"combined_{FUNDAMENTALS_KIND_NAME}",
            inputs.load.timezone,
        )
        for iso, inputs in FUNDAMENTALS_INPUTS.items()
        if inputs is not None
    ]
    views += [
        _view(lake, carbon_lake_path(spec.iso, name), name, spec.timezone)
        for spec in ALL_DATASETS
        if spec.dataset == CARBON_INPUT
        for name in CARBON_VIEWS
    ]
    views += [
        _view(lake, report_lake_path(iso, name), name, inputs[0].timezone)
        for iso, inputs in COMBINED_INPUTS.items()
        for name in REPORT_VIEWS
    ]
    return sorted(views, key=lambda v: v.lake_path)


def existing_views(lake: Lake) -> list[CatalogView]:
    """The registry's views whose folder holds Parquet files."""
    return [v for v in registry_views(lake) if lake.all_partition_files(v.lake_path)]


def unregistered_folders(lake: Lake) -> list[str]:
    """Lake folders no registry entry owns (a typo, a copy, or a hostile name): never viewed."""
    known = {v.lake_path for v in registry_views(lake)}
    if not lake.lake_dir.is_dir():
        return []
    found = (p.relative_to(lake.lake_dir).as_posix() for p in lake.lake_dir.glob("*/*/*"))
    return sorted(f for f in found if f not in known and (lake.lake_dir / f).is_dir())


def wall_clock_sql(column: str, timezone: str) -> str:
    """An instant as the ISO's wall clock: a TIMESTAMP, printed the same in every session."""
    return f"timezone({quote_literal(timezone)}, {quote_identifier(column)})"


def utc_offset_sql(column: str, timezone: str) -> str:
    """The ISO's UTC offset at an instant as text, '-05:00' (an INTERVAL column would not
    survive `power-market query --csv`, which goes through Polars)."""
    minutes = (
        f"CAST((epoch({wall_clock_sql(column, timezone)}) - epoch({quote_identifier(column)}))"
        " // 60 AS INTEGER)"
    )
    sign = f"CASE WHEN {minutes} < 0 THEN '-' ELSE '+' END"
    return f"printf('%s%02d:%02d', {sign}, abs({minutes}) // 60, abs({minutes}) % 60)"


def _select_list(view: CatalogView, wall_clock: bool) -> str:
    """`*`, or the time columns first with interval_start_local as the ISO's wall clock and
    utc_offset after it, then every other column (columns added over the years included)."""
    if not (wall_clock and view.timezone):
        return "*"
    start, end, local = (quote_identifier(c) for c in TIME_COLUMNS)
    return (
        f"{start}, {end}, {wall_clock_sql(LOCAL_COLUMN, view.timezone)} AS {local}, "
        f"{utc_offset_sql(LOCAL_COLUMN, view.timezone)} AS {quote_identifier(OFFSET_COLUMN)}, "
        f"* EXCLUDE ({start}, {end}, {local})"
    )


def view_sql(view: CatalogView, wall_clock: bool = False) -> str:
    """The view over a folder's Parquet files; `wall_clock` when they store a zoned
    interval_start_local (stores_zoned_local)."""
    return (
        f"CREATE OR REPLACE VIEW {_qualified_sql(view)} AS SELECT {_select_list(view, wall_clock)} "
        f"FROM read_parquet({quote_literal(view.glob)}, union_by_name = true, "
        f"hive_partitioning = false)"
    )


def stores_zoned_local(con: duckdb.DuckDBPyConnection, lake: Lake, view: CatalogView) -> bool:
    """Whether the folder's newest file has the standard time columns with a zoned
    interval_start_local (one footer read, on the connection locked to the lake)."""
    files = lake.all_partition_files(view.lake_path)
    if not files or not view.timezone:
        return False
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(files[-1]))})"
    ).fetchall()
    types = {row[0]: row[1] for row in described}
    return all(c in types for c in TIME_COLUMNS) and types[LOCAL_COLUMN] == ZONED


def _qualified_sql(view: CatalogView) -> str:
    return f"{quote_identifier(view.schema)}.{quote_identifier(view.name)}"


def _union_view(name: str, selects: list[str]) -> tuple[str, str]:
    """(qualified name, CREATE VIEW all_isos.<name> AS the union by column name of selects)."""
    union = "\nUNION ALL BY NAME\n".join(selects)
    target = f"{quote_identifier(CROSS_ISO_SCHEMA)}.{quote_identifier(name)}"
    return f"{CROSS_ISO_SCHEMA}.{name}", f"CREATE OR REPLACE VIEW {target} AS {union}"


def rt_hourly_select(view: CatalogView) -> str:
    """One ISO's native RT prices averaged per location and UTC hour (an interval belongs to
    the hour its start falls in, truncated in UTC whatever the session time zone); the hour
    also as the ISO's wall clock with its offset, so ERCOT's 01:00 shows twice on 2024-11-03."""
    hour = quote_identifier("hour_start_utc")
    truncated = "date_trunc('hour', timezone('UTC', interval_start_utc))"
    return (
        f"SELECT {hour} AS interval_start_utc, "
        f"timezone('UTC', max(naive_hour) + INTERVAL 1 HOUR) AS interval_end_utc, "
        f"{wall_clock_sql('hour_start_utc', view.timezone)} AS interval_start_local, "
        f"{utc_offset_sql('hour_start_utc', view.timezone)} AS utc_offset, "
        "operating_day, iso, market, location, location_type, "
        "min(interval_minutes) AS native_interval_minutes, avg(lmp) AS lmp_mean, "
        "min(lmp) AS lmp_min, max(lmp) AS lmp_max, count(lmp) AS intervals "
        f"FROM (SELECT *, {truncated} AS naive_hour, timezone('UTC', {truncated}) AS {hour} "
        f"FROM {_qualified_sql(view)}) "
        f"GROUP BY {hour}, operating_day, iso, market, location, location_type"
    )


def latest_views_sql(views: list[CatalogView]) -> dict[str, str]:
    """`<iso>.<dataset>_latest` for every raw_parquet view of a kind with vintages: per interval
    and series, the row of the newest vintage (every column of the raw view)."""
    statements = {}
    for view in views:
        kind = view.table_kind
        if (
            kind is None
            or kind.vintage_column is None
            or view.name != f"{view.dataset}_raw_parquet"
        ):
            continue
        series = ", ".join(quote_identifier(c) for c in kind.key if c != kind.vintage_column)
        name = f"{view.dataset}{LATEST_SUFFIX}"
        target = f"{quote_identifier(view.schema)}.{quote_identifier(name)}"
        statements[f"{view.schema}.{name}"] = (
            f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {_qualified_sql(view)} "
            f"QUALIFY row_number() OVER (PARTITION BY {series} "
            f"ORDER BY {quote_identifier(kind.vintage_column)} DESC) = 1"
        )
    return statements


def kind_views_sql(views: list[CatalogView]) -> dict[str, str]:
    """all_isos.<view> per table kind (KIND_VIEWS): the union by column name of every ISO's
    raw_parquet views of that kind, each row with its `dataset`; none while no ISO has one."""
    statements = {}
    for name, kind in KIND_VIEWS.items():
        parts = [
            f"SELECT {quote_literal(v.dataset)} AS dataset, * FROM {_qualified_sql(v)}"
            for v in views
            if v.kind == kind and v.name == f"{v.dataset}_raw_parquet"
        ]
        if parts:
            qualified, sql = _union_view(name, parts)
            statements[qualified] = sql
    return statements


def cross_iso_sql(
    views: list[CatalogView], standard: frozenset[str] = frozenset()
) -> dict[str, str]:
    """all_isos views: one per standard dataset, the union (by column name) of every ISO's
    stage-2 table, so hubs of different ISOs compare in one query, in UTC (each ISO's
    interval_start_local is its own wall clock); and rt_prices_hourly (rt_hourly_select) over
    the native RT views named in `standard` (those holding the standard time columns)."""
    statements = dict(
        _union_view(dataset, [f"SELECT * FROM {_qualified_sql(v)}" for v in parts])
        for dataset in CROSS_ISO_DATASETS
        if (parts := [v for v in views if v.name == f"{dataset}_raw_parquet"])
    )
    native_rt = [
        v for v in views if v.name == f"{RT_NATIVE_DATASET}_raw_parquet" and v.qualified in standard
    ]
    if native_rt:
        name, sql = _union_view(RT_HOURLY_VIEW, [rt_hourly_select(v) for v in native_rt])
        statements[name] = sql
    statements.update(
        _union_view(name, [f"SELECT * FROM {_qualified_sql(v)}" for v in parts])
        for name in (*CARBON_VIEWS, *CROSS_ISO_REPORTS)
        if (parts := [v for v in views if v.name == name])
    )
    return {**statements, **kind_views_sql(views)}


def _view_comment(qualified: str, shape: TableShape, kind: TableKind | None) -> str | None:
    """What a wide or combined view says on itself about its value columns."""
    if shape == "long":
        return None
    if qualified.endswith(f".combined_{FUNDAMENTALS_KIND_NAME}"):
        return FUNDAMENTALS_VIEW_COMMENT
    return wide_view_comment(kind)


def _comment_sql(
    con: duckdb.DuckDBPyConnection,
    qualified: str,
    shape: TableShape,
    kind: TableKind | None = None,
) -> list[str]:
    """`COMMENT ON COLUMN` for every column of a view that has a meaning or a unit; a wide
    view also says on itself what its value columns hold (prices in $/MWh, or MW by `kind`)."""
    schema, name = qualified.split(".", 1)
    columns = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = "
        f"{quote_literal(schema)} AND table_name = {quote_literal(name)} ORDER BY column_index"
    ).fetchall()
    target = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    statements = []
    if (view_comment := _view_comment(qualified, shape, kind)) is not None:
        statements.append(f"COMMENT ON VIEW {target} IS {quote_literal(view_comment)}")
    if len(columns) > MAX_COLUMN_COMMENTS:
        columns = [(c,) for (c,) in columns if c in COLUMN_MEANINGS]
    for (column,) in columns:
        comment = column_comment(
            column, wide=shape == "wide", combined=shape == "combined", kind=kind
        )
        if comment:
            statements.append(
                f"COMMENT ON COLUMN {target}.{quote_identifier(column)} IS {quote_literal(comment)}"
            )
    return statements


def comment_columns(
    con: duckdb.DuckDBPyConnection,
    shapes: dict[str, TableShape],
    kinds: dict[str, TableKind | None] | None = None,
) -> None:
    """Comments (meaning and unit) on the columns of the views, by qualified name (a wide
    view's by its dataset's kind in `kinds`)."""
    kinds = kinds or {}
    statements = [
        sql
        for name, shape in shapes.items()
        for sql in _comment_sql(con, name, shape, kinds.get(name))
    ]
    if statements:
        con.execute(";\n".join(statements))


@contextmanager
def _rebuild_lock(lake: Lake, wait: bool = True) -> Iterator[bool]:
    """Serializes rebuilds; yields False (without waiting) when `wait` is off and it is held."""
    lake.root.mkdir(parents=True, exist_ok=True)
    with open(lake.root / ".warehouse.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_rebuild_temps(lake: Lake) -> int:
    """Only called holding the rebuild lock: then no live rebuild owns any of these."""
    removed = 0
    for path in lake.root.glob(_REBUILD_TEMPS):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.warning("removed %d temp file(s) of an interrupted catalog rebuild", removed)
    return removed


def _discard(temp: Path) -> None:
    """This rebuild's own temp database, WAL and spill folder, after success or failure."""
    for leftover in (temp, temp.with_name(temp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(temp.with_name(temp.name + ".tmp"), ignore_errors=True)


def sweep_dead_rebuilds(lake: Lake) -> int:
    """At start: temp databases of killed rebuilds; nothing while a rebuild is running."""
    if not lake.root.is_dir():
        return 0
    with _rebuild_lock(lake, wait=False) as held:
        return _remove_rebuild_temps(lake) if held else 0


def _connect_for_rebuild(path: str, lake: Lake) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    try:
        lock_to_lake(con, lake)
    except BaseException:
        con.close()
        raise
    return con


def _write_catalog(
    con: duckdb.DuckDBPyConnection, views: list[CatalogView], lake: Lake
) -> dict[str, str]:
    """Every view; returns the statements of the views beyond one per lake folder (the
    `<iso>.locations` mappings and the all_isos unions) by qualified name."""
    schemas = sorted({v.schema for v in views})
    for schema in schemas:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
    standard = frozenset(v.qualified for v in views if stores_zoned_local(con, lake, v))
    for view in views:
        con.execute(view_sql(view, view.qualified in standard))
    extra = {
        f"{iso}.{LOCATIONS_VIEW}": sql for iso in schemas if (sql := locations_view_sql(lake, iso))
    }
    for statement in extra.values():
        con.execute(statement)
    latest = latest_views_sql(views)
    for statement in latest.values():
        con.execute(statement)
    extra.update(latest)
    cross_iso = cross_iso_sql(views, standard)
    if cross_iso:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(CROSS_ISO_SCHEMA)}")
    for statement in cross_iso.values():
        con.execute(statement)
    shapes = {v.qualified: v.shape for v in views}
    kinds = {v.qualified: v.table_kind for v in views}
    comment_columns(con, {**shapes, **dict.fromkeys([*extra, *cross_iso], "long")}, kinds)
    con.execute("CHECKPOINT")
    return {**extra, **cross_iso}


def refresh_catalog(lake: Lake) -> list[str]:
    """Rebuild `warehouse.duckdb` from the lake; returns the qualified view names.

    View names come from the registry only and the connection reads nothing outside the
    lake, so no folder name can inject SQL or read other files.
    """
    with _rebuild_lock(lake):
        _remove_rebuild_temps(lake)
        lake.hydrate(lake.lake_dir)  # an s3:// root: what other machines wrote, into the mirror
        stray = unregistered_folders(lake)
        if stray:
            log.warning("lake folders not in the registry, not in the catalog: %r", stray)
        views = existing_views(lake)
        target = lake.warehouse_path
        temp = temp_sibling(target)
        try:
            with _connect_for_rebuild(str(temp), lake) as con:
                extra = _write_catalog(con, views, lake)
            os.replace(temp, target)
        finally:
            _discard(temp)
        names = [v.qualified for v in views]
        return names + list(extra)


def connect_read_only(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog, for users and checks (with an s3:// root's
    httpfs and temporary secret when its views read the bucket)."""
    con = duckdb.connect(str(lake.warehouse_path), read_only=True)
    if lake.store is not None:
        open_bucket_in_duckdb(con, lake.store, lake.duckdb_extension_dir)
    return con
