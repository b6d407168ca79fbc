"""The CII XML: Chorus Pro's routing fields where Chorus reads them, EN 16931 valid (XSD and the
official Schematron), for invoices, credit notes, several rates and exemptions."""

from __future__ import annotations

from decimal import Decimal

import facturx
import pytest
from lxml import etree

from tasks.facturx import build_cii, check_facturx_xml
from tasks.facturx.schematron import Schematron
from tests.facturx.helpers import (
    AGREEMENT,
    ANTIGONE,
    SCHILTIGHEIM,
    SETTLEMENT,
    TOTALS,
    amount,
    breakdown,
    invoice_of,
    text,
    vat_line,
)

EXEMPTION = "TVA non applicable, art. 293 B du CGI"
KINDS = {
    "invoice": lambda: invoice_of([vat_line(2000, 135000)]),
    "credit_note": lambda: invoice_of(
        [vat_line(2000, 45000)],
        invoice_number="AV0007-24",
        invoice_type="AVOIR",
        original_invoice_number="FC0142-24",
    ),
    "multi_rate": lambda: invoice_of(
        [vat_line(2000, 135000), vat_line(550, 10200), vat_line(1000, 33333)]
    ),
    "exempt": lambda: invoice_of([vat_line(0, 12345, EXEMPTION)]),
    "mixed_exempt_unknown_reason": lambda: invoice_of(
        [vat_line(2000, 1000), vat_line(0, 500, "Exonération de TVA (formation)")],
        market_number="MARCHE-2026-17",
        engagement_number=None,
        buyer_service_code=None,
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_passes_the_xsd_and_the_business_rules(kind: str) -> None:
    inv = KINDS[kind]()
    xml = build_cii(inv)
    assert check_facturx_xml(xml, inv) == []
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_passes_the_official_schematron_with_no_failed_assertion(
    kind: str, schematron: Schematron
) -> None:
    assert schematron.failed_assertions(build_cii(KINDS[kind]())) == []


def test_invoice_carries_chorus_pro_routing_fields() -> None:
    xml = build_cii(KINDS["invoice"]())
    doc = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
    context = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
    assert text(xml, f"{doc}/ram:ID") == ["FC0142-24"]
    assert text(xml, f"{doc}/ram:TypeCode") == ["380"]
    assert text(xml, f"{doc}/ram:IssueDateTime/udt:DateTimeString") == ["20261125"]
    assert text(xml, f"{context}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == [
        "A1"
    ]
    assert text(xml, f"{context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [
        "urn:cen.eu:en16931:2017"
    ]
    root = etree.fromstring(xml)
    (buyer_id,) = root.xpath(
        f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID",
        namespaces={"rsm": root.nsmap["rsm"], "ram": root.nsmap["ram"]},
    )
    assert (buyer_id.text, buyer_id.get("schemeID")) == (SCHILTIGHEIM, "0002")
    seller = f"{AGREEMENT}/ram:SellerTradeParty"
    assert text(xml, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID") == [ANTIGONE.siret]
    assert text(xml, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID") == [ANTIGONE.vat_id]
    assert text(xml, f"{AGREEMENT}/ram:BuyerReference") == ["28E"]
    assert text(xml, f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == [
        "1300012345"
    ]
    assert text(xml, f"{AGREEMENT}/ram:ContractReferencedDocument/ram:IssuerAssignedID") == []
    means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert text(xml, f"{means}/ram:TypeCode") == ["30"]
    assert text(xml, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == [
        ANTIGONE.iban
    ]
    assert text(xml, f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/*") == [
        "20261225"
    ]
    assert text(xml, f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == []


def test_totals_are_written_from_cents_with_two_decimals_and_the_tax_currency() -> None:
    xml = build_cii(KINDS["invoice"]())
    assert text(xml, f"{TOTALS}/ram:LineTotalAmount") == ["1350.00"]
    assert text(xml, f"{TOTALS}/ram:TaxBasisTotalAmount") == ["1350.00"]
    assert text(xml, f"{TOTALS}/ram:TaxTotalAmount") == ["270.00"]
    assert text(xml, f"{TOTALS}/ram:TaxTotalAmount/@currencyID") == ["EUR"]
    assert text(xml, f"{TOTALS}/ram:GrandTotalAmount") == ["1620.00"]
    assert text(xml, f"{TOTALS}/ram:DuePayableAmount") == ["1620.00"]


def test_credit_note_is_381_with_positive_amounts_and_its_original_invoice() -> None:
    xml = build_cii(KINDS["credit_note"]())
    assert text(xml, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert text(xml, f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == [
        "FC0142-24"
    ]
    assert amount(xml, f"{TOTALS}/ram:GrandTotalAmount") == Decimal("540.00")


def test_multi_rate_invoice_has_one_line_and_one_breakdown_per_rate() -> None:
    xml = build_cii(KINDS["multi_rate"]())
    assert breakdown(xml) == [
        (Decimal("20.00"), Decimal("1350.00"), Decimal("270.00"), "S"),
        (Decimal("10.00"), Decimal("333.33"), Decimal("33.33"), "S"),
        (Decimal("5.50"), Decimal("102.00"), Decimal("5.61"), "S"),
    ]
    line = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
    assert text(xml, f"{line}/ram:SpecifiedTradeProduct/ram:Name") == [
        "Prestation — TVA 20 %",
        "Prestation — TVA 10 %",
        "Prestation — TVA 5,5 %",
    ]
    assert (
        text(xml, f"{line}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode")
        == ["C62"] * 3
    )
    assert amount(xml, f"{TOTALS}/ram:TaxTotalAmount") == Decimal("308.94")


def test_exemption_is_category_e_with_its_text_and_vatex_code() -> None:
    xml = build_cii(KINDS["exempt"]())
    tax = f"{SETTLEMENT}/ram:ApplicableTradeTax"
    assert text(xml, f"{tax}/ram:CategoryCode") == ["E"]
    assert text(xml, f"{tax}/ram:ExemptionReason") == [EXEMPTION]
    assert text(xml, f"{tax}/ram:ExemptionReasonCode") == ["VATEX-FR-FRANCHISE"]
    assert text(xml, f"{tax}/ram:RateApplicablePercent") == ["0.00"]


def test_unrecognised_exemption_keeps_its_text_without_a_code_and_market_number_is_bt12() -> None:
    xml = build_cii(KINDS["mixed_exempt_unknown_reason"]())
    tax = f"{SETTLEMENT}/ram:ApplicableTradeTax"
    assert text(xml, f"{tax}/ram:ExemptionReason") == ["Exonération de TVA (formation)"]
    assert text(xml, f"{tax}/ram:ExemptionReasonCode") == []
    assert text(xml, f"{AGREEMENT}/ram:ContractReferencedDocument/ram:IssuerAssignedID") == [
        "MARCHE-2026-17"
    ]
    assert text(xml, f"{AGREEMENT}/ram:BuyerReference") == []
    assert text(xml, f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == []
