"""A local stand-in for PISTE + Chorus Pro, served over real HTTP.

Run it with `chorus-etl simulator serve` (or `python -m chorus_pro.simulator`), or from tests with
`run_simulator_in_thread()` / `start_simulator_process()`. It does not import the client: tests
that check one against the other must not share a bug. See docs/simulator.md.

The names below are imported lazily, so that `chorus_pro.simulator.seed` stays a cheap import
for code that only wants the seed constants.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chorus_pro.simulator.app import SimulatorApp, create_app
    from chorus_pro.simulator.config import FaultConfig, SimulatorConfig
    from chorus_pro.simulator.server import (
        SimulatorControl,
        SimulatorHandle,
        SimulatorProcess,
        run_simulator_in_thread,
        start_simulator_process,
    )

__all__ = [
    "FaultConfig",
    "SimulatorApp",
    "SimulatorConfig",
    "SimulatorControl",
    "SimulatorHandle",
    "SimulatorProcess",
    "create_app",
    "run_simulator_in_thread",
    "start_simulator_process",
]

_HOMES = {
    "SimulatorApp": "app",
    "create_app": "app",
    "FaultConfig": "config",
    "SimulatorConfig": "config",
    "SimulatorControl": "server",
    "SimulatorHandle": "server",
    "SimulatorProcess": "server",
    "run_simulator_in_thread": "server",
    "start_simulator_process": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
