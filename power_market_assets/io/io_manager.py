"""The lake's IO manager: one Parquet file per partition, even for a single-run range.

The stock UPath/Parquet IO managers refuse outputs that span several partitions (see
docs/reference/DAGSTER_NOTES.md); this one splits a range's frame by its partition column
(`operating_day`, daily or monthly) and writes one file per partition key, then refreshes the
DuckDB catalog. Inputs come back as a LazyFrame over the upstream partitions' files.

With an `s3://` data root the files are written to the local work directory as always, then
the dataset's folder is published to the bucket before the catalog is refreshed (the run
succeeds only once its partitions are in the bucket); inputs are brought down first when the
bucket holds newer ones (io/lake.py `publish`, `hydrate`; io/object_store.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from power_market_assets.io.catalog import refresh_catalog
from power_market_assets.io.changes import record_changes
from power_market_assets.io.lake import (
    Lake,
    StagedPartitions,
    commit_staged,
    discard_staged,
    sink_parquet_file,
    write_parquet_files,
)
from power_market_assets.io.summary import footer_rows, record_partitions
from power_market_assets.registry import get_spec

# Output metadata key: the output's catalog views are made by a later output of the same step
# (stage 1 then stage 2 of the daily op), so the catalog is rebuilt once per run, not twice.
DEFER_CATALOG = "catalog_refresh"


def split_by_partition(
    frame: pl.DataFrame, keys: list[str], granularity: str
) -> dict[str, pl.DataFrame]:
    """Rows grouped by the partition key of their operating day; every key gets a frame."""
    key_expr = pl.col("operating_day").dt.strftime("%Y-%m-01" if granularity == "monthly" else "%F")
    keyed = frame.with_columns(key_expr.alias("__partition"))
    outside = keyed.filter(~pl.col("__partition").is_in(keys))
    if outside.height:
        days = sorted(set(outside.get_column("operating_day").to_list()))
        raise ValueError(
            f"{outside.height} row(s) fall outside the partitions being written {keys[0]}.."
            f"{keys[-1]} (operating days {days[:5]})"
        )
    parts = {
        k[0]: f.drop("__partition")
        for k, f in keyed.partition_by("__partition", as_dict=True).items()
    }
    empty = frame.clear()
    return {key: parts.get(key, empty) for key in keys}


def listed_partitions(value: Any) -> set[str] | None:
    """Partition keys named by a `failed_partitions` metadata value ("a, b" or a list)."""
    value = getattr(value, "value", value)
    if isinstance(value, str):
        return {k.strip() for k in value.split(",") if k.strip()}
    if isinstance(value, list | tuple | set):
        return {str(k) for k in value}
    return None


def check_evaluations(context: dg.OutputContext) -> list[dg.AssetCheckEvaluation] | None:
    """This run's check evaluations of the asset being written (yielded before its output);
    None outside a run (a bare OutputContext in a unit test)."""
    try:
        step = context.step_context
    except (dg.DagsterInvariantViolationError, AttributeError):
        return None
    records = step.instance.get_records_for_run(
        run_id=context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000
    ).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return [e for e in evaluations if e.asset_key == context.asset_key]


def partition_checks(
    context: dg.OutputContext, keys: list[str]
) -> dict[str, dict[str, str]] | None:
    """{partition: {check: status}} for the partitions this write commits.

    A check that did not pass applies to the partitions its `failed_partitions` metadata
    names (all of the run's when it names none); every other partition passed it."""
    evaluations = check_evaluations(context)
    if evaluations is None:
        return None
    per_key: dict[str, dict[str, str]] = {key: {} for key in keys}
    for evaluation in evaluations:
        bad = "warn" if evaluation.severity == dg.AssetCheckSeverity.WARN else "failed"
        failed = set(keys)
        if not evaluation.passed:
            failed = listed_partitions(evaluation.metadata.get("failed_partitions")) or failed
        for key in keys:
            passed = evaluation.passed or key not in failed
            per_key[key][evaluation.check_name] = "passed" if passed else bad
    return per_key


class LakeIOManager(dg.ConfigurableIOManager):
    """Persists polars frames as Parquet in the lake and keeps the DuckDB catalog current.

    Assets declare in their definition metadata:
    - `lake_path`: `<iso>/<dataset>/<stage>` (or `<iso>/combined/<kind>`);
    - `partition_granularity`: `daily` or `monthly`;
    - optionally `compact`: True to also keep yearly and whole-range files (combined outputs).
    """

    data_root: str = "data"

    @property
    def lake(self) -> Lake:
        return Lake.at(self.data_root)

    def _partition_keys(self, context) -> list[str]:
        if not context.has_asset_partitions:
            raise dg.DagsterInvariantViolationError("lake assets must be partitioned")
        return list(context.asset_partition_keys)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        meta = context.definition_metadata
        lake_path = meta["lake_path"]
        granularity = meta.get("partition_granularity", "daily")
        keys = self._partition_keys(context)
        if isinstance(obj, StagedPartitions):
            self._commit(context, lake_path, keys, obj)
            return
        if isinstance(obj, Mapping):
            frames = {key: obj[key] for key in keys if key in obj}
            missing = [k for k in keys if k not in obj]
            if missing:
                raise ValueError(f"{context.asset_key.to_user_string()}: no frame for {missing}")
        else:
            frames = split_by_partition(obj, keys, granularity)
        files = {self.lake.partition_file(lake_path, key): frame for key, frame in frames.items()}
        write_parquet_files(files)
        self._clear_failure_markers(lake_path, keys)
        empty = [key for key, frame in frames.items() if frame.height == 0]
        if empty:
            context.log.warning(f"wrote empty partitions {empty} for {lake_path}")
        if meta.get("compact"):
            self._compact(lake_path, {key[:4] for key in keys})
        self._publish(lake_path)
        rows = {key: frame.height for key, frame in frames.items()}
        record_partitions(self.lake, lake_path, granularity, rows, partition_checks(context, keys))
        context.add_output_metadata(
            {
                "rows": sum(frame.height for frame in frames.values()),
                "files": len(files),
                "path": dg.MetadataValue.path(self.lake.location(self.lake.stage_dir(lake_path))),
                **self._refresh_catalog(context),
            }
        )

    def _commit(
        self, context: dg.OutputContext, lake_path: str, keys: list[str], staged: StagedPartitions
    ) -> None:
        if sorted(staged.files) != sorted(keys):
            discard_staged(staged.files)
            raise ValueError(f"{lake_path}: staged {sorted(staged.files)} but expected {keys}")
        try:
            commit_staged(staged)
        except BaseException:
            refresh_catalog(self.lake)  # views of an output that deferred to this one
            raise
        self._clear_failure_markers(lake_path, keys)
        logged = self._log_changes(context, lake_path, staged)
        self._publish(lake_path)
        granularity = context.definition_metadata.get("partition_granularity", "daily")
        rows = dict(staged.rows_by_key)
        if sorted(rows) != sorted(keys):  # counts not given with the files: their footers
            rows = footer_rows([final for _, final in staged.files.values()])
        record_partitions(self.lake, lake_path, granularity, rows, partition_checks(context, keys))
        context.add_output_metadata(
            {
                "rows": staged.rows,
                "files": len(staged.files),
                "change_log_entries": len(logged),
                "path": dg.MetadataValue.path(self.lake.location(self.lake.stage_dir(lake_path))),
                **self._refresh_catalog(context),
            }
        )

    def _refresh_catalog(self, context: dg.OutputContext) -> dict[str, int]:
        """Rebuild the catalog (a rebuild is a new DuckDB file, synced: 0.3-1 s), unless the
        output asks for it to wait for a later output of the same step (DEFER_CATALOG)."""
        if DEFER_CATALOG in context.output_metadata:
            return {}
        return {"catalog_views": len(refresh_catalog(self.lake))}

    def _clear_failure_markers(self, lake_path: str, keys: list[str]) -> None:
        markers = [self.lake.failure_marker(lake_path, key) for key in keys]
        for marker in markers:
            marker.unlink(missing_ok=True)
        self.lake.retract(markers)

    def _publish(self, lake_path: str) -> None:
        """Into the bucket of an `s3://` root: every file of the dataset's folder (all its
        stages, its locations and change log) that changed, each whole in one request."""
        self.lake.publish(self.lake.stage_dir(lake_path).parent)

    def _log_changes(
        self, context: dg.OutputContext, lake_path: str, staged: StagedPartitions
    ) -> list[str]:
        """Record the re-published days of this commit in the append-only change log.

        Written only after the rename, so the log never claims a change that a failed run
        did not make."""
        iso, dataset = lake_path.split("/")[:2]
        run_id = getattr(context, "run_id", "") or ""
        logged = []
        for key, changes in sorted(staged.changes.items()):
            if changes is not None and changes.any:
                record_changes(self.lake, iso, dataset, key, changes, run_id=run_id)
                logged.append(key)
                context.log.info(
                    f"{lake_path} {key}: re-published; {changes.values_changed} value(s) "
                    f"changed, {changes.values_added} added, {changes.values_removed} removed "
                    f"(files: {', '.join(changes.source_files) or '-'})"
                )
        return logged

    def _compact(self, lake_path: str, years: set[str]) -> None:
        """Yearly files and one whole-range file users can open directly."""
        stage_dir = self.lake.stage_dir(lake_path)
        self.lake.hydrate(stage_dir)  # months other machines wrote
        for year in sorted(years):
            monthly = sorted((stage_dir / f"year={year}").glob("*.parquet"))
            if monthly:
                yearly = pl.concat([pl.scan_parquet(p) for p in monthly], how="diagonal_relaxed")
                target = stage_dir / "yearly" / f"{year}.parquet"
                sink_parquet_file(yearly.sort("interval_start_utc"), target)
        every = sorted(stage_dir.glob("year=*/*.parquet"))
        whole = pl.concat([pl.scan_parquet(p) for p in every], how="diagonal_relaxed")
        name = "_".join(lake_path.split("/")) + "_all.parquet"
        sink_parquet_file(whole.sort("interval_start_utc"), stage_dir / name)

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame | pl.DataFrame:
        frame = self._scan_input(context)
        wants_eager = context.dagster_type.typing_type is pl.DataFrame
        return frame.collect() if wants_eager else frame

    def _scan_input(self, context: dg.InputContext) -> pl.LazyFrame:
        upstream = context.upstream_output
        meta = upstream.definition_metadata
        lake_path = meta["lake_path"]
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        files = self.lake.existing_partition_files(lake_path, keys)
        failed = [k for k in keys if self.lake.failure_marker(lake_path, k).exists()]
        if failed:
            reason = json.loads(self.lake.failure_marker(lake_path, failed[0]).read_text())
            raise dg.Failure(
                f"upstream {lake_path} partition(s) {failed} failed their blocking checks and "
                f"are not used downstream until they are re-materialized: {reason['reason']}"
            )
        if not files and (empty := _before_first_available(lake_path, keys)) is not None:
            context.log.info(f"{lake_path}: {keys[0]}..{keys[-1]} predate the dataset: no rows")
            return empty
        if not files:
            raise FileNotFoundError(
                f"no materialized partitions of {lake_path} for {keys[:1]}..{keys[-1:]}: "
                "materialize the upstream asset first"
            )
        if len(files) < len(keys):
            context.log.info(f"{lake_path}: {len(files)} of {len(keys)} upstream partitions exist")
        return pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")


def _before_first_available(lake_path: str, keys: list[str]) -> pl.LazyFrame | None:
    """No rows (the dataset's long schema) when every requested partition predates the
    dataset's first available day, a market that did not exist yet (ISO-NE's day-ahead reserves
    before 2025-03-01): its month flattens to no rows instead of failing the ISO's run."""
    iso, dataset = lake_path.split("/")[:2]
    try:
        spec = get_spec(iso, dataset)
    except KeyError:
        return None
    if not keys or max(keys) >= spec.first_available.isoformat():
        return None
    return pl.LazyFrame(schema=spec.schema)
