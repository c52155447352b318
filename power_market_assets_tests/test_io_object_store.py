"""The lake on object storage (io/object_store.py, io/lake.py), against moto's S3 server on
127.0.0.1: files reach the bucket whole, a second machine reads them, stage 1's day folder goes
up before its manifest, an interrupted upload shows nothing, and the catalog's views over the
bucket return the rows of the local lake."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from power_market_assets.io import object_store
from power_market_assets.io.catalog import connect_read_only, refresh_catalog
from power_market_assets.io.lake import Lake, lake_for, write_parquet_files
from power_market_assets.io.object_store import (
    S3Location,
    S3Options,
    duckdb_secret_sql,
    httpfs_unavailable_reason,
)
from power_market_assets.settings import Settings
from power_market_assets_tests.helpers import RAW, build_lake, raw_day
from power_market_assets_tests.s3_service import TEST_ACCESS_KEY, TEST_SECRET_KEY, S3Root

pytestmark = pytest.mark.services

DAY = "2024-11-02"


def _write_day(lake: Lake, day: str, frame: pl.DataFrame) -> Path:
    path = lake.partition_file(RAW, day)
    write_parquet_files({path: frame})
    return path


def _other_machine(s3_root: S3Root, tmp_path: Path, name: str = "other") -> Lake:
    """The same bucket seen from another work directory (another worker)."""
    return lake_for(s3_root.url, work_dir=tmp_path / name)


def test_location_and_work_dir_of_an_s3_root(tmp_path: Path) -> None:
    location = S3Location.parse("s3://bucket/some/prefix/")
    assert (location.bucket, location.prefix) == ("bucket", "some/prefix")
    assert location.key("lake/x.parquet") == "bucket/some/prefix/lake/x.parquet"
    with pytest.raises(ValueError):
        S3Location.parse("s3://bucket/a/../b")
    assert object_store.work_dir_for("s3://b/p", str(tmp_path / "w")) == tmp_path / "w"
    default = object_store.work_dir_for("s3://b/p/q", None)
    assert default.parts[-4:] == ("power-market-assets", "b", "p", "q")
    assert Lake.at(tmp_path).store is None  # a local root stays exactly as it was


def test_the_variables_read_here_are_the_settings_ones() -> None:
    """io/object_store.py reads them without importing settings (lean CLI start)."""
    assert Settings.env_name("s3_endpoint_url") == object_store.ENDPOINT_VARIABLE
    assert Settings.env_name("aws_region") == object_store.REGION_VARIABLE
    assert Settings.env_name("work_dir") == object_store.WORK_DIR_VARIABLE


def test_a_partition_reaches_the_bucket_and_another_machine_reads_it(
    s3_root: S3Root, tmp_path: Path
) -> None:
    lake = Lake.at(s3_root.url)
    assert lake.root == s3_root.work_dir and lake.url == s3_root.url
    frame = raw_day(pl.Series([DAY]).str.to_date()[0])
    _write_day(lake, DAY, frame)
    sent = lake.publish(lake.lake_dir)
    assert sent == [f"lake/{RAW}/year=2024/{DAY}.parquet"]
    assert s3_root.keys("lake/") == sent
    assert lake.publish(lake.lake_dir) == []  # unchanged: not sent again

    other = _other_machine(s3_root, tmp_path)
    files = other.existing_partition_files(RAW, [DAY, "2024-11-03"])
    assert files == [other.partition_file(RAW, DAY)]
    assert pl.read_parquet(files[0]).equals(frame)
    assert other.publish(other.lake_dir) == []  # what it brought down is not sent back

    # A day that failed its checks on one machine is refused on the other, until cleared.
    marker = lake.failure_marker(RAW, DAY)
    marker.write_text('{"reason": "duplicates"}')
    lake.publish(lake.lake_dir)
    other.existing_partition_files(RAW, [DAY])
    assert other.failure_marker(RAW, DAY).exists()
    marker.unlink()
    lake.retract([marker])
    other.existing_partition_files(RAW, [DAY])
    assert not other.failure_marker(RAW, DAY).exists()

    changed = frame.with_columns(pl.col("lmp") + 1)
    _write_day(lake, DAY, changed)
    assert lake.publish(lake.lake_dir) == sent  # rewritten: sent again
    refreshed = other.existing_partition_files(RAW, [DAY])
    assert pl.read_parquet(refreshed[0]).equals(changed)


def test_stage_one_day_folder_goes_up_before_its_manifest(
    s3_root: S3Root, tmp_path: Path, monkeypatch
) -> None:
    lake = Lake.at(s3_root.url)
    csv_stage = "ercot/da_prices/csv"
    manifest = lake.partition_file(csv_stage, DAY)
    day_dir = lake.csv_day_dir(csv_stage, DAY)
    day_dir.mkdir(parents=True)
    (day_dir / "_joined.csv").write_text("DeliveryDate,HourEnding\n11/02/2024,01:00\n")
    (day_dir / "metadata.json").write_text("{}")
    write_parquet_files({manifest: pl.DataFrame({"file": ["_joined.csv"]})})
    order: list[str] = []
    put = lake.store.put_file
    monkeypatch.setattr(lake.store, "put_file", lambda p, r: (order.append(r), put(p, r)))
    lake.publish(lake.stage_dir(csv_stage))
    assert order[-1] == f"lake/{csv_stage}/year=2024/{DAY}.parquet"
    assert sorted(order[:-1]) == [
        f"lake/{csv_stage}/year=2024/{DAY}/_joined.csv",
        f"lake/{csv_stage}/year=2024/{DAY}/metadata.json",
    ]
    other = _other_machine(s3_root, tmp_path)
    assert other.existing_partition_files(csv_stage, [DAY])
    joined = other.csv_day_dir(csv_stage, DAY) / "_joined.csv"
    assert joined.read_bytes() == (day_dir / "_joined.csv").read_bytes()


class FailingCopy:
    """pyarrow's S3 file system whose server-side copy dies (a worker killed mid-commit)."""

    def __init__(self, fs):
        self._fs = fs

    def __getattr__(self, name):
        return getattr(self._fs, name)

    def move(self, source, destination):
        raise OSError("worker killed between the upload and the copy")


