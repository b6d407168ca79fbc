"""An invoice number already on Chorus Pro: ours only if it matches, never someone else's.

During the switch from the portal, an entrepreneur's invoice may already be on Chorus Pro,
deposited by hand (identical: it is ours, and is never sent again), or another invoice may carry
the same number (another buyer, another amount: `conflict`, accounting decides, nothing of the
other invoice is taken). Both deposit modes, after a refusal, a lost answer, and in the nightly
reconciliation.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col
from typer.testing import CliRunner

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from cli import app
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.views import INVOICE_CURRENT
from schemas.warehouse import Alert, DepositAttempt, Invoice, StatusEvent, ValidationIssue
from tasks.sample.export import generate_export
from tests.dashboard.helpers import records
from tests.flows.helpers import configure, rows_of

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export"
    generate_export(folder, invoices=8, seed_value=5, today=TODAY)
    return folder


@pytest.fixture
def ingested(
    export: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> str:
    configure(monkeypatch, sqlite_url, simulator)
    report = ingest(export, today=TODAY)
    assert report["counts"]["state_ready"] == report["counts"]["invoices"]
    return sqlite_url


def _target(url: str, supplier: str = ANTIGONE_SIRET) -> Invoice:
    """An invoice (not a credit note) of the structure, as the warehouse holds it."""
    return next(
        i
        for i in rows_of(url, Invoice)
        if i.invoice_type == "FACTURE" and i.supplier_siret == supplier
    )


def _on_portal(simulator: SimulatorHandle, invoice: Invoice, **changes: Any) -> int:
    """Places `invoice` on Chorus Pro "deposited by hand", with `changes`; its Chorus id."""
    fields: dict[str, Any] = {
        "supplier_siret": invoice.supplier_siret,
        "numeroFacture": invoice.invoice_number,
        "codeDestinataire": invoice.buyer_siret,
        "codeServiceExecutant": invoice.buyer_service_code,
        "numeroBonCommande": invoice.engagement_number,
        "dateFacture": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
        "montantHtTotal": invoice.amount_ht_cents / 100,
        "montantTVA": invoice.amount_vat_cents / 100,
        "montantTtcTotal": invoice.total_ttc_cents / 100,
    }
    fields.update(changes)
    placed = simulator.control.manual_invoice(**{k: v for k, v in fields.items() if v is not None})
    return int(placed["identifiantFactureCPP"])


def _one(url: str, invoice_id: int | None) -> Invoice:
    return rows_of(url, Invoice, col(Invoice.id) == invoice_id)[0]


def _alerts(url: str) -> list[Alert]:
    return rows_of(url, Alert)


def _submissions(simulator: SimulatorHandle, number: str) -> int:
    attempts = simulator.control.store()["attempts"]
    return sum(a["count"] for a in attempts if a["numeroFacture"] == number)


def _assert_conflict(url: str, target: Invoice, other_id: int) -> None:
    """In conflict, with both sides in its reason, one accounting alert, nothing taken."""
    held = _one(url, target.id)
    assert held.state == "conflict"
    assert held.chorus_invoice_id is None and held.current_status is None
    assert held.deposit_origin is None
    assert rows_of(url, StatusEvent, col(StatusEvent.invoice_id) == target.id) == []
    reasons = rows_of(url, ValidationIssue, col(ValidationIssue.invoice_id) == target.id)
    assert [r.rule for r in reasons] == ["chorus.number_taken"]
    assert str(other_id) in reasons[0].message_fr and str(other_id) in reasons[0].message_en
    alerts = _alerts(url)
    assert [(a.kind, a.audience) for a in alerts] == [("number_conflict", "accounting")]
    assert target.invoice_number in alerts[0].subject
    assert str(other_id) in alerts[0].body


def test_an_identical_invoice_deposited_by_hand_is_ours_and_never_sent_again(
    ingested: str, simulator: SimulatorHandle
) -> None:
    target = _target(ingested)
    portal_id = _on_portal(simulator, target)
    first = deposit(invoice_numbers=[target.invoice_number])
    assert first["counts"] == {"found_existing": 1, "retried": 0}
    found = _one(ingested, target.id)
    assert (found.state, found.chorus_invoice_id) == ("deposited", portal_id)
    assert found.deposit_origin == "portal"
    again = deposit(invoice_numbers=[target.invoice_number])
    assert again["counts"] == {"retried": 0}
    assert _submissions(simulator, target.invoice_number) == 1, "refused once, never resent"
    assert _alerts(ingested) == []


def test_the_nightly_finds_an_invoice_deposited_by_hand_before_the_pipeline_sends_it(
    ingested: str, simulator: SimulatorHandle
) -> None:
    target = _target(ingested)
    portal_id = _on_portal(simulator, target)
    summary = reconcile(as_of=TODAY)
    assert (summary["external_created"], summary["matched_on_chorus"]) == (0, 1)
    found = _one(ingested, target.id)
    assert (found.state, found.chorus_invoice_id, found.deposit_origin) == (
        "deposited",
        portal_id,
        "portal",
    )
    assert found.current_status == "DEPOSEE"
    deposit(invoice_numbers=[target.invoice_number])
    assert _submissions(simulator, target.invoice_number) == 0


@pytest.mark.parametrize(
    "changes",
    [{"montantHtTotal": 1.0, "montantTVA": 0.2, "montantTtcTotal": 1.2}, "other_buyer"],
    ids=["other_amount", "other_buyer"],
)
def test_the_same_number_on_another_invoice_is_a_conflict_alerted_once(
    ingested: str, simulator: SimulatorHandle, changes: Any
) -> None:
    target = _target(ingested)
    if changes == "other_buyer":
        other = next(i for i in rows_of(ingested, Invoice) if i.buyer_siret != target.buyer_siret)
        changes = {
            "codeDestinataire": other.buyer_siret,
            "codeServiceExecutant": other.buyer_service_code,
            "numeroBonCommande": other.engagement_number,
        }
    other_id = _on_portal(simulator, target, **changes)
    first = deposit(invoice_numbers=[target.invoice_number])
    assert first["counts"] == {"conflict": 1, "retried": 0}
    _assert_conflict(ingested, target, other_id)
    simulator.control.set_status(other_id, "REJETEE", "pas pour nous")
    reconcile(as_of=TODAY)
    again = deposit(invoice_numbers=[target.invoice_number])
    assert again["counts"] == {"retried": 0}
    _assert_conflict(ingested, target, other_id)  # still: no status, no second alert
    assert _submissions(simulator, target.invoice_number) == 1

    shown = CliRunner().invoke(app, ["invoice", target.invoice_number, "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"conflict"' in shown.output and str(other_id) in shown.output
    engine = db.make_engine(ingested)
    try:
        (row,) = records(engine, INVOICE_CURRENT, invoice_number=target.invoice_number)
    finally:
        engine.dispose()
    assert (row["state"], row["stage"]) == ("conflict", "conflict"), "the dashboards show it"


def test_a_duplicate_refusal_of_our_own_earlier_deposit_is_deposited(
    ingested: str, simulator: SimulatorHandle
) -> None:
    """Our earlier deposit landed, but the warehouse lost track (its answer was lost, then the
    search missed it and the invoice was made `ready`): the resend is refused as a duplicate."""
    target = _target(ingested)
    deposit(invoice_numbers=[target.invoice_number])
    landed = _one(ingested, target.id)
    assert landed.state == "deposited" and landed.chorus_invoice_id
    engine = db.make_engine(ingested)
    with engine.begin() as connection:
        connection.execute(
            sa.update(Invoice)
            .where(col(Invoice.id) == target.id)
            .values(state="ready", chorus_invoice_id=None, deposit_origin=None)
        )
        connection.execute(
            sa.update(DepositAttempt)
            .where(col(DepositAttempt.invoice_id) == target.id)
            .values(outcome="failed", chorus_invoice_id=None)
        )
    engine.dispose()
    again = deposit(invoice_numbers=[target.invoice_number])
    assert again["counts"] == {"found_existing": 1, "retried": 0}
    settled = _one(ingested, target.id)
    assert (settled.state, settled.chorus_invoice_id) == ("deposited", landed.chorus_invoice_id)
    assert settled.deposit_origin == "pipeline"
    assert _alerts(ingested) == [], "no false failure alert"


def test_a_lost_answer_then_another_invoice_under_the_number_is_a_conflict(
    ingested: str, simulator: SimulatorHandle
) -> None:
    target = _target(ingested)
    other_id = _on_portal(
        simulator, target, montantHtTotal=3.0, montantTVA=0.6, montantTtcTotal=3.6
    )
    simulator.control.set_config(reject_duplicate_numbers=False)
    simulator.control.set_faults(rate_503=1.0, paths=["/cpro/factures/v1/soumettre"])
    summary = deposit(invoice_numbers=[target.invoice_number])
    simulator.control.set_faults()
    assert summary["counts"]["conflict"] == 1, summary
    _assert_conflict(ingested, target, other_id)


def test_a_facturx_refused_for_a_number_another_invoice_holds_is_a_conflict(
    ingested: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps({ARTENREEL_SIRET: "facturx"}))
    reset_settings_cache()
    target = _target(ingested, ARTENREEL_SIRET)
    other_id = _on_portal(
        simulator, target, montantHtTotal=5.0, montantTVA=1.0, montantTtcTotal=6.0
    )
    sent = deposit(invoice_numbers=[target.invoice_number])
    assert sent["counts"].get("conflict", 0) + sent["counts"].get("awaiting_report", 0) == 1
    simulator.control.advance(minutes=10)
    reconcile(as_of=TODAY)
    _assert_conflict(ingested, target, other_id)
