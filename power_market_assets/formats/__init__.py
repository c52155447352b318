"""Format readers: one module per ISO file family, all producing the standard long tables.

Every ISO's module formats/<iso>.py provides:

- `read_files(paths, spec) -> pl.DataFrame`: stage-1 files of one dataset (usually one
  operating day) -> its standard long table (`spec.schema`, exact dtypes). A drifted header
  (renamed or missing column) or an unparseable cell raises `FormatError(file, problem)`
  naming the file and the column.
- `identify(name, head) -> DatasetSpec | None`: which of the ISO's datasets a file is, from its
  name and its first bytes (at most `IDENTIFY_BYTES`); None when it is not one of them. It
  raises `FormatError(name, problem)` when the file is surely one of the ISO's families but
  neither name nor content tells which dataset (the user then says so with `--dataset`).

and may provide:

- `expected_rows(path, spec, data_lines) -> int`: how many standard rows a stage-1 file must
  yield, counted independently of `read_files` (the row_count check compares the two). Without
  it a file must yield one row per data line (lines after the header).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import polars as pl

from power_market_assets.registry.schema import ISOS
from power_market_assets.registry.spec import DatasetSpec

IDENTIFY_BYTES = 64 * 1024
_NAME_WORD = re.compile(r"[a-z]+|[0-9]+")
# Name tokens saying which edition of a re-published file this is (ISO-NE, PJM post both).
EDITION_TOKENS = {"final": "final", "prelim": "prelim", "preliminary": "prelim"}


def name_tokens(name: str) -> frozenset[str]:
    """The words of a file name or path, however they are separated (`-`, `_`, `.`, `/`, or
    letters against digits): users save the same reply as `x_da_y.json`, `x-da-y.json`,
    `da/x.json` or `hourlylmpda20251102.json`."""
    return frozenset(_NAME_WORD.findall(name.lower()))


def file_edition(name: str) -> str | None:
    """ "final" or "prelim" when the file name says which edition it is, else None."""
    found = {EDITION_TOKENS[t] for t in name_tokens(name) if t in EDITION_TOKENS}
    return found.pop() if len(found) == 1 else None


@cache
def format_module(iso: str) -> ModuleType:
    """formats/<iso>.py, e.g. formats/caiso.py for "CAISO"."""
    return importlib.import_module(f"power_market_assets.formats.{iso.lower()}")


def read_dataset_files(paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
    """Read a dataset's stage-1 files into its standard long table."""
    return format_module(spec.iso).read_files(paths, spec)


def identify_file(name: str, head: bytes) -> DatasetSpec | None:
    """The dataset a file belongs to, asking each ISO's reader in turn."""
    for module in map(format_module, ISOS):
        spec = module.identify(name, head[:IDENTIFY_BYTES])
        if spec is not None:
            return spec
    return None


def expected_rows(path: Path, spec: DatasetSpec, data_lines: int) -> int:
    """The standard rows a stage-1 file must yield (see the module docstring)."""
    counter = getattr(format_module(spec.iso), "expected_rows", None)
    return counter(path, spec, data_lines) if counter is not None else data_lines
