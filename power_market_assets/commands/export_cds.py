"""`power-market export --format cds`: grid supply mix and carbon intensity of an ISO as Carbon
Data Spec usage segments, straight from the fuel-mix raw_parquet partitions of the lake.

The export itself (segments, gap reasons, the issue ledger, the JSON Schema) lives in
io/cds_export.py, shared with the monthly `<iso>/cds_export` asset; this command parses the
arguments, refuses an invalid export, writes the file (`.parquet` out: one row per interval)
and records what it issued in the ledger. `--with-history` keeps the versions a re-issued
segment replaces.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from power_market_assets.commands.export import parse_range
from power_market_assets.formats.archive import atomic_write_bytes
from power_market_assets.io.cds_export import (
    NoFuelMix,
    append_ledger,
    build_export,
    fuel_mix_spec,
    segment_counts,
    validate,
)
from power_market_assets.io.lake import Lake, sink_parquet_file
from power_market_assets.transforms.carbon import DEFAULT_TREATMENT, Treatment


def run_export_cds(
    iso: str,
    start: str,
    end: str,
    out: str,
    data_root: str = "data",
    with_history: bool = False,
    err: TextIO | None = None,
    now: datetime | None = None,
    treatment: Treatment = DEFAULT_TREATMENT,
) -> int:
    """Write the CDS export of an ISO's fuel mix for operating days start..end to `out`
    (JSON, or Parquet when `out` ends with .parquet)."""
    err = err or sys.stderr
    now = (now or datetime.now(UTC)).astimezone(UTC)
    lake = Lake.at(data_root)
    try:
        spec = fuel_mix_spec(iso)
        first, last = parse_range(start, end)
    except (NoFuelMix, UsageError) as exc:
        print(exc, file=err)
        return EXIT_USAGE
    document, table, new_versions, problems = build_export(lake, spec, first, last, now, treatment)
    if not with_history:
        document.pop("history")
    errors = validate(document)
    for problem in problems + errors[:20]:
        print(f"error: {problem}", file=err)
    if errors or problems:
        return EXIT_FAILED
    target = Path(out).expanduser()
    if target.suffix == ".parquet":
        sink_parquet_file(table.lazy(), target)
    else:
        atomic_write_bytes(target, json.dumps(document, indent=1).encode())
    append_ledger(lake, spec.iso, new_versions, now)
    counts = segment_counts(document)
    print(
        f"wrote {counts['segments']} segment(s) ({counts['gap_segments']} gap) of {spec.iso} "
        f"{first}..{last}, "
        f"{len(new_versions)} new or re-issued, to {target.resolve()}",
        file=err,
    )
    return EXIT_OK
