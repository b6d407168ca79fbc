"""Will Chorus Pro take this Factur-X? The XSD, the EN 16931 rules and the French rules, before sending.

Chorus Pro rejects a Factur-X flow asynchronously, days later for the entrepreneur, with a message
naming an XML path. The official Schematron catches the same faults but costs ~45 ms an invoice and
a native Saxon library (see `schematron`). The rules that matter for Chorus Pro are few and
arithmetic, so they are checked here in Python, on the integer-cent values `build_cii` writes (the
same `FacturxInvoice`), in well under a millisecond, each failure becoming a `Reason` the
entrepreneur can act on. The French CTC rules (BR-FR-*) are checked the same way where the
export's values or the settings can break them; the rest of them the builder always satisfies.
Tests show the XML built from values that pass these checks also passes the three Schematrons.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from iso4217 import Currency
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren, siret

from schemas.issues import Reason
from tasks.facturx import codes, reasons
from tasks.facturx.model import FacturxInvoice, french_rate
from tasks.facturx.xsd import xsd_errors

__all__ = ["check_facturx_invoice", "check_facturx_xml"]

_SIRET = re.compile(r"\d{14}")
_ISO_CURRENCY = re.compile(r"[A-Z]{3}")
#: BR-FR-02: the characters an invoice number (BT-1, BT-25) may hold.
_NUMBER_CHARACTERS = re.compile(r"[A-Za-z0-9+\-_/]+")
#: BR-FR-03: the years a date may fall in.
_YEARS = range(2000, 2100)
_EURO = "EUR"


def _identity(inv: FacturxInvoice) -> Iterable[Reason]:
    if not inv.number:
        yield reasons.invoice_number_missing()
    elif len(inv.number) > reasons.MAX_NUMBER_LENGTH:
        yield reasons.invoice_number_too_long(inv.number)
    if not inv.seller.name.strip():
        yield reasons.seller_name_missing()
    if not _SIRET.fullmatch(inv.seller.siret):
        yield reasons.seller_siret(inv.seller.siret)
    elif not (siret.is_valid(inv.seller.siret) and siren.is_valid(inv.seller.siren)):
        yield reasons.seller_siren(inv.seller.siret)
    if not inv.buyer_name:
        yield reasons.buyer_name_missing()
    if not _SIRET.fullmatch(inv.buyer_siret):
        yield reasons.buyer_siret(inv.buyer_siret)
    if not _ISO_CURRENCY.fullmatch(inv.currency) or inv.currency not in Currency.__members__:
        yield reasons.currency_invalid(inv.currency)
    elif inv.currency != _EURO:
        yield reasons.currency_not_euro(inv.currency)
    if inv.is_credit_note and not inv.original_invoice_number:
        yield reasons.credit_note_reference_missing(inv.number)


def _french_identity(inv: FacturxInvoice) -> Iterable[Reason]:
    """The French rules the export's own values can break: number characters (BR-FR-02), a
    credit note's preceding invoice date (BR-FR-CO-05)."""
    if inv.number and not _NUMBER_CHARACTERS.fullmatch(inv.number):
        yield reasons.number_characters(inv.number)
    original = inv.original_invoice_number
    if original and not _NUMBER_CHARACTERS.fullmatch(original):
        yield reasons.number_characters(original, original=True)
    if inv.is_credit_note and original and inv.original_invoice_date is None:
        yield reasons.credit_note_original_date_missing(inv.number, original)


def _seller_vat(inv: FacturxInvoice) -> Iterable[Reason]:
    categories = {line.category for line in inv.lines}
    if not inv.seller.vat_id:
        for category in (codes.STANDARD, codes.EXEMPT):
            if category in categories:
                yield reasons.seller_vat_id_missing(category)
                return
    elif not eu_vat.is_valid(inv.seller.vat_id):
        yield reasons.seller_vat_id_invalid(inv.seller.vat_id)


def _dates(inv: FacturxInvoice) -> Iterable[Reason]:
    for column, term, day in (
        ("invoice_date", "BT-2", inv.issue_date),
        ("due_date", "BT-9", inv.due_date),
        ("original_invoice_number", "BT-26", inv.original_invoice_date),
    ):
        if day is not None and day.year not in _YEARS:
            yield reasons.date_out_of_range(column, term, day.strftime("%d/%m/%Y"))
    if inv.issue_date is None:
        yield reasons.issue_date_missing()
    if inv.due_date is None:
        if inv.due_payable_cents > 0 and not inv.payment_terms:
            yield reasons.due_date_missing(inv.due_payable_cents)
    elif inv.issue_date is not None and inv.due_date < inv.issue_date:
        yield reasons.due_date_before_issue(
            inv.due_date.strftime("%d/%m/%Y"), inv.issue_date.strftime("%d/%m/%Y")
        )


