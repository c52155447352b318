"""Format readers: one module per ISO file family, all producing the standard long tables.

Every ISO's module formats/<iso>.py fulfils `IsoFormat` (formats/contract.py): `read_files`,
`identify` and `expected_rows`. `FORMATS` below is the one table of them, checked against the
registry's ISO list when this package is imported, so a missing reader or function fails here,
not in a run or a sensor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from power_market_assets.formats import caiso, ercot, isone, nyiso, pjm
from power_market_assets.formats.contract import IsoFormat, JoinedCsvFormat, conforms
from power_market_assets.formats.csvjoin import (
    JoinedMember,
    joined_text,
    joined_texts,
    member_texts,
)
from power_market_assets.formats.errors import FormatError
from power_market_assets.formats.filenames import EDITION_TOKENS, file_edition, name_tokens
from power_market_assets.registry.schema import iso_table
from power_market_assets.registry.spec import DatasetSpec

IDENTIFY_BYTES = 64 * 1024


def _format_table(modules: Mapping[str, IsoFormat]) -> dict[str, IsoFormat]:
    """The modules in the registry's ISO order, each checked against IsoFormat."""
    return {iso: conforms(m, IsoFormat) for iso, m in iso_table(modules, "format modules").items()}


FORMATS: dict[str, IsoFormat] = _format_table(
    {"ERCOT": ercot, "CAISO": caiso, "NYISO": nyiso, "ISONE": isone, "PJM": pjm}
)


# The ISOs whose readers take CSV texts directly and count a text's expected rows
# (JoinedCsvFormat): their days of many small CSVs land as one joined file
# (sources/landing.py) and are parsed from it in one call. ERCOT only: it is the ISO that
# publishes a file per interval; the others' days hold one to a few files.
JOINED_FORMATS: dict[str, JoinedCsvFormat] = {
    iso: module for iso, module in FORMATS.items() if isinstance(module, JoinedCsvFormat)
}


def joins_csv_members(spec: DatasetSpec) -> bool:
    """Whether stage 1 may keep this dataset's CSVs of a day as one joined file."""
    return spec.iso in JOINED_FORMATS


def lines_are_rows(spec: DatasetSpec) -> bool:
    """Whether a joined day of this dataset is parsed and counted straight from its index
    (JoinedCsvFormat.lines_are_rows)."""
    return joins_csv_members(spec) and JOINED_FORMATS[spec.iso].lines_are_rows(spec)


def read_joined_file(
    path: Path, members: Sequence[JoinedMember], spec: DatasetSpec
) -> pl.DataFrame:
    """A day's joined stage-1 CSV into the standard long table, parsed in one call: its body
    (every member's data lines) as one text when each line is a row (`lines_are_rows`), else
    as member texts that share the header. When that fails (a bad cell, a control character,
    or blank lines making the rows differ from the lines counted) the members are read one
    by one, as files of their own would be, so the error names the member and its line."""
    reader = JOINED_FORMATS[spec.iso]
    header_line, body = _header_and_body(path)
    text = joined_text(header_line, body, members) if lines_are_rows(spec) else None
    try:
        if text is not None:
            return reader.read_texts([text], spec)
        return reader.read_texts(joined_texts(header_line + body, members), spec)
    except FormatError:
        return reader.read_texts(member_texts(header_line + body, members), spec)


def _header_and_body(path: Path) -> tuple[bytes, bytes]:
    """A joined CSV's header line and the rest, read without copying the rest again."""
    with path.open("rb") as file:
        return file.readline(), file.read()


def expected_joined_rows(
    path: Path, members: Sequence[JoinedMember], spec: DatasetSpec
) -> dict[str, int]:
    """The standard rows each member of a joined stage-1 CSV must yield (`expected_rows` of a
    file of its own), by member name: its data lines as the landing counted them, when each
    line is a row (`lines_are_rows`; the file is not read again), else the reader's count."""
    if lines_are_rows(spec):
        return {member.name: member.rows for member in members}
    texts = joined_texts(path.read_bytes(), members)
    reader = JOINED_FORMATS[spec.iso]
    return {text.name: reader.expected_text_rows(text, spec) for text in texts}


def read_dataset_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read a dataset's stage-1 files into its standard long table."""
    return FORMATS[spec.iso].read_files(paths, spec)


def identify_file(name: str, head: bytes) -> DatasetSpec | None:
    """The dataset a file belongs to, asking each ISO's reader in turn."""
    for iso_format in FORMATS.values():
        spec = iso_format.identify(name, head[:IDENTIFY_BYTES])
        if spec is not None:
            return spec
    return None


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """The standard rows a stage-1 file must yield (IsoFormat.expected_rows)."""
    return FORMATS[spec.iso].expected_rows(path, spec, data_lines)


__all__ = [
    "EDITION_TOKENS",
    "FORMATS",
    "IDENTIFY_BYTES",
    "IsoFormat",
    "JOINED_FORMATS",
    "expected_joined_rows",
    "expected_rows",
    "file_edition",
    "identify_file",
    "joins_csv_members",
    "lines_are_rows",
    "name_tokens",
    "read_dataset_files",
    "read_joined_file",
]
