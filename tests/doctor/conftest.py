"""Doctor tests: settings pointed at the test simulator, a directory of entrepreneurs in tmp_path."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import pytest

from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle
from tests.flows.helpers import configure

#: Entrepreneurs of the simulator seed, one per structure, each with an active service.
SEEDED = (
    ("ANT-E001", "Camille Martin", "51858054300107"),
    ("ART-E001", "Sophie Muller", "47840796800054"),
)


def write_directory(path: Path, rows: Iterable[tuple[str, str, str]]) -> Path:
    """A directory file as the accounting export writes it (semicolons, canonical headers)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["entrepreneur_code", "name", "email", "supplier_siret"])
        for code, name, siret in rows:
            writer.writerow([code, name, f"{code.lower()}@example.org", siret])
    return path


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch, simulator: SimulatorHandle, tmp_path: Path) -> Path:
    """Settings on the simulator and a directory listing `SEEDED`; tests may rewrite the file."""
    configure(monkeypatch, f"sqlite:///{tmp_path / 'warehouse.db'}", simulator)
    path = write_directory(tmp_path / "entrepreneurs.csv", SEEDED)
    monkeypatch.setenv("CHORUS_ETL_ENTREPRENEURS_FILE", str(path))
    reset_settings_cache()
    return path
