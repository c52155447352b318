"""Carbon Data Spec usage segments from a carbon-intensity frame, pure (no I/O, no Dagster).

docs/reference/CDS.md has the shapes; docs/CARBON.md how this export uses them. In short:

- Every expected interval of the range is in exactly one segment: a data segment
  (`supply_mix`, `gco2_per_kwh`, `gco2_per_kwh_lifecycle`) or a gap segment (`gap`, one
  `{"reason_type": ...}` per interval). Positive gap disclosure: nothing is left out.
- Segments never cross a UTC hour and split where the status changes (final data, estimate,
  gap and its reason). The hour grid is what makes ids stable: the id is a UUID5 of ISO, the
  export family and the segment's range, so a withheld hour is a gap segment whose id the
  hour's data segment re-uses once it arrives; an estimate and its final share an id too.
- Data of an intraday snapshot (the day's tail not yet published) or of a day marked
  preliminary uses the `_estimate` variant of each data format.
- Re-issue (`reissue`): against the segments issued before (the issue ledger), a segment whose
  content changed keeps its id and `cds_created` and gets a later `cds_modified` (the time its
  new data was recorded: the change log, else the partition's write time); the versions it
  replaces form its history.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from power_market_assets.registry.kinds import STANDARD_FUELS

FAMILY = "supply_mix"  # the export family named in every id
ID_NAMESPACE = uuid.UUID("8f0b2c52-4a7e-5d1c-9a57-3c1f5e2d7b40")
DATA_FORMATS = ("supply_mix", "gco2_per_kwh", "gco2_per_kwh_lifecycle")
ESTIMATE_SUFFIX = "_estimate"
GAP_FORMAT = "gap"
# Why an interval has no data (the reason_type of a gap value).
GAP_REASONS = (
    "not_yet_published",  # the ISO has not published it yet (intraday tail, today's day)
    "source_outage",  # the day was published but this interval is missing from it
    "failed_check",  # the day failed a blocking check (a failure marker)
    "withdrawn",  # the ISO removed values it had published (change log: values removed)
    "not_collected",  # a past day the platform has not materialized
)
RELATED = (
    "related_aggregations",
    "related_accounts",
    "related_servicecontracts",
    "related_servicepoints",
    "related_meterdevices",
    "related_billsections",
    "related_eacs",
)
DAY_STATE_SCHEMA = {
    "operating_day": pl.Date(),
    "state": pl.Utf8(),  # present | failed | missing
    "detail": pl.Utf8(),  # failure reason, when failed
    "modified_at_utc": pl.Datetime("us", "UTC"),  # when the day's data was last recorded
    "intraday": pl.Boolean(),  # the dataset publishes intraday snapshots
    "preliminary": pl.Boolean(),  # the day's data is a preliminary publication
    "pending": pl.Boolean(),  # the day has not ended or is not yet due from the ISO
    "withdrawn": pl.Boolean(),  # the change log records values removed for the day
}


def stamp(moment: datetime) -> str:
    """UTC ISO 8601 with Z, to the second (CDS timestamps)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def segment_id(iso: str, start: datetime, end: datetime, family: str = FAMILY) -> str:
    """Stable id of an interval range: the same range always gets the same id."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{iso.upper()}|{family}|{stamp(start)}|{stamp(end)}"))


def interval_status(
    grid: pl.DataFrame, intensity: pl.DataFrame, days: pl.DataFrame
) -> pl.DataFrame:
    """Per expected interval (grid: operating_day, interval_start_utc, interval_end_utc): status
    `final`, `estimate` or `gap`, its `reason_type`, `detail` and the day's `modified_at_utc`."""
    present = intensity.select("interval_start_utc", has_data=pl.lit(True))
    data_end = intensity.group_by("operating_day").agg(data_end=pl.col("interval_start_utc").max())
    frame = (
        grid.join(present, on="interval_start_utc", how="left")
        .join(days, on="operating_day", how="left")
        .join(data_end, on="operating_day", how="left")
        .with_columns(pl.col("has_data").fill_null(False), pl.col("state").fill_null("missing"))
    )
    flag = {
        c: pl.col(c).fill_null(False) for c in ("intraday", "preliminary", "pending", "withdrawn")
    }
    tail = (
        flag["intraday"]
        & pl.col("data_end").is_not_null()
        & (pl.col("interval_start_utc") > pl.col("data_end"))
    )
    reason = (
        pl.when(pl.col("has_data"))
        .then(None)
        .when(pl.col("state") == "failed")
        .then(pl.lit("failed_check"))
        .when((pl.col("state") == "missing") & flag["pending"])
        .then(pl.lit("not_yet_published"))
        .when(pl.col("state") == "missing")
        .then(pl.lit("not_collected"))
        .when(flag["withdrawn"])
        .then(pl.lit("withdrawn"))
        .when(tail | flag["pending"])
        .then(pl.lit("not_yet_published"))
        .otherwise(pl.lit("source_outage"))
    )
    frame = frame.with_columns(reason_type=reason)
    unfinished = (pl.col("reason_type") == "not_yet_published").any().over("operating_day")
    # A day still being published (an intraday snapshot, or any day not yet over) is an
    # estimate until its final publication arrives.
    estimate = flag["preliminary"] | ((flag["intraday"] | flag["pending"]) & unfinished)
    status = (
        pl.when(~pl.col("has_data")).then(pl.lit("gap")).when(estimate).then(pl.lit("estimate"))
    )
    return (
        frame.with_columns(
            status=status.otherwise(pl.lit("final")),
            detail=pl.when(pl.col("reason_type") == "failed_check").then(pl.col("detail")),
        )
        .select(
            "operating_day",
            "interval_start_utc",
            "interval_end_utc",
            "status",
            "reason_type",
            "detail",
            "modified_at_utc",
        )
        .sort("interval_start_utc")
    )