def test_an_interrupted_upload_leaves_nothing_visible(
    s3_root: S3Root, tmp_path: Path, monkeypatch
) -> None:
    lake = Lake.at(s3_root.url)
    before = pl.DataFrame({"value": [1.0]})
    _write_day(lake, DAY, before)
    lake.publish(lake.lake_dir)
    # A partition bigger than one request goes through a temp key and a copy; kill the copy.
    monkeypatch.setattr(object_store, "SINGLE_PUT_BYTES", 16)
    healthy = lake.store.fs
    lake.store.fs = FailingCopy(healthy)
    after = pl.DataFrame({"value": [float(v) for v in range(1000)]})
    _write_day(lake, DAY, after)
    _write_day(lake, "2024-11-03", after)
    with pytest.raises(OSError, match="killed"):
        lake.publish(lake.lake_dir)
    lake.store.fs = healthy
    visible = [k for k in s3_root.keys("lake/") if k.endswith(".parquet")]
    assert visible == [f"lake/{RAW}/year=2024/{DAY}.parquet"]  # the new day is not there
    other = _other_machine(s3_root, tmp_path)
    (old,) = other.existing_partition_files(RAW, [DAY, "2024-11-03"])
    assert pl.read_parquet(old).equals(before)  # the previous version, whole
    # The next publish of the writer completes the commit.
    assert len(lake.publish(lake.lake_dir)) == 2
    assert len(other.existing_partition_files(RAW, [DAY, "2024-11-03"])) == 2
    # The failed upload removed its temp key; one a SIGKILL left goes once it is stale.
    assert not [k for k in s3_root.keys("lake/") if k.endswith(".tmp")]
    killed = f"lake/{RAW}/year=2024/.{DAY}.parquet.0123456789ab.tmp"
    lake.store._put(lake.store.location.key(killed), b"half a file")
    lake.publish(lake.lake_dir)
    assert killed in s3_root.keys("lake/")  # young: may belong to a live upload
    object_store.sync_up(lake.store, lake.root, lake.lake_dir, stale_after=-1.0)
    assert killed not in s3_root.keys("lake/")


def test_views_over_the_bucket_return_the_local_lakes_rows(s3_root: S3Root, tmp_path: Path) -> None:
    local = build_lake(tmp_path / "local")
    writer = Lake.at(s3_root.url)
    shutil.copytree(local.lake_dir, writer.lake_dir)
    writer.publish(writer.lake_dir)
    reader = _other_machine(s3_root, tmp_path, "reader")  # nothing local yet
    views = refresh_catalog(reader)
    assert views == refresh_catalog(local)
    sql = "select * from ercot.da_prices_raw_parquet order by all"
    with connect_read_only(local) as con:
        expected = con.sql(sql).pl()
    with connect_read_only(reader) as con:
        assert con.sql(sql).pl().equals(expected)
    with connect_read_only(reader) as con:
        (definition,) = con.sql(
            "select sql from duckdb_views() where view_name = 'da_prices_raw_parquet'"
        ).fetchone()
    # httpfs from the package when it matches this DuckDB: the view reads the bucket itself;
    # otherwise the local mirror refresh_catalog brought down.
    read = f"{s3_root.url}/lake/" if httpfs_unavailable_reason() is None else str(reader.lake_dir)
    assert read in definition
    # The failure marker of a day that failed its checks travels with the lake.
    assert reader.failure_marker(RAW, "2024-11-04").exists()
    assert TEST_SECRET_KEY.encode() not in reader.warehouse_path.read_bytes()


def test_duckdb_secret_is_temporary_and_targets_the_local_server() -> None:
    options = S3Options("http://127.0.0.1:9000", "us-east-1")
    sql = duckdb_secret_sql(
        options, {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "it's"}
    )
    assert sql.startswith("CREATE OR REPLACE TEMPORARY SECRET lake (TYPE s3")
    assert "ENDPOINT '127.0.0.1:9000'" in sql and "URL_STYLE 'path'" in sql
    assert "USE_SSL false" in sql and "SECRET 'it''s'" in sql


def test_httpfs_comes_from_the_package_for_this_duckdb_or_says_why_not() -> None:
    reason = httpfs_unavailable_reason()
    if reason is None:
        assert object_store.httpfs_extension_file() is not None
    else:
        assert duckdb.__version__ in reason or "not installed" in reason
