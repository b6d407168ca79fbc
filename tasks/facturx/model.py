"""One invoice as its Factur-X says it: the single input of the builder and of the checks.

The warehouse rows are the export's words (invoice type, payment mode, VAT rate in basis points,
free-text exemption reason) and know nothing of the seller's postal address or bank account. This
module turns them, once, into plain frozen values in EN 16931's terms, so that the XML builder
writes what the checks judged and both stay free of database objects. Amounts stay integer cents;
they become two-decimal numbers only when the XML is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from chorus_etl.french import format_euros
from chorus_etl.values import CooperativeTerms, FacturxStructure
from schemas import rules
from schemas.warehouse import Invoice, InvoiceVatLine
from tasks.facturx import codes

__all__ = [
    "FacturxInvoice",
    "FacturxLine",
    "InvoiceNote",
    "SupplierProfile",
    "VatBreakdown",
    "facturx_invoice",
    "french_rate",
    "legal_notes",
    "legal_payment_terms",
    "line_name",
]


@dataclass(frozen=True, slots=True)
class SupplierProfile:
    """The seller (BG-4): the cooperative's structure, as it is registered on Chorus Pro."""

    siret: str
    name: str
    vat_id: str
    address_line: str
    postcode: str
    city: str
    country_code: str = "FR"
    iban: str | None = None

    @property
    def siren(self) -> str:
        """BT-30: the SIREN, the first nine digits of the SIRET (checked by `checks`)."""
        return self.siret[:9]


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """One VAT breakdown (BG-23): one per rate, as the export has one row per rate."""

    category: str
    rate_bp: int
    base_cents: int
    vat_cents: int
    exemption_reason: str | None = None
    exemption_code: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceNote:
    """One note (BG-1): its text (BT-22) and, for the legal mentions, its subject (BT-21)."""

    content: str
    subject_code: str | None = None


@dataclass(frozen=True, slots=True)
class FacturxLine:
    """One invoice line (BG-25). The export has no item lines: one line per VAT rate."""

    line_id: str
    name: str
    net_cents: int
    category: str
    rate_bp: int