def segment_intervals(status: pl.DataFrame, iso: str) -> pl.DataFrame:
    """`status` with the segment each interval belongs to: runs of one status and reason
    inside one UTC hour. Adds segment_start, segment_end, cds_usagesegment_id, format
    (the segment's formats joined by ",") and the segment's `segment_modified_at_utc`."""
    key = pl.concat_str(pl.col("status"), pl.col("reason_type").fill_null(""), separator=":")
    hour = pl.col("interval_start_utc").dt.truncate("1h")
    starts = (
        (key != key.shift())
        | (hour != hour.shift())
        | (pl.col("interval_start_utc") != pl.col("interval_end_utc").shift())
    )
    frame = status.sort("interval_start_utc").with_columns(_run=starts.fill_null(True).cum_sum())
    frame = frame.with_columns(
        segment_start=pl.col("interval_start_utc").min().over("_run"),
        segment_end=pl.col("interval_end_utc").max().over("_run"),
        segment_modified_at_utc=pl.col("modified_at_utc").max().over("_run"),
    )
    ids = (
        frame.select("segment_start", "segment_end")
        .unique()
        .with_columns(
            cds_usagesegment_id=pl.struct("segment_start", "segment_end").map_elements(
                lambda r: segment_id(iso, r["segment_start"], r["segment_end"]),
                return_dtype=pl.Utf8,
            )
        )
    )
    formats = pl.when(pl.col("status") == "gap").then(pl.lit(GAP_FORMAT))
    suffix = (
        pl.when(pl.col("status") == "estimate").then(pl.lit(ESTIMATE_SUFFIX)).otherwise(pl.lit(""))
    )
    data = pl.concat_str([pl.lit(f) + suffix for f in DATA_FORMATS], separator=",")
    return (
        frame.join(ids, on=["segment_start", "segment_end"], how="left")
        .with_columns(format=formats.otherwise(data))
        .drop("_run")
        .sort("interval_start_utc")
    )


def _mix_entries(mix: pl.DataFrame) -> pl.DataFrame:
    """Per interval: the supply_mix list (every category that counts as supply, in
    STANDARD_FUELS order)."""
    entry = pl.struct(
        type=pl.col("fuel_category"),
        mix=pl.col("share").round(6),
        gco2_per_kwh=pl.col("gco2_direct").round(3),
        gco2_per_kwh_lifecycle=pl.col("gco2_lifecycle").round(3),
    )
    return (
        mix.filter(pl.col("treatment") != "exclude")
        .sort("interval_start_utc", pl.col("fuel_category").cast(pl.Enum(STANDARD_FUELS)))
        .group_by("interval_start_utc", maintain_order=True)
        .agg(supply_mix=entry)
    )


def _values(frame: pl.DataFrame) -> pl.DataFrame:
    """One CDS value entry per interval (`_value`: a JSON string of the entry)."""
    direct = pl.col("gco2_per_kwh_direct").round(3)
    lifecycle = pl.col("gco2_per_kwh_lifecycle").round(3)
    data_entry = pl.concat_str(
        pl.lit("["),
        pl.col("_mix_json"),
        pl.lit(',{"v":'),
        direct.cast(pl.Utf8).fill_null("null"),
        pl.lit('},{"v":'),
        lifecycle.cast(pl.Utf8).fill_null("null"),
        pl.lit("}]"),
    )
    gap_entry = pl.concat_str(pl.lit('[{"reason_type":"'), pl.col("reason_type"), pl.lit('"}]'))
    return frame.with_columns(
        _value=pl.when(pl.col("status") == "gap").then(gap_entry).otherwise(data_entry)
    )


