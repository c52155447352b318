"""ISO-NE load, fuel mix and forecasts (issue 13): the reader on stand-in files in the report
layout (no real ISO Express file of these reports was found; docs/reference/fundamentals/
isone.md), DST days, vintages, fuel categories, identify, and stand-in -> source -> reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from power_market_assets.formats import identify_file
from power_market_assets.formats import isone as fmt
from power_market_assets.formats.errors import FormatError
from power_market_assets.registry import isone as registry
from power_market_assets.sources.landing import land_operating_day
from power_market_assets_tests.helpers import isone_source
from power_market_standins import isone_fundamentals as samples
from power_market_standins.isone_server import standin_server

FALL, SPRING, NORMAL = date(2024, 11, 3), date(2024, 3, 10), date(2024, 11, 4)
HOURS = {FALL: 25, SPRING: 23, NORMAL: 24}
SPECS = registry.FUNDAMENTAL_DATASETS


def _write(folder: Path, files) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        path = folder / f.name
        path.write_bytes(f.body)
        paths.append(path)
    return paths


def _read(folder: Path, spec, files) -> tuple[pl.DataFrame, list[Path]]:
    paths = _write(folder, files)
    return fmt.read_files(paths, spec), paths


def _per_series(frame: pl.DataFrame, series: list[str]) -> set[int]:
    counts = frame.group_by(series).agg(pl.col("interval_start_utc").n_unique().alias("n"))
    return set(counts["n"])


@pytest.mark.parametrize("day", [FALL, SPRING, NORMAL])
def test_five_minute_load_has_every_interval_of_the_dst_days(tmp_path, day) -> None:
    for spec in (registry.ZONAL_LOAD, registry.LOAD):
        frame, paths = _read(tmp_path / spec.dataset, spec, samples.report_files(spec, day))
        assert _per_series(frame, ["area"]) == {HOURS[day] * 12}  # 300 / 276 / 288
        assert frame["operating_day"].unique().to_list() == [day]
        assert frame.schema == pl.Schema(spec.schema)
        assert frame.height == sum(fmt.expected_rows(p, spec, 0) for p in paths)
        assert frame["mw"].min() >= 0
    zonal, _ = _read(
        tmp_path / "z", registry.ZONAL_LOAD, samples.report_files(registry.ZONAL_LOAD, day)
    )
    zones = set(registry.ZONES)
    assert zones <= set(zonal["area"]) and len(set(zonal["area"])) == 16  # 8 zones + BTM PV


def test_fall_back_repeated_stamps_are_the_second_hour(tmp_path) -> None:
    (report,) = samples.report_files(registry.ZONAL_LOAD, FALL)
    text = report.body.decode()
    assert text.count('"D","11/03/2024 01:00",4001,') == 2  # the stamp is written twice
    frame, _ = _read(tmp_path, registry.ZONAL_LOAD, [report])
    maine = frame.filter(pl.col("area") == ".Z.MAINE").sort("interval_start_utc")
    one_am = maine.filter(pl.col("interval_start_local").dt.hour() == 1)
    assert one_am["interval_start_utc"].dt.hour().unique().sort().to_list() == [5, 6]
    assert one_am.height == 24


def test_fuel_mix_buckets_cover_the_dst_days(tmp_path) -> None:
    for day in (FALL, SPRING):
        spec = registry.FUEL_MIX
        frame, paths = _read(tmp_path / str(day), spec, samples.report_files(spec, day))
        bucket = pl.col("interval_start_utc").dt.truncate("10m")
        per_fuel = frame.group_by("fuel").agg(bucket.n_unique().alias("n"))
        assert set(per_fuel["n"]) == {HOURS[day] * 6}  # 150 / 138 ten-minute buckets
        assert frame.height == sum(fmt.expected_rows(p, spec, 0) for p in paths)
        # Irregular stamps keep their seconds.
        assert frame["interval_start_utc"].dt.second().n_unique() > 10


def test_fuel_categories_mapped_and_storage_charging_kept(tmp_path) -> None:
    spec = registry.FUEL_MIX
    frame, _ = _read(tmp_path, spec, samples.report_files(spec, NORMAL))
    categories = dict(frame.select("fuel", "fuel_category").unique().iter_rows())
    assert categories["Natural Gas"] == "gas" and categories["Wood"] == "biomass"
    assert categories["Energy Storage"] == "storage" and categories["Solar"] == "solar"
    assert set(categories) == {fuel for fuel, _ in samples.FUELS}
    storage = frame.filter(pl.col("fuel") == "Energy Storage")
    night = storage.filter(pl.col("interval_start_local").dt.hour() < 5)
    assert night.height and (night["mw"] < 0).all()  # charging: negative, not dropped
    solar = frame.filter(
        (pl.col("fuel") == "Solar") & (pl.col("interval_start_local").dt.hour() < 5)
    )
    assert (solar["mw"] == 0).all()
    assert frame["iso_total_mw"].null_count() == frame.height  # ISO-NE publishes no total
    # The mix sums to about the native load (less imports).
    mix = frame.group_by("interval_start_utc").agg(pl.col("mw").sum())["mw"]
    assert mix.min() > 8000 and mix.max() < 20000


def test_load_forecast_keeps_every_vintage(tmp_path) -> None:
    spec = registry.LOAD_FORECAST
    for day in (FALL, SPRING):
        frame, paths = _read(tmp_path / str(day), spec, samples.report_files(spec, day))
        assert frame.height == sum(fmt.expected_rows(p, spec, 0) for p in paths)
        assert _per_series(frame, ["area", "published_at_utc"]) == {HOURS[day]}
        assert frame["operating_day"].unique().to_list() == [day]  # the forecast day
    vintages = frame.filter(pl.col("area") == ".Z.VERMONT").group_by("interval_start_utc").len()
    assert set(vintages["len"]) == {len(samples.FORECAST_VINTAGES)}
    published = sorted(frame["published_at_utc"].unique().to_list())
    # 03/09/2024 09:31:05 EST is 14:31:05 UTC.
    assert published[1] == datetime(2024, 3, 9, 14, 31, 5, tzinfo=UTC)
    assert frame["model"].unique().to_list() == [registry.LOAD_FORECAST_MODEL]


def test_renewable_forecasts_seven_days_and_two_publications(tmp_path) -> None:
    spec = registry.RENEWABLES
    frames = []
    for day in (date(2024, 11, 1), date(2024, 11, 2)):
        frame, paths = _read(tmp_path / str(day), spec, samples.report_files(spec, day))
        assert frame.height == sum(fmt.expected_rows(p, spec, 0) for p in paths)
        assert frame["operating_day"].unique().to_list() == [day]  # its publication day
        frames.append(frame)
    both = pl.concat(frames)
    assert set(both["technology"]) == {"wind", "solar"}
    fall = both.filter(pl.col("interval_start_local").dt.date() == FALL)
    assert _per_series(fall, ["technology", "published_at_utc"]) == {25}
    # Two publications of the same interval are two rows.
    assert set(fall.group_by("interval_start_utc", "technology").len()["len"]) == {2}
    first = frames[0]["published_at_utc"].unique().to_list()
    assert first == [datetime(2024, 11, 1, 14, 0, tzinfo=UTC)]  # 10:00 EDT
    night = both.filter(
        (pl.col("technology") == "solar") & (pl.col("interval_start_local").dt.hour() < 5)
    )
    assert (night["mw"] == 0).all()


def test_identify_recognizes_each_new_report() -> None:
    for spec in SPECS:
        for f in samples.report_files(spec, NORMAL):
            assert identify_file(f.name, f.body[:4096]) is spec, f.name
            renamed = f.body.replace(spec.title.encode(), b"Some Other Title", 1)
            if f"Filename: {f.name}".encode() in renamed:  # the name line says it too
                assert fmt.identify("dropped.csv", renamed[:4096]) is spec
    assert fmt.identify("x.csv", b'"C","Something else"\n"H","A"\n') is None


def test_intraday_snapshot_is_the_report_cut_after_16(tmp_path) -> None:
    snapshot = samples.zonal_snapshot(NORMAL, time(16, 0))
    final = samples.zonal_file(NORMAL)
    text = snapshot.body.decode()
    assert text.startswith('"C","Five-Minute Estimated Zonal Load"')
    assert '"D","11/04/2024 16:00",' in text and "16:05" not in text
    assert snapshot.records == 8 * 193 and final.records == 8 * 288
    frame, paths = _read(tmp_path, registry.ZONAL_LOAD, [snapshot])
    assert frame.height == fmt.expected_rows(paths[0], registry.ZONAL_LOAD, 0) == 2 * 8 * 193
    whole, _ = _read(tmp_path / "final", registry.ZONAL_LOAD, [final])
    key = ["interval_start_utc", "area"]
    assert (
        frame.drop("source_file")
        .sort(key)
        .equals(whole.drop("source_file").join(frame.select(key), on=key).sort(key))
    )


def test_missing_column_names_file_and_column(tmp_path) -> None:
    (report,) = samples.report_files(registry.FUEL_MIX, NORMAL)
    broken = report.body.replace(b'"Gen Mw"', b'"Output"', 1)
    path = tmp_path / report.name
    path.write_bytes(broken)
    with pytest.raises(FormatError, match=r"genfuelmix_20241104_20241104.csv.*'Gen Mw'"):
        fmt.read_files([path], registry.FUEL_MIX)


@pytest.mark.slow
def test_standin_source_reader_for_one_day(tmp_path) -> None:
    """Every new dataset fetched from the stand-in through the resource, landed and read; in
    the web-service channel the fuel mix comes as JSON, the others from the reports."""
    with standin_server([FALL]) as server:
        for channel in ("reports", "webservices"):
            with dg.build_resources({"source": isone_source(server, channel)}) as built:
                for spec in SPECS:
                    work = tmp_path / channel / spec.dataset
                    fetched = built.source.fetch(spec, [FALL], work / "download")
                    rows = land_operating_day(FALL, fetched[FALL], work / "csv")
                    paths = [Path(row["csv_path"]) for row in rows]
                    frame = fmt.read_files(paths, spec)
                    expected = sum(fmt.expected_rows(p, spec, 0) for p in paths)
                    assert frame.height == expected > 0, spec.dataset
                    assert frame["operating_day"].unique().to_list() == [FALL]
                    json_reply = channel == "webservices" and spec is registry.FUEL_MIX
                    assert {p.suffix for p in paths} == {".json" if json_reply else ".csv"}
        # The report's own ISO Express page was visited for its cookie (and sent as Referer).
        assert server.request_count("/load-and-demand/-/tree/estimated-zonal-load") >= 1


REAL = Path(__file__).parent / "fixtures" / "real" / "isone"


def test_real_web_service_fuel_mix_reply() -> None:
    """The web service's genfuelmix reply as ISO-NE served it (fixtures/real/isone/README.md)."""
    path = REAL / "genfuelmix_current_20241125.json"
    spec = registry.FUEL_MIX
    assert identify_file(path.name, path.read_bytes()[:4096]) is spec
    frame = fmt.read_files([path], spec)
    assert frame.height == fmt.expected_rows(path, spec, 0) == 9
    assert frame.schema == pl.Schema(spec.schema)
    assert frame["interval_start_utc"].unique().to_list() == [
        datetime(2024, 11, 25, 20, 31, 41, tzinfo=UTC)  # 15:31:41 EST
    ]
    mix = dict(frame.select("fuel", "mw").iter_rows())
    assert mix["Natural Gas"] == 8181 and mix["Solar"] == 52
    categories = dict(frame.select("fuel", "fuel_category").iter_rows())
    assert categories == {
        "Hydro": "hydro",
        "Natural Gas": "gas",
        "Nuclear": "nuclear",
        "Oil": "oil",
        "Other": "other",
        "Refuse": "biomass",
        "Solar": "solar",
        "Wind": "wind",
        "Wood": "biomass",
    }
    assert set(categories) <= {fuel for fuel, _ in registry.FUEL_CATEGORIES}