def _totals(inv: FacturxInvoice) -> Iterable[Reason]:
    line_sum = sum(line.net_cents for line in inv.lines)
    if inv.line_total_cents != line_sum:
        yield reasons.amount_mismatch(
            "br-co-10",
            "amount_ht",
            "Le total HT de la facture",
            inv.line_total_cents,
            line_sum,
            "la somme des montants HT de ses lignes",
            "line total (BT-106) differs from the sum of line net amounts (BT-131)",
        )
    # No document-level allowances or charges: the export has none (BT-107 = BT-108 = 0).
    if inv.tax_basis_total_cents != inv.line_total_cents:
        yield reasons.amount_mismatch(
            "br-co-13",
            "amount_ht",
            "La base imposable de la facture",
            inv.tax_basis_total_cents,
            inv.line_total_cents,
            "son total HT",
            "tax basis total (BT-109) differs from line total (BT-106) - allowances + charges",
        )
    vat_sum = sum(vat.vat_cents for vat in inv.vat_breakdown)
    if inv.tax_total_cents != vat_sum:
        yield reasons.amount_mismatch(
            "br-co-14",
            "amount_vat",
            "Le total de TVA de la facture",
            inv.tax_total_cents,
            vat_sum,
            "la somme de la TVA de chaque taux",
            "VAT total (BT-110) differs from the sum of VAT category amounts (BT-117)",
        )
    expected_grand = inv.tax_basis_total_cents + inv.tax_total_cents
    if inv.grand_total_cents != expected_grand:
        yield reasons.amount_mismatch(
            "br-co-15",
            "total_ttc",
            "Le total TTC de la facture",
            inv.grand_total_cents,
            expected_grand,
            "son total HT plus sa TVA",
            "grand total (BT-112) differs from tax basis total (BT-109) + VAT total (BT-110)",
        )
    # No prepaid amount nor rounding amount: the export has none (BT-113 = BT-114 = 0).
    if inv.due_payable_cents != inv.grand_total_cents:
        yield reasons.amount_mismatch(
            "br-co-16",
            "total_ttc",
            "Le montant à payer",
            inv.due_payable_cents,
            inv.grand_total_cents,
            "le total TTC",
            "amount due (BT-115) differs from grand total (BT-112) - prepaid + rounding",
        )


def _breakdown(inv: FacturxInvoice) -> Iterable[Reason]:
    """BR-S-08, BR-E-08 (bases per category, and per rate for S), BR-S-09, BR-E-09, BR-E-10."""
    line_bases: dict[tuple[str, int], int] = defaultdict(int)
    breakdown_bases: dict[tuple[str, int], int] = defaultdict(int)
    for line in inv.lines:
        line_bases[line.category, line.rate_bp if line.category == codes.STANDARD else 0] += (
            line.net_cents
        )
    for vat in inv.vat_breakdown:
        key = (vat.category, vat.rate_bp if vat.category == codes.STANDARD else 0)
        breakdown_bases[key] += vat.base_cents
    for key in sorted(set(line_bases) | set(breakdown_bases)):
        category, rate_bp = key
        if line_bases[key] == breakdown_bases[key]:
            continue
        where = f"à {french_rate(rate_bp)}" if category == codes.STANDARD else "exonérée"
        yield reasons.amount_mismatch(
            f"br-{category.lower()}-08",
            "amount_ht",
            f"La base de TVA {where}",
            breakdown_bases[key],
            line_bases[key],
            "la somme des lignes à ce taux",
            f"VAT category {category} {rate_bp / 100:g} % taxable amount (BT-116) differs from "
            "the sum of its line net amounts (BT-131)",
        )
    for vat in inv.vat_breakdown:
        # BR-S-09 / BR-E-09 (BR-CO-17 per category): base × rate / 100 rounded to the cent,
        # either way at exactly half a cent; an exempt line's VAT is zero.
        if abs(vat.vat_cents * 10_000 - vat.base_cents * vat.rate_bp) > 5_000:
            yield reasons.amount_mismatch(
                f"br-{vat.category.lower()}-09",
                "amount_vat",
                f"La TVA à {french_rate(vat.rate_bp)}",
                vat.vat_cents,
                (vat.base_cents * vat.rate_bp + 5_000) // 10_000,
                "sa base multipliée par le taux, arrondie au centime",
                "VAT category tax amount (BT-117) differs from taxable amount (BT-116) × rate "
                "(BT-119) / 100",
            )
        if vat.category == codes.EXEMPT and not (vat.exemption_reason or vat.exemption_code):
            yield reasons.exemption_reason_missing(french_rate(vat.rate_bp))


def _payment(inv: FacturxInvoice) -> Iterable[Reason]:
    if inv.payment_means_code in codes.CREDIT_TRANSFER_CODES and not inv.seller.iban:
        yield reasons.iban_missing()


def check_facturx_invoice(inv: FacturxInvoice) -> list[Reason]:
    """The EN 16931 and Chorus Pro rules on the values of `inv`, in the order an entrepreneur
    reads an invoice: identity, dates, lines and amounts, VAT, payment."""
    found: list[Reason] = [*_identity(inv), *_french_identity(inv), *_dates(inv)]
    if not inv.lines:
        found.append(reasons.no_lines())
    found.extend(_totals(inv))
    found.extend(_breakdown(inv))
    found.extend(_seller_vat(inv))
    found.extend(_payment(inv))
    return found


def check_facturx_xml(xml: bytes, inv: FacturxInvoice) -> list[Reason]:
    """Every reason Chorus Pro would refuse the Factur-X `xml` built from `inv`; empty if none.

    The XSD (Factur-X 1.09, EN 16931 level, the factur-x library's file) judges the XML itself;
    the business rules judge `inv`, whose values `build_cii` wrote.
    """
    found = check_facturx_invoice(inv)
    errors = xsd_errors(xml)
    if errors:
        found.append(reasons.xsd_invalid("; ".join(errors)))
    return found