def usage_segments(
    segments: pl.DataFrame,
    mix: pl.DataFrame,
    intensity: pl.DataFrame,
    interval_minutes: int,
    related: dict[str, list[str]] | None = None,
) -> list[dict]:
    """CDS usage-segment objects (cds_created = cds_modified = the data's time; `reissue`
    sets them against earlier issues), in time order."""
    entries = _mix_entries(mix)
    encoded = pl.col("supply_mix").list.eval(pl.element().struct.json_encode()).list.join(",")
    mix_json = entries.select(
        "interval_start_utc", _mix_json=pl.concat_str(pl.lit("["), encoded, pl.lit("]"))
    )
    totals = intensity.select("interval_start_utc", "gco2_per_kwh_direct", "gco2_per_kwh_lifecycle")
    frame = _values(
        segments.join(mix_json, on="interval_start_utc", how="left")
        .join(totals, on="interval_start_utc", how="left")
        .with_columns(pl.col("_mix_json").fill_null("[]"))
    )
    grouped = (
        frame.group_by("cds_usagesegment_id", maintain_order=True)
        .agg(
            pl.col("segment_start").first(),
            pl.col("segment_end").first(),
            pl.col("segment_modified_at_utc").first(),
            pl.col("format").first(),
            pl.col("_value"),
        )
        .sort("segment_start")
    )
    links = {name: [] for name in RELATED} | (related or {})
    out = []
    for row in grouped.iter_rows(named=True):
        modified = stamp(row["segment_modified_at_utc"])
        out.append(
            {
                "cds_usagesegment_id": row["cds_usagesegment_id"],
                "cds_created": modified,
                "cds_modified": modified,
                **{k: list(v) for k, v in links.items()},
                "segment_start": stamp(row["segment_start"]),
                "segment_end": stamp(row["segment_end"]),
                "interval": interval_minutes * 60,
                "format": row["format"].split(","),
                "values": [json.loads(v) for v in row["_value"]],
            }
        )
    return out


CONTENT_FIELDS = ("segment_start", "segment_end", "interval", "format", "values")


def content_digest(segment: dict) -> str:
    """What a re-issue compares: range, interval, formats and values (not the timestamps)."""
    content = {k: segment[k] for k in CONTENT_FIELDS}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Reissue:
    segments: list[dict]  # what the export publishes now
    new_versions: list[dict]  # segments to append to the issue ledger (new or changed)
    history: list[dict]  # earlier versions of the published ids, oldest first


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def reissue(current: list[dict], issued: Iterable[dict], now: datetime) -> Reissue:
    """Set cds_created / cds_modified against the versions issued before (the ledger, any
    order). Unchanged content is published as issued; changed content keeps the id and
    cds_created and gets a later cds_modified: its data's time, or `now` when that is not
    later than the previous issue."""
    versions: dict[str, list[dict]] = {}
    for segment in sorted(issued, key=lambda s: s["cds_modified"]):
        versions.setdefault(segment["cds_usagesegment_id"], []).append(segment)
    published, new, history = [], [], []
    for segment in current:
        earlier = versions.get(segment["cds_usagesegment_id"], [])
        latest = earlier[-1] if earlier else None
        if latest is not None and content_digest(latest) == content_digest(segment):
            published.append(latest)
            history.extend(earlier[:-1])
            continue
        if latest is not None:
            modified = _parse(segment["cds_modified"])
            if modified <= _parse(latest["cds_modified"]):
                modified = max(now, _parse(latest["cds_modified"]) + timedelta(seconds=1))
            segment = segment | {
                "cds_created": latest["cds_created"],
                "cds_modified": stamp(modified),
            }
            history.extend(earlier)
        published.append(segment)
        new.append(segment)
    return Reissue(published, new, history)


def segments_table(
    segments: pl.DataFrame, intensity: pl.DataFrame, published: list[dict]
) -> pl.DataFrame:
    """The same export as one Parquet-ready row per interval: segment id, its times and
    formats, the gap reason, the totals and every mw_/share_ column of the intensity."""
    times = pl.DataFrame(
        [
            {
                "cds_usagesegment_id": s["cds_usagesegment_id"],
                "cds_created": _parse(s["cds_created"]),
                "cds_modified": _parse(s["cds_modified"]),
            }
            for s in published
        ],
        schema={
            "cds_usagesegment_id": pl.Utf8,
            "cds_created": pl.Datetime("us", "UTC"),
            "cds_modified": pl.Datetime("us", "UTC"),
        },
    )
    values = intensity.drop("interval_end_utc", "operating_day", strict=False)
    return (
        segments.select(
            "cds_usagesegment_id",
            "segment_start",
            "segment_end",
            "format",
            "operating_day",
            "interval_start_utc",
            "interval_end_utc",
            "status",
            "reason_type",
        )
        .join(times, on="cds_usagesegment_id", how="left")
        .join(values, on="interval_start_utc", how="left")
        .sort("interval_start_utc")
    )
