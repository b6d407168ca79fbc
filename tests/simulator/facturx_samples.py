"""EN 16931 CII invoices built with drafthorse, and Factur-X PDFs made with fpdf2 + factur-x.

Test fixtures for the simulator's flux checks: `cii_xml(SampleInvoice(...))` gives a CII that
passes the Factur-X EN 16931 XSD (unless asked otherwise), `facturx_pdf(xml, shown=...)` a PDF
printing the number and a total, with the XML embedded as `factur-x.xml`. Nothing is written
to disk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import facturx
from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem
from fpdf import FPDF

from chorus_pro.simulator.seed import ANTIGONE, SCHILTIGHEIM

CENT = Decimal("0.01")
EN16931 = "urn:cen.eu:en16931:2017"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def french(amount: Decimal) -> str:
    """1 234,56: how a French invoice prints an amount."""
    units, rest = divmod(int(cents(abs(amount)) * 100), 100)
    return f"{units:,}".replace(",", " ") + f",{rest:02d}"


def vat_number(siret: str) -> str:
    siren = int(siret[:9])
    return f"FR{(12 + 3 * (siren % 97)) % 97:02d}{siret[:9]}"


@dataclass(frozen=True)
class Line:
    label: str
    quantity: Decimal
    unit_price: Decimal
    vat_category: str = "S"  # S standard, E exempt
    vat_rate: Decimal = Decimal("20.00")
    unit: str = "C62"

    @property
    def net(self) -> Decimal:
        return cents(self.quantity * self.unit_price)


DEFAULT_LINES = (
    Line("Atelier d'écriture", Decimal("3"), Decimal("450.00"), unit="DAY"),
    Line("Livres pédagogiques", Decimal("12"), Decimal("18.50"), vat_rate=Decimal("5.50")),
    Line("Formation professionnelle", Decimal("7"), Decimal("120.00"), "E", Decimal("0.00"), "HUR"),
)


@dataclass(frozen=True)
class SampleInvoice:
    number: str = "FX-2026-0001"
    type_code: str = "380"  # 381: credit note
    seller_siret: str = ANTIGONE.siret
    seller_name: str = ANTIGONE.name
    buyer_siret: str = SCHILTIGHEIM.siret
    buyer_name: str = SCHILTIGHEIM.name
    service_code: str | None = "28E"  # BT-10
    engagement: str | None = None  # BT-13
    payment_means: bool = True  # BG-16 with TypeCode 30
    preceding_invoice: str | None = None  # BT-25
    siret_scheme: str = "0002"  # of SpecifiedLegalOrganization/ID
    siret_global_id: bool = False  # also GlobalID schemeID 0009
    legal_organization: bool = True  # SpecifiedLegalOrganization/ID (else GlobalID only)
    issue_date: date = date(2026, 11, 5)
    lines: tuple[Line, ...] = DEFAULT_LINES
    grand_total_delta: Decimal = Decimal("0")  # breaks basis + tax = grand total
    tax_total_delta: Decimal = Decimal("0")  # breaks the VAT breakdown's sum

    def breakdown(self) -> dict[tuple[str, Decimal], tuple[Decimal, Decimal]]:
        bases: dict[tuple[str, Decimal], Decimal] = {}
        for line in self.lines:
            key = (line.vat_category, line.vat_rate)
            bases[key] = bases.get(key, Decimal("0.00")) + line.net
        return {key: (basis, cents(basis * key[1] / 100)) for key, basis in sorted(bases.items())}

    @property
    def basis_total(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @property
    def tax_total(self) -> Decimal:
        return sum((tax for _, tax in self.breakdown().values()), Decimal("0.00"))

    @property
    def grand_total(self) -> Decimal:
        """BT-112 as written in the XML."""
        return self.basis_total + self.tax_total + self.tax_total_delta + self.grand_total_delta


def cii_xml(invoice: SampleInvoice, *, validate: bool = True) -> bytes:
    """The invoice as EN 16931 CII; `validate` runs drafthorse's own XSD check."""
    doc = Document()
    doc.context.guideline_parameter.id = EN16931
    doc.context.business_parameter.id = "A1"
    doc.header.id = invoice.number
    doc.header.type_code = invoice.type_code
    doc.header.issue_date_time = invoice.issue_date
    note = IncludedNote()
    note.subject_code = "PMT"
    note.content = "Indemnité forfaitaire pour frais de recouvrement : 40 EUR."
    doc.header.notes.add(note)

    agreement = doc.trade.agreement
    if invoice.service_code is not None:
        agreement.buyer_reference = invoice.service_code
    for party, siret, name in (
        (agreement.seller, invoice.seller_siret, invoice.seller_name),
        (agreement.buyer, invoice.buyer_siret, invoice.buyer_name),
    ):
        party.name = name
        if invoice.siret_global_id:
            party.global_id.add(("0009", siret))
        if invoice.legal_organization:
            party.legal_organization.id = (invoice.siret_scheme, siret)
        party.address.line_one = "1 place de l'Hôtel de Ville"
        party.address.postcode = "67300"
        party.address.city_name = "Schiltigheim"
        party.address.country_id = "FR"
    agreement.seller.tax_registrations.add(
        TaxRegistration(id=("VA", vat_number(invoice.seller_siret)))
    )
    if invoice.engagement is not None:
        agreement.buyer_order.issuer_assigned_id = invoice.engagement
    doc.trade.delivery.event.occurrence = invoice.issue_date

    settlement = doc.trade.settlement
    settlement.currency_code = "EUR"
    if invoice.preceding_invoice is not None:
        settlement.invoice_referenced_document.issuer_assigned_id = invoice.preceding_invoice
    if invoice.payment_means:
        means = PaymentMeans()
        means.type_code = "30"
        means.payee_account.iban = ANTIGONE.bank_accounts[0].iban
        settlement.payment_means.add(means)

    for number, line in enumerate(invoice.lines, start=1):
        item = LineItem()
        item.document.line_id = str(number)
        item.product.name = line.label
        item.agreement.net.amount = line.unit_price
        item.delivery.billed_quantity = (line.quantity, line.unit)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = line.vat_category
        item.settlement.trade_tax.rate_applicable_percent = line.vat_rate
        item.settlement.monetary_summation.total_amount = line.net
        doc.trade.items.add(item)
    for (category, rate), (basis, tax) in invoice.breakdown().items():
        vat = ApplicableTradeTax()
        vat.calculated_amount = tax
        vat.type_code = "VAT"
        if category == "E":
            vat.exemption_reason = "Exonération de TVA, article 261-4-4° a du CGI"
        vat.basis_amount = basis
        vat.category_code = category
        if category == "E":
            vat.exemption_reason_code = "VATEX-EU-132"
        vat.rate_applicable_percent = rate
        settlement.trade_tax.add(vat)
    terms = PaymentTerms()
    terms.due = date(2026, 12, 5)
    settlement.terms.add(terms)

    summation = settlement.monetary_summation
    summation.line_total = invoice.basis_total
    summation.charge_total = Decimal("0.00")
    summation.allowance_total = Decimal("0.00")
    summation.tax_basis_total = invoice.basis_total
    summation.tax_total = (invoice.tax_total + invoice.tax_total_delta, "EUR")
    summation.grand_total = invoice.grand_total
    summation.due_amount = invoice.grand_total
    xml: bytes = doc.serialize(schema="FACTUR-X_EN16931" if validate else None)
    return xml


