"""Shared fixtures of the simulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chorus_pro.simulator import SimulatorHandle
from tests.simulator.helpers import Api


@pytest.fixture
def api(simulator: SimulatorHandle) -> Iterator[Api]:
    client = Api(simulator)
    yield client
    client.close()
