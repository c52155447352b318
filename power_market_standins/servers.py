"""One stand-in server per ISO, filled with real-format samples for some operating days.

`SERVERS` is the one table of the ISOs' server modules (<iso>_server.py), each checked against
`StandIn` (contract.py) and the registry's ISO list when this module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date

from power_market_assets.formats.contract import conforms
from power_market_assets.registry.schema import iso_table
from power_market_standins import (
    caiso_server,
    ercot_server,
    isone_server,
    nyiso_server,
    pjm_server,
)
from power_market_standins.contract import StandIn
from power_market_standins.standin import StandInServer


def _server_table(modules: Mapping[str, StandIn]) -> dict[str, StandIn]:
    """The server modules in the registry's ISO order, each checked against StandIn."""
    return {iso: conforms(m, StandIn) for iso, m in iso_table(modules, "stand-ins").items()}


SERVERS: dict[str, StandIn] = _server_table(
    {
        "ERCOT": ercot_server,
        "CAISO": caiso_server,
        "NYISO": nyiso_server,
        "ISONE": isone_server,
        "PJM": pjm_server,
    }
)


def standin_server(
    iso: str, days: Sequence[date], n_locations: int = 20, seed: int = 0
) -> StandInServer:
    """A (not yet started) stand-in server holding every dataset of `iso` for `days`."""
    return SERVERS[iso].standin_server(list(days), n_locations=n_locations, seed=seed)


def standin_environment(iso: str, server: StandInServer) -> dict[str, str]:
    """Settings that point an ISO's resource at its stand-in: no real-world pauses between
    requests (CAISO 5 s, ISO-NE and PJM 10 s) and the stand-in's own demo credentials."""
    return SERVERS[iso].standin_environment(server)


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