def plain_pdf(*lines: str) -> bytes:
    """A one-page text PDF (fpdf2, core font) with these lines."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for line in lines:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class _RewindOnFirstWrite(io.BytesIO):
    """factur-x rewrites its input file in place, from where its reader stopped
    (akretion/factur-x#24): starting the first write at offset 0 gives a clean file."""

    _writing = False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if not self._writing:
            self._writing = True
            self.seek(0)
            self.truncate()
        return super().write(data)


def embed(pdf: bytes, xml: bytes, *, level: str = "en16931") -> bytes:
    """`pdf` with `xml` embedded as factur-x.xml (XMP conformance level `level`), in memory."""
    buffer = _RewindOnFirstWrite(pdf)
    facturx.generate_from_file(
        buffer,
        xml,
        flavor="factur-x",
        level=level,
        check_xsd=False,
        lang="fr-FR",
        pdf_metadata={"author": "Coopérative", "keywords": "Factur-X", "title": "Facture"},
    )
    return buffer.getvalue()


def facturx_pdf(
    invoice: SampleInvoice, *, xml: bytes | None = None, shown_total: str | None = None
) -> bytes:
    """A Factur-X PDF of `invoice`: its text shows the number and `shown_total` (by default the
    XML's grand total in French spelling); `xml` replaces the embedded CII."""
    total = shown_total if shown_total is not None else french(invoice.grand_total)
    pdf = plain_pdf(
        f"Facture {invoice.number}",
        f"Destinataire : {invoice.buyer_name} (SIRET {invoice.buyer_siret})",
        f"Total TTC : {total} EUR",
    )
    return embed(pdf, xml if xml is not None else cii_xml(invoice))
