"""Ingest for a structure in Factur-X mode: OCR rules only warn, broken XML rules refuse."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fpdf import FPDF
from sqlmodel import col

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.french import format_euros
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from schemas.warehouse import Invoice, ValidationIssue
from tasks.sample.export import generate_export
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)


def _bare_pdf(path: Path, number: str, total_cents: int) -> None:
    """A text PDF showing only the invoice's number and total: the row↔PDF match, no more."""
    pdf = FPDF()
    pdf.core_fonts_encoding = "cp1252"  # the euro sign, as the sample invoices print it
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, f"Facture {number}")
    pdf.ln()
    pdf.cell(0, 10, f"Total TTC {format_euros(total_cents).replace(chr(160), ' ')}")
    pdf.output(str(path))


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A clean export in which one invoice of each structure has a PDF without the buyer's SIRET,
    service or engagement on it (what Chorus Pro's OCR looks for)."""
    folder = tmp_path / "export"
    generate_export(folder, invoices=16, seed_value=31, today=TODAY)
    with (folder / "invoices.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    done: set[str] = set()
    for row in rows:
        supplier = row["siret_fournisseur"]
        if supplier in done or not (row["code_service"] or row["numero_engagement"]):
            continue
        number = row["numero_facture"]
        lines = [r for r in rows if r["numero_facture"] == number]
        total = sum(
            round(float(r["montant_ht"].replace(",", ".")) * 100)
            + round(float(r["montant_tva"].replace(",", ".")) * 100)
            for r in lines
        )
        _bare_pdf(folder / row["fichier_pdf"], number, total)
        done.add(supplier)
    assert done == {ANTIGONE_SIRET, ARTENREEL_SIRET}
    return folder


def _issues(url: str) -> dict[str, list[tuple[str, str]]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    col(Invoice.invoice_number),
                    col(ValidationIssue.rule),
                    col(ValidationIssue.severity),
                ).join(ValidationIssue, col(ValidationIssue.invoice_id) == col(Invoice.id))
            ).all()
    finally:
        engine.dispose()
    found: dict[str, list[tuple[str, str]]] = {}
    for number, rule, severity in rows:
        found.setdefault(number, []).append((rule, severity))
    return found


def test_ocr_rules_only_warn_for_a_facturx_structure(
    export: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps({ARTENREEL_SIRET: "facturx"}))
    reset_settings_cache()
    report = ingest(export, today=TODAY)
    states = {(i["supplier_siret"], i["invoice_number"]): i for i in report["invoices"]}
    bare = {k: v for k, v in states.items() if v["reasons"] or v["warnings"]}
    assert {siret for siret, _ in bare} == {ANTIGONE_SIRET, ARTENREEL_SIRET}
    for (siret, _number), outcome in bare.items():
        if siret == ANTIGONE_SIRET:  # PDF mode: Chorus Pro's OCR needs them, they refuse
            assert outcome["state"] == "invalid"
            assert {r["rule"] for r in outcome["reasons"]} <= {
                "pdf.buyer_siret_missing",
                "pdf.engagement_missing",
                "pdf.service_missing",
            }
        else:  # Factur-X mode: the XML carries them, they warn
            assert outcome["state"] == "ready"
            assert outcome["reasons"] == []
            assert "pdf.buyer_siret_missing" in {w["rule"] for w in outcome["warnings"]}
    stored = _issues(sqlite_url)
    facturx_number = next(n for s, n in bare if s == ARTENREEL_SIRET)
    assert {severity for _, severity in stored[facturx_number]} == {"warning"}
    # A second ingest of the same export reports the stored warnings as warnings.
    again = ingest(export, today=TODAY)
    same = next(i for i in again["invoices"] if i["invoice_number"] == facturx_number)
    assert same["state"] == "ready"
    assert same["reasons"] == []
    assert same["warnings"]


def test_an_invoice_whose_xml_would_break_a_rule_is_invalid_with_its_reason(
    export: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps({ARTENREEL_SIRET: "facturx"}))
    identity = {
        "name": "ARTENREEL",
        "address_line": "1 rue de la Coopération",
        "postcode": "67000",
        "city": "Strasbourg",
    }  # no IBAN: a transfer cannot say where to pay (BR-61)
    monkeypatch.setenv("CHORUS_ETL_SUPPLIER_IDENTITIES", json.dumps({ARTENREEL_SIRET: identity}))
    reset_settings_cache()
    report = ingest(export, today=TODAY)
    artenreel = [i for i in report["invoices"] if i["supplier_siret"] == ARTENREEL_SIRET]
    assert artenreel
    for outcome in artenreel:
        assert outcome["state"] == "invalid"
        reasons = {r["rule"]: r for r in outcome["reasons"]}
        assert "facturx.br-61" in reasons
        assert "IBAN" in reasons["facturx.br-61"]["message_fr"]
    antigone = [i for i in report["invoices"] if i["supplier_siret"] == ANTIGONE_SIRET]
    assert not any(r["rule"].startswith("facturx.") for i in antigone for r in i["reasons"])
