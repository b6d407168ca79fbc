"""The CII XML: Chorus Pro's routing fields where Chorus reads them, the identifiers and notes where
France's 2026 rules want them, valid against the XSD and the three official Schematrons (EN 16931,
French CTC, EXTENDED-CTC-FR), for invoices, credit notes, several rates and exemptions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import facturx
import pytest
from lxml import etree

from chorus_etl.values import CooperativeTerms, FacturxStructure
from tasks.facturx import build_cii, check_facturx_xml
from tasks.facturx.schematron import Schematron
from tests.facturx.helpers import (
    AGREEMENT,
    ANTIGONE,
    NS_RAM,
    NS_RSM,
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
        original_invoice_date=date(2026, 11, 2),
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


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_passes_the_three_schematrons_of_the_french_rules(
    kind: str, french_schematrons: tuple[Schematron, ...]
) -> None:
    xml = build_cii(KINDS[kind]())
    for rules in french_schematrons:
        fatal = [f for f in rules.failed_assertions(xml) if f.fatal]
        assert fatal == [], rules.name


def test_invoice_carries_chorus_pro_routing_fields() -> None:
    xml = build_cii(KINDS["invoice"]())
    doc = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
    context = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
    assert text(xml, f"{doc}/ram:ID") == ["FC0142-24"]
    assert text(xml, f"{doc}/ram:TypeCode") == ["380"]
    assert text(xml, f"{doc}/ram:IssueDateTime/udt:DateTimeString") == ["20261125"]
    assert text(xml, f"{context}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == [
        "S1"
    ]
    assert text(xml, f"{context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [
        "urn:cen.eu:en16931:2017"
    ]
    seller = f"{AGREEMENT}/ram:SellerTradeParty"
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


def _identifiers(xml: bytes, party: str) -> dict[str, list[tuple[str, str]]]:
    """(scheme, value) of a party's GlobalIDs, legal registration ID and electronic address."""
    root = etree.fromstring(xml)
    namespaces = {"rsm": root.nsmap["rsm"], "ram": root.nsmap["ram"]}

    def read(path: str) -> list[tuple[str, str]]:
        found = root.xpath(f"{AGREEMENT}/ram:{party}/{path}", namespaces=namespaces)
        return [(str(e.get("schemeID")), str(e.text)) for e in found]

    return {
        "global": read("ram:GlobalID"),
        "legal": read("ram:SpecifiedLegalOrganization/ram:ID"),
        "address": read("ram:URIUniversalCommunication/ram:URIID"),
    }


def test_identifiers_follow_the_french_rules_sirens_0002_sirets_0009_addresses_0225() -> None:
    xml = build_cii(KINDS["invoice"]())
    assert _identifiers(xml, "SellerTradeParty") == {
        "global": [("0009", ANTIGONE.siret)],
        "legal": [("0002", ANTIGONE.siret[:9])],
        "address": [("0225", ANTIGONE.siret[:9])],
    }
    assert _identifiers(xml, "BuyerTradeParty") == {
        "global": [("0009", SCHILTIGHEIM)],
        "legal": [("0002", SCHILTIGHEIM[:9])],
        "address": [("0225", f"{SCHILTIGHEIM[:9]}_{SCHILTIGHEIM}")],
    }
    # Chorus Pro's direct API reads the service code in BT-10, where it stays.
    assert text(xml, f"{AGREEMENT}/ram:BuyerReference") == ["28E"]


@pytest.mark.parametrize("scheme", ["0224", "0240"])
def test_a_routing_scheme_adds_the_service_code_as_a_second_buyer_identifier(scheme: str) -> None:
    structure = FacturxStructure.model_validate({"routing_scheme": scheme})
    xml = build_cii(invoice_of([vat_line(2000, 1000)], structure=structure))
    assert _identifiers(xml, "BuyerTradeParty")["global"] == [
        ("0009", SCHILTIGHEIM),
        (scheme, "28E"),
    ]
    without_service = build_cii(
        invoice_of([vat_line(2000, 1000)], structure=structure, buyer_service_code=None)
    )
    assert _identifiers(without_service, "BuyerTradeParty")["global"] == [("0009", SCHILTIGHEIM)]


def test_the_legal_notes_carry_the_cooperative_terms_with_their_subject_codes() -> None:
    terms = CooperativeTerms(
        recovery_fee_cents=5000,
        late_penalties="Pénalités : trois fois le taux d'intérêt légal.",
        discount="Escompte de 1 % pour paiement sous 8 jours.",
    )
    xml = build_cii(invoice_of([vat_line(2000, 1000)], terms=terms, comment="Ateliers"))
    notes = etree.fromstring(xml).xpath(
        "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IncludedNote",
        namespaces={"rsm": NS_RSM, "ram": NS_RAM},
    )
    written = [
        (n.findtext(f"{{{NS_RAM}}}SubjectCode"), n.findtext(f"{{{NS_RAM}}}Content")) for n in notes
    ]
    assert written == [
        (None, "Ateliers"),
        (
            "PMT",
            "En cas de retard de paiement, une indemnité forfaitaire pour frais de recouvrement de 50,00\u00a0€ est due.",
        ),
        ("PMD", "Pénalités : trois fois le taux d'intérêt légal."),
        ("AAB", "Escompte de 1 % pour paiement sous 8 jours."),
    ]


def test_the_default_terms_are_the_french_legal_ones() -> None:
    xml = build_cii(KINDS["invoice"]())
    path = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IncludedNote"
    pmt, pmd, aab = text(xml, f"{path}/ram:Content")
    assert "40,00\u00a0€" in pmt
    assert "Banque centrale européenne majoré de huit points" in pmd
    assert aab == "Pas d'escompte pour paiement anticipé."


@pytest.mark.parametrize(
    ("structure", "frame", "vat_due"),
    [
        (FacturxStructure(), "S1", "72"),
        (FacturxStructure(billing_frame="A1", vat_on_debits=True), "A1", "5"),
        (FacturxStructure(billing_frame="B1"), "B1", "72"),
    ],
)
def test_billing_frame_and_vat_due_date_code_come_from_the_structure(
    structure: FacturxStructure, frame: str, vat_due: str
) -> None:
    xml = build_cii(invoice_of([vat_line(2000, 1000), vat_line(550, 1000)], structure=structure))
    context = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
    assert text(xml, f"{context}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == [
        frame
    ]
    assert text(xml, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:DueDateTypeCode") == [vat_due] * 2


def test_credit_note_carries_the_date_of_the_invoice_it_corrects() -> None:
    xml = build_cii(KINDS["credit_note"]())
    assert text(
        xml, f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/*"
    ) == ["20261102"]
