"""One stand-in server per ISO, filled with real-format samples for some operating days.

ERCOT's generator makes documents per dataset (samples/ercot.py); every other ISO's module
samples/<iso>.py has `standin_server(days, n_locations, seed)` doing the same in one call.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import date

from power_market_assets.registry import DATASETS_BY_ISO
from power_market_assets.samples.standin import StandInServer


def standin_server(
    iso: str, days: Sequence[date], n_locations: int = 20, seed: int = 0
) -> StandInServer:
    """A (not yet started) stand-in server holding every dataset of `iso` for `days`."""
    if iso == "ERCOT":
        from power_market_assets.samples.ercot import generate_documents
        from power_market_assets.samples.server import ErcotStandInServer

        documents = [
            doc
            for spec in DATASETS_BY_ISO["ERCOT"]
            for doc in generate_documents(spec, list(days), n_nodes=n_locations, seed=seed)
        ]
        return ErcotStandInServer(documents)
    module = importlib.import_module(f"power_market_assets.samples.{iso.lower()}")
    return module.standin_server(list(days), n_locations=n_locations, seed=seed)
