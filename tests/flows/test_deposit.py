"""Deposit acceptance: validation on every routing case, refusals, token expiry, 429, dry run."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle, seed
from flows.deposit import deposit
from flows.ingest import ingest
from schemas.warehouse import Alert, DepositAttempt, Invoice
from tasks.facturx.pdfa import embed_facturx
from tasks.preflight import strip_embedded_xml
from tasks.sample.caerp_xml import caerp_facturx_xml
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, rows_of

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export"
    generate_export(folder, invoices=70, seed_value=11, today=TODAY)
    return folder


@pytest.fixture
def ingested(
    clean_export: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> str:
    configure(monkeypatch, sqlite_url, simulator)
    report = ingest(clean_export, today=TODAY)
    assert report["counts"]["state_ready"] == report["counts"]["invoices"]
    simulator.control.reset_stats()
    return sqlite_url


def _invoices(url: str) -> list[Invoice]:
    return rows_of(url, Invoice)


def test_every_routing_case_multi_rate_and_credit_notes_pass_chorus_validation(
    ingested: str, simulator: SimulatorHandle
) -> None:
    summary = deposit()
    counts = summary["counts"]
    invoices = _invoices(ingested)
    assert counts.get("deposited") == len(invoices), summary
    assert {i.state for i in invoices} == {"deposited"}
    store = simulator.control.store()
    assert all(s["count"] == 1 for s in store["submissions"])
    assert len(store["submissions"]) == len(invoices)
    by_number = {(i["supplier_siret"], i["numeroFacture"]): i for i in store["invoices"]}
    for invoice in invoices:
        remote = by_number[(invoice.supplier_siret, invoice.invoice_number)]
        assert remote["identifiantFactureCPP"] == invoice.chorus_invoice_id
        assert remote["montantTtcTotal"] == pytest.approx(invoice.total_ttc_cents / 100)
    combos = {b.siret for b in seed.BUYERS if b.active}
    assert {i.buyer_siret for i in invoices} == combos, "every routing case is exercised"
    assert any(i.invoice_type == "AVOIR" for i in invoices)
    engine = db.make_engine(ingested)
    with engine.connect() as connection:
        multi = connection.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT invoice_id FROM invoice_vat_line GROUP BY invoice_id HAVING count(*) > 1) t"
            )
        ).scalar()
    engine.dispose()
    assert multi and multi > 0


def test_dry_run_sends_no_write_call(ingested: str, simulator: SimulatorHandle) -> None:
    summary = deposit(dry_run=True)
    assert summary["counts"].get("dry_run") == len(_invoices(ingested))
    store = simulator.control.store()
    assert store["attempts"] == []
    assert store["uploads"]["count"] == 0
    assert store["invoices"] == []
    payload = summary["invoices"][0]["payload"]
    assert payload["modeDepot"] == "DEPOT_PDF_API"
    assert payload["cadreDeFacturation"]["codeCadreFacturation"] == "A1_FACTURE_FOURNISSEUR"
    assert {i.state for i in _invoices(ingested)} == {"ready"}


def test_a_business_refusal_is_not_retried_and_alerts_both_audiences(
    ingested: str, simulator: SimulatorHandle
) -> None:
    target = _invoices(ingested)[0]
    engine = db.make_engine(ingested)
    with engine.begin() as connection:
        # A service the buyer closed after the ingest: Chorus Pro refuses the routing.
        connection.execute(
            sa.update(Invoice)
            .where(col(Invoice.id) == target.id)
            .values(buyer_service_code="FERME-2026")
        )
    engine.dispose()
    first = deposit(invoice_numbers=[target.invoice_number])
    assert first["counts"] == {"refused": 1, "retried": 0}
    again = deposit(invoice_numbers=[target.invoice_number])
    assert again["counts"] == {"retried": 0}
    store = simulator.control.store()
    tried = [a for a in store["attempts"] if a["numeroFacture"] == target.invoice_number]
    assert len(tried) == 1, "a refusal is sent once, never retried"
    refused = next(i for i in _invoices(ingested) if i.id == target.id)
    assert refused.state == "deposit_failed"
    assert refused.deposit_error_code and refused.deposit_error_label
    engine = db.make_engine(ingested)
    with engine.connect() as connection:
        alerts = connection.execute(
            sa.select(col(Alert.audience), col(Alert.recipient), col(Alert.subject))
        ).all()
    engine.dispose()
    assert sorted(a.audience for a in alerts) == ["accounting", "entrepreneur"]
    assert all(target.invoice_number in a.subject for a in alerts)


def test_a_token_expiring_mid_run_costs_one_refresh(
    ingested: str, simulator: SimulatorHandle
) -> None:
    simulator.control.set_faults(
        rate_token_expiry=1.0, max_faults=1, paths=["/cpro/factures/v1/soumettre"]
    )
    summary = deposit()
    assert summary["counts"].get("deposited") == len(_invoices(ingested))
    assert simulator.control.store()["tokens"]["issued"] == 2


def test_a_429_waits_at_least_its_retry_after(
    ingested: str, simulator: SimulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    simulator.control.set_faults(
        rate_429=1.0, retry_after_seconds=1, max_faults=1, paths=["/cpro/factures/v1/soumettre"]
    )
    capfd.readouterr()
    summary = deposit(invoice_numbers=[_invoices(ingested)[0].invoice_number])
    assert summary["counts"].get("deposited") == 1
    events = [
        json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")
    ]
    retries = [e for e in events if e["event"] == "chorus_pro.retry"]
    assert len(retries) == 1
    assert retries[0]["wait_seconds"] >= 1
    assert retries[0]["status_code"] == 429


def test_submitting_invoices_are_looked_up_before_any_resubmission(
    ingested: str, simulator: SimulatorHandle
) -> None:
    simulator.control.set_faults(
        rate_commit_then_fail=1.0, max_faults=5, paths=["/cpro/factures/v1/soumettre"]
    )
    summary = deposit()
    invoices = _invoices(ingested)
    assert {i.state for i in invoices} == {"deposited"}
    assert summary["counts"].get("found_existing") == 5
    store = simulator.control.store()
    assert all(s["count"] == 1 for s in store["submissions"])
    engine = db.make_engine(ingested)
    with engine.connect() as connection:
        outcomes = dict(
            connection.execute(
                sa.select(col(DepositAttempt.outcome), sa.func.count()).group_by(
                    col(DepositAttempt.outcome)
                )
            ).all()
        )
    engine.dispose()
    assert outcomes["found_existing"] == 5


def test_upload_ids_are_reused_by_later_attempts_within_and_across_runs(
    ingested: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_attachments = [i for i in _invoices(ingested) if json.loads(i.attachments_json)][:3]
    assert with_attachments, "the sample export has invoices with attachments"
    numbers = [i.invoice_number for i in with_attachments]
    files = sum(1 + len(json.loads(i.attachments_json)) for i in with_attachments)
    soumettre = "/cpro/factures/v1/soumettre"

    # Run 1: every submission is refused by the gateway before Chorus sees it (429, no retry
    # left): the files are uploaded, the invoices go back to `ready`.
    monkeypatch.setenv("CHORUS_ETL_HTTP_MAX_RETRIES", "0")
    reset_settings_cache()
    simulator.control.set_faults(rate_429=1.0, paths=[soumettre])
    first = deposit(invoice_numbers=numbers)
    assert first["counts"].get("retry_later") == len(numbers)
    assert simulator.control.store()["uploads"]["count"] == files

    # Run 2: each first submission fails after reaching Chorus (500, ambiguous) and is not
    # there, so it is submitted again: neither run uploads a file twice.
    simulator.control.set_faults(rate_500=1.0, max_faults=len(numbers), paths=[soumettre])
    second = deposit(invoice_numbers=numbers)
    assert second["counts"].get("deposited") == len(numbers)
    assert second["counts"]["retried"] == len(numbers)
    store = simulator.control.store()
    assert store["uploads"]["count"] == files, "no upload repeated across attempts"
    assert all(s["count"] == 1 for s in store["submissions"])

    engine = db.make_engine(ingested)
    with engine.connect() as connection:
        attempts = connection.execute(
            sa.select(
                col(DepositAttempt.invoice_id),
                col(DepositAttempt.pdf_attachment_id),
                col(DepositAttempt.attachment_ids_json),
            ).where(col(DepositAttempt.invoice_id).in_([i.id for i in with_attachments]))
        ).all()
    engine.dispose()
    by_invoice: dict[int, set[tuple[int | None, str]]] = {}
    for invoice_id, pdf_id, attachment_ids in attempts:
        by_invoice.setdefault(invoice_id, set()).add((pdf_id, attachment_ids))
    assert len(attempts) == 3 * len(numbers), (
        "per invoice: one failed (429), one ambiguous (500), one deposited"
    )
    assert all(len(ids) == 1 for ids in by_invoice.values()), by_invoice


def test_refused_credentials_halt_every_batch_and_leave_invoices_ready(
    ingested: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_BATCH_SIZE", "10")
    monkeypatch.setenv("CHORUS_ETL_CPRO_PASSWORD", "not-the-password")
    reset_settings_cache()
    summary = deposit()
    assert [h["sirets"] for h in summary["halted"]] == [[ANTIGONE_SIRET, ARTENREEL_SIRET]]
    assert "technical account" in summary["halted"][0]["error"]
    refused = rows_of(ingested, Alert, col(Alert.kind) == "access_refused")
    assert [a.audience for a in refused] == ["accounting"]
    assert "not-the-password" not in refused[0].body
    assert "CHORUS_ETL_CPRO_PASSWORD" in refused[0].body, "it says which secret to fix"
    assert {i.state for i in _invoices(ingested)} == {"ready"}


def test_a_pdf_embedding_an_xml_is_sent_without_it_and_the_attempt_says_so(
    ingested: str, simulator: SimulatorHandle, clean_export: Path
) -> None:
    """Chorus Pro could read an invoicing tool's embedded (wrong) Factur-X instead of the PDF."""
    target = next(i for i in _invoices(ingested) if i.invoice_type == "FACTURE")
    path = clean_export / (target.pdf_path or "")
    original = path.read_bytes()
    xml = caerp_facturx_xml(
        number=target.invoice_number,
        day=target.invoice_date or TODAY,
        seller="COOPERATIVE",
        buyer=target.buyer_name or "",
        buyer_id=target.buyer_siret or "",
        ht_cents=target.amount_ht_cents,
        ttc_cents=target.total_ttc_cents,
    )
    with_xml = embed_facturx(original, xml)
    path.write_bytes(with_xml)
    try:
        summary = deposit(invoice_numbers=[target.invoice_number])
    finally:
        path.write_bytes(original)
    assert summary["counts"].get("deposited") == 1, summary
    sent = {u["sha256"] for u in simulator.control.store()["uploads"]["items"]}
    assert hashlib.sha256(strip_embedded_xml(with_xml)).hexdigest() in sent
    assert hashlib.sha256(with_xml).hexdigest() not in sent
    attempts = rows_of(ingested, DepositAttempt, col(DepositAttempt.invoice_id) == target.id)
    assert [a.embedded_xml_removed for a in attempts] == [True]
