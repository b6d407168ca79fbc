"""Chaos tests run deposit processes against the session's Prefect API and the test simulator."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _prefect(prefect_harness: None) -> None:
    """Flows here (and the subprocesses they start) use the harness's API."""
