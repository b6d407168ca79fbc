"""Factur-X deposits through the flows: exactly once, followed to their report, refusals alerted."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlmodel import col

from chorus_etl import db
from chorus_etl.config import get_settings, reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.warehouse import Alert, DepositAttempt, Invoice
from tasks.deposit.document import facturx_builder
from tasks.deposit.store import load_invoices
from tasks.sample.export import generate_export
from tests.facturx.pdfa3 import pdfa3_problems, plain_pdf
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)
FLUX = "/cpro/factures/v1/deposer/flux"


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export"
    generate_export(folder, invoices=40, seed_value=23, today=TODAY)
    return folder


@pytest.fixture
def ingested(
    clean_export: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """Artenréel deposits Factur-X, Antigone PDFs: both modes in one run."""
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps({ARTENREEL_SIRET: "facturx"}))
    reset_settings_cache()
    report = ingest(clean_export, today=TODAY)
    assert report["counts"]["state_ready"] == report["counts"]["invoices"], report
    simulator.control.reset_stats()
    return sqlite_url


def _rows(url: str, model: type[Invoice] | type[DepositAttempt]) -> list[dict[str, object]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(sa.select(model))]
    finally:
        engine.dispose()


def _fluxes_by_number(simulator: SimulatorHandle) -> Counter[str]:
    """How many fluxes Chorus Pro received for each invoice number (from their file names)."""
    names = [f["nomFichier"] for f in simulator.control.store()["flux"]]
    return Counter(name.split("_")[1] for name in names)


def test_both_modes_deposit_and_facturx_settles_through_its_flux_report(
    ingested: str, simulator: SimulatorHandle
) -> None:
    summary = deposit()
    counts = summary["counts"]
    invoices = _rows(ingested, Invoice)
    facturx = [i for i in invoices if i["supplier_siret"] == ARTENREEL_SIRET]
    pdf = [i for i in invoices if i["supplier_siret"] == ANTIGONE_SIRET]
    assert facturx and pdf
    # PDFs land at once; fluxes are only received: Chorus integrates them later.
    assert counts.get("deposited", 0) == len(pdf)
    assert counts.get("awaiting_report", 0) == len(facturx)
    assert {i["state"] for i in facturx} == {"submitting"}

    after = reconcile(as_of=TODAY)
    assert after["fluxes_followed"] == len(facturx)
    assert after["fluxes_settled"] == len(facturx)
    by_number = {i["invoice_number"]: i for i in _rows(ingested, Invoice)}
    assert {i["state"] for i in by_number.values()} == {"deposited"}
    attempts = _rows(ingested, DepositAttempt)
    modes = Counter(str(a["mode"]) for a in attempts if a["outcome"] == "deposited")
    assert modes == {"pdf": len(pdf), "facturx": len(facturx)}
    assert all(a["flux_number"] for a in attempts if a["mode"] == "facturx")

    store = simulator.control.store()
    received = _fluxes_by_number(simulator)
    assert received == {str(i["invoice_number"]): 1 for i in facturx}
    assert all(s["count"] == 1 for s in store["submissions"])
    assert len(store["submissions"]) == len(pdf) + len(facturx)
    assert all(
        s["modeDepot"] == "EDI" for s in store["invoices"] if s["supplier_siret"] == ARTENREEL_SIRET
    )
    remote = {(i["supplier_siret"], i["numeroFacture"]): i for i in store["invoices"]}
    for invoice in by_number.values():
        landed = remote[(invoice["supplier_siret"], invoice["invoice_number"])]
        assert landed["identifiantFactureCPP"] == invoice["chorus_invoice_id"]
        assert landed["montantTtcTotal"] == pytest.approx(
            int(str(invoice["total_ttc_cents"])) / 100
        )


def test_a_refused_flux_makes_the_invoice_deposit_failed_with_an_alert(
    ingested: str, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(flux_outcome="IN_REJETE")
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    reconcile(as_of=TODAY)
    invoices = [i for i in _rows(ingested, Invoice) if i["supplier_siret"] == ARTENREEL_SIRET]
    assert {i["state"] for i in invoices} == {"deposit_failed"}
    assert all(i["deposit_error_code"] == "FLUX_REFUSE" for i in invoices)
    assert all(i["deposit_error_label"] for i in invoices)
    engine = db.make_engine(ingested)
    try:
        with engine.connect() as connection:
            kinds = Counter(
                connection.execute(
                    sa.select(col(Alert.kind)).where(col(Alert.kind) == "deposit_refused")
                ).scalars()
            )
    finally:
        engine.dispose()
    assert kinds["deposit_refused"] == 2 * len(invoices)  # the entrepreneur's and accounting's
    # Refused means never sent again by itself.
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    assert sum(_fluxes_by_number(simulator).values()) == len(invoices)


def test_a_lost_flux_answer_is_looked_up_and_never_sent_twice(
    ingested: str, simulator: SimulatorHandle
) -> None:
    simulator.control.set_faults(rate_commit_then_fail=1.0, paths=[FLUX])
    first = deposit(supplier_sirets=[ARTENREEL_SIRET])
    lost = first["counts"].get("awaiting_report", 0)
    assert lost > 0
    assert all(a["flux_number"] is None for a in _rows(ingested, DepositAttempt))
    simulator.control.set_faults()
    simulator.control.advance(minutes=5)  # Chorus integrates what it received
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    invoices = [i for i in _rows(ingested, Invoice) if i["supplier_siret"] == ARTENREEL_SIRET]
    assert {i["state"] for i in invoices} == {"deposited"}
    assert _fluxes_by_number(simulator) == {str(i["invoice_number"]): 1 for i in invoices}


def test_a_lost_answer_is_not_resent_within_the_grace_period(
    ingested: str, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(flux_outcome="IN_REJETE")
    simulator.control.set_faults(rate_commit_then_fail=1.0, paths=[FLUX], max_faults=1)
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    simulator.control.set_faults()
    simulator.control.advance(minutes=5)  # the lost flux is rejected: its invoice is absent
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    submitting = [
        i
        for i in _rows(ingested, Invoice)
        if i["state"] == "submitting" and i["supplier_siret"] == ARTENREEL_SIRET
    ]
    assert len(submitting) == 1, "absent, but within the grace period: looked up, not resent"
    assert sum(_fluxes_by_number(simulator).values()) == len(
        [i for i in _rows(ingested, Invoice) if i["supplier_siret"] == ARTENREEL_SIRET]
    )


def test_after_the_grace_period_an_absent_invoice_is_sent_again_and_lands_once(
    ingested: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_ETL_FLUX_RESEND_GRACE_MINUTES", "0")
    reset_settings_cache()
    simulator.control.set_config(flux_outcome="IN_REJETE")
    simulator.control.set_faults(rate_commit_then_fail=1.0, paths=[FLUX], max_faults=1)
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    lost = [a for a in _rows(ingested, DepositAttempt) if a["outcome"] == "ambiguous"]
    assert len(lost) == 1 and lost[0]["flux_number"] is None
    invoices = {i["id"]: i for i in _rows(ingested, Invoice)}
    assert invoices[lost[0]["invoice_id"]]["state"] == "submitting", "it waits for the next run"
    number = str(invoices[lost[0]["invoice_id"]]["invoice_number"])
    simulator.control.set_faults()
    simulator.control.advance(minutes=5)  # the lost flux was rejected: nothing landed
    simulator.control.set_config(flux_outcome="auto")
    deposit(supplier_sirets=[ARTENREEL_SIRET])  # absent after the grace period: sent again
    assert _fluxes_by_number(simulator)[number] == 2
    simulator.control.advance(minutes=5)
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    again = {i["invoice_number"]: i for i in _rows(ingested, Invoice)}[number]
    assert again["state"] == "deposited"
    remote = [i for i in simulator.control.store()["invoices"] if i["numeroFacture"] == number]
    assert len(remote) == 1


def test_a_pdf_that_cannot_become_a_facturx_is_refused_before_anything_is_sent(
    ingested: str, clean_export: Path, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    victim = next(i for i in _rows(ingested, Invoice) if i["supplier_siret"] == ARTENREEL_SIRET)
    pdf = clean_export / str(victim["pdf_path"])
    kept = tmp_path / "kept.pdf"
    kept.write_bytes(pdf.read_bytes())
    try:
        pdf.write_bytes(b"%PDF-1.4\n% broken after the ingest\n")
        deposit(supplier_sirets=[ARTENREEL_SIRET], invoice_numbers=[str(victim["invoice_number"])])
    finally:
        pdf.write_bytes(kept.read_bytes())
    after = {i["id"]: i for i in _rows(ingested, Invoice)}[victim["id"]]
    assert after["state"] == "deposit_failed"
    assert after["deposit_error_code"] == "facturx.pdf_unreadable"
    assert _fluxes_by_number(simulator) == {}, "nothing reached Chorus Pro"


def test_a_pdf_that_is_not_pdfa_is_converted_and_waits_ready_while_ghostscript_is_missing(
    ingested: str,
    clean_export: Path,
    simulator: SimulatorHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PDF made outside the generator (core fonts, not embedded): without Ghostscript nothing
    is sent and the invoice stays `ready`; with it, the Factur-X sent is a true PDF/A-3."""
    victim = next(i for i in _rows(ingested, Invoice) if i["supplier_siret"] == ARTENREEL_SIRET)
    number = str(victim["invoice_number"])
    pdf = clean_export / str(victim["pdf_path"])
    kept = tmp_path / "kept.pdf"
    kept.write_bytes(pdf.read_bytes())
    lines = PdfReader(kept).pages[0].extract_text().splitlines()
    try:
        pdf.write_bytes(plain_pdf(lines))
        monkeypatch.setenv("CHORUS_ETL_GHOSTSCRIPT_COMMAND", str(tmp_path / "no-ghostscript"))
        reset_settings_cache()
        waiting = deposit(supplier_sirets=[ARTENREEL_SIRET], invoice_numbers=[number])
        assert waiting["counts"]["retry_later"] == 1, waiting
        assert "Ghostscript" in str(waiting["invoices"][0]["detail"])
        assert {i["id"]: i for i in _rows(ingested, Invoice)}[victim["id"]]["state"] == "ready"
        assert _fluxes_by_number(simulator) == {}, "nothing reached Chorus Pro"

        monkeypatch.delenv("CHORUS_ETL_GHOSTSCRIPT_COMMAND")
        reset_settings_cache()
        engine = db.make_engine(ingested)
        try:
            loaded = load_invoices(engine, [int(str(victim["id"]))])[int(str(victim["id"]))]
        finally:
            engine.dispose()
        assert pdfa3_problems(facturx_builder(get_settings())(loaded)) == []
        sent = deposit(supplier_sirets=[ARTENREEL_SIRET], invoice_numbers=[number])
        assert sent["counts"]["awaiting_report"] == 1, sent
    finally:
        pdf.write_bytes(kept.read_bytes())
    reconcile(as_of=TODAY)
    assert {i["id"]: i for i in _rows(ingested, Invoice)}[victim["id"]]["state"] == "deposited"
    assert _fluxes_by_number(simulator) == {number: 1}
