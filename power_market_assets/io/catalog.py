"""The DuckDB catalog: one schema per ISO, one view per asset over its Parquet files.

The catalog holds views only (Parquet is the truth), so it is rebuilt whole in a temp file
and renamed over `warehouse.duckdb`. A user holding the old file open in the duckdb CLI keeps
reading the old views; the writer never needs their lock, so it never fails because of them.
A file lock serializes concurrent rebuilds from parallel runs.

View names come from the registry, never from folder names (a folder named with a `"` once
ran its own SQL), every identifier and literal is escaped, and the rebuild connection can read
nothing outside the lake (io/duckdb_safety.py).
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

import duckdb

from power_market_assets.formats.archive import temp_sibling
from power_market_assets.io.changes import CHANGES_STAGE
from power_market_assets.io.duckdb_safety import lock_to_lake, quote_identifier, quote_literal
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.io.locations import VIEW_NAME as LOCATIONS_VIEW
from power_market_assets.io.locations import locations_view_sql
from power_market_assets.registry import ALL_DATASETS, COMBINED_INPUTS
from power_market_assets.registry.spec import DatasetSpec

log = logging.getLogger(__name__)

# Stage folder name -> view suffix. Combined outputs are named combined_<kind> (registry_views()).
STAGES = ("csv", "raw_parquet", "flattened")
# Every folder of a dataset that gets a view: its stages and its change log (io/changes.py).
VIEW_STAGES = (*STAGES, CHANGES_STAGE)
# The outputs of each ISO's combined asset (assets/combined.py COMBINED_KINDS; a test keeps
# the two equal: the io layer does not import the Dagster assets).
COMBINED_KIND_NAMES = ("da_as_hourly", "da_as_rt_hourly", "da_as_rt_native")
# all_isos.<dataset> unions every ISO's <iso>.<dataset>_raw_parquet (the standard long table).
CROSS_ISO_SCHEMA = "all_isos"
CROSS_ISO_DATASETS = ("da_prices", "rt_prices", "as_prices")
# What a rebuild killed mid-way leaves in the data root: its temp database, its WAL and
# DuckDB's spill folder (`<database>.tmp`).
_REBUILD_TEMPS = ".warehouse.duckdb.*.tmp*"


@dataclass(frozen=True)
class CatalogView:
    schema: str
    name: str
    lake_path: str  # <iso>/<dataset>/<stage> or <iso>/combined/<kind>
    glob: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def _view(lake: Lake, lake_path: str, name: str) -> CatalogView:
    glob = lake.stage_dir(lake_path) / "year=*" / "*.parquet"
    return CatalogView(
        schema=lake_path.split("/")[0], name=name, lake_path=lake_path, glob=str(glob)
    )


def _dataset_views(lake: Lake, spec: DatasetSpec) -> list[CatalogView]:
    return [
        _view(lake, stage_lake_path(spec, stage), f"{spec.dataset}_{stage}")
        for stage in VIEW_STAGES
    ]


def registry_views(lake: Lake) -> list[CatalogView]:
    """Every view the registry can produce, in lake path order; names never come from the disk.

    <iso>/<dataset>/<stage> -> <iso>.<dataset>_<stage>   (and <iso>.<dataset>_changes)
    <iso>/combined/<kind>   -> <iso>.combined_<kind>
    """
    views = [view for spec in ALL_DATASETS for view in _dataset_views(lake, spec)]
    views += [
        _view(lake, f"{iso.lower()}/combined/{kind}", f"combined_{kind}")
        for iso in COMBINED_INPUTS
        for kind in COMBINED_KIND_NAMES
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


def view_sql(view: CatalogView) -> str:
    return (
        f"CREATE OR REPLACE VIEW {_qualified_sql(view)} AS SELECT * FROM "
        f"read_parquet({quote_literal(view.glob)}, union_by_name = true, "
        f"hive_partitioning = false)"
    )


def _qualified_sql(view: CatalogView) -> str:
    return f"{quote_identifier(view.schema)}.{quote_identifier(view.name)}"


def cross_iso_sql(views: list[CatalogView]) -> dict[str, str]:
    """all_isos views: one per standard dataset, the union (by column name) of every ISO's
    stage-2 table, so hubs of different ISOs compare in one query, in UTC."""
    statements = {}
    for dataset in CROSS_ISO_DATASETS:
        parts = [v for v in views if v.name == f"{dataset}_raw_parquet"]
        if not parts:
            continue
        union = "\nUNION ALL BY NAME\n".join(f"SELECT * FROM {_qualified_sql(v)}" for v in parts)
        target = f"{quote_identifier(CROSS_ISO_SCHEMA)}.{quote_identifier(dataset)}"
        statements[f"{CROSS_ISO_SCHEMA}.{dataset}"] = f"CREATE OR REPLACE VIEW {target} AS {union}"
    return statements


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
    for view in views:
        con.execute(view_sql(view))
    extra = {
        f"{iso}.{LOCATIONS_VIEW}": sql for iso in schemas if (sql := locations_view_sql(lake, iso))
    }
    for statement in extra.values():
        con.execute(statement)
    cross_iso = cross_iso_sql(views)
    if cross_iso:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(CROSS_ISO_SCHEMA)}")
    for statement in cross_iso.values():
        con.execute(statement)
    con.execute("CHECKPOINT")
    return {**extra, **cross_iso}


def refresh_catalog(lake: Lake) -> list[str]:
    """Rebuild `warehouse.duckdb` from the lake; returns the qualified view names.

    View names come from the registry only and the connection reads nothing outside the
    lake, so no folder name can inject SQL or read other files.
    """
    with _rebuild_lock(lake):
        _remove_rebuild_temps(lake)
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
    """A read-only connection to the catalog, for users and checks."""
    return duckdb.connect(str(lake.warehouse_path), read_only=True)
