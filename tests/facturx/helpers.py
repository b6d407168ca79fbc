"""What the Factur-X tests share: the cooperatives' supplier profiles, warehouse rows, XPath reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from chorus_etl.settings import Settings
from chorus_etl.values import CooperativeTerms, FacturxStructure
from chorus_pro.simulator import seed
from schemas.issues import Reason
from schemas.warehouse import Invoice, InvoiceVatLine
from tasks.facturx import FacturxInvoice, SupplierProfile, facturx_invoice, seller_profile
from tasks.preflight.pdfs import PdfExpectations, check_invoice_pdf
from tasks.sample.pdfs import example_invoice

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
NS_RSM = NS["rsm"]
NS_RAM = NS["ram"]
SETTLEMENT = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
)
AGREEMENT = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
)
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
SCHILTIGHEIM = "21670447800017"


def supplier_profile(supplier: seed.Supplier) -> SupplierProfile:
    """A simulator supplier as the seller, built as the pipeline builds it (`seller_profile`)."""
    profile = seller_profile(supplier.siret, Settings())
    assert profile is not None
    return profile


ANTIGONE = supplier_profile(seed.ANTIGONE)
PROFILES = {s.siret: supplier_profile(s) for s in seed.SUPPLIERS}


def vat_line(rate_bp: int, base_cents: int, reason: str | None = None) -> InvoiceVatLine:
    vat = (base_cents * rate_bp + 5_000) // 10_000
    return InvoiceVatLine(
        invoice_id=1, rate_bp=rate_bp, base_cents=base_cents, vat_cents=vat, exemption_reason=reason
    )


def warehouse_invoice(vat_lines: list[InvoiceVatLine], **overrides: Any) -> Invoice:
    """A `ready` warehouse invoice to Schiltigheim whose totals are its VAT lines' sums."""
    ht = sum(line.base_cents for line in vat_lines)
    vat = sum(line.vat_cents for line in vat_lines)
    values: dict[str, Any] = {
        "supplier_siret": ANTIGONE.siret,
        "invoice_number": "FC0142-24",
        "invoice_type": "FACTURE",
        "invoice_date": date(2026, 11, 25),
        "due_date": date(2026, 12, 25),
        "entrepreneur_code": "ANT-E001",
        "buyer_siret": SCHILTIGHEIM,
        "buyer_name": "MAIRIE DE SCHILTIGHEIM",
        "buyer_service_code": "28E",
        "engagement_number": "1300012345",
        "currency": "EUR",
        "payment_mode": "VIREMENT",
        "amount_ht_cents": ht,
        "amount_vat_cents": vat,
        "total_ttc_cents": ht + vat,
    }
    values.update(overrides)
    return Invoice(**values)


def invoice_of(
    vat_lines: list[InvoiceVatLine],
    supplier: SupplierProfile = ANTIGONE,
    *,
    structure: FacturxStructure | None = None,
    terms: CooperativeTerms | None = None,
    original_invoice_date: date | None = None,
    **overrides: Any,
) -> FacturxInvoice:
    return facturx_invoice(
        warehouse_invoice(vat_lines, **overrides),
        vat_lines,
        supplier,
        structure=structure,
        terms=terms,
        original_invoice_date=original_invoice_date,
    )


def text(xml: bytes, path: str) -> list[str]:
    """The text of every element (or attribute value) at XPath `path`, with the CII prefixes."""
    root = etree.fromstring(xml)
    return [str(getattr(e, "text", e)) for e in root.xpath(path, namespaces=NS)]


def amount(xml: bytes, path: str) -> Decimal:
    found = text(xml, path)
    assert len(found) == 1, (path, found)
    return Decimal(found[0])


def breakdown(xml: bytes) -> list[tuple[Decimal, Decimal, Decimal, str]]:
    """(rate, base, VAT, category) of each header ApplicableTradeTax, in document order."""
    root = etree.fromstring(xml)
    rows = []
    for tax in root.xpath(f"{SETTLEMENT}/ram:ApplicableTradeTax", namespaces=NS):

        def one(name: str, tax: Any = tax) -> str:
            return str(tax.find(f"ram:{name}", NS).text)

        rows.append(
            (
                Decimal(one("RateApplicablePercent")),
                Decimal(one("BasisAmount")),
                Decimal(one("CalculatedAmount")),
                one("CategoryCode"),
            )
        )
    return rows


def example_preflight_reasons(folder: Path, pdf: bytes) -> list[Reason]:
    """What the ingest's PDF preflight finds wrong with `pdf` as the example invoice's PDF."""
    data = example_invoice()
    (folder / "facturx.pdf").write_bytes(pdf)
    expected = PdfExpectations(
        invoice_number=data.invoice_number,
        buyer_siret=data.buyer_siret,
        engagement_number=data.engagement_number,
        service_code=data.buyer_service_code,
        total_ttc_cents=data.total_ttc_cents,
    )
    return check_invoice_pdf(folder, "facturx.pdf", expected).reasons
