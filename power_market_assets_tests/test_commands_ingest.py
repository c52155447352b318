"""Issue 9 (trust), ingest: names of ISO-NE replies, --dataset, bad drops on good days, and
the lake never sharing an inode with the user's file."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from power_market_assets.automation.drops import land, recognize
from power_market_assets.cli import main
from power_market_assets.commands import ingest
from power_market_assets.definitions import build_definitions
from power_market_assets.formats import identify_file
from power_market_assets.formats.errors import FormatError
from power_market_assets.io.lake import Lake
from power_market_assets.io.resources import LakeResource
from power_market_assets.registry import ercot, get_spec, isone
from power_market_assets.sources.landing import land_operating_day, read_metadata
from power_market_assets_tests.helpers import ingest_paths
from power_market_standins.ercot import generate_documents
from power_market_standins.isone import ws_files

DAY = date(2024, 11, 4)
RAW = "ercot/da_prices/raw_parquet"
CSV = "ercot/da_prices/csv"


@pytest.fixture(autouse=True)
def _dagster_home(tmp_path: Path, monkeypatch) -> None:
    """ingest points DAGSTER_HOME at the data root; keep that out of other tests."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))


def _hourly_reply(tmp_path: Path, name: str) -> Path:
    """An ISO-NE HourlyLmps reply (same bytes for DA and RT: only the name differs)."""
    (reply,) = ws_files(isone.DA_PRICES, DAY, n_locations=2)
    path = tmp_path / name
    path.write_bytes(reply.body)
    return path


# -- item 2: names, final/prelim, --dataset ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dataset"),
    [
        ("isone-hourlylmp-da-final-loc4000_2025-11-02.json", "da_prices"),
        ("isone.hourlylmp.rt.prelim.loc4000.json", "rt_prices_hourly"),
        ("hourlylmp_rt_final_20251102.json", "rt_prices_hourly"),
        ("hourlylmpda20251102.json", "da_prices"),
        ("realtime/hourlylmp-20251102.json", "rt_prices_hourly"),
    ],
)
def test_isone_reply_names_are_read_however_separated(name: str, dataset: str) -> None:
    (reply,) = ws_files(isone.DA_PRICES, DAY, n_locations=2)
    assert identify_file(name, reply.body) is get_spec("ISONE", dataset)


@pytest.mark.parametrize("name", ["hourlylmp_20251102.json", "hourlylmp-da-rt-20251102.json"])
def test_isone_reply_name_without_market_says_nothing_tells_da_from_rt(
    tmp_path: Path, name: str
) -> None:
    path = _hourly_reply(tmp_path, name)
    with pytest.raises(FormatError) as error:
        recognize(path)
    message = str(error.value)
    assert message.startswith(f"{name}: is an ISO-NE HourlyLmps web-service reply")
    assert "nothing tells DA from RT" in message
    assert "--dataset isone/rt_prices_hourly" in message


def test_final_or_prelim_is_recorded_in_the_days_metadata(tmp_path: Path) -> None:
    final = _hourly_reply(tmp_path, "isone-hourlylmp-rt-final-loc4000_2024-11-04.json")
    land_operating_day(DAY, [final], tmp_path / "day")
    (entry,) = read_metadata(tmp_path / "day")["files"]
    assert entry["edition"] == "final"
    prelim = _hourly_reply(tmp_path, "hourlylmp_rt_prelim_20241104.json")
    land_operating_day(DAY, [prelim], tmp_path / "day2")
    assert read_metadata(tmp_path / "day2")["files"][0]["edition"] == "prelim"


@pytest.mark.slow
def test_dataset_option_says_what_an_unnamed_reply_is(tmp_path: Path, capsys) -> None:
    path = _hourly_reply(tmp_path, "reply.json")
    args = ["ingest", str(path), "--dataset", "isone/rt_prices_hourly"]
    with pytest.raises(SystemExit) as exit_code:
        main([*args, "--data-root", str(tmp_path)])
    assert exit_code.value.code == 0, capsys.readouterr().out
    lake = Lake.at(tmp_path)
    assert (lake.landing_day_dir("ISONE", "rt_prices_hourly", DAY.isoformat()) / path.name).exists()
    raw = lake.partition_file("isone/rt_prices_hourly/raw_parquet", DAY.isoformat())
    records = ws_files(isone.DA_PRICES, DAY, n_locations=2)[0].records
    assert duckdb.sql(f"select count(*) from '{raw}'").fetchone()[0] == records


@pytest.mark.parametrize("iso", ["PJM", "CAISO", "NYISO", "ISONE"])
def test_wrong_dataset_option_fails_on_the_contents(
    real_ercot_dir: Path, tmp_path: Path, iso: str, capsys
) -> None:
    dropped = real_ercot_dir / "dam-spp.zip"
    code = ingest_paths([dropped], str(tmp_path), dataset=f"{iso.lower()}/da_prices")
    out = capsys.readouterr().out
    assert code == 1
    assert f"does not fit --dataset {iso.lower()}/da_prices" in out
    assert "its contents are ERCOT da_prices" in out  # what in the file does not fit
    assert not Lake.at(tmp_path).landing_dir.exists()


