"""Writing alerts to the outbox, inside the caller's transaction.

An alert row is created in the same transaction as the change that causes it, under a unique dedupe
key, so each event is alerted exactly once whatever crashes or re-runs happen; a separate sender
delivers pending rows later.
"""

from __future__ import annotations

from sqlmodel import Session, select

from chorus_etl.untrusted import printable
from schemas.warehouse import Alert, Entrepreneur, Invoice
from tasks.alerts.messages import InvoiceFacts

ENTREPRENEUR = "entrepreneur"
ACCOUNTING = "accounting"


def facts_of(session: Session, invoice: Invoice) -> tuple[InvoiceFacts, Entrepreneur | None]:
    entrepreneur = None
    if invoice.entrepreneur_code:
        entrepreneur = session.exec(
            select(Entrepreneur).where(
                Entrepreneur.supplier_siret == invoice.supplier_siret,
                Entrepreneur.code == invoice.entrepreneur_code,
            )
        ).first()
    return facts(invoice, entrepreneur), entrepreneur


def facts(invoice: Invoice, entrepreneur: Entrepreneur | None) -> InvoiceFacts:
    return InvoiceFacts(
        invoice_number=invoice.invoice_number,
        supplier_siret=invoice.supplier_siret,
        buyer_name=invoice.buyer_name,
        buyer_siret=invoice.buyer_siret,
        total_ttc_cents=invoice.total_ttc_cents,
        entrepreneur_name=entrepreneur.name if entrepreneur else None,
        chorus_invoice_id=invoice.chorus_invoice_id,
        deposit_date=invoice.deposit_date,
    )


def queue(
    session: Session,
    *,
    kind: str,
    event_key: str,
    invoice: Invoice | None,
    subject: str,
    body: str,
    entrepreneur: Entrepreneur | None,
    accounting_email: str,
    known_keys: set[str] | None = None,
    cooperative: str | None = None,
) -> list[Alert]:
    """One row for the entrepreneur (when known) and one for accounting; existing keys are kept.

    `known_keys`, when given, is the caller's preloaded set of existing keys (updated here), which
    saves a query per alert in bulk sweeps. Every alert belongs to a cooperative: its invoice's,
    or for an alert about no invoice (the password expiry) the `cooperative` given; one of them
    is required, and they must agree, so that no alert reaches another cooperative's people.
    The subject and the recipient become mail headers: they are stored on one line, without
    control characters (a buyer's name may come from a multi-line spreadsheet cell).
    """
    owner = _owner(invoice, cooperative)
    targets = [(ACCOUNTING, accounting_email)]
    if entrepreneur is not None and entrepreneur.email:
        targets.insert(0, (ENTREPRENEUR, entrepreneur.email))
    created: list[Alert] = []
    for audience, recipient in targets:
        dedupe_key = f"{kind}:{event_key}:{audience}"[:300]
        if known_keys is not None:
            if dedupe_key in known_keys:
                continue
            known_keys.add(dedupe_key)
        elif session.exec(select(Alert.id).where(Alert.dedupe_key == dedupe_key)).first():
            continue
        alert = Alert(
            cooperative=owner,
            dedupe_key=dedupe_key,
            kind=kind,
            invoice_id=invoice.id if invoice else None,
            audience=audience,
            recipient=printable(recipient),
            subject=printable(subject)[:500],
            body=body,
        )
        session.add(alert)
        created.append(alert)
    return created


def _owner(invoice: Invoice | None, cooperative: str | None) -> str:
    if invoice is None:
        if not cooperative:
            raise ValueError("an alert about no invoice needs its cooperative")
        return cooperative
    if cooperative is not None and cooperative != invoice.cooperative:
        raise ValueError(
            f"alert for cooperative {cooperative!r} about invoice {invoice.invoice_number} "
            f"of cooperative {invoice.cooperative!r}"
        )
    return invoice.cooperative
