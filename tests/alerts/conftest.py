"""Alert sender fixtures: real SMTP servers on local ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.alerts.helpers import Collector, StartServer


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Starts an SMTP server on a given port; `start()` returns once it accepts connections."""
    controllers: list[Controller] = []

    def start(port: int, collector: Collector | None = None) -> Collector:
        collector = collector or Collector()
        controller = Controller(collector, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return collector

    yield start
    for controller in controllers:
        controller.stop()
