"""The DuckDB catalog: one schema per ISO, one view per asset over its Parquet files.

The catalog holds views only (Parquet is the truth), so it is rebuilt whole in a temp file
and renamed over `warehouse.duckdb`. A user holding the old file open in the duckdb CLI keeps
reading the old views; the writer never needs their lock, so it never fails because of them.
A file lock serializes concurrent rebuilds from parallel runs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from power_market_assets.formats.archive import temp_sibling
from power_market_assets.io.lake import Lake

# Stage folder name -> view suffix. Combined outputs are named combined_<kind> (see views()).
STAGES = ("csv", "raw_parquet", "flattened")
# all_isos.<dataset> unions every ISO's <iso>.<dataset>_raw_parquet (the standard long table).
CROSS_ISO_SCHEMA = "all_isos"
CROSS_ISO_DATASETS = ("da_prices", "rt_prices", "as_prices")


@dataclass(frozen=True)
class CatalogView:
    schema: str
    name: str
    glob: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def discover_views(lake: Lake) -> list[CatalogView]:
    """Every asset folder that holds Parquet files becomes a view.

    lake/<iso>/<dataset>/<stage>/year=*/... -> <iso>.<dataset>_<stage>
    lake/<iso>/combined/<kind>/year=*/...   -> <iso>.combined_<kind>
    """
    views = []
    if not lake.lake_dir.exists():
        return views
    for iso_dir in sorted(p for p in lake.lake_dir.iterdir() if p.is_dir()):
        for dataset_dir in sorted(p for p in iso_dir.iterdir() if p.is_dir()):
            for stage_dir in sorted(p for p in dataset_dir.iterdir() if p.is_dir()):
                if not any(stage_dir.glob("year=*/*.parquet")):
                    continue
                if dataset_dir.name == "combined":
                    name = f"combined_{stage_dir.name}"
                else:
                    name = f"{dataset_dir.name}_{stage_dir.name}"
                views.append(
                    CatalogView(
                        schema=iso_dir.name,
                        name=name,
                        glob=str(stage_dir / "year=*" / "*.parquet"),
                    )
                )
    return views


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(view: CatalogView) -> str:
    return (
        f'CREATE OR REPLACE VIEW "{view.schema}"."{view.name}" AS '
        f"SELECT * FROM read_parquet({_quote(view.glob)}, union_by_name = true, "
        f"hive_partitioning = false)"
    )


def cross_iso_sql(views: list[CatalogView]) -> dict[str, str]:
    """all_isos views: one per standard dataset, the union (by column name) of every ISO's
    stage-2 table, so hubs of different ISOs compare in one query, in UTC."""
    statements = {}
    for dataset in CROSS_ISO_DATASETS:
        parts = [v for v in views if v.name == f"{dataset}_raw_parquet"]
        if not parts:
            continue
        union = "\nUNION ALL BY NAME\n".join(f"SELECT * FROM {v.qualified}" for v in parts)
        statements[f"{CROSS_ISO_SCHEMA}.{dataset}"] = (
            f'CREATE OR REPLACE VIEW "{CROSS_ISO_SCHEMA}"."{dataset}" AS {union}'
        )
    return statements


@contextmanager
def _rebuild_lock(lake: Lake) -> Iterator[None]:
    lake.root.mkdir(parents=True, exist_ok=True)
    with open(lake.root / ".warehouse.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refresh_catalog(lake: Lake) -> list[str]:
    """Rebuild `warehouse.duckdb` from the lake; returns the qualified view names."""
    with _rebuild_lock(lake):
        views = discover_views(lake)
        target = lake.warehouse_path
        temp = temp_sibling(target)
        try:
            with duckdb.connect(str(temp)) as con:
                for schema in sorted({v.schema for v in views}):
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                for view in views:
                    con.execute(view_sql(view))
                cross_iso = cross_iso_sql(views)
                if cross_iso:
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{CROSS_ISO_SCHEMA}"')
                for statement in cross_iso.values():
                    con.execute(statement)
                con.execute("CHECKPOINT")
            os.replace(temp, target)
        finally:
            for leftover in (temp, temp.with_name(temp.name + ".wal")):
                if leftover.exists():
                    leftover.unlink()
        names = [v.qualified for v in views]
        return names + list(cross_iso)


def connect_read_only(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog, for users and checks."""
    return duckdb.connect(str(lake.warehouse_path), read_only=True)
