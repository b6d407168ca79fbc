"""Factur-X test fixtures: the Schematrons, compiled once per session where saxonche is installed."""

from __future__ import annotations

import pytest

from tasks.facturx import schematron as schematrons
from tasks.facturx.schematron import Schematron


def _require_saxonche() -> None:
    if not schematrons.schematron_available():
        pytest.skip("saxonche is not installed: pip install -c constraints.txt -e '.[dev]'")


@pytest.fixture(scope="session")
def schematron() -> Schematron:
    """The EN 16931 Schematron."""
    _require_saxonche()
    return schematrons.en16931_schematron()


@pytest.fixture(scope="session")
def french_schematrons() -> tuple[Schematron, ...]:
    """The three Schematrons of France's rules: EN 16931, French CTC, EXTENDED-CTC-FR."""
    _require_saxonche()
    return tuple(schematrons.schematron(name) for name in schematrons.RULES["fr"])