def test_wrong_dataset_option_on_content_no_reader_takes(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("when,where,price\n2024-11-04 01:00,NORTH,31.5\n")
    with pytest.raises(FormatError) as error:
        recognize(path, get_spec("ERCOT", "da_prices"))
    assert str(error.value).startswith("prices.csv: does not fit --dataset ercot/da_prices: ")


def test_unknown_dataset_option_lists_the_known_ones(tmp_path: Path, capsys) -> None:
    code = ingest_paths([tmp_path / "x.csv"], str(tmp_path), dataset="ercot/spp")
    assert code == 2
    out = capsys.readouterr().out
    assert "'ercot/spp' is not a known dataset" in out and "isone/rt_prices_hourly" in out


# -- item 5: a bad drop for a good day --------------------------------------------------------


def _ercot_day(tmp_path: Path) -> tuple[Path, list[str]]:
    """A good ERCOT DAM file for DAY and its lines (header first)."""
    (doc,) = generate_documents(ercot.DA_PRICES, [DAY], 3)
    good = tmp_path / "drops" / "dam_good.csv"
    good.parent.mkdir()
    good.write_bytes(doc.csv_bytes)
    return good, doc.csv_bytes.decode().splitlines()


def _day_snapshot(lake: Lake) -> dict[str, object]:
    key = DAY.isoformat()
    landing = lake.landing_day_dir("ERCOT", "da_prices", key)
    return {
        "landing": sorted(p.name for p in landing.iterdir()),
        "csv": sorted(p.name for p in lake.csv_day_dir(CSV, key).iterdir()),
        "manifest": lake.partition_file(CSV, key).read_bytes(),
        "raw": lake.partition_file(RAW, key).read_bytes(),
        "marker": lake.failure_marker(RAW, key).exists(),
    }


@pytest.mark.slow
def test_drop_with_a_garbage_row_leaves_the_good_day_alone(tmp_path: Path, capsys) -> None:
    good, lines = _ercot_day(tmp_path)
    root = tmp_path / "data"
    assert ingest_paths([good], str(root)) == 0
    lake = Lake.at(root)
    before = _day_snapshot(lake)
    garbage = good.with_name("dam_fixed.csv")
    # Parses, but its row without a settlement point fails the blocking schema check.
    garbage.write_text("\n".join([*lines, "11/04/2024,01:00,,5.0,N"]) + "\n")
    assert ingest_paths([garbage], str(root)) == 1
    assert f"dam_fixed.csv: not landed: operating day {DAY} would fail" in capsys.readouterr().out
    assert garbage.exists()
    assert _day_snapshot(lake) == before


@pytest.mark.slow
def test_drop_failing_only_with_the_days_other_files_is_refused(tmp_path: Path, capsys) -> None:
    """Good on its own, but it overlaps the day's earlier drop in part: the run would fail its
    duplicates check, so it never lands and the day stays good."""
    good, lines = _ercot_day(tmp_path)
    root = tmp_path / "data"
    assert ingest_paths([good], str(root)) == 0
    lake = Lake.at(root)
    before = _day_snapshot(lake)
    overlapping = good.with_name("dam_part.csv")
    overlapping.write_text("\n".join(lines[:4]) + "\n")
    assert ingest_paths([overlapping], str(root)) == 1
    out = capsys.readouterr().out
    assert f"dam_part.csv: not landed: operating day {DAY} would fail with it (duplicates" in out
    assert _day_snapshot(lake) == before
    assert not before["marker"]


@pytest.mark.slow
def test_run_failing_after_landing_quarantines_the_drop(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Should the run still fail once a drop landed, the drop goes to quarantine with the
    run's reason and the day's landing folder, csv stage and raw partition are put back."""
    good, lines = _ercot_day(tmp_path)
    root = tmp_path / "data"
    assert ingest_paths([good], str(root)) == 0
    lake = Lake.at(root)
    before = _day_snapshot(lake)
    monkeypatch.setattr(ingest, "vet", lambda recognized, lake: None)
    overlapping = good.with_name("dam_part.csv")
    overlapping.write_text("\n".join(lines[:4]) + "\n")
    assert ingest_paths([overlapping], str(root)) == 1
    assert "moved to" in capsys.readouterr().out
    assert _day_snapshot(lake) == before
    (reason,) = lake.quarantine_dir.glob("*-dam_part.csv.reason.txt")
    assert "duplicates" in reason.read_text()
    assert not list(root.glob(".ingest-*"))  # the kept state is cleaned up


@pytest.mark.slow
def test_inbox_drop_that_would_fail_its_day_goes_to_quarantine(tmp_path: Path) -> None:
    good, lines = _ercot_day(tmp_path)
    root = tmp_path / "data"
    assert ingest_paths([good], str(root)) == 0
    lake = Lake.at(root)
    before = _day_snapshot(lake)
    defs = build_definitions(data_root=str(root), inbox_settle_seconds=0)
    sensor = defs.resolve_sensor_def("landing_inbox")
    lake.inbox_dir.mkdir(parents=True)
    (lake.inbox_dir / "dam_part.csv").write_text("\n".join(lines[:4]) + "\n")
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"lake": LakeResource(data_root=str(root))},
        definitions=defs,
    )
    assert sensor.evaluate_tick(context).run_requests == []
    (reason,) = lake.quarantine_dir.glob("*.reason.txt")
    assert "would fail with it (duplicates" in reason.read_text()
    assert not any(lake.inbox_dir.iterdir())
    assert _day_snapshot(lake) == before


# -- item 6: the lake owns its copies ---------------------------------------------------------


def test_landed_copy_shares_no_inode_and_reingest_leaves_no_temp(tmp_path: Path) -> None:
    good, _ = _ercot_day(tmp_path)
    lake = Lake.at(tmp_path / "data")
    landed = land(recognize(good), lake)
    assert landed.stat().st_ino != good.stat().st_ino
    original = hashlib.sha256(landed.read_bytes()).hexdigest()
    with good.open("a") as handle:  # the user edits their file afterwards
        handle.write("11/04/2024,01:00,HB_EDITED,1.0,N\n")
    assert hashlib.sha256(landed.read_bytes()).hexdigest() == original

    shutil.copyfile(landed, good)  # the same file ingested again
    land(recognize(good), lake)
    land(recognize(good), lake)
    assert sorted(p.name for p in landed.parent.iterdir()) == [good.name]
