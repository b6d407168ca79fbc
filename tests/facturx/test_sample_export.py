"""Acceptance: every `ready` invoice of a realistic 200-invoice export, ingested by the real flow,
gets a Factur-X that passes the checks, embeds into its own PDF and reads back with the totals and
VAT lines of the warehouse and of the export file, to the cent."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from schemas.warehouse import Invoice, InvoiceVatLine
from tasks.facturx import build_cii, check_facturx_xml, embed_facturx, facturx_invoice, read_back
from tasks.facturx.schematron import schematron_available
from tasks.sample import generate_export
from tests.facturx.helpers import NS, PROFILES, SETTLEMENT, TOTALS, breakdown
from tests.flows.helpers import configure

pytestmark = pytest.mark.prefect

TODAY = date(2026, 11, 27)
DOCUMENT = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
INVOICES = 200


def _export_rows(folder: Path) -> dict[tuple[str, str], list[dict[str, str]]]:
    """The export's own rows (one per VAT rate), read independently of the pipeline."""
    rows: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with (folder / "invoices.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            rows[row["siret_fournisseur"], row["numero_facture"]].append(row)
    return rows


def _cents(value: Decimal) -> int:
    assert value == value.quantize(Decimal("0.01")), value
    return int(value * 100)


def _kinds(invoice: Invoice, vat_lines: list[InvoiceVatLine]) -> set[str]:
    found = {"credit_note" if invoice.invoice_type == "AVOIR" else "invoice"}
    if len(vat_lines) > 1:
        found.add("multi_rate")
    if any(line.rate_bp == 0 for line in vat_lines):
        found.add("exempt")
    return found


def _ready_invoices(database_url: str) -> list[tuple[Invoice, list[InvoiceVatLine]]]:
    engine = db.make_engine(database_url)
    try:
        with Session(engine) as session:
            invoices = session.exec(select(Invoice).where(col(Invoice.state) == "ready")).all()
            lines: dict[int, list[InvoiceVatLine]] = defaultdict(list)
            for line in session.exec(select(InvoiceVatLine)).all():
                lines[line.invoice_id].append(line)
            return [(i, lines[i.id]) for i in invoices if i.id is not None]
    finally:
        engine.dispose()


def test_every_ready_invoice_of_a_sample_export_becomes_a_faithful_factur_x(
    tmp_path: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    folder = tmp_path / "export-2026-11-27"
    generate_export(folder, invoices=INVOICES, seed_value=11, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    ingest(folder, today=TODAY)
    ready = _ready_invoices(sqlite_url)
    assert len(ready) == INVOICES
    export_rows = _export_rows(folder)
    kinds: set[str] = set()
    schematron = None
    if schematron_available():
        from tasks.facturx.schematron import en16931_schematron

        schematron = en16931_schematron()
    for invoice, vat_lines in ready:
        inv = facturx_invoice(invoice, vat_lines, PROFILES[invoice.supplier_siret])
        xml = build_cii(inv)
        assert check_facturx_xml(xml, inv) == [], invoice.invoice_number
        kinds_here = _kinds(invoice, vat_lines)
        if schematron is not None and not kinds_here <= kinds:
            # The Schematron on the first invoice of each kind: 45 ms each, the unit tests run
            # it on every kind the builder makes.
            assert schematron.failed_assertions(xml) == [], invoice.invoice_number
        kinds |= kinds_here
        assert invoice.pdf_path is not None
        pdf = (folder / invoice.pdf_path).read_bytes()
        back, level = read_back(embed_facturx(pdf, xml, author=inv.seller.name))
        assert (back, level) == (xml, "en16931")

        root = etree.fromstring(back)

        def total(name: str, root: etree._Element = root) -> int:
            (element,) = root.xpath(f"{TOTALS}/ram:{name}", namespaces=NS)
            return _cents(Decimal(element.text))

        assert total("LineTotalAmount") == invoice.amount_ht_cents
        assert total("TaxBasisTotalAmount") == invoice.amount_ht_cents
        assert total("TaxTotalAmount") == invoice.amount_vat_cents
        assert total("GrandTotalAmount") == invoice.total_ttc_cents
        assert total("DuePayableAmount") == invoice.total_ttc_cents
        written = sorted(
            (int(rate * 100), _cents(base), _cents(vat))
            for rate, base, vat, _cat in breakdown(back)
        )
        assert written == sorted((v.rate_bp, v.base_cents, v.vat_cents) for v in vat_lines)
        rows = export_rows[invoice.supplier_siret, invoice.invoice_number]
        assert written == sorted(
            (
                int(Decimal(r["taux_tva"]) * 100),
                _cents(Decimal(r["montant_ht"])),
                _cents(Decimal(r["montant_tva"])),
            )
            for r in rows
        )
        assert {_cents(Decimal(r["montant_ttc"])) for r in rows} == {total("GrandTotalAmount")}
        type_code = root.xpath(f"{DOCUMENT}/ram:TypeCode/text()", namespaces=NS)
        assert type_code == (["381"] if "credit_note" in kinds_here else ["380"])
        original = root.xpath(
            f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()",
            namespaces=NS,
        )
        assert original == (
            [invoice.original_invoice_number] if "credit_note" in kinds_here else []
        )
        codes = root.xpath(
            f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReasonCode/text()", namespaces=NS
        )
        assert codes == (["VATEX-FR-FRANCHISE"] if "exempt" in kinds_here else [])
    assert kinds == {"invoice", "credit_note", "multi_rate", "exempt"}
