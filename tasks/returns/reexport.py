"""A deposited invoice exported again with changes: a recycling request, or a buyer's refusal.

A deposited invoice cannot change on Chorus Pro. Its routing can, once the buyer sends it back
to recycle (`A_RECYCLER`): a re-export whose only changes are the recipient's SIRET, the service
code or the engagement number (the buyer's name may follow the SIRET, the PDF and attachments
showing them may be new: Chorus Pro keeps the documents deposited) asks for a recycling,
recorded as a request that the returns stage answers (`tasks/returns`); the new routing has
already passed the same directory checks as any invoice of the export. Anything else that
changed (amounts, VAT lines, dates, type…) is refused with the reason a buyer would give: a
transmitted invoice is corrected by a credit note and a new invoice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.issues import Reason
from schemas.warehouse import Invoice, InvoiceState, InvoiceVatLine, ReturnKind
from tasks.ingest.staging import Key, StageResult, Stored, as_rows, deposited_refusal
from tasks.ingest.validate import InvoiceDraft
from tasks.returns.requests import ROUTING_FIELDS, Request, Routing, record_request

#: What a re-export may not change, as the refusal names it.
_FIXED = {
    "invoice_type": "le type de facture",
    "original_invoice_number": "la facture d'origine",
    "invoice_date": "la date de facture",
    "due_date": "la date d'échéance",
    "entrepreneur_code": "le code entrepreneur",
    "market_number": "le numéro de marché",
    "currency": "la devise",
    "payment_mode": "le mode de paiement",
    "comment": "le commentaire",
    "amount_ht_cents": "le montant HT",
    "amount_vat_cents": "le montant de TVA",
    "total_ttc_cents": "le montant TTC",
}
#: Reasons about the documents: not resent by a recycling, so not the recycling's concern (a
#: PDF that still shows the old routing, `source.disagree`, is no refusal either).
_DOCUMENT_RULES = ("pdf.", "attachment.", "facturx.", "br-", "source.")


@dataclass
class Verdict:
    """What becomes of one deposited invoice exported again with changes."""

    result: StageResult
    reasons: list[Reason] = field(default_factory=list)
    request: Request | None = None


def _vat(lines: Sequence[InvoiceVatLine]) -> list[tuple[int, int, int, str | None]]:
    return sorted(
        (line.rate_bp, line.base_cents, line.vat_cents, line.exemption_reason or None)
        for line in lines
    )


def changed_fields(
    stored: Invoice, stored_lines: Sequence[InvoiceVatLine], draft: InvoiceDraft
) -> tuple[list[str], Routing | None]:
    """The fixed fields that differ (French names), and the new routing if it differs."""
    fresh, fresh_lines = as_rows(draft, stored.cooperative)
    fixed = [
        label
        for name, label in _FIXED.items()
        if (getattr(stored, name) or None) != (getattr(fresh, name) or None)
    ]
    if _vat(stored_lines) != _vat(fresh_lines):
        fixed.append("les lignes de TVA")
    before, after = Routing.of(stored), Routing.of(fresh)
    return fixed, (after if after != before else None)


def fixed_changed(draft: InvoiceDraft, fields: list[str]) -> Reason:
    return Reason(
        rule="invoice.deposited_changed",
        column="invoice_number",
        value=draft.invoice_number,
        message_fr=(
            f"Cette facture est déjà déposée sur Chorus Pro : {', '.join(fields)} ne "
            "peu(ven)t plus changer. Une facture transmise ne se corrige pas : émettez un avoir "
            "qui l'annule, puis une nouvelle facture sous un autre numéro. Seules les données "
            "d'acheminement (SIRET du destinataire, code service, numéro d'engagement) d'une "
            "facture « à recycler » se corrigent par un nouvel export."
        ),
        message_en=(
            "a deposited invoice cannot change (" + ", ".join(fields) + "): issue a credit note "
            "and a new invoice; only the routing of an invoice to recycle may change"
        ),
    )


def judge(
    engine: Engine,
    returned: Sequence[tuple[InvoiceDraft, Stored]],
    hashes: dict[Key, str],
    sources: dict[Key, str],
) -> dict[Key, Verdict]:
    """A verdict for each deposited invoice of the export whose content changed."""
    verdicts: dict[Key, Verdict] = {}
    deposited = [(d, s) for d, s in returned if s.state == InvoiceState.DEPOSITED.value]
    ids = [s.invoice_id for _, s in deposited]
    with Session(engine) as session:
        invoices = {
            i.id: i for i in session.exec(select(Invoice).where(col(Invoice.id).in_(ids))).all()
        }
        lines: dict[int, list[InvoiceVatLine]] = {}
        for line in session.exec(
            select(InvoiceVatLine).where(col(InvoiceVatLine.invoice_id).in_(ids))
        ).all():
            lines.setdefault(line.invoice_id, []).append(line)
    for draft, stored in returned:
        key = (draft.supplier_siret, draft.invoice_number)
        invoice = invoices.get(stored.invoice_id)
        if invoice is None:
            verdicts[key] = Verdict(StageResult.REFUSED, [deposited_refusal(draft)])
            continue
        fixed, routing = changed_fields(invoice, lines.get(stored.invoice_id, []), draft)
        if fixed:
            verdicts[key] = Verdict(StageResult.REFUSED, [fixed_changed(draft, fixed)])
            continue
        if routing is None:
            verdicts[key] = Verdict(StageResult.REFUSED, [deposited_refusal(draft)])
            continue
        refused = [
            r
            for r in draft.reasons
            if not r.rule.startswith(_DOCUMENT_RULES)
            and (r.rule.startswith(("buyer.", "service.")) or r.column in ROUTING_FIELDS)
        ]
        if refused:
            verdicts[key] = Verdict(StageResult.REFUSED, refused)
            continue
        verdicts[key] = Verdict(
            StageResult.RECYCLE_REQUESTED,
            request=Request(
                invoice_id=stored.invoice_id,
                kind=ReturnKind.RECYCLE,
                origin="export",
                before=Routing.of(invoice),
                after=routing,
                content_hash=hashes.get(key),
                source_hash=sources.get(key),
            ),
        )
    return verdicts


def record(engine: Engine, verdicts: Mapping[Key, Verdict]) -> None:
    """The recycling requests, once the staging is committed (reading the export again asks
    nothing twice: a request is keyed by the routing it asks)."""
    for verdict in verdicts.values():
        if verdict.request is not None:
            record_request(engine, verdict.request)


class _Reexports:
    """The staging's view of this module (`tasks.ingest.staging.Reexports`)."""

    judge = staticmethod(judge)
    record = staticmethod(record)


#: Handed to the ingest by the flow: the ingest judges re-exports without importing returns.
REEXPORTS = _Reexports()
