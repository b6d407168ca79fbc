"""Acceptance: every invoice of a realistic 200-invoice export, ingested by the real flow with both
structures in Factur-X mode, is `ready` and gets a Factur-X that passes the checks, embeds into its
own PDF (a true PDF/A-3, as pikepdf sees it) and reads back with the totals and VAT lines of the
warehouse and of the export file, to the cent; and that passes the three official Schematrons
(EN 16931, French CTC, EXTENDED-CTC-FR) with no fatal failure: a representative invoice of each
kind on every run, all 200 in the `slow` test."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlmodel import Session, select

from chorus_etl import db
from chorus_etl.config import get_settings
from chorus_pro.simulator import SimulatorHandle, seed
from flows.ingest import ingest
from schemas.warehouse import Invoice
from tasks.deposit.store import LoadedInvoice, load_invoices
from tasks.facturx import (
    FacturxInvoice,
    build_cii,
    check_facturx_xml,
    embed_facturx,
    facturx_document,
    read_back,
)
from tasks.facturx.schematron import Schematron
from tasks.sample import generate_export
from tests.facturx.helpers import NS, SETTLEMENT, TOTALS, breakdown
from tests.facturx.pdfa3 import pdfa3_problems
from tests.flows.helpers import configure

pytestmark = pytest.mark.prefect

TODAY = date(2026, 11, 27)
DOCUMENT = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
INVOICES = 200
KINDS = {
    "invoice",
    "credit_note",
    "multi_rate",
    "exempt",
    "service_code",
    "no_service_code",
    "engagement",
    "no_engagement",
}


@dataclass(frozen=True)
class Built:
    """One sample invoice as the deposit would send it."""

    loaded: LoadedInvoice
    document: FacturxInvoice
    xml: bytes
    kinds: frozenset[str]


@dataclass(frozen=True)
class Sample:
    folder: Path
    built: list[Built]

    def representatives(self) -> list[Built]:
        """The first invoice of each kind not met before: every kind, a few invoices."""
        chosen: list[Built] = []
        seen: set[str] = set()
        for item in self.built:
            if not item.kinds <= seen:
                chosen.append(item)
                seen |= item.kinds
        return chosen


def _kinds(loaded: LoadedInvoice) -> frozenset[str]:
    invoice = loaded.invoice
    found = {"credit_note" if invoice.invoice_type == "AVOIR" else "invoice"}
    if len(loaded.vat_lines) > 1:
        found.add("multi_rate")
    if any(line.rate_bp == 0 for line in loaded.vat_lines):
        found.add("exempt")
    found.add("service_code" if invoice.buyer_service_code else "no_service_code")
    found.add("engagement" if invoice.engagement_number else "no_engagement")
    return frozenset(found)


@pytest.fixture(scope="module")
def sample(
    tmp_path_factory: pytest.TempPathFactory,
    simulator_server: SimulatorHandle,
    prefect_harness: None,
) -> Sample:
    """The export generated and ingested once for the module, every invoice's Factur-X built."""
    root = tmp_path_factory.mktemp("sample")
    folder = root / "export-2026-11-27"
    url = f"sqlite:///{root / 'warehouse.db'}"
    generate_export(folder, invoices=INVOICES, seed_value=11, today=TODAY)
    simulator_server.control.reset()
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(monkeypatch, url, simulator_server)
        modes = {supplier.siret: "facturx" for supplier in seed.SUPPLIERS}
        monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps(modes))
        ingest(folder, today=TODAY)
        settings = get_settings()
        engine = db.make_engine(url)
        try:
            with Session(engine) as session:
                states = session.exec(select(Invoice.state, Invoice.id)).all()
            assert {state for state, _id in states} == {"ready"}, states
            ids = [invoice_id for _state, invoice_id in states if invoice_id is not None]
            loaded = load_invoices(engine, sorted(ids))
        finally:
            engine.dispose()
        built = []
        for item in loaded.values():
            document = facturx_document(
                item.invoice,
                item.vat_lines,
                settings,
                original_invoice_date=item.original_invoice_date,
            )
            assert document is not None
            built.append(Built(item, document, build_cii(document), _kinds(item)))
    simulator_server.control.reset()
    return Sample(folder, built)


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


def test_the_export_has_every_kind_of_invoice_and_all_are_ready(sample: Sample) -> None:
    assert len(sample.built) == INVOICES
    assert set().union(*(item.kinds for item in sample.built)) == KINDS


def test_every_sample_invoice_becomes_a_faithful_factur_x(sample: Sample) -> None:
    export_rows = _export_rows(sample.folder)
    for item in sample.built:
        invoice, vat_lines, xml = item.loaded.invoice, item.loaded.vat_lines, item.xml
        assert check_facturx_xml(xml, item.document) == [], invoice.invoice_number
        assert invoice.pdf_path is not None
        pdf = (sample.folder / invoice.pdf_path).read_bytes()
        back, level = read_back(embed_facturx(pdf, xml, author=item.document.seller.name))
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
        credit_note = "credit_note" in item.kinds
        type_code = root.xpath(f"{DOCUMENT}/ram:TypeCode/text()", namespaces=NS)
        assert type_code == (["381"] if credit_note else ["380"])
        referenced = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
        original = root.xpath(f"{referenced}/ram:IssuerAssignedID/text()", namespaces=NS)
        assert original == ([invoice.original_invoice_number] if credit_note else [])
        original_date = root.xpath(
            f"{referenced}/ram:FormattedIssueDateTime/*/text()", namespaces=NS
        )
        if credit_note:
            assert item.loaded.original_invoice_date is not None
            assert original_date == [item.loaded.original_invoice_date.strftime("%Y%m%d")]
        codes = root.xpath(
            f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReasonCode/text()", namespaces=NS
        )
        assert codes == (["VATEX-FR-FRANCHISE"] if "exempt" in item.kinds else [])


def test_every_sample_invoice_factur_x_is_a_true_pdfa3(sample: Sample) -> None:
    """The PDF/A-3 requirements pikepdf can see, on the Factur-X of every sample invoice."""
    problems = {}
    for item in sample.built:
        invoice = item.loaded.invoice
        pdf = (sample.folder / str(invoice.pdf_path)).read_bytes()
        found = pdfa3_problems(embed_facturx(pdf, item.xml, author=item.document.seller.name))
        if found:
            problems[invoice.invoice_number] = found
    assert problems == {}


def _fatal(schematrons: tuple[Schematron, ...], item: Built) -> list[str]:
    return [
        f"{item.loaded.invoice.invoice_number}: {f.source} {f.rule_id} {f.text}"
        for rules in schematrons
        for f in rules.failed_assertions(item.xml)
        if f.fatal
    ]


def test_an_invoice_of_each_kind_passes_the_three_schematrons(
    sample: Sample, french_schematrons: tuple[Schematron, ...]
) -> None:
    chosen = sample.representatives()
    assert set().union(*(item.kinds for item in chosen)) == KINDS
    assert [line for item in chosen for line in _fatal(french_schematrons, item)] == []


@pytest.mark.slow
def test_all_sample_invoices_pass_the_three_schematrons(
    sample: Sample, french_schematrons: tuple[Schematron, ...]
) -> None:
    assert [line for item in sample.built for line in _fatal(french_schematrons, item)] == []
