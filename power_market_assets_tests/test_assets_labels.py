"""Issue 10 item 13: the lineage graph names each node's dataset, and a combined month's plot
shows DA, RT and AS as the output holds them.

The UI labels a node with the last component of its asset key: `[iso, dataset, stage]` showed
`csv`, `raw_parquet` and `flattened` four times over in each ISO. Keys are now
`[iso, "<dataset>_<stage>"]` (and `[iso, "combined_<kind>"]`), the catalog's view names;
the lake paths (`<iso>/<dataset>/<stage>`) do not change.
"""

from __future__ import annotations

import base64
import struct
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.assets import all_assets
from power_market_assets.assets.carbon import CDS_EXPORT, NO_VIEW
from power_market_assets.assets.combined import (
    COMBINED_KINDS,
    FUNDAMENTALS_KIND,
    build_combined_assets,
)
from power_market_assets.assets.factory import build_dataset_assets
from power_market_assets.automation.runs import landing_run_config
from power_market_assets.definitions import iso_jobs, lake_resources
from power_market_assets.io.catalog import registry_views
from power_market_assets.io.lake import Lake, stage_lake_path
from power_market_assets.registry import ALL_DATASETS, COMBINED_INPUTS, ercot
from power_market_assets.registry.spec import STAGES, combined_key_path
from power_market_assets.reporting.plots import (
    PANEL_HEIGHT_PX,
    combined_panels,
    market_panels_figure,
    market_panels_plot_png,
)
from power_market_assets.transforms.names import default_wide_columns

pytestmark = pytest.mark.slow  # a combined month built through Dagster

MONTH = "2024-11-01"
DAY = datetime(2024, 11, 3, 5, tzinfo=UTC)  # ERCOT's fall-back day starts 05:00 UTC


# ------------------------------------------------------------------------------ asset keys


def test_stage_keys_are_iso_and_dataset_stage() -> None:
    key = ercot.DA_PRICES.asset_key_path("raw_parquet")
    assert key == ["ercot", "da_prices_raw_parquet"]
    assert combined_key_path("ERCOT", "da_as_hourly") == ["ercot", "combined_da_as_hourly"]
    # the lake keeps its folders
    assert stage_lake_path(ercot.DA_PRICES, "raw_parquet") == "ercot/da_prices/raw_parquet"


def test_asset_keys_are_the_catalog_view_names(tmp_path: Path) -> None:
    """`ercot/da_prices_raw_parquet` is the asset and `ercot.da_prices_raw_parquet` the view."""
    views = {v.qualified for v in registry_views(Lake.at(tmp_path))}
    keys = {".".join(s.asset_key_path(stage)) for s in ALL_DATASETS for stage in STAGES}
    for iso in COMBINED_INPUTS:
        keys |= {".".join(combined_key_path(iso, kind)) for kind in COMBINED_KINDS}
    assert keys <= views, sorted(keys - views)


def test_every_node_label_names_its_dataset_once_per_group() -> None:
    assets = all_assets()
    labels = Counter((a.group_names_by_key[key], key.path[-1]) for a in assets for key in a.keys)
    repeated = sorted(label for label, count in labels.items() if count > 1)
    assert not repeated, f"node labels shown more than once in a group: {repeated}"
    ercot_labels = {label for group, label in labels if group == "ercot"}
    assert {"da_prices_csv", "da_prices_raw_parquet", "da_prices_flattened"} <= ercot_labels
    assert "combined_da_as_rt_hourly" in ercot_labels


def test_keys_keep_their_lake_paths_and_views() -> None:
    """The IO manager still writes where the files always were; each key's view is its name."""
    by_key = {key: a.specs_by_key[key].metadata for a in all_assets() for key in a.keys}
    raw = by_key[dg.AssetKey(["ercot", "da_prices_raw_parquet"])]
    assert raw["lake_path"] == "ercot/da_prices/raw_parquet"
    combined = by_key[dg.AssetKey(["ercot", "combined_da_as_hourly"])]
    assert combined["lake_path"] == "ercot/combined/da_as_hourly"
    for key, metadata in by_key.items():
        if key.path[-1] == CDS_EXPORT:  # JSON files, no view; the metadata says so
            assert metadata["catalog_view"] == NO_VIEW
            continue
        assert metadata["catalog_view"] == ".".join(key.path), key


