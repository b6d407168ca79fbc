"""The due date is optional in the export contract: without any, the whole sample export (its
bad invoices too) ingests the same in Factur-X mode as in PDF mode, the payment terms (BT-20)
standing in for the due date (BR-CO-25)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from tasks.sample.export import generate_export
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)


def _without_due_dates(folder: Path) -> None:
    """The sample writes its bad export as older tools do (Windows-1252, CRLF): kept so."""
    text = (folder / "invoices.csv").read_bytes().decode("cp1252")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert all(r["date_echeance"] for r in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({**r, "date_echeance": ""} for r in rows)
    (folder / "invoices.csv").write_bytes(buffer.getvalue().encode("cp1252"))


def _states(report: dict[str, object]) -> dict[str, str]:
    invoices = report["invoices"]
    assert isinstance(invoices, list)
    return {f"{i['supplier_siret']}:{i['invoice_number']}": i["state"] for i in invoices}


def test_the_sample_export_without_due_dates_ingests_alike_in_both_modes(
    tmp_path: Path, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    generate_export(folder, invoices=40, seed_value=1, with_errors=True, today=TODAY)
    _without_due_dates(folder)

    configure(monkeypatch, f"sqlite:///{tmp_path / 'pdf.db'}", simulator)
    as_pdf = ingest(folder, today=TODAY)
    configure(monkeypatch, f"sqlite:///{tmp_path / 'facturx.db'}", simulator)
    modes = {siret: "facturx" for siret in (ANTIGONE_SIRET, ARTENREEL_SIRET)}
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps(modes))
    reset_settings_cache()
    as_facturx = ingest(folder, today=TODAY)

    assert _states(as_facturx) == _states(as_pdf)
    assert "ready" in _states(as_pdf).values() and "invalid" in _states(as_pdf).values()
    rules = {r["rule"] for i in as_facturx["invoices"] for r in i["reasons"]}
    assert not {rule for rule in rules if "br-co-25" in rule}
