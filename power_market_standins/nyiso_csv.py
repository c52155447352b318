"""The byte-level pieces every NYISO sample file shares: one daily CSV as NYISO names it and
serves it, and how a file family is quoted and which line end it uses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from power_market_assets.registry.spec import DatasetSpec

Quoting = Literal["none", "text", "all"]


@dataclass(frozen=True)
class CsvStyle:
    """How a file family is quoted and which line end it uses."""

    quoting: Quoting = "none"
    newline: str = "\n"


@dataclass(frozen=True)
class SampleFile:
    """One generated daily CSV as NYISO names it (`20241103damlbmp_zone.csv`)."""

    spec: DatasetSpec
    operating_day: date
    folder: str
    stem: str
    data: bytes
    rows: int

    @property
    def name(self) -> str:
        return f"{self.operating_day:%Y%m%d}{self.stem}.csv"

    @property
    def url_path(self) -> str:
        return f"/public/csv/{self.folder}/{self.name}"


def _cells(values: Sequence[str], quoted: Sequence[bool], style: CsvStyle) -> str:
    if style.quoting == "none":
        return ",".join(values)
    if style.quoting == "all":
        return ",".join(f'"{v}"' for v in values)
    return ",".join(f'"{v}"' if q else v for v, q in zip(values, quoted, strict=True))


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[str]], text_columns: int, style: CsvStyle
) -> bytes:
    """Header + rows; the first `text_columns` cells of a row are text (quoted in "text")."""
    head = ",".join(header) if style.quoting == "none" else ",".join(f'"{h}"' for h in header)
    lines = [head]
    for row in rows:
        quoted = [i < text_columns for i in range(len(row))]
        lines.append(_cells(row, quoted, style))
    return (style.newline.join(lines) + style.newline).encode("ascii")
