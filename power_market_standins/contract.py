"""The contract every ISO's stand-in server module (<iso>_server.py) fulfils.

The generator (<iso>.py) writes real-format files; the server module serves them under the
ISO's URL patterns and builds itself from generated files, so a generator never imports its
server. Checked when servers.py builds its ISO table.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from power_market_standins.standin import StandInServer


class StandIn(Protocol):
    """A local stand-in for one ISO's publication site."""

    def standin_server(
        self, days: list[date], n_locations: int = ..., seed: int = ...
    ) -> StandInServer:
        """A (not yet started) server holding every dataset of the ISO for `days`, generated
        with `n_locations` locations from `seed`."""
        ...

    def standin_environment(self, server: StandInServer) -> dict[str, str]:
        """Settings that point the ISO's resource at this server: no real-world pauses between
        requests and the server's own demo credentials."""
        ...
