"""Every flow module imports and exposes named Prefect flows (the DagBag-style wiring check)."""

from __future__ import annotations

import importlib
import pkgutil

from prefect import Flow

import flows


def test_every_flow_module_loads_and_defines_a_flow() -> None:
    names = [m.name for m in pkgutil.iter_modules(flows.__path__) if not m.name.startswith("_")]
    assert names, "no flow modules found"
    for name in names:
        module = importlib.import_module(f"flows.{name}")
        defined = [v for v in vars(module).values() if isinstance(v, Flow)]
        assert defined, f"flows.{name} defines no flow"
        for flow in defined:
            assert flow.name and "_" not in flow.name, f"{flow.name}: use dashed names"
