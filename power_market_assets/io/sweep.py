"""Sweeping temp files that killed processes left under downloads/.

A SIGKILL skips every `finally`, so an interrupted download keeps its hidden
`.<name>.<hex>.tmp` file (formats/archive.py `temp_sibling`) forever. Temp names carry no pid,
so a temp file is stale when it is old (`STALE_TEMP_SECONDS` without a write) and no live
process holds it open; a slow download that a live process still writes is never touched.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from power_market_assets.io.lake import STALE_TEMP_SECONDS, Lake, is_temp_name

log = logging.getLogger(__name__)
_PROC = Path("/proc")


def held_open_paths() -> set[str] | None:
    """Real paths of the files that processes we may inspect hold open (Linux /proc).

    None where /proc is missing: callers then judge by age alone.
    """
    if not (_PROC / "self" / "fd").is_dir():
        return None
    held: set[str] = set()
    for fd_dir in _PROC.glob("[0-9]*/fd"):
        try:
            descriptors = list(fd_dir.iterdir())
        except OSError:
            continue  # another user's process, or it just exited
        for descriptor in descriptors:
            try:
                held.add(os.readlink(descriptor))
            except OSError:
                continue
    return held


def _old_temps(files: Iterable[Path], cutoff: float) -> list[Path]:
    old = []
    for path in files:
        try:
            if is_temp_name(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
                old.append(path)
        except OSError:
            continue  # renamed or removed meanwhile: it was live
    return old


def sweep_stale_temp_files(files: Iterable[Path], older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete the temp files among `files` that are old and held by no process."""
    candidates = _old_temps(files, time.time() - older_than)
    if not candidates:
        return 0
    held = held_open_paths() or set()
    removed = 0
    for path in candidates:
        if os.path.realpath(path) in held:
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue  # another sweeper got there first
    return removed


def sweep_stale_downloads(lake: Lake, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Temp files of downloads whose process died; returns how many were deleted."""
    if not lake.downloads_dir.is_dir():
        return 0
    removed = sweep_stale_temp_files(lake.downloads_dir.rglob(".*.tmp"), older_than)
    if removed:
        log.warning("removed %d temp file(s) of interrupted downloads", removed)
    return removed


def _process_start_epoch(pid: int) -> tuple[float, str] | None:
    """(start time as epoch seconds, state letter) of a Linux process; None elsewhere."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in (_PROC / "stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"), fields[0]


def process_alive(pid: int, started_before: float) -> bool:
    """Is process `pid` running, and is it the one that existed at `started_before`?

    A pid reused by a process started later is not the same process; a zombie is dead.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    details = _process_start_epoch(pid)
    if details is None:
        return True
    start, state = details
    return state != "Z" and start <= started_before + 2.0  # clock-tick rounding
