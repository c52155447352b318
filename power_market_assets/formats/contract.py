"""The contract every ISO's format module (formats/<iso>.py) fulfils, checked at import.

A module conforms structurally (PEP 544 allows modules to implement a Protocol), so "go to
definition" on `FORMATS["CAISO"].read_files` lands in formats/caiso.py, and `conforms` turns a
missing function into an ImportError naming it instead of an AttributeError in a sensor.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Protocol, TypeVar, runtime_checkable

import polars as pl

from power_market_assets.formats.csvjoin import CsvText
from power_market_assets.registry.spec import DatasetSpec


class IsoFormat(Protocol):
    """Reading one ISO's stage-1 files into the standard long tables."""

    def read_files(self, paths: Sequence[Path], spec: DatasetSpec) -> pl.DataFrame:
        """Stage-1 files of one dataset -> its standard long table (`spec.schema`, exact
        dtypes); a drifted header or unparseable cell raises FormatError naming file and
        column."""
        ...

    def identify(self, name: str, head: bytes) -> DatasetSpec | None:
        """Which of the ISO's datasets a file is, from its name and first bytes; None when it is
        none of them; FormatError when it surely is one of the ISO's families but not which."""
        ...

    def expected_rows(self, path: Path, spec: DatasetSpec, data_lines: int) -> int:
        """How many standard rows a stage-1 file must yield, counted independently of
        read_files (the row_count check compares the two)."""
        ...


@runtime_checkable
class JoinedCsvFormat(Protocol):
    """A format whose reader parses CSV texts (formats/csvjoin.py) directly and counts a
    text's expected rows, so a day's many small CSVs can be kept, parsed and reconciled as
    one joined file."""

    def read_texts(self, texts: Sequence[CsvText], spec: DatasetSpec) -> pl.DataFrame:
        """CSV texts of one dataset (any mix of header eras) -> its standard long table."""
        ...

    def expected_text_rows(self, text: CsvText, spec: DatasetSpec) -> int:
        """How many standard rows one CSV text must yield (IsoFormat.expected_rows of a file
        holding just that text), counted independently of read_texts."""
        ...

    def lines_are_rows(self, spec: DatasetSpec) -> bool:
        """Whether each data line of the dataset's CSV is one standard row labelled with its
        file's name, so a joined day parses as one text of many parts and reconciles with
        the lines the landing counted."""
        ...


def contract_names(protocol: type) -> tuple[str, ...]:
    """The callables a Protocol declares (its public methods)."""
    return tuple(
        name
        for name, member in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(member)
    )


Implementation = TypeVar("Implementation", bound=ModuleType | object)


def conforms(implementation: Implementation, protocol: type) -> Implementation:
    """`implementation` itself when it has every callable `protocol` declares; otherwise an
    ImportError naming what is missing (run where an ISO table is built, so at import)."""
    missing = [
        name
        for name in contract_names(protocol)
        if not callable(getattr(implementation, name, None))
    ]
    if missing:
        label = getattr(implementation, "__name__", type(implementation).__name__)
        raise ImportError(
            f"{label} does not fulfil {protocol.__name__}: missing {', '.join(missing)}"
        )
    return implementation
