"""Is the invoice Chorus Pro holds under a number ours?

A number on Chorus Pro proves nothing by itself: during the switch from the portal, an
entrepreneur's invoice may already be there (deposited by hand, identical), or another invoice may
carry the same number (another buyer, another amount). Whenever the deposit protocol or the
reconciliation finds an invoice by number, it is ours only if supplier, number, buyer SIRET and
total TTC agree, and its type and date too where Chorus Pro gives them. Anything else is a
conflict that accounting decides; the pipeline never takes the other invoice's id or statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chorus_etl.french import plain_amount
from schemas.payloads import InvoiceSummary
from schemas.warehouse import DepositOrigin, Invoice


@dataclass(frozen=True)
class Difference:
    """One field on which the two invoices disagree, as a person would read it."""

    field: str
    ours: str
    theirs: str


@dataclass(frozen=True)
class Identified:
    """What a search by number found: our invoice, or the one that stands in its way."""

    ours: InvoiceSummary | None
    other: InvoiceSummary | None
    differences: tuple[Difference, ...] = ()


def _cents(amount: object) -> int | None:
    if amount is None:
        return None
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def _euros(cents: int | None) -> str:
    return "?" if cents is None else plain_amount(cents)


def differences(
    invoice: Invoice, found: InvoiceSummary, supplier_id: int | None = None
) -> list[Difference]:
    """Where `found` is not `invoice`; empty when it is the same invoice."""
    diffs: list[Difference] = []

    def differ(name: str, ours: object, theirs: object) -> None:
        if ours != theirs:
            diffs.append(Difference(name, str(ours or ""), str(theirs or "")))

    if found.codeFournisseur is not None:
        differ("supplier", invoice.supplier_siret, found.codeFournisseur)
    elif supplier_id is not None and found.idFournisseur is not None:
        differ("supplier", supplier_id, found.idFournisseur)
    differ("number", invoice.invoice_number, found.numeroFacture)
    differ("buyer_siret", invoice.buyer_siret or "", found.codeDestinataire or "")
    theirs = _cents(found.montantTTC)
    if theirs != invoice.total_ttc_cents:
        diffs.append(Difference("total_ttc", _euros(invoice.total_ttc_cents), _euros(theirs)))
    if found.typeFacture:
        differ("type", invoice.invoice_type, found.typeFacture)
    if found.dateFacture is not None and invoice.invoice_date is not None:
        differ("invoice_date", invoice.invoice_date.isoformat(), found.dateFacture.isoformat())
    return diffs


def identify(
    invoice: Invoice, found: Sequence[InvoiceSummary], supplier_id: int | None = None
) -> Identified:
    """Ours if any invoice found under the number agrees; else the latest one, in conflict."""
    if not found:
        return Identified(None, None)
    for candidate in sorted(found, key=lambda i: -i.identifiantFactureCPP):
        if not differences(invoice, candidate, supplier_id):
            return Identified(candidate, None)
    latest = max(found, key=lambda i: i.identifiantFactureCPP)
    return Identified(None, latest, tuple(differences(invoice, latest, supplier_id)))


def origin_of(found: InvoiceSummary, *, may_have_sent: bool) -> DepositOrigin:
    """Ours when one of our deposits may have reached Chorus Pro and none says otherwise; a
    portal deposit (`modeDepot` *_PORTAIL) is never ours, whatever we sent."""
    portal = "PORTAIL" in (found.modeDepot or "").upper()
    return DepositOrigin.PIPELINE if may_have_sent and not portal else DepositOrigin.PORTAL
