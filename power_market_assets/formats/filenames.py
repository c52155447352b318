"""What a file's name says (its words, its edition), shared by the ISO readers and the landing
code; apart from formats/__init__.py so that ISO modules need not import their own table."""

from __future__ import annotations

import re

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
