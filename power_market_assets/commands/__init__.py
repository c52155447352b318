"""The analyst commands behind `power-market`: catalog, query, export and backfill.

Each module holds one command as plain functions returning a process exit code (0 done,
1 failed, 2 refused or bad usage), so tests call them without a subprocess; `cli.py` only
parses the arguments.
"""

from __future__ import annotations

from datetime import date

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(ValueError):
    """Bad arguments or a refused request: reported as one line, exit code 2."""


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{what}: {text!r} is not an ISO date (YYYY-MM-DD)") from exc


def compact_ranges(keys: list[str]) -> str:
    """'2024-11-02, 2024-11-05..2024-11-07' for sorted ISO day keys (months shown as listed)."""
    if not keys:
        return ""
    days = sorted(date.fromisoformat(k) for k in keys)
    groups: list[list[date]] = []
    for day in days:
        if groups and (day - groups[-1][-1]).days == 1:
            groups[-1].append(day)
        else:
            groups.append([day])
    return ", ".join(
        g[0].isoformat() if len(g) == 1 else f"{g[0].isoformat()}..{g[-1].isoformat()}"
        for g in groups
    )
