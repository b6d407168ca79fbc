"""Deposits retried next run, and fluxes whose report never settles, have a bound: past it,
accounting hears of it once; never before, never twice for the same wait."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from flows.deposit import deposit
from flows.ingest import ingest
from schemas.warehouse import Alert, Invoice, StalledWait
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, rows_of

TODAY = date(2026, 11, 27)
UPLOAD = "/cpro/transverses/v1/ajouter/fichier"


@pytest.fixture
def ingested(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> str:
    folder = tmp_path / "export"
    generate_export(folder, invoices=3, seed_value=3, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_WAIT_ALERT_AFTER_RUNS", "2")
    reset_settings_cache()
    assert ingest(folder, today=TODAY)["counts"]["state_ready"] == 3
    return sqlite_url


def _alerts(url: str, kind: str) -> list[Alert]:
    return [a for a in rows_of(url, Alert) if a.kind == kind]


def test_a_deposit_retried_run_after_run_is_told_to_accounting_once(
    ingested: str, simulator: SimulatorHandle
) -> None:
    simulator.control.set_faults(rate_429=1.0, retry_after_seconds=0, paths=[UPLOAD])
    counts = [deposit()["counts"] for _ in range(2)]
    quiet = _alerts(ingested, "stalled_deposit")
    deposit()
    (alert,) = _alerts(ingested, "stalled_deposit")
    deposit()
    again = _alerts(ingested, "stalled_deposit")
    simulator.control.set_faults()
    deposit()

    assert all(c.get("retry_later") == 3 for c in counts), counts
    assert quiet == []
    assert alert.audience == "accounting"
    for invoice in rows_of(ingested, Invoice):
        assert f"Facture {invoice.invoice_number} " in alert.body
    assert [a.id for a in again] == [alert.id], "not repeated while the wait lasts"
    assert {i.state for i in rows_of(ingested, Invoice)} == {"deposited"}
    assert rows_of(ingested, StalledWait) == [], "the waits ended with the deposits"


def test_a_flux_whose_report_never_settles_is_told_to_accounting_once(
    ingested: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes = {siret: "facturx" for siret in (ANTIGONE_SIRET, ARTENREEL_SIRET)}
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps(modes))
    reset_settings_cache()
    simulator.control.set_config(flux_polls_before_result=1_000)  # a report that never settles
    first = deposit()["counts"]
    deposit()
    quiet = _alerts(ingested, "stalled_flux")
    deposit()
    alerted = _alerts(ingested, "stalled_flux")
    deposit()
    again = _alerts(ingested, "stalled_flux")

    assert first.get("awaiting_report") == 3, first
    assert quiet == []
    assert len(alerted) == 1 and alerted[0].audience == "accounting"
    assert [a.id for a in again] == [alerted[0].id]
    assert {i.state for i in rows_of(ingested, Invoice)} == {"submitting"}, "nothing lost"
    assert len(simulator.control.store()["flux"]) == 3, "followed, never sent again"
