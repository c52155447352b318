"""One stand-in server per ISO, filled with real-format samples for some operating days.

Every ISO's module <iso>.py has `standin_server(days, n_locations, seed)`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from power_market_standins.standin import StandInServer


def standin_server(
    iso: str, days: Sequence[date], n_locations: int = 20, seed: int = 0
) -> StandInServer:
    """A (not yet started) stand-in server holding every dataset of `iso` for `days`."""
    module = importlib.import_module(f"power_market_standins.{iso.lower()}")
    return module.standin_server(list(days), n_locations=n_locations, seed=seed)


def standin_environment(iso: str, server: StandInServer) -> dict[str, str]:
    """Settings that point an ISO's resource at its stand-in: no real-world pauses between
    requests (CAISO 5 s, ISO-NE and PJM 10 s) and the stand-in's own demo credentials."""
    if iso == "CAISO":
        return {"PMA_CAISO_PAUSE_SECONDS": "0"}
    if iso == "ISONE":
        return {"PMA_ISONE_MIN_INTERVAL": "0"}
    if iso == "PJM":
        return {"PMA_PJM_MIN_INTERVAL": "0", "PJM_API_KEY": server.subscription_key}
    return {}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, restoring the old values."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
