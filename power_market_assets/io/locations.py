"""The wide columns' mapping back to the ISO's names, stored next to the flattened months.

Stage 3 names its columns by plain identifiers (`transforms.names`: "N.Y.C." -> n_y_c). Each
flattened month writes its mapping to `lake/<iso>/<dataset>/flattened/locations/<month>.parquet`
(outside the `year=*` partition folders, so the flattened views never read it), atomically, and
the `<iso>.locations` view reads every dataset's mappings of the ISO: one row per dataset and
wide column, with the months it was seen in. Combined columns are da_/as_/rt_ + a wide column.
"""

from __future__ import annotations

from glob import glob as matching_paths
from pathlib import Path

import polars as pl

from power_market_assets.io.duckdb_safety import quote_identifier, quote_literal
from power_market_assets.io.lake import Lake, safe_part, stage_lake_path, write_parquet_files
from power_market_assets.registry.spec import DatasetSpec
from power_market_assets.transforms.names import MAP_SCHEMA

LOCATIONS_FOLDER = "locations"
VIEW_NAME = "locations"


def locations_file(lake: Lake, spec: DatasetSpec, month: str) -> Path:
    """Where one flattened month's column mapping lives."""
    folder = lake.stage_dir(stage_lake_path(spec, "flattened")) / LOCATIONS_FOLDER
    return folder / f"{safe_part(month)}.parquet"


def write_locations(lake: Lake, spec: DatasetSpec, per_month: dict[str, pl.DataFrame]) -> None:
    """Write each month's mapping (from `FlattenResult.locations`), all or none renamed."""
    frames = {
        locations_file(lake, spec, month): mapping.select(
            pl.lit(spec.dataset).alias("dataset"),
            pl.lit(month).cast(pl.Date).alias("month"),
            *MAP_SCHEMA,
        )
        for month, mapping in per_month.items()
    }
    write_parquet_files(frames)


def locations_glob(lake: Lake, iso: str) -> str:
    """Every dataset's month mappings of one ISO."""
    iso_dir = lake.lake_dir / safe_part(iso.lower())
    return str(iso_dir / "*" / "flattened" / LOCATIONS_FOLDER / "*.parquet")


def locations_view_sql(lake: Lake, iso: str) -> str | None:
    """`CREATE VIEW <iso>.locations`: dataset, wide_column, location, location_type,
    iso_location_type, product, zone, first_month, last_month. None while no month of the ISO
    has been flattened (read_parquet refuses an empty glob)."""
    glob = locations_glob(lake, iso)
    paths = matching_paths(glob)
    if not paths:
        return None
    columns = ", ".join(["dataset", *_mapping_columns(paths)])
    return (
        f"CREATE OR REPLACE VIEW {quote_identifier(iso.lower())}.{quote_identifier(VIEW_NAME)} "
        f"AS SELECT {columns}, min(month) AS first_month, max(month) AS last_month "
        f"FROM read_parquet({quote_literal(glob)}, union_by_name = true, "
        f"hive_partitioning = false) GROUP BY ALL ORDER BY dataset, wide_column"
    )


def _mapping_columns(paths: list[str]) -> list[str]:
    """MAP_SCHEMA's columns as the view selects them: a column no file has yet (files written
    before it was added, e.g. by an older version in a data root kept across upgrades) is a
    typed NULL instead of a binder error that would fail every catalog rebuild."""
    present = {name for path in paths for name in pl.read_parquet_schema(path)}
    return [
        quote_identifier(name) if name in present else f"NULL::VARCHAR AS {quote_identifier(name)}"
        for name in MAP_SCHEMA
    ]