def test_landing_run_config_names_the_csv_step() -> None:
    """The landing sensor's run config must name the csv asset's op, or the run is refused."""
    csv_key = dg.AssetKey(["ercot", "da_prices_csv"])
    csv_asset = next(a for a in all_assets() if csv_key in a.keys)
    (op,) = landing_run_config(ercot.DA_PRICES)["ops"]
    assert op == csv_asset.node_def.name


def test_monthly_job_selects_flattened_and_combined() -> None:
    monthly = next(j for j in iso_jobs("ERCOT") if j.name == "ercot_monthly")
    keys = {k.to_user_string() for k in monthly.selection.resolve(all_assets())}
    assert {"ercot/da_prices_flattened", "ercot/combined_da_as_rt_native"} <= keys
    assert {k for k in keys if k.startswith("ercot/combined_")} == {
        f"ercot/combined_{kind}" for kind in (*COMBINED_KINDS, FUNDAMENTALS_KIND)
    }


# ---------------------------------------------------------------------------- plot panels


def _png_height(png: bytes) -> int:
    return struct.unpack(">II", png[16:24])[1]


HOURLY = ["da_hb_north", "as_regup", "rt_hb_north_mean", "rt_hb_north_max", "rt_intervals"]


def test_panels_follow_the_columns_the_output_holds() -> None:
    native = ["rt_hb_north", "rt_hb_west", "da_hb_north", "da_hb_west", "as_regup"]
    assert combined_panels(HOURLY, ["hb_north"], ["regup"]) == [
        ("DA", ["da_hb_north"]),
        ("RT", ["rt_hb_north_mean"]),
        ("AS", ["as_regup"]),
    ]
    assert combined_panels(native, ["hb_north", "hb_west"], ["regup"]) == [
        ("DA", ["da_hb_north", "da_hb_west"]),
        ("RT", ["rt_hb_north", "rt_hb_west"]),
        ("AS", ["as_regup"]),
    ]
    # da_as_hourly holds no RT; a DA+RT-only ISO has no AS
    da_as = combined_panels(["da_hb_north", "as_regup"], ["hb_north"], ["regup"])
    assert [name for name, _ in da_as] == ["DA", "AS"]
    assert [name for name, _ in combined_panels(HOURLY, ["hb_north"], [])] == ["DA", "RT"]


def _hourly_frame(hours: int = 25) -> pl.DataFrame:
    starts = [DAY + timedelta(hours=h) for h in range(hours)]
    return pl.DataFrame(
        {
            "interval_start_utc": starts,
            "da_hb_north": [30.0 + h for h in range(hours)],
            "rt_hb_north_mean": [28.0 + 2 * h for h in range(hours)],
            "as_regup": [5.0 + h / 4 for h in range(hours)],
        },
        schema_overrides={"interval_start_utc": pl.Datetime("us", "UTC")},
    )


def test_one_panel_per_market_each_with_its_lines() -> None:
    panels = [("DA", ["da_hb_north"]), ("RT", ["rt_hb_north_mean"]), ("AS", ["as_regup"])]
    fig = market_panels_figure(_hourly_frame(), panels, "ERCOT", timezone="America/Chicago")
    lines = [[line.get_label() for line in ax.get_lines()] for ax in fig.axes]
    assert lines == [["da_hb_north"], ["rt_hb_north_mean"], ["as_regup"]]
    assert [ax.get_ylabel() for ax in fig.axes] == ["DA $/MWh", "RT $/MWh", "AS $/MWh"]
    # the image grows with its panels; absent columns drop their panel
    three = market_panels_plot_png(_hourly_frame(), panels, "ERCOT")
    two = market_panels_plot_png(_hourly_frame().drop("as_regup"), panels, "ERCOT")
    assert _png_height(three) - _png_height(two) == PANEL_HEIGHT_PX