@dataclass(frozen=True, slots=True)
class FacturxInvoice:
    """Everything the CII XML of one invoice carries; totals are the warehouse's own figures."""

    number: str
    type_code: str
    issue_date: date | None
    due_date: date | None
    currency: str
    seller: SupplierProfile
    buyer_siret: str
    buyer_name: str | None
    service_code: str | None
    engagement_number: str | None
    market_number: str | None
    original_invoice_number: str | None
    #: BT-26: the date of the invoice a credit note corrects (None when it is not known here).
    original_invoice_date: date | None
    payment_means_code: str
    #: The export's comment first (no subject), then the legal mentions PMT, PMD, AAB.
    notes: tuple[InvoiceNote, ...]
    #: BT-23, the structure's billing frame (S1 by default).
    billing_frame: str
    #: The scheme of the service code as a second buyer identifier (BT-46), or None.
    routing_scheme: str | None
    #: BT-8: VAT on debits (5) or on receipt (72).
    vat_due_date_code: str
    lines: tuple[FacturxLine, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    line_total_cents: int
    tax_basis_total_cents: int
    tax_total_cents: int
    grand_total_cents: int
    due_payable_cents: int
    #: BT-20, written when there is no due date: the buyer's legal payment delay (BR-CO-25).
    payment_terms: str | None = None

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == codes.CREDIT_NOTE

    @property
    def buyer_siren(self) -> str:
        """BT-47: the buyer's SIREN, the first nine digits of its SIRET."""
        return self.buyer_siret[:9]


def french_rate(rate_bp: int) -> str:
    """A rate in basis points as French readers write it: 550 → "5,5 %", 2000 → "20 %"."""
    units, hundredths = divmod(rate_bp, 100)
    if not hundredths:
        return f"{units} %"
    return f"{units},{hundredths:02d}".rstrip("0") + " %"


def line_name(category: str, rate_bp: int) -> str:
    """The item name (BT-153) of the line standing for one VAT rate."""
    if category == codes.EXEMPT:
        return "Prestation — exonérée de TVA"
    return f"Prestation — TVA {french_rate(rate_bp)}"


def legal_notes(terms: CooperativeTerms) -> tuple[InvoiceNote, ...]:
    """The payment terms French law requires on every invoice, as the notes BR-FR-05 asks for:
    the recovery indemnity (PMT), the late-payment penalties (PMD), the discount (AAB)."""
    return (
        InvoiceNote(
            "En cas de retard de paiement, une indemnité forfaitaire pour frais de recouvrement "
            f"de {format_euros(terms.recovery_fee_cents)} est due.",
            codes.NOTE_RECOVERY_FEE,
        ),
        InvoiceNote(terms.late_penalties, codes.NOTE_LATE_PENALTIES),
        InvoiceNote(terms.discount, codes.NOTE_DISCOUNT),
    )


def legal_payment_terms(
    buyer_siret: str | None, buyer_name: str | None, buyer_kinds: Mapping[str, str]
) -> str:
    """BT-20 for an invoice without a due date: the legal delay of the buyer's kind (public
    procurement code, R. 2192-10 and R. 2192-11; `schemas.rules`, as the overdue alerts)."""
    days = rules.DELAYS[rules.buyer_kind(buyer_siret, buyer_name, buyer_kinds)]
    return (
        f"Paiement à {days} jours à compter de la réception de la facture (délai légal de "
        "paiement, articles R. 2192-10 et R. 2192-11 du code de la commande publique)."
    )


def _text(value: str | None) -> str | None:
    cleaned = (value or "").strip()
    return cleaned or None


def facturx_invoice(
    invoice: Invoice,
    vat_lines: Sequence[InvoiceVatLine],
    supplier: SupplierProfile,
    buyer_name: str | None = None,
    *,
    structure: FacturxStructure | None = None,
    terms: CooperativeTerms | None = None,
    original_invoice_date: date | None = None,
    buyer_kinds: Mapping[str, str] | None = None,
) -> FacturxInvoice:
    """The Factur-X of one warehouse invoice and its VAT lines, sold by `supplier`.

    Lines and breakdown are ordered by decreasing rate, as the sample PDFs list them. `buyer_name`
    replaces the export's (for instance the name Chorus Pro's directory gives). `structure` holds
    the seller structure's choices (BT-23, routing-code scheme, BT-8) and `terms` its
    cooperative's payment terms, the defaults when None; `original_invoice_date` is the date of
    the invoice a credit note corrects, which the export does not carry. Without a due date
    (optional in the export contract), the payment terms (BT-20) state the legal delay of the
    buyer's kind (`buyer_kinds`: `CHORUS_ETL_BUYER_KINDS`). Nothing is checked here:
    `check_facturx_xml` says what is wrong, in words the entrepreneur can act on.
    """
    structure = structure or FacturxStructure()
    comment = _text(invoice.comment)
    ordered = sorted(vat_lines, key=lambda line: -line.rate_bp)
    breakdown = tuple(
        VatBreakdown(
            category=(category := codes.vat_category(line.rate_bp)),
            rate_bp=line.rate_bp,
            base_cents=line.base_cents,
            vat_cents=line.vat_cents,
            exemption_reason=_text(line.exemption_reason) if category == codes.EXEMPT else None,
            exemption_code=codes.vatex_code(line.exemption_reason)
            if category == codes.EXEMPT
            else None,
        )
        for line in ordered
    )
    lines = tuple(
        FacturxLine(
            line_id=str(index),
            name=line_name(vat.category, vat.rate_bp),
            net_cents=vat.base_cents,
            category=vat.category,
            rate_bp=vat.rate_bp,
        )
        for index, vat in enumerate(breakdown, start=1)
    )
    return FacturxInvoice(
        number=invoice.invoice_number.strip(),
        type_code=codes.document_type_code(invoice.invoice_type),
        issue_date=invoice.invoice_date,
        due_date=invoice.due_date,
        currency=(invoice.currency or "EUR").strip().upper(),
        seller=supplier,
        buyer_siret=(invoice.buyer_siret or "").strip(),
        buyer_name=_text(buyer_name) or _text(invoice.buyer_name),
        service_code=_text(invoice.buyer_service_code),
        engagement_number=_text(invoice.engagement_number),
        market_number=_text(invoice.market_number),
        original_invoice_number=_text(invoice.original_invoice_number),
        original_invoice_date=original_invoice_date,
        payment_means_code=codes.payment_means_code(invoice.payment_mode or "VIREMENT"),
        notes=(
            *((InvoiceNote(comment),) if comment else ()),
            *legal_notes(terms or CooperativeTerms()),
        ),
        billing_frame=structure.billing_frame,
        routing_scheme=structure.routing_scheme,
        vat_due_date_code=codes.vat_due_date_code(on_debits=structure.vat_on_debits),
        lines=lines,
        vat_breakdown=breakdown,
        line_total_cents=invoice.amount_ht_cents,
        tax_basis_total_cents=invoice.amount_ht_cents,
        tax_total_cents=invoice.amount_vat_cents,
        grand_total_cents=invoice.total_ttc_cents,
        due_payable_cents=invoice.total_ttc_cents,
        payment_terms=None
        if invoice.due_date is not None
        else legal_payment_terms(
            invoice.buyer_siret, _text(buyer_name) or invoice.buyer_name, buyer_kinds or {}
        ),
    )