def test_web_service_fuel_mix_matches_the_report_on_the_fall_back_day(tmp_path) -> None:
    """The stand-in's reply carries offsets (-04:00 then -05:00 for the two 01:xx hours);
    read from either channel the day is the same."""
    spec = registry.FUEL_MIX
    reply = samples.fuel_reply(FALL)
    assert b"T01:0" in reply.body and b"-04:00" in reply.body and b"-05:00" in reply.body
    from_json, paths = _read(tmp_path / "ws", spec, [reply])
    assert from_json.height == fmt.expected_rows(paths[0], spec, 0)
    from_csv, _ = _read(tmp_path / "csv", spec, samples.report_files(spec, FALL))
    key = ["interval_start_utc", "fuel"]
    columns = [*key, "mw", "fuel_category", "operating_day"]
    assert from_json.select(columns).sort(key).equals(from_csv.select(columns).sort(key))


def test_zonal_report_without_btm_pv_or_with_empty_cells(tmp_path) -> None:
    """An empty BTM PV cell gives no row; a report without the column gives the loads only."""
    (report,) = samples.report_files(registry.ZONAL_LOAD, NORMAL)
    text = report.body.decode()
    lines = text.split("\n")
    emptied = [
        line.rsplit(",", 1)[0] + "," if line.startswith('"D","11/04/2024 00:') else line
        for line in lines
    ]
    path = tmp_path / report.name
    path.write_text("\n".join(emptied))
    frame = fmt.read_files([path], registry.ZONAL_LOAD)
    assert frame.height == fmt.expected_rows(path, registry.ZONAL_LOAD, 0) == 2 * 8 * 288 - 8 * 12
    dropped = [
        ",".join(line.split(",")[:-1]) if line.startswith(('"D"', '"H"')) else line
        for line in lines
    ]
    path.write_text("\n".join(dropped))
    loads = fmt.read_files([path], registry.ZONAL_LOAD)
    assert set(loads["area"]) == set(registry.ZONES) and loads.height == 8 * 288