def test_no_panel_columns_gives_a_placeholder_png() -> None:
    png = market_panels_plot_png(pl.DataFrame(), [("DA", ["da_x"])], "empty")
    assert png.startswith(b"\x89PNG") and _png_height(png) > 0


# ----------------------------------------------- a combined month, through Dagster (~3 s)


def _wide(spec, minutes: int) -> pl.DataFrame:
    """A flattened day of `spec` in its default wide columns, at `minutes` granularity."""
    steps = 25 * 60 // minutes
    starts = [DAY + timedelta(minutes=minutes * i) for i in range(steps)]
    frame = pl.DataFrame(
        {"interval_start_utc": starts},
        schema={"interval_start_utc": pl.Datetime("us", "UTC")},
    ).with_columns(
        (pl.col("interval_start_utc") + timedelta(minutes=minutes)).alias("interval_end_utc"),
        pl.col("interval_start_utc")
        .dt.convert_time_zone(spec.timezone)
        .alias("interval_start_local"),
        pl.lit(DAY.date()).alias("operating_day"),
    )
    columns = default_wide_columns(spec)
    names = spec.default_locations
    return frame.with_columns(pl.lit(10.0 + i).alias(columns[n]) for i, n in enumerate(names))


@pytest.fixture(scope="module")
def combined_month(tmp_path_factory) -> dict[str, dict]:
    """ERCOT's combined outputs for one month over hand-written flattened inputs: each
    output's materialization metadata by asset key."""
    root = tmp_path_factory.mktemp("labels")
    lake = Lake.at(root)
    da, as_, rt = ercot.COMBINED_INPUTS
    for spec in (da, as_, rt):
        minutes = 60 if spec.interval_minutes >= 60 else spec.interval_minutes
        path = lake.partition_file(stage_lake_path(spec, "flattened"), MONTH)
        path.parent.mkdir(parents=True, exist_ok=True)
        _wide(spec, minutes).write_parquet(path)
    # the flattened stages as sources: their files are in the lake, their inputs are not
    flattened = [build_dataset_assets(spec)[-1] for spec in (da, as_, rt)]
    sources = [source for asset in flattened for source in asset.to_source_assets()]
    combined = build_combined_assets(da, as_, rt)
    result = dg.materialize(
        [*sources, combined],
        selection=list(combined.keys),
        partition_key=MONTH,
        resources=lake_resources(root),
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def _plotted(metadata: dict) -> dict[str, list[str]]:
    """ "DA: a, b; RT: c" -> {"DA": ["a", "b"], "RT": ["c"]}."""
    panels = (part.split(": ") for part in str(metadata["plotted"].value).split("; "))
    return {name: columns.split(", ") for name, columns in panels}


def _plot_png(metadata: dict) -> bytes:
    return base64.b64decode(str(metadata["plot"].value).split("base64,", 1)[1].rstrip(")"))


def test_combined_month_plots_da_rt_and_as(combined_month: dict[str, dict]) -> None:
    hubs = ["hb_busavg", "hb_houston", "hb_hubavg", "hb_north"]  # the first four
    hourly = _plotted(combined_month["ercot/combined_da_as_rt_hourly"])
    assert hourly == {
        "DA": [f"da_{hub}" for hub in hubs],
        "RT": [f"rt_{hub}_mean" for hub in hubs],
        "AS": ["as_ecrs", "as_nspin", "as_regdn", "as_regup", "as_rrs"],
    }
    native = _plotted(combined_month["ercot/combined_da_as_rt_native"])
    assert native["RT"] == [f"rt_{hub}" for hub in hubs]
    da_as = _plotted(combined_month["ercot/combined_da_as_hourly"])
    assert sorted(da_as) == ["AS", "DA"]  # it holds no RT
    # the image has a panel per market: 3 panels, and 2 where there is no RT
    heights = {key: _png_height(_plot_png(meta)) for key, meta in combined_month.items()}
    assert heights["ercot/combined_da_as_rt_hourly"] - heights["ercot/combined_da_as_hourly"] == (
        PANEL_HEIGHT_PX
    )
