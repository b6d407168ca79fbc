"""Two cooperatives, five structures, each structure with its own technical account.

The simulator knows the same applications and accounts as the accounts file and, like Chorus
Pro, refuses an account on a structure it is not attached to: an invoice deposited or a status
read through the wrong account would fail, so every structure's invoices ending up right is the
proof that nothing crossed over. One structure's password then changes on the portal in the
middle of a deposit run: the others finish, its invoices wait `ready`, its accounting is told
what to do, and once the secret is fixed the next run deposits them exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chorus_etl import progress
from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle, seed
from flows.alerts import send_alerts
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.warehouse import Alert, Invoice
from tasks.sample.export import generate_export
from tests.fixtures.cooperatives import LAYOUT, Cooperatives
from tests.flows.helpers import configure, rows_of

TODAY = date(2026, 11, 27)
STRUCTURES = [
    seed.ANTIGONE,
    seed.ARTENREEL,
    seed.RHIZOME,
    seed.ESTUAIRE,
    seed.MASCARET,
]
SIRETS = [s.siret for s in STRUCTURES]
REVOKED = seed.RHIZOME_SIRET


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export"
    generate_export(folder, invoices=40, seed_value=5, today=TODAY, suppliers=STRUCTURES)
    return folder


@pytest.fixture
def coops() -> Cooperatives:
    return Cooperatives(SIRETS)


@pytest.fixture
def ingested(
    export: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    coops: Cooperatives,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    configure(monkeypatch, sqlite_url, simulator)
    coops.install(simulator, monkeypatch, tmp_path)
    monkeypatch.setenv("CHORUS_ETL_ALERT_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("CHORUS_ETL_ALERT_URLS", "[]")
    reset_settings_cache()
    report = ingest(export, today=TODAY)
    assert report["counts"]["state_ready"] == report["counts"]["invoices"] == 40
    simulator.control.reset_stats()
    return sqlite_url


def _invoices(url: str) -> list[Invoice]:
    return rows_of(url, Invoice)


def _alerts(url: str) -> list[Alert]:
    return rows_of(url, Alert)


def _accounting_of(siret: str) -> str:
    return next(mail for _n, mail, _a, sup in LAYOUT.values() if siret in {s.siret for s in sup})


def _remote(simulator: SimulatorHandle) -> Counter[tuple[str, str]]:
    return Counter(
        (i["supplier_siret"], i["numeroFacture"]) for i in simulator.control.store()["invoices"]
    )


def test_each_structure_deposits_and_reconciles_through_its_own_account(
    ingested: str, simulator: SimulatorHandle, coops: Cooperatives
) -> None:
    summary = deposit()
    assert summary["halted"] == []
    invoices = _invoices(ingested)
    assert {i.state for i in invoices} == {"deposited"}
    assert _remote(simulator) == Counter((i.supplier_siret, i.invoice_number) for i in invoices)
    by_client = simulator.control.stats()["by_client"]
    for app in coops.apps():
        assert by_client[coops.client_id(app)]["requests"] > 0, app
        # One token per application for the whole run, however many accounts used it.
        assert by_client[coops.client_id(app)]["token_requests"] == 1, app

    # Buyers reject some invoices of every structure; the alerts go to each one's own people.
    rejected = {i.invoice_number for i in invoices[::3]}
    remote = simulator.control.store()["invoices"]
    for item in remote:
        if item["numeroFacture"] in rejected:
            simulator.control.set_status(item["identifiantFactureCPP"], "REJETEE", "Mauvais SIRET")
    nightly = reconcile(as_of=TODAY)
    assert nightly["halted"] == [] and nightly["missing_suppliers"] == []
    assert {s["supplier_siret"] for s in nightly["suppliers"]} == set(SIRETS)
    after = {(i.supplier_siret, i.invoice_number): i for i in _invoices(ingested)}
    assert {k for k, i in after.items() if i.current_status == "REJETEE"} == {
        (i.supplier_siret, i.invoice_number) for i in invoices[::3]
    }
    by_id = {i.id: i for i in after.values()}
    accounting = [a for a in _alerts(ingested) if a.audience == "accounting" and a.invoice_id]
    assert accounting, "rejections alert accounting"
    for alert in accounting:
        invoice = by_id[alert.invoice_id]
        assert alert.recipient == _accounting_of(invoice.supplier_siret), alert.subject
    send_alerts()
    assert {a.status for a in _alerts(ingested)} == {"sent"}


def test_a_password_changed_mid_run_stops_that_structure_only_until_it_is_fixed(
    ingested: str, simulator: SimulatorHandle, coops: Cooperatives
) -> None:
    revoked_accounts = coops.technical_accounts(revoked=REVOKED)

    class RevokeAfterFirstDeposit:
        """The structure's manager resets the password on the portal while the run goes on."""

        done = False

        def start(self, stage: str, total: int) -> None:
            return None

        def advance(self, stage: str, amount: int = 1) -> None:
            if not self.done:
                self.done = True
                simulator.control.set_config(technical_accounts=revoked_accounts)

    with progress.reporting(RevokeAfterFirstDeposit()):
        first = deposit()
    assert [h["sirets"] for h in first["halted"]] == [[REVOKED]]
    invoices = _invoices(ingested)
    states: dict[str, set[str]] = {i.supplier_siret: set() for i in invoices}
    for invoice in invoices:
        states[invoice.supplier_siret].add(invoice.state)
    assert states.pop(REVOKED) == {"ready"}, "nothing of it sent, nothing lost"
    assert set().union(*states.values()) == {"deposited"}, "the others finished"

    refused = [a for a in _alerts(ingested) if a.kind == "access_refused"]
    assert [(a.audience, a.recipient) for a in refused] == [("accounting", _accounting_of(REVOKED))]
    structure = coops.structure(REVOKED)
    assert structure.password_env in refused[0].body, "it names the secret to update"
    assert structure.login in refused[0].body and "Que faire" in refused[0].body
    assert structure.password not in refused[0].body

    # Reconciliation meets the same refusal for that structure only.
    nightly = reconcile(as_of=TODAY)
    assert [h["sirets"] for h in nightly["halted"]] == [[REVOKED]]
    assert {s["supplier_siret"] for s in nightly["suppliers"]} == set(SIRETS) - {REVOKED}

    # The manager gives the pipeline the new password (here: the portal takes the old one back).
    simulator.control.set_config(technical_accounts=coops.technical_accounts())
    second = deposit()
    assert second["halted"] == []
    counts: dict[str, Any] = second["counts"]
    assert counts["deposited"] == sum(1 for i in invoices if i.supplier_siret == REVOKED)
    final = _invoices(ingested)
    assert {i.state for i in final} == {"deposited"}
    assert _remote(simulator) == Counter((i.supplier_siret, i.invoice_number) for i in final)
    assert set(_remote(simulator).values()) == {1}, "each invoice on Chorus Pro exactly once"
