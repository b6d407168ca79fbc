"""Factur-X test fixtures: the Schematron, compiled once per session where saxonche is installed."""

from __future__ import annotations

import pytest

from tasks.facturx.schematron import Schematron, en16931_schematron, schematron_available


@pytest.fixture(scope="session")
def schematron() -> Schematron:
    if not schematron_available():
        pytest.skip("saxonche is not installed: pip install -c constraints.txt -e '.[dev]'")
    return en16931_schematron()
